"""Properties over generated images and generated metadata (hypothesis).

- Outputs carry no metadata: images of every writable container, size and mode,
  carrying generated values in every kind of metadata Pillow and piexif can write
  (EXIF text and GPS, XMP, PNG text, JPEG comments, ICC profiles), come out with
  nothing but a plain profile, by our own parser and by exiftool, and none of the
  generated values is anywhere in the bytes.
- Redactions stay inside the image: whatever boxes and masks edits carry (outside,
  negative, huge, soft), the output has the input's shape, and no pixel outside the
  union of the edits' boxes (clipped) changes.
- The pipeline is deterministic: the same input and settings give the same output
  bytes and the same report, twice in one pipeline and in a fresh one.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import piexif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from PIL import Image, PngImagePlugin

import deid
from deid import metadata, redact
from deid.types import Box, Edit
from metadata_files import exiftool_identifying, named_profile, srgb_profile

# No example database, and hypothesis's caches in the temporary folder: nothing is
# written into the work tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "deid-hypothesis")
_SLOW_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large]
SLOW = settings(max_examples=25, deadline=None, database=None, suppress_health_check=_SLOW_CHECKS)
FAST = settings(max_examples=200, deadline=None, database=None)

# Values a camera, a DAM or a practice system could write: names in several scripts,
# IDs, free text; control characters excluded only where the container cannot hold them.
_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x9FFF, exclude_categories=("Cs",)),
    min_size=6,
    max_size=40,
).filter(lambda s: len(s.strip()) >= 6 and len(s.encode("utf-8")) >= 8)
_ASCII = st.text(alphabet=st.characters(min_codepoint=0x41, max_codepoint=0x7A), min_size=8,
                 max_size=30)  # fmt: skip


@st.composite
def _images(draw: st.DrawFn) -> tuple[bytes, str, list[str]]:
    fmt = draw(st.sampled_from(["JPEG", "PNG", "WEBP", "TIFF"]))
    width, height = draw(st.integers(8, 96)), draw(st.integers(8, 96))
    mode = draw(st.sampled_from(["RGB", "L"] if fmt != "WEBP" else ["RGB"]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    shape = (height, width, 3) if mode == "RGB" else (height, width)
    img = Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode)
    values = draw(st.lists(_ASCII, min_size=4, max_size=4, unique=True))
    free = draw(_TEXT)
    gps = draw(st.tuples(st.integers(0, 89), st.integers(0, 59), st.integers(0, 5999)))
    exif = piexif.dump({
        "0th": {piexif.ImageIFD.Artist: values[0].encode(),
                piexif.ImageIFD.ImageDescription: values[1].encode(),
                piexif.ImageIFD.XPComment: free.encode("utf-16-le")},
        "Exif": {piexif.ExifIFD.BodySerialNumber: values[2].encode()},
        "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N",
                piexif.GPSIFD.GPSLatitude: ((gps[0], 1), (gps[1], 1), (gps[2], 100))},
    })  # fmt: skip
    params: dict[str, object] = {"exif": exif}
    xmp = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
           f'02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"'
           f' dc:creator="{values[3]}"/></rdf:RDF></x:xmpmeta>').encode()  # fmt: skip
    if fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        params["xmp"] = xmp
    profile = draw(st.sampled_from(["none", "plain", "named"]))
    if profile != "none" and mode == "RGB":
        params["icc_profile"] = srgb_profile() if profile == "plain" else named_profile(values[0])
    if fmt == "JPEG":
        params["comment"] = free.encode("utf-8")
        params["quality"] = draw(st.integers(50, 100))
        params["progressive"] = draw(st.booleans())
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", values[0])
        info.add_itxt("Comment", free, zip=draw(st.booleans()))
        params["pnginfo"] = info
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    secrets = [*values, free]
    return buf.getvalue(), fmt, secrets


@pytest.fixture(scope="module")
def meta_pipe() -> deid.Pipeline:
    with deid.Pipeline(deid.Config(stages=("metadata",))) as pipe:
        yield pipe


def _in_bytes(secret: str, data: bytes) -> bool:
    forms = {secret.encode("utf-8"), secret.encode("utf-16-le"), secret.encode("utf-16-be")}
    return any(f in data for f in forms if len(f) >= 6)


@SLOW
@given(case=_images())
def test_outputs_carry_no_metadata(meta_pipe: deid.Pipeline, case: tuple) -> None:
    data, fmt, secrets = case
    assert any(_in_bytes(s, data) for s in secrets), "the input really carries them"
    result = meta_pipe.process(data, name=f"x.{fmt.lower()}")
    assert result.ok, result.report.reasons
    out = result.data
    assert {i.category for i in metadata.inventory(out)} <= {"icc"}
    assert not [s for s in secrets if _in_bytes(s, out)]
    suffix = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif"}[fmt]
    assert exiftool_identifying(out, suffix, icc_allowed=True) == []
    assert json.dumps(result.report.to_dict(), ensure_ascii=False).count(secrets[0]) == 0


_COORD = st.integers(-300, 300)


@st.composite
def _edits(draw: st.DrawFn) -> list[Edit]:
    edits = []
    for _ in range(draw(st.integers(1, 6))):
        left, top = draw(_COORD), draw(_COORD)
        box = Box(left, top, left + draw(st.integers(-5, 200)), top + draw(st.integers(-5, 200)))
        method = draw(st.sampled_from(["fill", "pixelate", "blur"]))
        mask = None
        if draw(st.booleans()) and box.width > 0 and box.height > 0:
            level = draw(st.floats(-1.0, 2.0, allow_nan=False))
            mask = np.full((box.height, box.width), level, np.float32)
        edits.append(Edit(box, method=method, mask=mask, size=draw(st.integers(0, 40)),
                          color=(draw(st.integers(0, 255)), 0, 0)))  # fmt: skip
    return edits


@FAST
@given(edits=_edits(), height=st.integers(1, 120), width=st.integers(1, 120))
def test_redactions_stay_inside_the_image_and_their_boxes(
    edits: list[Edit], height: int, width: int
) -> None:
    rng = np.random.default_rng(height * 1000 + width)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    out = redact.apply(image, edits)
    assert out.shape == image.shape and out.dtype == np.uint8
    inside = np.zeros((height, width), bool)
    for edit in edits:
        box = edit.box.clip(width, height)
        if not box.empty:
            inside[box.slices()] = True
    assert np.array_equal(out[~inside], image[~inside])


class _RandomEdits:
    """A stage that asks for the generated edits (the pipeline applies and reports)."""

    name = "random_edits"

    def __init__(self, edits: list[Edit]) -> None:
        self.edits = tuple(edits)

    def run(self, image: np.ndarray, context: object) -> deid.types.StageResult:
        return deid.types.StageResult(edits=self.edits)


@settings(max_examples=40, deadline=None, database=None)
@given(edits=_edits())
def test_pipeline_output_has_the_input_size_whatever_the_edits(edits: list[Edit]) -> None:
    src = np.random.default_rng(1).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    pipe = deid.Pipeline(deid.Config(stages=("metadata",)), stages=[_RandomEdits(edits)])
    result = pipe.process(src)
    assert result.ok
    with Image.open(io.BytesIO(result.data)) as img:
        assert img.size == (80, 64)


@pytest.fixture(scope="module")
def full_pipes() -> tuple[deid.Pipeline, deid.Pipeline]:
    first, second = deid.Pipeline(), deid.Pipeline()
    yield first, second
    first.close()
    second.close()


@pytest.mark.slow
@settings(max_examples=6, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(case=_images())
def test_the_pipeline_is_deterministic(full_pipes: tuple, case: tuple) -> None:
    data, _, _ = case
    first, second = full_pipes
    runs = [first.process(data, name="p.img"), first.process(data, name="p.img"),
            second.process(data, name="p.img")]  # fmt: skip
    outputs = {r.data for r in runs}
    assert len(outputs) == 1
    reports = [r.report.to_dict() for r in runs]
    for report in reports:
        report.pop("timings_ms", None)
    assert reports[0] == reports[1] == reports[2]
