"""Frontal face detection over the whole frame, rotated copies and small-face tiles.

BlazeFace sees a letterboxed 128/192 px square, so a face must be roughly 1/12 of
the picture it is given to be found. The whole frame (downscaled) finds large faces;
rotated copies find faces in sideways or upside-down photos; a pyramid of
overlapping tiles finds faces down to ``min_face_px`` in 12 MP photos. Duplicates
from the passes are merged, keeping the best-scored candidate.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from .blazeface import BlazeFace, RawDetection
from .geometry import LEFT_EYE, RIGHT_EYE, Detection

WORK_SIDE = 640  # whole-frame pass: plenty for a model that sees 192 px
TILE_SIDE = 192  # the full-range model input: larger tiles are only shrunk again
TILE_FACE_RATIO = 12  # a face 1/12 of a tile (16 px of 192) is found by the full-range model
# Turned copies make body parts and clothing look face-like to BlazeFace (scores ~0.5);
# real faces in turned photos score above 0.85 on the dev set.
ROTATED_MIN_SCORE = 0.7
# Hundreds of tiles give hundreds of chances for a texture to score just above 0.5;
# real faces in tiles score 0.7 and up on the dev set.
TILE_MIN_SCORE = 0.6
GATE_SIDE = 1024  # maps that decide which tiles are worth a detector call
MIN_CONTRAST = 24  # grey levels across 3 px; any eye or hairline in a face exceeds it


@dataclass(frozen=True)
class PassPlan:
    rotations: tuple[int, ...]
    small_faces: bool
    min_face_px: int
    gate_tiles: bool


_CACHE: dict[int, tuple[weakref.ref, dict[float, tuple[np.ndarray, float]]]] = {}
_CACHE_LOCK = threading.Lock()


def downscale(image: np.ndarray, long_side: float) -> tuple[np.ndarray, float]:
    """Reduced copy whose long side is ``long_side`` (the image itself if already smaller).

    Detection, the cascades, the mesh and verification all ask for the same few working
    copies of one read-only frame; they are computed once per frame and forgotten when
    the frame is (weak reference), so a 12 MP image is reduced once, not six times.
    """
    h, w = image.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    if scale >= 1.0:
        return image, 1.0
    if image.flags.writeable:  # pixels may still change: no caching
        return resize(image, scale), scale
    key = id(image)
    source, source_scale = image, 1.0
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        if entry is not None and entry[0]() is image:
            if long_side in entry[1]:
                return entry[1][long_side]
            # Reduce from the smallest cached copy that is still larger (far cheaper).
            larger = [c for side, c in entry[1].items() if side > long_side]
            if larger:
                source, source_scale = min(larger, key=lambda c: c[1])
    work = resize(source, scale / source_scale), scale
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        if entry is None or entry[0]() is not image:
            ref = weakref.ref(image, lambda _r, k=key: _forget(k, _r))
            entry = (ref, {})
            _CACHE[key] = entry
        entry[1][long_side] = work
    return work


def _forget(key: int, ref: weakref.ref) -> None:
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        if entry is not None and entry[0] is ref:
            del _CACHE[key]


def resize(image: np.ndarray, scale: float) -> np.ndarray:
    """Area-averaged reduction; large factors first skip pixels (2x cheaper at 12 MP and
    still 2+ source pixels averaged per output pixel, so no visible aliasing)."""
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    step = int(1 / (2 * scale))
    if step >= 2:
        image = image[::step, ::step]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def skin_map(rgb: np.ndarray) -> np.ndarray | None:
    """Boolean map of skin-coloured pixels, or ``None`` when the image has no colour.

    A wide YCrCb range (covers all skin tones under ordinary light); used only to
    skip tiles that cannot contain a face, never to accept one.
    """
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1].astype(np.int16), ycc[..., 2].astype(np.int16)
    if float(np.mean(np.abs(cr - 128) + np.abs(cb - 128))) < 3.0:
        return None
    skin = (cr >= 128) & (cr <= 180) & (cb >= 70) & (cb <= 135)
    kernel = np.ones((5, 5), np.uint8)
    return cv2.dilate(skin.astype(np.uint8), kernel) > 0


class FrontalDetector:
    def __init__(self, short_range: BlazeFace, full_range: BlazeFace) -> None:
        self.short_range = short_range
        self.full_range = full_range

    def detect(self, image: np.ndarray, plan: PassPlan) -> list[Detection]:
        work, scale = downscale(image, WORK_SIDE)
        found: list[Detection] = []
        for k in (0, *plan.rotations):
            turns = (k // 90) % 4
            rotated = np.ascontiguousarray(np.rot90(work, turns)) if turns else work
            for model in (self.short_range, self.full_range):
                for raw in model.detect(rotated):
                    if turns and raw.score < ROTATED_MIN_SCORE:
                        continue
                    found.append(_to_detection(raw, model.name, turns, work.shape, scale, 0, 0))
        if plan.small_faces:
            found.extend(self._tiles(image, plan))
        return found  # unmerged: the caller filters false positives first, then merges

    def _tiles(self, image: np.ndarray, plan: PassPlan) -> list[Detection]:
        h, w = image.shape[:2]
        gates: list[np.ndarray] = []
        gate_scale = 1.0
        if plan.gate_tiles:
            small, gate_scale = downscale(image, GATE_SIDE)
            gates = [cv2.integral(m.astype(np.uint8)) for m in gate_maps(small)]
        found: list[Detection] = []
        side = plan.min_face_px * TILE_FACE_RATIO
        while side < max(h, w) / 1.5:
            scale = min(1.0, TILE_SIDE / side)
            level = image if scale >= 1.0 else resize(image, scale)
            lh, lw = level.shape[:2]
            tile = min(TILE_SIDE, lh, lw) if scale < 1.0 else min(round(side), lh, lw)
            step = max(1, tile - tile // 3)
            min_face_level = plan.min_face_px * scale
            for top in _starts(lh, tile, step):
                for left in _starts(lw, tile, step):
                    if not all(
                        _enough(g, gate_scale / scale, left, top, tile, min_face_level)
                        for g in gates
                    ):
                        continue
                    crop = level[top : top + tile, left : left + tile]
                    for raw in self.full_range.detect(crop):
                        if raw.score < TILE_MIN_SCORE:
                            continue
                        if _cut_by_tile(raw, crop.shape, left, top, lw, lh):
                            continue  # a neighbouring tile sees this face whole
                        found.append(_to_detection(raw, "tile", 0, crop.shape, scale, left, top))
            side *= 3
        return found


def _cut_by_tile(
    raw: RawDetection, shape: tuple[int, ...], left: int, top: int, lw: int, lh: int
) -> bool:
    """True when the box touches a tile edge that is not also an image edge."""
    x, y, w, h = raw.box
    th, tw = shape[:2]
    edge = 2.0
    return (
        (x <= edge and left > 0)
        or (y <= edge and top > 0)
        or (x + w >= tw - edge and left + tw < lw)
        or (y + h >= th - edge and top + th < lh)
    )


def _starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def _enough(
    integral: np.ndarray, factor: float, left: int, top: int, tile: int, min_face: float
) -> bool:
    """At least a small face's worth of marked pixels inside the tile."""
    ih, iw = integral.shape[0] - 1, integral.shape[1] - 1
    x0, y0 = min(iw, int(left * factor)), min(ih, int(top * factor))
    x1, y1 = min(iw, math.ceil((left + tile) * factor)), min(ih, math.ceil((top + tile) * factor))
    count = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    needed = max(2.0, 0.15 * (min_face * factor) ** 2)
    return float(count) >= needed


def gate_maps(rgb: np.ndarray) -> list[np.ndarray]:
    """Where a small face could be: skin-coloured pixels (colour images only) and
    pixels with local contrast (eyes, brows and hair always have it; plain studio
    backdrops and black borders do not)."""
    maps = []
    skin = skin_map(rgb)
    if skin is not None:
        maps.append(skin)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    contrast = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    maps.append(
        cv2.dilate((contrast >= MIN_CONTRAST).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    )
    return maps


def _unrotate(points: np.ndarray, turns: int, shape: tuple[int, ...]) -> np.ndarray:
    """Map points from ``np.rot90(img, turns)`` back to ``img`` (continuous coordinates)."""
    h, w = shape[:2]
    x, y = points[:, 0], points[:, 1]
    if turns == 1:
        return np.stack([w - y, x], axis=1)
    if turns == 2:
        return np.stack([w - x, h - y], axis=1)
    if turns == 3:
        return np.stack([y, h - x], axis=1)
    return points.copy()


def _to_detection(
    raw: RawDetection,
    source: str,
    turns: int,
    shape: tuple[int, ...],
    scale: float,
    left: int,
    top: int,
) -> Detection:
    x, y, bw, bh = raw.box
    center = np.array([[x + bw / 2, y + bh / 2]])
    kps = raw.keypoints
    axis = np.array([[0.0, 0.0], [1.0, 0.0]])
    if turns:
        center = _unrotate(center, turns, shape)
        kps = _unrotate(kps, turns, shape)
        axis = _unrotate(axis, turns, shape)
    offset = np.array([left, top], dtype=np.float64)
    center = (center + offset) / scale
    kps = (kps + offset) / scale
    pass_angle = math.atan2(axis[1, 1] - axis[0, 1], axis[1, 0] - axis[0, 0])
    eye = kps[LEFT_EYE] - kps[RIGHT_EYE]
    angle = math.atan2(eye[1], eye[0])
    # Trust the eye line only when it roughly agrees with the pass orientation.
    if abs(math.remainder(angle - pass_angle, 2 * math.pi)) > math.radians(60):
        angle = pass_angle
    return Detection(
        center=(float(center[0, 0]), float(center[0, 1])),
        width=bw / scale,
        height=bh / scale,
        angle=angle,
        score=raw.score,
        detector=f"blazeface_{source}" + (f"_rot{turns * 90}" if turns else ""),
        keypoints=kps,
        pass_angle=pass_angle,
    )


def overlap(a: Detection, b: Detection) -> float:
    """Intersection over the smaller box: catches a face found whole and in part."""
    ax0, ay0, ax1, ay1 = a.bounds()
    bx0, by0, bx1, by1 = b.bounds()
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return iw * ih / smaller if smaller > 0 else 0.0


def merge(candidates: Iterable[Detection], threshold: float = 0.4) -> list[Detection]:
    """Greedy suppression: best score first, keypoint-bearing candidates preferred."""
    # Scores are bucketed so that among near-equal candidates a whole-frame pass beats a
    # tile (tiles see faces off-centre) and then the larger box (the whole face) wins.
    ordered = sorted(
        candidates,
        key=lambda d: (
            d.keypoints is not None,
            round(d.score, 1),
            "tile" not in d.detector,
            d.size,
        ),
        reverse=True,
    )
    kept: list[Detection] = []
    for cand in ordered:
        if all(overlap(cand, k) < threshold for k in kept):
            kept.append(cand)
    return kept


def dedupe(candidates: Iterable[Detection]) -> list[Detection]:
    """Drop near-copies (same place, similar size) from the several passes, keeping the
    best; unlike ``merge`` it never lets a large box swallow smaller ones."""
    kept: list[Detection] = []
    for cand in sorted(candidates, key=lambda d: (round(d.score, 1), d.size), reverse=True):
        if all(overlap(cand, k) < 0.6 or not 0.67 <= cand.size / k.size <= 1.5 for k in kept):
            kept.append(cand)
    return kept
