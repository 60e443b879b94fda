"""Broken and hostile inputs (``hostile_files.py``): a correct result or a clear failure.

Every kind goes through the pipeline in this process (metadata stage: the decoders
and container parsers are what is attacked) and, with hostile file names, through a
real ``deid batch`` with worker processes and every stage, in a child process whose
peak memory is measured. Nothing may raise, print a traceback, write a failed image,
or write an image that still carries metadata.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image

import deid
from deid import metadata
from deid.report import validate
from hostile_files import BOMB, HOSTILE_NAMES, OK, Case, corpus
from hostile_run import artifacts, run_cli
from metadata_files import PHI, jpeg_everything, phi_hits

CASES = corpus()
META = deid.Config(stages=("metadata",))
# Generous for the whole batch (2 workers, each with MediaPipe, OpenCV and RapidOCR
# loaded: about 0.5 GB); the bombs alone must stay far below what decoding them needs.
BATCH_RSS_MB = 1500
BOMB_EXTRA_MB = 48


@pytest.fixture(scope="module")
def pipe() -> deid.Pipeline:
    with deid.Pipeline(META) as p:
        yield p


def test_the_corpus_has_at_least_forty_kinds() -> None:
    kinds = {c.kind for c in CASES}
    assert len(kinds) == len(CASES) >= 40
    print(f"hostile input kinds: {len(kinds)} (+ {len(HOSTILE_NAMES)} hostile file names)")  # noqa: T201


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_each_kind_gives_a_result_or_a_clear_failure(pipe: deid.Pipeline, case: Case) -> None:
    result = pipe.process(case.data, name=case.name)
    report = result.report.to_dict()
    assert not validate(report)
    text = json.dumps(report, ensure_ascii=False)
    assert "Traceback" not in text and not phi_hits(text.encode("utf-8"))
    if result.status == "failed":
        codes = {r["code"] for r in report["reasons"]}
        assert result.data is None and report["output"] is None
        assert codes & case.expect, f"{case.kind}: failed with {codes}, expected {case.expect}"
        assert all(r["message"] for r in report["reasons"])
        return
    assert case.expect >= OK, f"{case.kind}: expected a failure {case.expect}, got {result.status}"
    assert result.data is not None
    _assert_clean_output(result.data, case)


def _assert_clean_output(data: bytes, case: Case) -> None:
    leftover = {i.category for i in metadata.inventory(data)} - {"icc"}
    assert not leftover, f"{case.kind}: output carries {leftover}"
    assert not phi_hits(data), case.kind
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert getattr(img, "n_frames", 1) == 1
        assert img.width * img.height > 0


def _process_rss(tmp: Path, name: str, data: bytes) -> tuple[float, dict, bool]:
    src = tmp / name
    src.write_bytes(data)
    out, rep = tmp / f"out-{name}", tmp / f"{name}.json"
    run = run_cli(["process", str(src), str(out), "--stages", "metadata", "--report", str(rep)],
                  tmp)  # fmt: skip
    assert b"Traceback" not in run.stderr
    return run.peak_rss_mb, json.loads(rep.read_text("utf-8")), out.exists()


@pytest.fixture(scope="module")
def baseline_rss(tmp_path_factory: pytest.TempPathFactory) -> float:
    """Peak RSS of the same command on an ordinary 160x120 JPEG (imports dominate)."""
    rss, report, written = _process_rss(tmp_path_factory.mktemp("base"), "a.jpg",
                                        jpeg_everything())  # fmt: skip
    assert written and report["status"] == "redacted"
    return rss


@pytest.mark.parametrize("case", [c for c in CASES if c.expect & BOMB], ids=lambda c: c.kind)
def test_bombs_are_refused_before_decoding_with_bounded_memory(
    tmp_path: Path, case: Case, baseline_rss: float
) -> None:
    rss, report, written = _process_rss(tmp_path, case.name, case.data)
    assert report["status"] == "failed" and not written
    assert [r["code"] for r in report["reasons"]] == ["too_many_pixels"]
    print(f"peak RSS, {case.kind}: {rss:.0f} MB (an ordinary JPEG: {baseline_rss:.0f} MB)")  # noqa: T201
    # Decoding even the smallest of these would take 100 MB or more.
    assert rss < baseline_rss + BOMB_EXTRA_MB


def _corpus_folder(root: Path) -> dict[str, Case]:
    """Every case under its own name, plus a PHI-laden JPEG under each hostile name."""
    by_name = {}
    (root / "cases").mkdir(parents=True)
    for case in CASES:
        rel = f"cases/{case.kind}-{case.name}"
        (root / rel).write_bytes(case.data)
        by_name[rel] = case
    (root / "names").mkdir()
    for n, name in enumerate(HOSTILE_NAMES):
        rel = f"names/{name}"
        (root / rel).write_bytes(jpeg_everything())
        by_name[rel] = Case(f"name{n}", name, b"", OK)
    return by_name


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_batch_over_the_whole_corpus_goes_on_and_writes_only_clean_outputs(
    tmp_path: Path,
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    by_name = _corpus_folder(src)
    run = run_cli(["batch", str(src), str(out), "--workers", "2"], tmp_path, timeout=540)
    assert run.returncode == 2, run.stderr[-2000:]
    assert b"Traceback" not in run.stderr + run.stdout
    # Progress and the final table show counts only, never a name, so no name can forge
    # or split a line; the last line is the batch's own.
    lines = run.stdout.decode("utf-8").splitlines()
    assert lines[-1].startswith("deid batch: ") and "status" in lines[0]
    assert not any(name.encode("utf-8") in run.stdout + run.stderr for name in HOSTILE_NAMES)
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["total"] == len(by_name)
    files = artifacts(out)
    for item in summary["items"]:
        case = by_name.get(item["input"]) or by_name[f"names/{HOSTILE_NAMES[0]}"]
        report = json.loads(files[item["report"]])
        assert item["status"] == report["status"]
        codes = {r["code"] for r in report["reasons"]}
        if item["status"] == "failed":
            assert item["output"] is None
            assert codes & case.expect, (item, case.expect)
        else:
            assert case.expect >= OK, (item, case.expect)
            data = files[item["output"]]
            assert report["output"]["sha256"] == hashlib.sha256(data).hexdigest()
            _assert_clean_output(data, Case("batch", item["output"], b"", OK))
    # One report per input and nothing written for a failed one, whatever its name.
    assert len([k for k in files if k.startswith("reports/")]) == len(by_name)
    written = [k for k in files if k.startswith(("images/", "needs_review/"))]
    assert len(written) == sum(i["status"] != "failed" for i in summary["items"])
    assert not any(p in k for p in PHI for k in files)
    assert not (Path(os.getcwd()) / "pwned").exists() and not (tmp_path / "pwned").exists()
    print(f"batch of {len(by_name)}: {summary['counts']}, peak RSS {run.peak_rss_mb:.0f} MB")  # noqa: T201
    assert run.peak_rss_mb < BATCH_RSS_MB
