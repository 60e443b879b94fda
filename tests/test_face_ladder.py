"""The small-face tiles on busy 12 MP-like frames: what any faster tile pass must keep.

Colour faces at the smallest sizes the stage promises (``faces.min_face_px`` to twice
that, across the hand-over between tile levels) and grey or toned faces in a colour
frame, pasted off any tile grid into a warm, textured scene where the gate lets almost
every tile through, run on the real detector graphs. ``count_tiles`` is what the face
speed notes count (benchmarks/face_speed_floor.py counts the same way).
"""

from __future__ import annotations

import cv2
import matplotlib.cbook
import numpy as np
import pytest
from PIL import Image
from skimage import data

from deid.faces.detector import FrontalDetector
from deid.stages.faces import FaceStage

# Hand-drawn face boxes (x0, y0, x1, y1) of the package photos (benchmarks/devset_faces.py).
ASTRONAUT_FACE = (178, 70, 282, 192)
GRACE_FACE = (170, 132, 360, 328)
FRAME = (2400, 1800)  # large enough for three tile levels, small enough for a test


def grace() -> np.ndarray:
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


def busy_scene(seed: int) -> np.ndarray:
    """Warm, textured background (skimage's coffee and grass, tiled): skin-toned and
    full of contrast, so the gate lets almost every tile through."""
    w, h = FRAME
    rng = np.random.default_rng(seed)
    coffee = cv2.resize(data.coffee(), (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    grass = cv2.resize(data.grass(), (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    mix = 0.7 * coffee + 0.3 * grass[..., None] + rng.normal(0, 3, (h, w, 1))
    return np.clip(mix, 0, 255).astype(np.uint8)


def paste_face(
    canvas: np.ndarray, photo: np.ndarray, face: tuple[int, int, int, int], width: int,
    at: tuple[int, int],
) -> tuple[float, float]:  # fmt: skip
    """``photo`` scaled so its face is ``width`` px wide, its head and shoulders pasted
    at ``at``; returns the face centre in the canvas."""
    zoom = width / (face[2] - face[0])
    small = cv2.resize(photo, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_AREA)
    fx0, fy0 = int(face[0] * zoom), int(face[1] * zoom)
    fx1, fy1 = int(face[2] * zoom), int(face[3] * zoom)
    pad = width  # the head with a face's width around it, not the whole photo
    x0, y0 = max(0, fx0 - pad), max(0, fy0 - pad)
    x1, y1 = min(small.shape[1], fx1 + pad), min(small.shape[0], fy1 + pad)
    patch = small[y0:y1, x0:x1]
    left, top = at
    canvas[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    return left + (fx0 + fx1) / 2 - x0, top + (fy0 + fy1) / 2 - y0


def found_at(dets, centre: tuple[float, float], width: int) -> bool:
    return any(
        abs(d.center[0] - centre[0]) < 0.5 * width and abs(d.center[1] - centre[1]) < 0.5 * width
        for d in dets
    )


def read_only(image: np.ndarray) -> np.ndarray:
    image = np.ascontiguousarray(image)
    image.setflags(write=False)
    return image


def count_tiles(stage: FaceStage, image: np.ndarray, gated: bool) -> int:
    """How many tiles the ladder gives the detector (counted, not run)."""
    plan = stage.plan()
    plan = type(plan)(plan.rotations, True, plan.min_face_px, gate_tiles=gated)
    counted: list[int] = []
    original = FrontalDetector._tile

    def count(self, crop, *args):  # type: ignore[no-untyped-def]
        counted.append(crop.shape[0])
        return [], []

    FrontalDetector._tile = count  # type: ignore[method-assign]
    try:
        stage.frontal.tiles(read_only(image), plan, [])
    finally:
        FrontalDetector._tile = original  # type: ignore[method-assign]
    return len(counted)


@pytest.mark.parametrize("width", [32, 40, 52, 64])
def test_small_colour_faces_in_a_busy_frame_are_found(stage, width):
    # The sizes span the finest level (faces 1x-2x the smallest) and its hand-over to
    # the next; the faces sit off any tile grid (odd offsets).
    canvas = busy_scene(width)
    a = paste_face(canvas, data.astronaut(), ASTRONAUT_FACE, width, (413, 517))
    g = paste_face(canvas, grace(), GRACE_FACE, width, (1591, 1103))
    image = read_only(canvas)
    dets = stage.frontal.tiles(image, stage.plan(), [])
    assert found_at(dets, a, width), f"astronaut face of {width} px missed"
    assert found_at(dets, g, width), f"Grace Hopper's face of {width} px missed"
    # Nothing else in the textured scene survives the stage's checks.
    faces = stage.find(image)
    assert all(found_at([f.det], a, width) or found_at([f.det], g, width) for f in faces)


@pytest.mark.parametrize("tone", ["grey", "sepia"])
def test_grey_and_toned_faces_in_a_colour_frame_are_found(stage, tone):
    # A faded print on a warm wall: no skin tone, found by the same ladder.
    width = 40
    photo = np.repeat(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    if tone == "sepia":
        photo = np.clip(photo * np.array([1.0, 0.85, 0.65]) + [20, 10, 0], 0, 255)
        photo = photo.astype(np.uint8)
    canvas = busy_scene(7)
    centre = paste_face(canvas, photo, ASTRONAUT_FACE, width, (1207, 611))
    dets = stage.frontal.tiles(read_only(canvas), stage.plan(), [])
    assert found_at(dets, centre, width), f"{tone} face of {width} px missed"


def test_gate_only_removes_tiles_and_a_flat_frame_has_none(stage):
    busy = busy_scene(3)
    ungated = count_tiles(stage, busy, gated=False)
    assert 0 < count_tiles(stage, busy, gated=True) <= ungated
    plain = np.full_like(busy, 128)
    plain[..., 0] = 170  # warm but flat: no contrast anywhere
    assert count_tiles(stage, plain, gated=False) == ungated
    assert count_tiles(stage, plain, gated=True) == 0


def test_tiles_wait_for_the_pool_as_views_not_copies(stage):
    """A busy 12 MP frame gives the detector a few hundred tiles; they wait for the pool
    as views into the frame's reduced copies, so the pass allocates about what its
    levels take (29 MB here), not 110 KB more per tile (62 MB when each tile was
    copied), and still finds the small faces."""
    import tracemalloc

    canvas = cv2.resize(busy_scene(9), (4000, 3000), interpolation=cv2.INTER_LINEAR)
    a = paste_face(canvas, data.astronaut(), ASTRONAUT_FACE, 40, (1313, 911))
    g = paste_face(canvas, grace(), GRACE_FACE, 56, (2917, 2203))
    image = read_only(canvas)
    tiles = count_tiles(stage, image, gated=True)
    assert tiles * 192 * 192 * 3 > 30 * 2**20  # a copy of each tile: 30 MB and more
    stage.frontal.tiles(image, stage.plan(), [])  # the shared reduced copies, made once
    tracemalloc.start()
    try:
        dets = stage.frontal.tiles(image, stage.plan(), [], stage._pool)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 45 * 2**20, f"{peak / 2**20:.0f} MB for {tiles} tiles"
    assert found_at(dets, a, 40) and found_at(dets, g, 56)
