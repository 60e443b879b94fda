"""End to end through deid.Pipeline with the metadata stage: for every format the written
bytes carry nothing identifying (exiftool and our own parser agree), the report names
what was removed and which encoding path was taken, and no PHI reaches the report or logs."""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pytest
from PIL import Image

import deid
from deid.io import SourceInfo
from deid.metadata import inventory, jpeg
from deid.report import validate
from deid.stages import Context
from deid.stages.metadata import MetadataStage
from deid.types import Frame
from metadata_files import (
    astronaut,
    bmp_with_trailer,
    exiftool_identifying,
    gif_with_comment,
    heif_everything,
    heif_with_depth,
    jpeg_everything,
    jpeg_scan_bytes,
    mpo_bytes,
    phi_hits,
    png_chunks,
    png_everything,
    srgb_profile,
    suffix_for,
    tiff_everything,
    webp_everything,
)

METADATA_ONLY = deid.Config(stages=("metadata",))

CASES = {
    "jpeg": (jpeg_everything, "lossless-strip"),
    "mpo": (mpo_bytes, "lossless-strip"),
    "png": (png_everything, "lossless-strip"),
    "webp": (webp_everything, "lossless-strip"),
    "tiff": (tiff_everything, "re-encoded"),
    "heif": (heif_everything, "re-encoded"),
    "heif-depth": (heif_with_depth, "re-encoded"),
    "bmp": (bmp_with_trailer, "re-encoded"),
    "gif": (gif_with_comment, "re-encoded"),
    "jpeg-rotated": (lambda: jpeg_everything(orientation=6), "re-encoded"),
}


@pytest.fixture(scope="module")
def pipeline() -> deid.Pipeline:
    return deid.Pipeline(METADATA_ONLY)


def _assert_no_phi_in_report(report: dict) -> None:
    for dump in (json.dumps(report, ensure_ascii=False), json.dumps(report)):
        assert phi_hits(dump.encode()) == []
        assert "Wang" not in dump


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_carries_nothing_identifying(
    case: str, pipeline: deid.Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    build, encoding = CASES[case]
    data = build()
    found_in_input = {i.category for i in inventory(data)}
    caplog.set_level(logging.DEBUG)
    result = pipeline.process(data)
    report = result.report.to_dict()
    assert result.status == "redacted", report["reasons"]
    assert validate(report) == []
    out = result.encode()
    # The output: nothing our parser, exiftool or a byte search can find.
    assert inventory(out) == ()
    assert exiftool_identifying(out, suffix_for(out)) == []
    assert phi_hits(out) == []
    # The report: which path was taken, what was removed, and no values.
    assert report["output"]["encoding"] == encoding
    assert set(report["metadata"]["removed"]) == found_in_input
    assert {i["category"] for i in report["metadata"]["found"]} == found_in_input
    _assert_no_phi_in_report(report)
    # Our own log lines at any level, and anyone's at INFO and above. (Pillow's own
    # DEBUG output quotes EXIF values; applications must not run PIL at DEBUG.)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("deid")]
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert phi_hits("\n".join(ours + loud).encode()) == []


def test_lossless_path_keeps_scan_data_and_pixels(pipeline: deid.Pipeline) -> None:
    data = jpeg_everything()
    out = pipeline.process(data).encode()
    assert jpeg_scan_bytes(out) == jpeg_scan_bytes(data)
    assert jpeg.parse(out).end == len(out)  # no trailer, no second image
    png = png_everything()
    out_png = pipeline.process(png).encode()
    idat = [b for t, b in png_chunks(png) if t == b"IDAT"]
    assert [b for t, b in png_chunks(out_png) if t == b"IDAT"] == idat


def test_rotated_jpeg_is_re_encoded_upright_at_high_quality(pipeline: deid.Pipeline) -> None:
    result = pipeline.process(jpeg_everything(orientation=6))
    report = result.report.to_dict()
    assert report["metadata"]["orientation_applied"] == 6
    assert report["output"]["encoding"] == "re-encoded"
    assert report["output"]["quality"] >= 92
    out = result.encode()
    with Image.open(io.BytesIO(out)) as img:
        assert img.size == (120, 160)  # 160x120 stored, rotated 90° for display
        pixels = np.asarray(img.convert("RGB"), dtype=np.int16)
        # Chroma as the source's (4:2:0): finer would store only interpolated values.
        assert [layer[1:3] for layer in img.layer] == [(2, 2), (1, 1), (1, 1)]
    expected = np.rot90(astronaut(), k=-1).astype(np.int16)  # orientation 6: 90° clockwise
    assert np.abs(pixels - expected).mean() < 6
    assert np.abs(pixels - np.rot90(astronaut(), k=1).astype(np.int16)).mean() > 20


def test_plain_profile_is_the_only_thing_kept(pipeline: deid.Pipeline) -> None:
    result = pipeline.process(jpeg_everything(icc=srgb_profile()))
    report = result.report.to_dict()
    assert report["metadata"]["kept"] == ["icc"]
    assert "icc" not in report["metadata"]["removed"]
    out = result.encode()
    assert [i.category for i in inventory(out)] == ["icc"]
    assert exiftool_identifying(out, ".jpg", icc_allowed=True) == []
    dropping = deid.Pipeline(METADATA_ONLY.replace(metadata={"keep_icc": False}))
    out = dropping.process(jpeg_everything(icc=srgb_profile())).encode()
    assert inventory(out) == ()


def test_clean_input_is_reported_clean(pipeline: deid.Pipeline) -> None:
    buf = io.BytesIO()
    Image.fromarray(astronaut()).save(buf, "PNG")
    result = pipeline.process(buf.getvalue())
    assert result.status == "clean"
    assert result.report.to_dict()["metadata"]["found"] == []


def test_stage_reports_the_inventory_of_the_source_bytes() -> None:
    data = jpeg_everything()
    frame = Frame(pixels=np.zeros((4, 4, 3), np.uint8))
    source = SourceInfo(data=data, format="JPEG", mode="RGB", width=160, height=120)
    context = Context(config=METADATA_ONLY, source=source, frame=frame)
    stage = MetadataStage(METADATA_ONLY.metadata)
    result = stage.run(frame.pixels, context)
    assert stage.name == "metadata"
    assert result.findings == inventory(data)
    assert {f.category for f in result.findings} >= {"exif", "gps", "trailer", "xmp"}
    assert all(f.kind == "metadata" for f in result.findings)
    assert result.edits == () and result.review == ()


def test_in_memory_images_have_no_container_findings(pipeline: deid.Pipeline) -> None:
    frame = Frame(pixels=np.zeros((4, 4, 3), np.uint8))
    source = SourceInfo(data=b"", format=None, mode="RGB", width=4, height=4)
    context = Context(config=METADATA_ONLY, source=source, frame=frame)
    assert MetadataStage(METADATA_ONLY.metadata).run(frame.pixels, context).findings == ()
    result = pipeline.process(astronaut())
    assert result.status == "clean"
    assert inventory(result.encode()) == ()
