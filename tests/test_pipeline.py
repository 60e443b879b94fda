"""Pipeline policy on real encoded files: fail closed, review, edits, encoding paths."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image

import deid
from deid.report import validate
from deid.types import Box, Edit, Reason, StageResult

NAME, NATIONAL_ID = "王小明", "A123456789"
METADATA_ONLY = deid.Config(stages=("metadata",))


def _photo(h: int = 240, w: int = 320) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.dstack([xx % 256, yy % 256, (xx + yy) % 256]).astype(np.uint8)


def _jpeg_with_phi(**extra: object) -> bytes:
    exif = piexif.dump({
        "0th": {piexif.ImageIFD.Artist: NAME.encode(), piexif.ImageIFD.Make: b"Cam"},
        "Exif": {piexif.ExifIFD.UserComment: b"ASCII\x00\x00\x00" + NATIONAL_ID.encode()},
    })  # fmt: skip
    buf = io.BytesIO()
    Image.fromarray(_photo()).save(buf, "JPEG", quality=90, exif=exif, **extra)
    return buf.getvalue()


class Raising:
    name = "boom"

    def run(self, image, context):
        raise ValueError(f"OCR saw {NAME} {NATIONAL_ID}")


class Flagging:
    name = "flag"

    def run(self, image, context):
        return StageResult(review=(Reason("unsure", "a detector was unsure", "flag"),))


class Filling:
    name = "fill"

    def run(self, image, context):
        return StageResult(edits=(Edit(Box(10, 10, 60, 50), "fill", color=(0, 255, 0)),))


def _pipe(*extra_stages: object) -> deid.Pipeline:
    from deid.stages.metadata import MetadataStage

    return deid.Pipeline(METADATA_ONLY, stages=[MetadataStage(METADATA_ONLY.metadata),
                                                *extra_stages])  # fmt: skip


def _no_phi(blob: bytes | str) -> None:
    text = blob if isinstance(blob, str) else blob.decode("latin-1")
    raw = blob if isinstance(blob, bytes) else blob.encode()
    for secret in (NAME, NATIONAL_ID):
        assert secret not in text
        assert secret.encode() not in raw and secret.encode("utf-16-le") not in raw


def test_metadata_is_removed_and_report_is_valid_and_phi_free() -> None:
    result = _pipe().process(_jpeg_with_phi(), name="photo.jpg")
    assert result.status == "redacted", result.report.reasons
    report = result.report.to_dict()
    assert validate(report) == []
    assert "exif" in report["metadata"]["removed"]
    assert report["output"]["encoding"] == "lossless-strip"
    _no_phi(result.encode())
    _no_phi(json.dumps(report, ensure_ascii=False))


def test_a_failing_stage_writes_nothing_and_leaks_nothing(tmp_path: Path) -> None:
    result = _pipe(Raising()).process(_jpeg_with_phi())
    assert result.status == "failed" and result.data is None and not result.ok
    with pytest.raises(deid.DeidError):
        result.encode()
    with pytest.raises(deid.DeidError):
        result.save(tmp_path / "out.jpg")
    assert not (tmp_path / "out.jpg").exists()
    assert result.report.reasons[0].code == "stage_failed"
    _no_phi(result.report.to_json())
    assert validate(result.report.to_dict()) == []


def test_review_reasons_escalate_status() -> None:
    result = _pipe(Flagging()).process(_jpeg_with_phi())
    assert result.status == "needs_review"
    assert [r.code for r in result.report.reasons] == ["unsure"]


def test_edits_change_pixels_and_force_re_encoding() -> None:
    result = _pipe(Filling()).process(_jpeg_with_phi())
    assert result.status == "redacted"
    assert result.report.output is not None and result.report.output.encoding == "re-encoded"
    out = np.asarray(Image.open(io.BytesIO(result.encode())).convert("RGB")).astype(int)
    assert np.abs(out[15:45, 15:55] - [0, 255, 0]).max() < 16
    _no_phi(result.encode())


def test_rotated_input_is_re_encoded_upright() -> None:
    exif = piexif.dump({"0th": {piexif.ImageIFD.Orientation: 6, piexif.ImageIFD.Artist: b"x"}})
    buf = io.BytesIO()
    Image.fromarray(_photo()).save(buf, "JPEG", quality=95, exif=exif)
    result = _pipe().process(buf.getvalue())
    out = Image.open(io.BytesIO(result.encode()))
    assert out.size == (240, 320)  # turned upright, width and height swapped
    assert result.report.metadata.orientation_applied == 6
    assert out.getexif().get(0x0112) is None


def test_bad_bytes_fail_with_a_reason_not_an_exception() -> None:
    result = _pipe().process(b"GIF89a not really")
    assert result.status == "failed" and result.report.reasons[0].stage == "decode"
    assert result.report.summary.startswith("Not written")


def test_pipeline_is_reusable_across_threads() -> None:
    pipe = _pipe(Filling())
    data = _jpeg_with_phi()
    outputs: list[bytes] = []
    lock = threading.Lock()

    def work() -> None:
        out = pipe.process(data).encode()
        with lock:
            outputs.append(out)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outputs) == 4 and len(set(outputs)) == 1


def test_process_file_writes_output_and_report(tmp_path: Path) -> None:
    src = tmp_path / "in.jpg"
    src.write_bytes(_jpeg_with_phi())
    before = src.read_bytes()
    result = deid.process_file(src, tmp_path / "out.jpg", config=METADATA_ONLY,
                               report_path=tmp_path / "out.json")  # fmt: skip
    assert result.ok and (tmp_path / "out.jpg").is_file()
    assert json.loads((tmp_path / "out.json").read_text())["status"] == "redacted"
    assert src.read_bytes() == before


def test_process_file_writes_no_image_for_a_bad_input(tmp_path: Path) -> None:
    src = tmp_path / "empty.jpg"
    src.write_bytes(b"")
    result = deid.process_file(src, tmp_path / "out.jpg", config=METADATA_ONLY)
    assert result.status == "failed" and not (tmp_path / "out.jpg").exists()
    assert result.report.reasons[0].code == "empty_file"


def test_avif_metadata_is_removed() -> None:
    buf = io.BytesIO()
    exif = piexif.dump({"0th": {piexif.ImageIFD.Artist: NAME.encode()}})
    Image.fromarray(_photo()).save(buf, "AVIF", quality=90, exif=exif)
    result = _pipe().process(buf.getvalue())
    assert result.status == "redacted" and result.format == "AVIF"
    assert result.report.metadata.removed == ["exif"]
    _no_phi(result.encode())


def test_over_the_pixel_limit_is_failed_without_output(tmp_path: Path) -> None:
    src = tmp_path / "huge.png"
    Image.new("L", (5000, 5000)).save(src, "PNG")  # 25 MP in a few kilobytes
    config = METADATA_ONLY.replace(input={"max_pixels": 20_000_000})
    result = deid.process_file(src, tmp_path / "out.png", config=config)
    assert result.status == "failed" and result.report.reasons[0].code == "too_many_pixels"
    assert "max_pixels" in result.report.reasons[0].message
    assert not (tmp_path / "out.png").exists()


def test_an_output_that_still_carries_metadata_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The safety net behind every encoder: a leaky strip must fail the image."""
    from deid import metadata as meta

    monkeypatch.setattr(meta, "strip_lossless", lambda data, *, keep_icc: data)
    result = _pipe().process(_jpeg_with_phi())
    assert result.status == "failed" and result.data is None
    assert result.report.reasons[0].code == "metadata_residue"
    _no_phi(result.report.to_json())


class _FaceWithoutBox:
    kind = "face"

    def to_report(self) -> dict[str, object]:
        return {"score": 0.9, "detector": "x", "action": "obscured_full"}  # no "box"


class Misreporting:
    name = "misreport"

    def run(self, image, context):
        edit = Edit(Box(10, 10, 60, 50), "fill", color=(0, 0, 0))
        return StageResult(findings=(_FaceWithoutBox(),), edits=(edit,))


def test_a_report_that_fails_validation_releases_no_image(tmp_path: Path) -> None:
    result = _pipe(Misreporting()).process(_jpeg_with_phi())
    assert result.status == "failed"
    assert [r.code for r in result.report.reasons] == ["report_invalid"]
    assert result.data is None and not result.ok and result.report.output is None
    with pytest.raises(deid.DeidError):
        result.save(tmp_path / "out.jpg")
    assert not (tmp_path / "out.jpg").exists()


def test_an_encoder_error_fails_the_image_instead_of_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from deid import io as deid_io

    def broken(*_a: object, **_k: object) -> bytes:
        raise RuntimeError(f"encoder choked on {NAME}")

    monkeypatch.setattr(deid_io, "encode", broken)
    result = _pipe(Filling()).process(_jpeg_with_phi())
    assert result.status == "failed" and result.data is None
    assert result.report.reasons[0].code == "encode_failed"
    _no_phi(result.report.to_json())


def test_report_says_which_stages_ran() -> None:
    report = _pipe().process(_jpeg_with_phi()).report
    assert report.stages == ["metadata"]
    assert "faces and text not checked" in report.summary


def _python(script: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter: what it printed to stdout and stderr."""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


def test_the_full_pipeline_prints_nothing_even_when_never_closed() -> None:
    """Embedding tools own stdout/stderr: model runtimes must not write to them."""
    proc = _python(
        "import deid\nfrom skimage import data\n"
        "r = deid.Pipeline(deid.Config()).process(data.astronaut())\n"
        "assert r.status == 'redacted', r.status\n",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == "" and proc.stderr == ""


def test_closing_a_full_pipeline_returns() -> None:
    """close() runs the detectors' finalisers; it must not wait on itself."""
    proc = _python(
        "import deid\nfrom skimage import data\n"
        "with deid.Pipeline(deid.Config()) as pipe:\n"
        "    pipe.process(data.astronaut())\n"
        "print('closed')\n",
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout == "closed\n" and proc.stderr == ""


def test_held_native_stderr_drops_only_the_runtime_notice() -> None:
    # A write to fd 2 while a Tasks inference runs, as the C++ runtime makes it: its
    # one-off alignment notice is dropped, anything else reaches stderr afterwards.
    proc = _python(
        "import os\n"
        "from deid.faces.quiet import native_stderr_held\n"
        "with native_stderr_held(('memory is not aligned',)):\n"
        "    os.write(2, b'W0000 Input tensor memory is not aligned. Copying.\\n')\n"
        "    os.write(2, b'another thread wrote this\\n')\n"
        "os.write(2, b'after\\n')\n",
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr == "another thread wrote this\nafter\n"
