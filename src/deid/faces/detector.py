"""Frontal face detection over the whole frame, rotated copies and small-face tiles.

BlazeFace sees a letterboxed 128/192 px square, so a face must be roughly 1/12 of
the picture it is given to be found. The whole frame (downscaled) finds large faces;
rotated copies find faces in sideways or upside-down photos; a pyramid of
overlapping tiles finds faces down to ``min_face_px`` in 12 MP photos. Duplicates
from the passes are merged, keeping the best-scored candidate.

Tiles are most of the stage's cost (about 2.5 ms of model time each, ~170 for a busy
colour 12 MP frame): tiles inside heads already found, and tiles with no contrast or
(in colour) no skin tone, are skipped; the rest run on one detector graph per thread.
"""

from __future__ import annotations

import math
import queue
import threading
import weakref
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .blazeface import BlazeFace, RawDetection
from .geometry import LEFT_EYE, RIGHT_EYE, Detection

WORK_SIDE = 640  # whole-frame pass (at least this): plenty for a model that sees 192 px
TILE_SIDE = 192  # the full-range model input: larger tiles are only shrunk again
TILE_FACE_RATIO = 12  # a face 1/12 of a tile (16 px of 192) is found by the full-range model
# Without colour the model needs the face larger: grey faces pasted into 192 px tiles
# are all found at 21 px (40/40), 31/40 at 19 px, 16/40 at 16 px; a 37 px face in the
# dev set's black-and-white group photo is missed at 1/12 and found at 1/9.
GRAY_TILE_FACE_RATIO = 9
LEVEL_STEP = 2  # each tile level searches faces 1x-2x its smallest
BOX_MARGIN = 1.15  # room for a detector box somewhat wider than the face
# Turned copies make body parts and clothing look face-like to BlazeFace (scores ~0.5);
# real faces in turned photos score above 0.85 on the dev set.
ROTATED_MIN_SCORE = 0.7
# Hundreds of tiles give hundreds of chances for a texture to score just above 0.5;
# real faces in tiles score 0.7 and up on the dev set.
TILE_MIN_SCORE = 0.6
GATE_SIDE = 1000  # maps that decide which tiles are worth a detector call
MIN_CONTRAST = 24  # grey levels across 3 px; any eye or hairline in a face exceeds it
SKIN_MIN_CR = 3  # red chroma above neutral: every skin tone has it, grey does not
DARK_LUMA = 40  # below this, chroma shrinks: a faint red may be skin in shadow
NEUTRAL_CHROMA = 6  # |Cr|+|Cb| of a colourless pixel, JPEG and sensor noise included
COLOURLESS_TILE = 0.95  # a tile this colourless is a black-and-white picture
REFINE_CONTEXT = 3.0  # crop side / face size when a face's keypoints are found again
# The hit that replaces a face's keypoints must be a confident one: the tile graphs also
# report weak hits, and a weak upright hit on a sideways face has keypoints a mesh can
# be fitted to at the wrong roll.
REFINE_MIN_SCORE = 0.5
# Crop side / face size for a second look at a weak tile hit: the full-range model
# scores a face highest with about this much around it (a hard grey face in a 1927
# group photo: 0.24 at 3x, 0.65 at 4x, 0.87 at 6x).
RECENTRE_CONTEXT = 6.0
WEAK_MIN_FRACTION = 0.6  # of min_face_px: smaller weak hits are tile noise (the stage drops them)


@dataclass(frozen=True)
class PassPlan:
    rotations: tuple[int, ...]
    small_faces: bool
    min_face_px: int
    gate_tiles: bool


_CACHE: dict[int, tuple[weakref.ref, dict[int, np.ndarray]]] = {}
_CACHE_LOCK = threading.Lock()


def downscale(image: np.ndarray, long_side: float) -> tuple[np.ndarray, float]:
    """Reduced copy with a long side of ``long_side`` to twice that (the image itself if
    already smaller), and its scale.

    The reduction factor is a whole number: OpenCV's area reduction by a whole factor is
    ten times faster than by a fractional one (1.5 ms instead of 13 ms for 12 MP to
    half), and the copies derive from each other. Detection, the tiles, the gate, the
    cascades, the mesh and verification all ask for a few working copies of one
    read-only frame; they are computed once per frame and forgotten with it (weak
    reference).
    """
    h, w = image.shape[:2]
    factor = int(max(h, w) // max(1.0, long_side))
    if factor <= 1:
        return image, 1.0
    return reduced(image, factor), 1.0 / factor


def reduced(image: np.ndarray, factor: int) -> np.ndarray:
    """``image`` area-reduced by the whole number ``factor`` (right and bottom pixels that
    do not fill a block are dropped, so coordinates map back by exactly ``factor``)."""
    if factor <= 1:
        return image
    if image.flags.writeable:  # pixels may still change: no caching
        return _reduce(image, factor)
    key = id(image)
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        cached = entry[1] if entry is not None and entry[0]() is image else {}
        if factor in cached:
            return cached[factor]
        # Reduce from the smallest cached copy whose factor divides this one.
        divisors = [k for k in cached if factor % k == 0]
    if divisors:
        base = max(divisors)
        work = _reduce(cached[base], factor // base)
    elif factor % 2 == 0 and factor > 2:
        work = _reduce(reduced(image, 2), factor // 2)  # half size first: the other copies
    else:
        work = _reduce(image, factor)
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        if entry is None or entry[0]() is not image:
            ref = weakref.ref(image, lambda _r, k=key: _forget(k, _r))
            entry = (ref, {})
            _CACHE[key] = entry
        entry[1][factor] = work
    return work


def _reduce(image: np.ndarray, factor: int) -> np.ndarray:
    h, w = image.shape[:2]
    nh, nw = max(1, h // factor), max(1, w // factor)
    block = image[: nh * factor, : nw * factor]
    return cv2.resize(block, (nw, nh), interpolation=cv2.INTER_AREA)


def _forget(key: int, ref: weakref.ref) -> None:
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        if entry is not None and entry[0] is ref:
            del _CACHE[key]


def resize(image: np.ndarray, scale: float) -> np.ndarray:
    """Reduction without aliasing, at the least cost for the factor.

    Below a factor of 2, bilinear sampling already mixes every source pixel into an
    output pixel, and OpenCV's area reduction by a fractional factor is five times
    slower (25 ms instead of 5 ms for 12 MP to two thirds). Larger factors are
    area-averaged, first skipping pixels (2x cheaper at 12 MP and still 2+ source pixels
    averaged per output pixel, so no visible aliasing).
    """
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if scale > 0.5:
        return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    step = int(1 / (2 * scale))
    if step >= 2:
        image = image[::step, ::step]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def skin_map(rgb: np.ndarray) -> np.ndarray | None:
    """Boolean map of pixels that may be skin, or ``None`` when the image has no colour.

    Skin of every tone has red chroma above neutral and blue chroma at or below it
    (tones differ mostly in brightness); the range is wide enough for warm and cool
    white balance; in the dark, where chroma shrinks, a trace of red is enough.
    Neutral grey is not skin: that is what lets a grey backdrop
    or a wall be skipped. Used only to skip tiles that cannot contain a face and to
    filter cascade hits, never to accept a face.
    """
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1].astype(np.int16) - 128, ycc[..., 2].astype(np.int16) - 128
    if float(np.mean(np.abs(cr) + np.abs(cb))) < 3.0:
        return None
    skin = (cr >= SKIN_MIN_CR) & (cr <= 52) & (cb >= -58) & (cb <= 7)
    # In the dark, chroma shrinks toward neutral: a dark face is barely red.
    skin |= (ycc[..., 0] < DARK_LUMA) & (cr >= 1) & (cb <= 0)
    kernel = np.ones((5, 5), np.uint8)
    return cv2.dilate(skin.astype(np.uint8), kernel) > 0


def has_colour(image: np.ndarray) -> bool:
    return skin_map(downscale(image, GATE_SIDE)[0]) is not None


def neutral_map(rgb: np.ndarray) -> np.ndarray:
    """Pixels without colour: a region made only of these is a black-and-white picture
    (a scanned print, a grey panel in a composite), where skin tone says nothing."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1].astype(np.int16) - 128, ycc[..., 2].astype(np.int16) - 128
    return (np.abs(cr) + np.abs(cb)) < NEUTRAL_CHROMA


def _count(integral: np.ndarray, window: tuple[int, int, int, int]) -> float:
    x0, y0, x1, y1 = window
    return float(integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0])


@dataclass(frozen=True, eq=False)
class TileGate:
    """Integral images of the gate maps of one frame, computed once on a reduced copy.

    A tile is worth a detector call when it holds at least a small face's worth of
    contrast (eyes, brows and hairline always have it; plain backdrops, black borders
    and blown-out skies do not) and, in colour, of skin-toned pixels. A tile made almost
    only of colourless pixels is judged on contrast alone: a black-and-white picture
    inside a colour image can show a face. Pixels inside the heads of faces already
    found count for nothing: those heads are obscured whole.
    """

    scale: float
    contrast: np.ndarray
    skin: np.ndarray | None
    neutral: np.ndarray | None

    @classmethod
    def build(cls, image: np.ndarray, heads: list[np.ndarray]) -> TileGate:
        small, scale = downscale(image, GATE_SIDE)
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        contrast = cv2.dilate((grad >= MIN_CONTRAST).astype(np.uint8), np.ones((5, 5), np.uint8))
        outside = np.ones(gray.shape, np.uint8)
        for head in heads:
            cv2.fillPoly(outside, [np.round(np.asarray(head) * scale).astype(np.int32)], 0)
        skin = skin_map(small)
        return cls(
            scale=scale,
            contrast=cv2.integral(contrast & outside),
            skin=None if skin is None else cv2.integral(skin.astype(np.uint8) & outside),
            neutral=None if skin is None else cv2.integral(neutral_map(small).astype(np.uint8)),
        )

    def passes(self, box: tuple[float, float, float, float], min_face: float) -> bool:
        """``box`` (left, top, right, bottom) and ``min_face`` in full-resolution pixels."""
        window = self._window(box)
        needed = max(2.0, 0.15 * (min_face * self.scale) ** 2)
        if _count(self.contrast, window) < needed:
            return False
        if self.skin is None or self.neutral is None:
            return True  # no colour in the image: contrast is all there is to go on
        x0, y0, x1, y1 = window
        if _count(self.neutral, window) >= COLOURLESS_TILE * max(1, (x1 - x0) * (y1 - y0)):
            return True
        return _count(self.skin, window) >= needed

    def _window(self, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        ih, iw = self.contrast.shape[0] - 1, self.contrast.shape[1] - 1
        left, top, right, bottom = box
        f = self.scale
        return (
            min(iw, int(left * f)), min(ih, int(top * f)),
            min(iw, math.ceil(right * f)), min(ih, math.ceil(bottom * f)),
        )  # fmt: skip


class FrontalDetector:
    """Whole-frame passes on one detector pair; tile passes spread over a pool of
    full-range instances (each behind its own lock) so both cores work on one frame."""

    def __init__(
        self, short_range: BlazeFace, full_range: BlazeFace, tile_models: list[BlazeFace]
    ) -> None:
        self.short_range = short_range
        self.full_range = full_range
        self._free: queue.SimpleQueue[BlazeFace] = queue.SimpleQueue()
        for model in tile_models or [full_range]:
            self._free.put(model)

    def whole_frame(self, image: np.ndarray, rotations: tuple[int, ...]) -> list[Detection]:
        """The downscaled frame in each of ``rotations`` (degrees; 0 = upright)."""
        work, scale = downscale(image, WORK_SIDE)
        found: list[Detection] = []
        for k in rotations:
            turns = (k // 90) % 4
            rotated = np.ascontiguousarray(np.rot90(work, turns)) if turns else work
            for model in (self.short_range, self.full_range):
                for raw in model.detect(rotated):
                    if turns and raw.score < ROTATED_MIN_SCORE:
                        continue
                    found.append(_to_detection(raw, model.name, turns, work.shape, scale, 0, 0))
        return found  # unmerged: the caller filters false positives first, then merges

    def tiles(
        self,
        image: np.ndarray,
        plan: PassPlan,
        heads: list[np.ndarray],
        pool: Executor | None = None,
    ) -> list[Detection]:
        """Small faces, from overlapping tiles of a pyramid. Tiles inside ``heads`` (faces
        already found, obscured whole) or without a face's worth of contrast and skin
        are skipped; the rest run on the pool."""
        h, w = image.shape[:2]
        gate = TileGate.build(image, heads) if plan.gate_tiles else None
        jobs: list[tuple[np.ndarray, float, int, int, int, int]] = []
        colour = gate.skin is not None if gate is not None else has_colour(image)
        side = plan.min_face_px * (TILE_FACE_RATIO if colour else GRAY_TILE_FACE_RATIO)
        while side < max(h, w) / 1.5:
            # Whole reduction factors are fast and shared with the other working copies;
            # other levels are area-reduced here (never left to the model's own
            # resampling, which aliases fine grain into the face).
            factor = side / TILE_SIDE
            whole = abs(factor - round(factor)) < 1e-6
            scale = 1.0 / round(factor) if whole else min(1.0, 1.0 / factor)
            lh, lw = (h // round(factor), w // round(factor)) if whole else (
                max(1, round(h * scale)), max(1, round(w * scale)))  # fmt: skip
            tile = min(TILE_SIDE, lh, lw) if scale < 1.0 else min(round(side), lh, lw)
            step = max(1, tile - _overlap(tile, plan.min_face_px * scale, side * LEVEL_STEP, h, w))
            boxes = [
                (left, top)
                for top in _starts(lh, tile, step)
                for left in _starts(lw, tile, step)
                if gate is None
                or gate.passes(
                    (left / scale, top / scale, (left + tile) / scale, (top + tile) / scale),
                    plan.min_face_px,
                )
            ]
            if boxes:
                level = reduced(image, round(factor)) if whole else resize(image, scale)
                for left, top in boxes:
                    crop = np.ascontiguousarray(level[top : top + tile, left : left + tile])
                    jobs.append((crop, scale, left, top, lw, lh))
            side *= LEVEL_STEP
        if pool is None or len(jobs) < 2:
            results = [self._tile(*job) for job in jobs]
        else:
            results = list(pool.map(lambda job: self._tile(*job), jobs))
        found = [d for sure, _ in results for d in sure]
        # A face near a tile edge, or off-centre with little around it, can score low in
        # every tile that holds it; each weak hit gets one more look, centred on it.
        weak = [d for _, maybe in results for d in maybe]
        weak = [
            d
            for d in dedupe(weak)
            if d.width >= WEAK_MIN_FRACTION * plan.min_face_px
            and all(overlap(d, f) < 0.3 for f in found)
            and not _inside_any(d.center, heads)
        ]
        if weak:

            def again(det: Detection) -> Detection | None:
                return self._look_again(image, det, RECENTRE_CONTEXT, TILE_MIN_SCORE)

            looks = map(again, weak) if pool is None else pool.map(again, weak)
            found += [d for d in looks if d is not None]
        return found

    def refine(self, image: np.ndarray, det: Detection) -> Detection | None:
        """The face found again in a crop where it fills a third of the model's input.

        Keypoints are good to a few of the model's pixels: for a face found small in a
        whole-frame pass that is tens of image pixels, enough for the mesh (which fits
        the face itself) to disagree with them. ``None`` when the crop shows no face
        where ``det`` is (e.g. a face that was found in a turned copy).
        """
        best = self._look_again(image, det, REFINE_CONTEXT, REFINE_MIN_SCORE)
        return None if best is None else replace(best, detector=det.detector, score=det.score)

    def _look_again(
        self, image: np.ndarray, det: Detection, context: float, min_score: float
    ) -> Detection | None:
        """The best hit on ``det`` in a crop ``context`` times its size, centred on it."""
        h, w = image.shape[:2]
        half = context * det.size / 2
        cx, cy = det.center
        x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
        x1, y1 = min(w, int(cx + half)), min(h, int(cy + half))
        if min(x1 - x0, y1 - y0) < 16:
            return None
        # Crop from the frame's shared reduced copies (halvings of one another) nearest
        # the model's size: a large crop resampled from full resolution would cost more
        # than the detector call.
        factor = 1 << max(0, int(max(x1 - x0, y1 - y0) // TILE_SIDE).bit_length() - 1)
        x0, y0 = x0 // factor * factor, y0 // factor * factor
        crop = reduced(image, factor)[y0 // factor : y1 // factor, x0 // factor : x1 // factor]
        if min(crop.shape[:2]) < 16:
            return None
        scale = min(1.0, TILE_SIDE / max(crop.shape[:2])) / factor
        if scale * factor < 1.0:
            size = (max(1, round(crop.shape[1] * scale * factor)),
                    max(1, round(crop.shape[0] * scale * factor)))  # fmt: skip
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        model = self._free.get()
        try:
            raws = model.detect(np.ascontiguousarray(crop))
        finally:
            self._free.put(model)
        found = [
            _to_detection(raw, "tile", 0, crop.shape, scale, x0 * scale, y0 * scale)
            for raw in raws
            if raw.score >= min_score
        ]
        found = [d for d in found if overlap(d, det) >= 0.5 and 0.67 <= d.size / det.size <= 1.5]
        if not found:
            return None
        return max(found, key=lambda d: (overlap(d, det), d.score))

    def _tile(
        self, crop: np.ndarray, scale: float, left: int, top: int, lw: int, lh: int
    ) -> tuple[list[Detection], list[Detection]]:
        """(sure hits, weak hits): weak ones scored low or touch an inner tile edge."""
        model = self._free.get()
        try:
            raws = model.detect(crop)
        finally:
            self._free.put(model)
        sure, weak = [], []
        for raw in raws:
            det = _to_detection(raw, "tile", 0, crop.shape, scale, left, top)
            if raw.score < TILE_MIN_SCORE or _cut_by_tile(raw, crop.shape, left, top, lw, lh):
                weak.append(det)
            else:
                sure.append(det)
        return sure, weak


def _overlap(tile: int, min_face: float, next_side: float, h: int, w: int) -> int:
    """Tiles overlap by the largest face this level must find (the next level finds
    larger ones), plus a margin for the box; the last level keeps a third of the tile
    for the faces up to what the whole-frame pass finds."""
    if next_side >= max(h, w) / 1.5:
        return tile // 3
    return min(tile - 1, math.ceil(LEVEL_STEP * min_face * BOX_MARGIN) + 2)


def _inside_any(point: tuple[float, float], polygons: list[np.ndarray]) -> bool:
    """Whether ``point`` lies in one of ``polygons`` (heads already found, obscured whole)."""
    return any(
        cv2.pointPolygonTest(np.asarray(p, np.float32).reshape(-1, 1, 2), point, False) >= 0
        for p in polygons
    )


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
    left: float,
    top: float,
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
