"""Verification looks again only around what was changed, and still catches a
redaction left incomplete there: the image is held for review with the place named.

Each test runs the real pipeline with the real stage, wrapped so that its redaction
is deliberately incomplete (an eye left out of a head's mask, a PHI line left out of a
block's fills), as a stage bug would leave it.
"""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data

from deid import redact
from deid.config import Config
from deid.faces.finding import FaceFinding
from deid.models import ModelStore
from deid.pipeline import Pipeline
from deid.stages.base import Context
from deid.stages.faces import FaceStage
from deid.stages.text import TextStage
from deid.types import Box, Edit, Frame, StageResult

LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


class _Incomplete:
    """The real stage, with ``spoil`` applied to its first-pass result."""

    def __init__(self, stage: FaceStage | TextStage, spoil) -> None:  # type: ignore[no-untyped-def]
        self.stage, self.spoil, self.name = stage, spoil, stage.name

    def run(self, image: np.ndarray, context: Context) -> StageResult:
        return self.spoil(self.stage.run(image, context))

    def verify(self, image: np.ndarray, context: Context, result: StageResult) -> StageResult:
        return self.stage.verify(image, context, result)

    def close(self) -> None:
        """The wrapped stage is closed by whoever made it (a module fixture)."""


def _context(image: np.ndarray) -> Context:
    return Context(config=Config(), source=None, frame=Frame(image))  # type: ignore[arg-type]


def _overlap(a: Box, b: Box) -> float:
    """Share of ``b`` inside ``a``."""
    inter = a.intersection(b)
    return 0.0 if inter.empty else inter.width * inter.height / (b.width * b.height)


@pytest.fixture(scope="module")
def faces() -> FaceStage:
    stage = FaceStage(Config().faces, ModelStore())
    yield stage
    stage.close()


def _eye_left_visible(result: StageResult) -> StageResult:
    """Every head edit with the first eye box of the first face cut out of its mask."""
    eye = next(f for f in result.findings if isinstance(f, FaceFinding)).eye_boxes[0].pad(6)
    edits = []
    for edit in result.edits:
        mask = np.ones((edit.box.height, edit.box.width), np.float32)
        if edit.mask is not None:
            mask = np.array(edit.mask, dtype=np.float32)
        hole = eye.intersection(edit.box)
        if not hole.empty:
            mask[hole.top - edit.box.top : hole.bottom - edit.box.top,
                 hole.left - edit.box.left : hole.right - edit.box.left] = 0.0  # fmt: skip
        edits.append(replace(edit, mask=mask))
    return replace(result, edits=tuple(edits))


def test_an_eye_left_out_of_a_head_is_found_and_the_image_held_with_the_face_named(
    faces: FaceStage,
) -> None:
    image = data.astronaut()
    spoilt = _Incomplete(faces, _eye_left_visible)
    with Pipeline(Config(), stages=[spoilt]) as pipe:
        result = pipe.process(image)
    report = result.report
    assert result.status == "needs_review"
    assert [r.code for r in report.reasons] == ["face_found_after_redaction"]
    escalated = [f for f in report.faces if f["verification"] == "escalated"]
    assert escalated, "the face whose eye was left visible is not pointed at"
    first = faces.run(image, _context(image))
    eye = next(f for f in first.findings if isinstance(f, FaceFinding)).eye_boxes[0]
    assert any(_overlap(Box(*f["box"]), eye) > 0.9 for f in escalated)
    # The escalation obscured the whole head: the eye is covered in the output.
    out = np.asarray(Image.open(io.BytesIO(result.data)).convert("RGB"))
    top, left = eye.top, eye.left
    patch = out[top : eye.bottom, left : eye.right].astype(int)
    assert patch.std() < 12, "the eye is still visible in the output"


def test_a_complete_redaction_is_checked_around_its_edits_and_passes(faces: FaceStage) -> None:
    image = data.astronaut()
    with Pipeline(Config(), stages=[_Incomplete(faces, lambda r: r)]) as pipe:
        result = pipe.process(image)
    assert result.status == "redacted" and result.report.reasons == []
    assert result.report.faces
    assert all(f["verification"] != "escalated" for f in result.report.faces)


def test_nothing_is_searched_again_where_the_face_stage_changed_nothing(
    faces: FaceStage,
) -> None:
    """A face the run did not report, far from any edit of this stage, is the run's
    business (its detectors are deterministic): verification only checks edits."""
    image = data.astronaut()
    checked = faces.verify(image.copy(), _context(image), StageResult())
    assert checked.edits == () and checked.review == ()


def _two_phi_lines() -> tuple[np.ndarray, Box]:
    """A chart card with an ID line and a phone line just below it; the phone line's
    ink box."""
    img = Image.new("RGB", (900, 300), (246, 244, 238))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(LATIN_FONT, 34)
    draw.text((60, 80), "A123456789", font=font, fill=(20, 20, 20))
    draw.text((60, 130), "0912-345-678", font=font, fill=(20, 20, 20))
    box = draw.textbbox((60, 130), "0912-345-678", font=font)
    return np.array(img), Box(*(int(v) for v in box))


def test_a_phi_line_left_unfilled_beside_a_filled_one_is_found_and_named() -> None:
    pixels, phone = _two_phi_lines()

    def without_the_phone(result: StageResult) -> StageResult:
        kept = [(f, e) for f, e in zip(result.findings, result.edits, strict=True)
                if _overlap(e.box, phone) < 0.5]  # fmt: skip
        assert len(kept) == len(result.edits) - 1, "the first pass must find both lines"
        return replace(result, findings=tuple(f for f, _ in kept),
                       edits=tuple(e for _, e in kept))  # fmt: skip

    config = Config()
    config = replace(config, faces=replace(config.faces, enabled=False))
    text = TextStage(config.text)
    try:
        with Pipeline(config, stages=[_Incomplete(text, without_the_phone)]) as pipe:
            result = pipe.process(pixels)
    finally:
        text.close()
    report = result.report
    assert result.status == "needs_review"
    reasons = [r for r in report.reasons if r.code == "text_phi_after_redaction"]
    assert len(reasons) == 1 and "0912" not in reasons[0].message
    found = [t for t in report.text if t["action"] == "redacted_on_verify"]
    assert any(_overlap(Box(*t["box"]), phone) > 0.8 for t in found)
    out = redact.apply(pixels, [Edit(phone, "fill")])
    decoded = np.asarray(Image.open(io.BytesIO(result.data)).convert("L"))
    # Where the phone was, the output is as dark as a fill, not ink on paper.
    assert decoded[phone.slices()].mean() < 30 and out[phone.slices()].mean() == 0
