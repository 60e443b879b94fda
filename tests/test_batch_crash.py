"""Crash safety, proved on real runs: a batch SIGKILLed at random moments, rerun each
time, ends with exactly the outputs of a run that was never interrupted.

The kill moments are drawn at random (seed printed on failure) as numbers of
finished reports, so every kill lands while images are being processed rather than
while Python starts; a few milliseconds of jitter moves it off the report write.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image, PngImagePlugin

from deid.report import validate

pytestmark = pytest.mark.timeout(240)

IMAGES = 36
RUN_LIMIT_S = 90


def _jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    exif = piexif.dump({"0th": {piexif.ImageIFD.Artist: b"Dr Chen"},
                        "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N"}})  # fmt: skip
    pixels = rng.integers(0, 255, (360, 480, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


def _png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "chart 0012345")
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).save(
        buf, "PNG", pnginfo=info
    )
    return buf.getvalue()


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    (src / "visit").mkdir(parents=True)
    for n in range(IMAGES):
        if n % 4 == 3:
            (src / "visit" / f"img{n:02d}.png").write_bytes(_png(n))
        else:
            (src / f"img{n:02d}.jpg").write_bytes(_jpeg(n))
    (src / "broken.jpg").write_bytes(_jpeg(99)[:500])  # a failed report among them
    return src


def _start(src: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "deid.cli", "batch", str(src), str(out), "--workers", "2",
         "--stages", "metadata", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _finish(src: Path, out: Path) -> None:
    proc = _start(src, out)
    _, err = proc.communicate(timeout=RUN_LIMIT_S)
    assert proc.returncode == 2, err  # broken.jpg failed; everything else written
    assert "Traceback" not in err


def _reports(out: Path) -> int:
    folder = out / "reports"
    return sum(1 for p in folder.rglob("*.json")) if folder.is_dir() else 0


def _kill_after(src: Path, out: Path, reports: int, jitter_s: float) -> None:
    """Start a batch and SIGKILL it once ``reports`` reports exist (plus jitter)."""
    proc = _start(src, out)
    try:
        deadline = time.monotonic() + RUN_LIMIT_S
        while _reports(out) < reports and proc.poll() is None:
            assert time.monotonic() < deadline, "batch made no progress"
            time.sleep(0.005)
        time.sleep(jitter_s)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=20)


def _tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file()}  # fmt: skip


def _without_timings(data: bytes) -> dict:
    report = json.loads(data)
    del report["timings_ms"]
    return report


def _check_consistent(out: Path) -> None:
    """What a kill leaves: every report whole and valid, and each one vouching for an
    output that is there byte for byte; temporary files at most."""
    for path in (out / "reports").rglob("*"):
        if path.is_dir() or path.name.endswith(".part"):
            continue
        report = json.loads(path.read_text("utf-8"))
        assert validate(report) == [], path.name
        output = report["output"]
        if output and output.get("path"):
            written = (out / output["path"]).read_bytes()
            assert output["sha256"] == hashlib.sha256(written).hexdigest()


def test_sigkill_at_random_moments_then_rerun_gives_the_uninterrupted_outputs(
    folder: Path, tmp_path: Path
) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    reference = tmp_path / "reference"
    _finish(folder, reference)
    expected = _tree(reference)
    total = sum(1 for name in expected if name.startswith("reports/"))
    assert total == IMAGES + 1

    out = tmp_path / "out"
    moments = sorted(rng.sample(range(1, total - 1), 3))
    left: list[str] = []
    for reports in moments:
        _kill_after(folder, out, reports, rng.uniform(0.0, 0.05))
        _check_consistent(out)
        left += [p.name for p in out.rglob("*.part")]
        # A write cut short elsewhere leaves files named like these; the rerun must
        # know them for temporary files wherever they are.
        (out / f".summary.json.{reports}.part").write_bytes(b"{")
        (out / "images").mkdir(exist_ok=True)
        (out / "images" / f".img00.jpg.{reports}.part").write_bytes(b"\xff\xd8")
    _finish(folder, out)

    got = _tree(out)
    context = f"seed {seed}, kills after {moments} reports, temporary files seen {left}"
    assert not [n for n in got if n.endswith(".part")], context
    images = {n: b for n, b in got.items() if n.startswith(("images/", "needs_review/"))}
    assert images == {n: b for n, b in expected.items()
                      if n.startswith(("images/", "needs_review/"))}, context  # fmt: skip
    reports = {n: _without_timings(b) for n, b in got.items() if n.startswith("reports/")}
    assert reports == {n: _without_timings(b) for n, b in expected.items()
                       if n.startswith("reports/")}, context  # fmt: skip
    summary = json.loads(got["summary.json"])
    assert summary["total"] == IMAGES + 1 and not summary["interrupted"], context
    assert summary["counts"] == json.loads(expected["summary.json"])["counts"], context
    assert summary["batch"]["resumed"] >= moments[-1] - 1, context  # earlier work was kept
    rows = got["summary.csv"].decode("utf-8").splitlines()
    assert len(rows) == IMAGES + 2, context
