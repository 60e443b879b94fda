"""The whole default pipeline on the demo inputs, checked the way a clinic would.

Runs ``deid batch`` (library entry point) over the generated example clinic files
with every stage enabled and the network disabled, then checks outputs with the
metadata parser and exiftool, looks at pixels, and greps every artifact for the
invented identities those files carry.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import deid
from deid import metadata
from deid.batch import run_batch
from metadata_files import exiftool_identifying

ROOT = Path(__file__).resolve().parents[1]
IDENTITIES = ["林美華", "Lin Mei-Hua", "F223456786", "陳志明", "0012345", "0912-345-678",
              "A123456789", "SN-0042-7781", "2024:05:01", "vendor-trailer"]  # fmt: skip


def _examples_module():
    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "examples" /
                                                  "make_examples.py")  # fmt: skip
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("e2e")
    src, out = tmp / "in", tmp / "out"
    _examples_module().main(["make_examples", str(src)])
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    logger = logging.getLogger("deid")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    mp = pytest.MonkeyPatch()

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("deid attempted a network connection")

    mp.setattr(socket.socket, "connect", refuse)
    mp.setattr(socket, "create_connection", refuse)
    mp.setattr(socket, "getaddrinfo", refuse)
    try:
        summary = run_batch(src, out, config=deid.Config())
    finally:
        mp.undo()
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return src, out, summary, records


def _report(out: Path, name: str) -> dict:
    return json.loads((out / "reports" / f"{name}.json").read_text("utf-8"))


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


def test_every_example_is_written_and_nothing_failed(batch_run) -> None:
    _, out, summary, _ = batch_run
    assert summary.counts.get("failed", 0) == 0, summary.to_dict()
    assert len(summary.items) == 6
    for item in summary.items:
        assert item.output and (out / item.output).is_file()


def test_outputs_carry_no_metadata(batch_run) -> None:
    _, out, summary, _ = batch_run
    for item in summary.items:
        data = (out / item.output).read_bytes()
        assert [i.category for i in metadata.inventory(data) if i.category != "icc"] == []
        suffix = Path(item.output).suffix
        assert exiftool_identifying(data, suffix, icc_allowed=True) == [], item.output


def test_no_identity_survives_in_any_artifact(batch_run) -> None:
    _, out, _, records = batch_run
    for path in out.rglob("*"):
        assert not any(secret in str(path.relative_to(out)) for secret in IDENTITIES)
        if path.is_file():
            blob = path.read_bytes()
            for secret in IDENTITIES:
                assert secret.encode() not in blob, (path.name, "contains an identity")
                assert secret.encode("utf-16-le") not in blob
    log_text = "\n".join(r.getMessage() for r in records)
    assert not any(secret in log_text for secret in IDENTITIES)


def test_rotated_portrait_is_upright_with_eyes_obscured_and_smile_kept(batch_run) -> None:
    _, out, _, _ = batch_run
    report = _report(out, "smile_portrait.jpg")
    assert report["metadata"]["orientation_applied"] == 6
    upright = _examples_module().portrait()
    result = _pixels(out / "images" / "smile_portrait.jpg")
    assert result.shape[:2] == (upright.height, upright.width)
    original = np.asarray(upright).astype(np.int16)
    subjects = [f for f in report["faces"] if f.get("role") == "subject"]
    assert len(subjects) == 1
    for left, top, right, bottom in subjects[0]["eye_boxes"]:
        diff = np.abs(result[top:bottom, left:right] - original[top:bottom, left:right]).mean()
        assert diff > 25, "eye region still looks like the input"
    xs = [p[0] for p in subjects[0]["oral_region"]]
    ys = [p[1] for p in subjects[0]["oral_region"]]
    cx, cy = int(np.mean(xs)), int(np.mean(ys))
    core = (slice(cy - 10, cy + 10), slice(cx - 30, cx + 30))
    assert np.abs(result[core] - original[core]).mean() < 6, "the smile was not kept"


def test_intraoral_close_up_keeps_every_pixel(batch_run) -> None:
    src, out, _, _ = batch_run
    report = _report(out, "intraoral.jpg")
    assert report["faces"] == [] and report["output"]["encoding"] == "lossless-strip"
    assert np.array_equal(_pixels(src / "intraoral.jpg"), _pixels(out / "images" /
                                                                  "intraoral.jpg"))  # fmt: skip


@pytest.mark.parametrize("name", ["name_card.png", "xray_export.png", "before_after.jpg"])
def test_burned_in_phi_is_no_longer_readable(batch_run, name: str) -> None:
    import pytesseract

    _, out, _, _ = batch_run
    img = Image.open(out / "images" / name).convert("RGB")
    text = pytesseract.image_to_string(img, lang="chi_tra+eng", config="--psm 11")
    compact = text.replace(" ", "")
    for secret in IDENTITIES:
        assert secret.replace(" ", "") not in compact
    categories = {t["category"] for t in _report(out, name)["text"]}
    assert categories, "no PHI text was reported"


def test_harmless_labels_survive(batch_run) -> None:
    src, out, _, _ = batch_run
    before = _pixels(src / "before_after.jpg")
    after = _pixels(out / "images" / "before_after.jpg")
    label = (slice(15, 80), slice(320, 620))  # the "術前 Before" heading
    assert np.abs(after[label] - before[label]).mean() < 4


def test_demo_output_decodes_as_published_format(batch_run) -> None:
    _, out, summary, _ = batch_run
    for item in summary.items:
        with Image.open(out / item.output) as img:
            img.load()
            assert img.format in {"JPEG", "PNG"}
