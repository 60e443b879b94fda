"""The eye check on nose-to-chin crops whose orientation the detector misreads.

On a lower-face crop the detector's roll is the nostrils' line, tens of degrees off a
crop turned a quarter without an EXIF tag or tilted, and its box often spans the whole
crop (the whole face's size already). When no refit in the detector's orientation is
sure of a face, the picture's own quarter turns are tried too, with a box raised
without growing, each fit followed even from a weak start; the surest tells. A face
whose eyes are in the picture is still obscured.
"""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps
from skimage import data

import deid
from deid.faces.eyes import cut_by_frame, eyes_visible
from deid.faces.geometry import Detection

# Hand-drawn on scikit-image's astronaut (benchmarks/devset_faces.py).
FACE, MOUTH = (178, 70, 282, 192), (199, 136, 247, 157)
EYES = [(190, 93, 214, 108), (236, 95, 260, 110)]


def lower_face(below: float, pad: float, width: int) -> np.ndarray:
    """Nose to chin: the crop top ``below`` of the way from the eyes to the mouth."""
    image = data.astronaut()
    fx0, _, fx1, fy1 = FACE
    fw = fx1 - fx0
    eye_bottom = max(e[3] for e in EYES)
    top = int(eye_bottom + 2 + below * (MOUTH[1] - eye_bottom))
    x0, x1 = max(0, int(fx0 - pad * fw)), min(image.shape[1], int(fx1 + pad * fw))
    crop = image[top : int(fy1 + 0.3 * fw), x0:x1]
    size = (width, round(crop.shape[0] * width / crop.shape[1]))
    return cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC)


def tilted(image: np.ndarray, degrees: float) -> np.ndarray:
    """Turned by a few degrees in its own frame: black corners, as a straightened crop."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR)


def read_only(image: np.ndarray) -> np.ndarray:
    image = np.ascontiguousarray(image)
    image.setflags(write=False)
    return image


def whole_crop(image: np.ndarray, roll_degrees: float, height: float = 1.0) -> Detection:
    """A detector box over the whole crop at the given roll (the nostrils' line)."""
    h, w = image.shape[:2]
    side = float(min(w, h))
    return Detection(center=(w / 2, h / 2), width=side, height=side * height,
                     angle=math.radians(roll_degrees), score=0.55,
                     detector="blazeface_short")  # fmt: skip


@pytest.mark.parametrize("width", [600, 1200])
@pytest.mark.parametrize("turns", [1, 3])
@pytest.mark.parametrize("off", [-40, 40])
def test_crop_turned_a_quarter_with_the_roll_far_off_shows_no_eye(stage, width, turns, off):
    crop = read_only(np.rot90(lower_face(0.15, 0.4, width), turns))
    det = whole_crop(crop, off, height=crop.shape[0] / crop.shape[1] * 0.65)
    assert cut_by_frame(det, crop.shape[1], crop.shape[0])
    # the detector's roll and its quarter turns are all 40 degrees off the face's
    assert not eyes_visible(stage.mesh, crop, det)


@pytest.mark.parametrize(("pad", "width"), [(0.1, 600), (0.1, 1200), (0.4, 1200)])
@pytest.mark.parametrize("degrees", [-16, 16])
def test_tilted_crop_boxed_whole_shows_no_eye(stage, pad, width, degrees):
    crop = read_only(tilted(lower_face(0.15, pad, width), degrees))
    h = crop.shape[0]
    det = Detection(center=(crop.shape[1] / 2, h / 2), width=float(h), height=float(h),
                    angle=0.0, score=0.6, detector="blazeface_short")  # fmt: skip
    assert not eyes_visible(stage.mesh, crop, det)


@pytest.mark.parametrize("turns", [0, 1, 3])
@pytest.mark.parametrize("off", [0, 40])
def test_face_with_its_eyes_in_the_crop_still_shows_them(stage, turns, off):
    """The forehead cut off just above the eyes, the crop turned and boxed the same
    way: the eyes are in the picture, and the face stays a face."""
    image = data.astronaut()
    top = min(e[1] for e in EYES) - 6
    crop = image[top : FACE[3] + 30, FACE[0] - 40 : FACE[2] + 40]
    crop = cv2.resize(crop, None, fx=5, fy=5, interpolation=cv2.INTER_CUBIC)
    crop = read_only(np.rot90(crop, turns))
    side = float(min(crop.shape[:2]))
    det = Detection(center=(crop.shape[1] / 2, crop.shape[0] / 2), width=side, height=side,
                    angle=math.radians(-90 * turns + off), score=0.6,
                    detector="blazeface_short")  # fmt: skip
    assert eyes_visible(stage.mesh, crop, det)


def three_quarter_lower_face() -> np.ndarray:
    """A nose-to-chin crop of the astronaut turned to a three-quarter view (the right
    side receding by a fifth), 1600 px wide: its detector roll is 17 degrees off."""
    image = data.astronaut()
    h, w = image.shape[:2]
    d = 98.4
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, 0], [w - d, d * 0.5], [w - d, h - d * 0.5], [0, h]])
    scale = 2000 / h
    m = np.diag([scale, scale, 1.0]) @ cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    turned = cv2.warpPerspective(image, m, (2000, 2000), flags=cv2.INTER_CUBIC)
    zoom = 2.920842
    crop = np.array([[zoom, 0, -1655.86], [0, zoom, -1565.58]])
    return cv2.warpAffine(turned, crop, (1600, 1075), flags=cv2.INTER_CUBIC)


def test_three_quarter_lower_face_stored_sideways_keeps_its_pixels(stage):
    upright = three_quarter_lower_face()
    crop = read_only(upright)
    assert stage.run(crop, None).edits == ()
    stored = np.ascontiguousarray(np.rot90(upright, -1))  # EXIF 8: turned back on reading
    exif = Image.Exif()
    exif[0x0112] = 8
    buf = io.BytesIO()
    Image.fromarray(stored).save(buf, "JPEG", quality=95, exif=exif.tobytes())
    with deid.Pipeline(deid.Config(stages=("metadata", "faces"))) as pipeline:
        result = pipeline.process(buf.getvalue(), name="smile.jpg")
    assert result.status in {"clean", "redacted"}, result.report.reasons
    assert result.report.faces == []
    with Image.open(io.BytesIO(result.encode())) as im:
        out = np.asarray(im.convert("RGB")).astype(int)
    with Image.open(buf) as im:
        src = np.asarray(ImageOps.exif_transpose(im).convert("RGB")).astype(int)
    assert np.abs(out - src).max() <= 12  # turned upright and encoded again, nothing more
