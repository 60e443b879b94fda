"""Verification does not take the stage's own obscured head for a face left visible.

The cascades' skin test counts neutral pixels as possible skin (a black-and-white face
has no skin tone), so the stage's grey fill passed it; with a kept "mouth" in it, a
cascade window around an obscured head could look like a face, the mesh could agree,
and the image went to review with a head-sized fill over the scene. The fill is no
evidence of skin: a hit's skin share is taken over the pixels the stage left visible.
A face left visible beside an edit still has its skin in view.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from deid import redact
from deid.config import Config
from deid.faces.geometry import Detection, ellipse
from deid.faces.obscure import edit_for, head_polygon
from deid.faces.verify import _obscured, surroundings
from deid.faces.working_copy import reduced
from deid.stages.base import Context
from deid.types import Box, Edit, Frame, StageResult

GREY = (128, 128, 128)
# A rocket's nose cone with a dark round logo, enlarged to 12 MP: a detector took it for
# a face in a group photo's background, and the stage obscured it but for the "mouth".
NOSE = [(2007, 1047, 180), (2010, 1040, 190), (2000, 1050, 170), (2007, 1047, 200)]


@pytest.fixture(scope="module")
def rocket() -> np.ndarray:
    return cv2.resize(data.rocket(), (4000, 3000), interpolation=cv2.INTER_CUBIC)


def head_edit(cx: int, cy: int, size: int, width: int, height: int) -> Edit:
    """The edit the stage makes for a face found there: its head obscured but for a
    mouth kept low in it."""
    det = Detection(center=(float(cx), float(cy)), width=float(size), height=float(size),
                    angle=0.0, score=0.6, detector="blazeface_full")  # fmt: skip
    mouth = ellipse((cx + 8.0, cy + 41.0), 42.0, 26.0, 0.0, n=36)
    edit = edit_for(head_polygon(det, profile=False), [mouth], 2.0, "fill", 1, GREY, width, height)
    assert edit is not None
    return edit


@pytest.mark.parametrize(("cx", "cy", "size"), NOSE)
def test_an_obscured_head_with_its_mouth_kept_is_not_a_face_left_visible(
    stage, rocket, cx, cy, size
):
    h, w = rocket.shape[:2]
    edit = head_edit(cx, cy, size, w, h)
    out = redact.apply(rocket, [edit])
    out.setflags(write=False)
    ctx = Context(config=Config(), source=None, frame=Frame(rocket))  # type: ignore[arg-type]
    checked = stage.verify(out, ctx, StageResult(edits=(edit,)))
    assert not checked.review
    assert not checked.edits
    # nothing added to the picture: only the stage's own edit
    assert np.array_equal(redact.apply(out, checked.edits), out)


def test_the_frontal_cascade_sees_the_fill_as_a_face_only_when_it_counts_as_skin(stage, rocket):
    h, w = rocket.shape[:2]
    edit = head_edit(*NOSE[0], w, h)
    out = redact.apply(rocket, [edit])
    (region,) = surroundings([edit.box], w, h)
    crop = np.ascontiguousarray(out[region.slices()])
    with_fill = without_fill = 0
    for factor in (6, 8, 9, 10):  # the reductions verification uses for such a head
        work = reduced(crop, factor)
        hidden = _obscured([edit], region, (h, w), factor)
        assert hidden.shape == work.shape[:2] and hidden.any()
        cascade = stage.frontal_cascade
        with_fill += len(cascade.detect(work, 32, lambda _d: True, "haar_frontal"))
        without_fill += len(
            cascade.detect(work, 32, lambda _d: True, "haar_frontal", obscured=hidden)
        )
    assert with_fill >= 3  # the grey disc with a mouth passes the skin test as grey skin
    assert without_fill == 0


def test_a_face_half_covered_by_an_edit_is_still_seen_by_the_cascade(stage):
    image = data.astronaut()
    h, w = image.shape[:2]
    # mouth and chin filled, eyes, nose and forehead left in view
    low = Edit(Box(178, 140, 282, 200), "fill", color=GREY)
    out = redact.apply(image, [low])
    hidden = _obscured([low], Box(0, 0, w, h), (h, w), 1)
    assert hidden[170, 230] and not hidden[100, 230]
    cascade = stage.frontal_cascade
    found = cascade.detect(out, 32, lambda _d: True, "haar_frontal", obscured=hidden)
    assert [d.box(w, h) for d in found] == [
        d.box(w, h) for d in cascade.detect(out, 32, lambda _d: True, "haar_frontal")
    ]
    face = Box(178, 70, 282, 192)
    assert any(face.intersection(d.box(w, h)).area > 0.5 * face.area for d in found)


def test_verification_still_escalates_a_face_whose_eyes_are_left_in_view(stage):
    image = data.astronaut()
    ctx = Context(config=Config(), source=None, frame=Frame(image))  # type: ignore[arg-type]
    # mouth, chin and neck filled; eyes in view, inside the edit's surroundings
    low = Edit(Box(150, 140, 310, 260), "fill", color=GREY)
    out = redact.apply(image, [low])
    checked = stage.verify(out, ctx, StageResult(edits=(low,)))
    assert any(r.code == "face_found_after_redaction" for r in checked.review)
    final = redact.apply(out, checked.edits)
    for x0, y0, x1, y1 in [(190, 93, 214, 108), (236, 95, 260, 110)]:  # the eyes
        assert np.all(final[y0:y1, x0:x1] == GREY)


def test_obscured_pixels_on_the_reduced_grid_match_a_full_coverage_map():
    from deid.faces.obscure import coverage

    rng = np.random.default_rng(3)
    height, width = 700, 900
    for _ in range(60):
        edits = []
        for _ in range(int(rng.integers(1, 4))):
            x, y = (int(v) for v in rng.integers(-50, 800, 2))
            bw, bh = (int(v) for v in rng.integers(5, 300, 2))
            mask = (rng.random((bh, bw)) > 0.3).astype(np.float32) if rng.random() < 0.5 else None
            edits.append(Edit(Box(x, y, x + bw, y + bh), "fill", color=GREY, mask=mask))
        rx, ry = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
        region = Box(rx, ry, int(rng.integers(rx + 10, width + 1)),
                     int(rng.integers(ry + 10, height + 1)))  # fmt: skip
        factor = int(rng.integers(1, 8))
        full = reduced(coverage(edits, (height, width), region), factor) >= 0.99
        assert np.array_equal(_obscured(edits, region, (height, width), factor), full)
