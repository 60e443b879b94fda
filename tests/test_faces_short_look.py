"""Small, blurred faces in a faded print that the small-face tiles score low.

The full-range model scores such a face below the tiles' threshold in every tile and
again when the crop is centred on it; the short-range model, given the face as a
quarter of its input, is sure of it. Generated from package photos: a toned, blurred
head of 40-46 px pasted into a 2000x1500 scene.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from deid.faces import detector
from test_faces_unseen import TRUTH, eyes_filled, head, process, restyle


def faded_face(background: str, name: str, width: int, blur: float):
    """A toned head blurred by ``blur`` px on a 2000x1500 scene at (1234, 567)."""
    scene = getattr(data, background)()
    scene = np.stack([scene] * 3, axis=-1) if scene.ndim == 2 else scene
    canvas = cv2.resize(scene, (2000, 1500), interpolation=cv2.INTER_LINEAR)
    crop, origin = head(name)
    t = TRUTH[name]
    s = width / (t["face"][2] - t["face"][0])
    small = restyle(cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_AREA), "toned")
    at = (1234, 567)
    canvas[at[1] : at[1] + small.shape[0], at[0] : at[0] + small.shape[1]] = cv2.GaussianBlur(
        small, (0, 0), blur
    )
    return canvas, t["eyes"], s, origin, at


CASES = [
    ("coffee", "astronaut", 46, 2.2),
    ("gravel", "grace", 40, 1.6),
    ("gravel", "grace", 46, 1.6),
]


@pytest.mark.parametrize(("background", "name", "width", "blur"), CASES)
def test_faded_small_face_the_full_range_model_scores_low_loses_its_eyes(
    stage, background, name, width, blur
):
    canvas, eyes, s, origin, at = faded_face(background, name, width, blur)
    out, result = process(stage, canvas)
    assert result.review == ()
    assert eyes_filled(out, canvas, eyes, s, origin, at)
    assert any(f.detector == f"blazeface_{detector.SHORT_LOOK}" for f in result.findings)


@pytest.mark.parametrize(("background", "name", "width", "blur"), CASES[:1])
def test_without_the_short_range_look_the_faded_face_is_missed(
    stage, monkeypatch, background, name, width, blur
):
    """The look that finds it: with it switched off, the eyes stay as they were."""
    monkeypatch.setattr(detector, "SHORT_MIN_SCORE", 2.0)
    canvas, eyes, s, origin, at = faded_face(background, name, width, blur)
    out, _ = process(stage, canvas)
    assert not eyes_filled(out, canvas, eyes, s, origin, at)
