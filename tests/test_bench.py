"""The benchmark's inputs and entry point: camera-like files, and figures that add up."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image, ImageOps

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

from photo_sets import KINDS, frame_size, make_set, taiwan_id  # noqa: E402


def _checksum_ok(tw_id: str) -> bool:
    letters = "ABCDEFGHJKLMNPQRSTUVXYWZIO"
    code = 10 + letters.index(tw_id[0])
    digits = [int(c) for c in tw_id[1:]]
    weights = (8, 7, 6, 5, 4, 3, 2, 1, 1)
    total = code // 10 + (code % 10) * 9 + sum(d * w for d, w in zip(digits, weights, strict=True))
    return total % 10 == 0


def test_sets_are_camera_like_and_deterministic(tmp_path: Path) -> None:
    paths = make_set(tmp_path / "a", 12, 0.5, seed=4)
    width, height = frame_size(0.5)
    assert abs(width * height - 0.5e6) < 0.02e6 and width % 8 == height % 8 == 0
    again = make_set(tmp_path / "b", 12, 0.5, seed=4)
    other = make_set(tmp_path / "c", 1, 0.5, seed=5)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]
    assert paths[0].read_bytes() != other[0].read_bytes()
    assert [p.name.split("_")[0] for p in paths] == list(KINDS) * 2
    for path in paths:
        with Image.open(path) as img:
            assert img.format == "JPEG"
            exif = piexif.load(img.info["exif"])
            assert exif["GPS"][piexif.GPSIFD.GPSLatitudeRef] == b"N"
            assert exif["Exif"][piexif.ExifIFD.BodySerialNumber]
            assert exif["0th"][piexif.ImageIFD.Make] == b"Canon"
            upright = ImageOps.exif_transpose(img)
            pixels = np.asarray(upright.convert("L"), np.float64)
        turned = exif["0th"][piexif.ImageIFD.Orientation] == 6
        assert turned == path.name.endswith("_o6.jpg")
        assert upright.size == ((height, width) if turned else (width, height))
        # Sensor grain: almost no flat 8x8 block in the middle of the frame (only where
        # the grain is clipped at black or white).
        blocks = pixels[200:400, 200:400].reshape(25, 8, 25, 8).std(axis=(1, 3))
        assert np.mean(blocks > 1.0) > 0.8


def test_xray_is_grey_and_portraits_turn_every_other_time(tmp_path: Path) -> None:
    paths = make_set(tmp_path, 4, 0.3, kinds=["xray", "portrait"])
    with Image.open(paths[0]) as img:
        assert img.mode == "L"
    assert [p.name.endswith("_o6.jpg") for p in paths] == [False, False, False, True]
    with pytest.raises(ValueError, match="unknown kinds"):
        make_set(tmp_path, 1, 0.3, kinds=["selfie"])


def test_taiwan_ids_have_valid_checksums() -> None:
    rng = np.random.default_rng(0)
    ids = [taiwan_id(rng) for _ in range(200)]
    assert all(len(i) == 10 and _checksum_ok(i) for i in ids)
    assert not _checksum_ok(ids[0][:-1] + str((int(ids[0][-1]) + 1) % 10))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_entry_point_prints_every_figure_against_the_floor(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(BENCH / "run.py"), "--sets", "0.5", "--photos", "2", "--repeats",
           "1", "--no-efficacy", "--scaling-n", "2", "--work", str(tmp_path),
           "--json", str(out)]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=540, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    text = run.stdout
    for figure in ("floor F = Pillow decode + q95 encode", "decode + metadata + encode",
                   "whole pipeline", "images/s per core", "peak RSS per worker",
                   "scaling: 2 workers against 1"):  # fmt: skip
        assert figure in text
    assert re.search(r"1 worker [0-9.]+ img/s, 2 workers [0-9.]+ img/s; ratio [0-9.]+x", text)
    (result,) = json.loads(out.read_text())
    assert len(result["samples"]) == 2
    assert result["peak_rss_mb"] > 50  # a worker with the models loaded, not the parent
    for sample in result["samples"]:
        assert sample["floor_ms"] > 0
        assert sample["status"] in ("clean", "redacted", "needs_review")
        stages = sum(v for k, v in sample["timings_ms"].items() if k != "total")
        assert stages <= sample["timings_ms"]["total"] * 1.01
