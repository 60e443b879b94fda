"""Face stage end to end: encoded files in, encoded files and a valid report out."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.metrics import structural_similarity

import deid
from deid.report import validate

FACES = deid.Config(stages=("metadata", "faces"))
EYES = [(190, 93, 214, 108), (236, 95, 260, 110)]  # astronaut, hand-drawn
MOUTH = (199, 136, 247, 157)


@pytest.fixture(scope="module")
def pipeline():
    with deid.Pipeline(FACES) as p:
        yield p


def jpeg(pixels: np.ndarray, orientation: int = 1) -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    Image.fromarray(pixels).save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


def decode(data_: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data_)) as im:
        return np.asarray(im.convert("RGB"))


def test_sideways_jpeg_with_exif_orientation_comes_out_upright_and_redacted(pipeline):
    upright = data.astronaut()
    stored = np.ascontiguousarray(np.rot90(upright, 1))  # what a camera held sideways writes
    result = pipeline.process(jpeg(stored, orientation=6), name="patient.jpg")
    assert result.status == "redacted", result.report.reasons
    out = decode(result.encode())
    assert out.shape == upright.shape
    for x0, y0, x1, y1 in EYES:
        diff = np.abs(out[y0:y1, x0:x1].astype(int) - upright[y0:y1, x0:x1].astype(int))
        assert float(np.mean(diff.max(axis=2) > 20)) > 0.9
    x0, y0, x1, y1 = MOUTH
    g0 = upright[y0:y1, x0:x1].mean(axis=2)
    g1 = out[y0:y1, x0:x1].mean(axis=2)
    assert structural_similarity(g0, g1, data_range=255, win_size=7) > 0.85  # JPEG twice
    report = result.report.to_dict()
    assert validate(report) == []
    (face,) = report["faces"]
    assert face["action"] == "obscured_except_oral" and face["eyes_obscured"] is True
    assert face["verification"] in {"not_redetected", "found_obscured"}


def test_face_free_photo_keeps_its_pixels(pipeline):
    source = jpeg(data.coffee())
    result = pipeline.process(source)
    assert result.status in {"clean", "redacted"}
    assert result.report.faces == []
    assert np.array_equal(decode(result.encode()), decode(source))
