# Two entry points for a new user: `make demo` and `make test`.
# Both set up whatever is missing (system packages, virtualenv, pinned models) and
# are safe to run again; each step is skipped when its stamp is newer than its inputs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMPS := .stamps

.PHONY: setup demo test lint bench clean-demo
.DEFAULT_GOAL := test

setup: $(STAMPS)/system $(STAMPS)/venv $(STAMPS)/models

$(STAMPS)/system: scripts/system-packages.sh
	@mkdir -p $(STAMPS)
	bash scripts/system-packages.sh
	@touch $@

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	# RapidOCR's metadata asks for a second OpenCV build; its other dependencies are in
	# pyproject.toml and it runs on the opencv-contrib-python that mediapipe brings.
	$(BIN)/python -m pip install -q --no-deps rapidocr==3.10.0
	@touch $@

$(STAMPS)/models: $(STAMPS)/venv models/manifest.json
	$(BIN)/deid models fetch
	@touch $@

demo: setup
	$(BIN)/python examples/make_examples.py examples/input
	$(BIN)/deid batch examples/input examples/output --overwrite || [ $$? -eq 1 ]
	$(BIN)/python examples/side_by_side.py examples/input examples/output examples/output/side_by_side.jpg
	@echo "Outputs: examples/output/images  reports: examples/output/reports  summary: examples/output/summary.json"

lint: $(STAMPS)/venv
	$(BIN)/ruff check src tests benchmarks examples models
	$(BIN)/ruff format --check src tests benchmarks examples models

test: setup
	$(BIN)/deid models verify
	$(BIN)/ruff check src tests benchmarks examples models
	$(BIN)/python -m pytest -q

clean-demo:
	rm -rf examples/input examples/output
