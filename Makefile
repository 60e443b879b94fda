# Two entry points for a new user: `make demo` and `make test`.
# Both set up whatever is missing (system packages, virtualenv, pinned models) and
# are safe to run again; each step is skipped when its stamp is newer than its inputs.
#
# Python packages come from requirements/dev.lock: exact versions with sha256 hashes,
# the set the suite last passed on. `make lock` regenerates it after a change to
# pyproject.toml or requirements/*.in; `make lock-upgrade` moves every pin to the newest
# release the ranges allow; `make test-latest` runs the suite on those newest releases
# in .venv-latest without touching the lock.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMPS := .stamps
LOCK   := requirements/dev.lock
RUNTIME_LOCK := requirements/runtime.lock
LATEST := .venv-latest
PYTEST_ARGS ?= -q --durations=15
LINT_PATHS := src tests benchmarks examples models fuzz
# The modules the API reference documents (make docs; tests/test_docs.py builds the same).
API_MODULES := deid deid.pipeline deid.composer deid.consent deid.config deid.report \
	deid.batch deid.regulation deid.errors deid.types deid.models deid.io deid.stages \
	deid.metadata deid.cli

# One resolution for Python 3.11+ on every platform (Linux x86_64 and aarch64 included);
# "fewest" keeps one version of a package for all Python versions where it can, so
# 3.12+ gets the versions tested on 3.11. rapidocr's opencv-python-headless is excluded
# (exactly one OpenCV: the opencv-contrib-python mediapipe needs).
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 \
	--fork-strategy fewest --generate-hashes --excludes requirements/excludes.txt \
	--custom-compile-command "make lock" $(LOCK_ARGS)

.PHONY: setup demo docs test test-latest lint lock lock-upgrade bench clean-demo
.DEFAULT_GOAL := test

setup: $(STAMPS)/system $(STAMPS)/venv $(STAMPS)/models

$(STAMPS)/system: scripts/system-packages.sh
	@mkdir -p $(STAMPS)
	bash scripts/system-packages.sh
	@touch $@

# Everything from the lock, hash-checked and without dependency resolution (the lock is
# complete), then the project itself, editable, with the locked build backend.
$(STAMPS)/venv: $(LOCK) pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

$(STAMPS)/models: $(STAMPS)/venv models/manifest.json
	$(BIN)/deid models fetch
	@touch $@

demo: setup
	$(BIN)/python examples/make_examples.py examples/input
	$(BIN)/deid batch examples/input examples/output --overwrite || [ $$? -eq 1 ]
	$(BIN)/python examples/side_by_side.py examples/input examples/output examples/output/side_by_side.jpg
	$(BIN)/python examples/make_examples.py --pair examples/output/pair
	$(BIN)/deid compose examples/output/pair/before.jpg examples/output/pair/after.jpg \
		examples/output/composite.jpg --report examples/output/composite.json \
		--labels 術前,術後 --watermark "Smile Dental" --allow-list examples/output/pair/allow.txt
	@echo "Outputs: examples/output/images  reports: examples/output/reports  summary: examples/output/summary.json  composite: examples/output/composite.jpg"

# The API reference from the docstrings (the suite builds it too: tests/test_docs.py).
docs: $(STAMPS)/venv
	$(BIN)/python -m pdoc -o build/api $(API_MODULES)
	@echo "API reference: build/api/index.html; reference pages: docs/*.md"

lint: $(STAMPS)/venv
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

test: setup
	$(BIN)/deid models verify
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Regenerate both locks; works from a fresh clone (only uv is needed, installed from the
# lock into .venv). dev.lock is resolved first; runtime.lock (what a clean install of the
# wheel needs, used by tests/test_wheel.py) is its subset, constrained to the same pins.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || { awk '/^uv==/{p=1} p{print} p && !/\\$$/{exit}' $(LOCK) > $(VENV)/uv.req \
		&& $(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r $(VENV)/uv.req; }
	$(UV_COMPILE) -o $(LOCK) pyproject.toml requirements/rapidocr.in requirements/tools.in --extra dev
	$(UV_COMPILE) -o $(RUNTIME_LOCK) -c $(LOCK) pyproject.toml requirements/rapidocr.in
	@echo "Locked: $(LOCK) $(RUNTIME_LOCK); run make test, then commit them."

lock-upgrade:
	$(MAKE) lock LOCK_ARGS=--upgrade

# The newest releases pyproject.toml's ranges allow (and the newest rapidocr, --no-deps
# as always), in a separate venv, then the whole suite: the next breaking release is
# found here first. Prints the versions it got.
test-latest: $(STAMPS)/system $(STAMPS)/models
	test -x $(LATEST)/bin/python || $(PYTHON) -m venv $(LATEST)
	@echo '*' > $(LATEST)/.gitignore  # keeps the venv out of git without touching .gitignore
	$(LATEST)/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(LATEST)/bin/python -m pip install -q --disable-pip-version-check --upgrade --upgrade-strategy eager -e '.[dev]' hatchling editables
	$(LATEST)/bin/python -m pip install -q --disable-pip-version-check --upgrade --no-deps rapidocr
	$(LATEST)/bin/python -m pip list --format=freeze --disable-pip-version-check > $(LATEST)/versions.txt
	@grep -iE '^(opencv|mediapipe|numpy|pillow|onnxruntime|rapidocr|scipy|matplotlib|jsonschema|pytest)[-_a-z]*==' $(LATEST)/versions.txt
	$(LATEST)/bin/deid models verify
	$(LATEST)/bin/python -m pytest $(PYTEST_ARGS)

clean-demo:
	rm -rf examples/input examples/output

# Coverage-guided fuzzing of the container parsers (fuzz/fuzz_containers.py, atheris):
# seeds generated into fuzz/corpus/, then every container for FUZZ_SECONDS each (new
# inputs kept in the corpus for the next run; crashes saved in fuzz/artifacts/, each to
# become a regression test in tests/test_fuzz_regressions.py). `make test` runs a fixed
# number of inputs instead (tests/test_fuzz.py). FUZZ_CONTAINERS picks a subset.
FUZZ_SECONDS ?= 60
FUZZ_CONTAINERS ?= jpeg png webp tiff heif gif bmp exif iptc xmp icc
.PHONY: fuzz
fuzz: $(STAMPS)/venv
	@mkdir -p fuzz/artifacts
	$(BIN)/python fuzz/make_corpus.py fuzz/corpus
	@for c in $(FUZZ_CONTAINERS); do \
		echo "== $$c: $(FUZZ_SECONDS) s"; \
		$(BIN)/python fuzz/fuzz_containers.py $$c -max_total_time=$(FUZZ_SECONDS) \
			-timeout=20 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
			-artifact_prefix=fuzz/artifacts/$$c- fuzz/corpus/$$c > fuzz/artifacts/$$c.log 2>&1; \
		rc=$$?; grep -E '^Done|ERROR|Error' fuzz/artifacts/$$c.log; \
		[ $$rc -eq 0 ] || { echo "$$c: crash, see fuzz/artifacts/$$c.log"; exit $$rc; }; \
	done

# Speed of every stage as a multiple of a Pillow decode + q95 encode of the same files
# (2 MP and 12 MP generated sets), peak RSS per worker, images/s per core, and the
# held-out efficacy figures beside them (benchmarks/run.py; BENCH_ARGS=--quick to iterate).
BENCH_ARGS ?=
bench: setup
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
