"""Frontal face detection over the whole frame, rotated copies and small-face tiles.

BlazeFace sees a letterboxed 128/192 px square, so a face must be roughly 1/12 of
the picture it is given to be found. The whole frame (downscaled) finds large faces;
rotated copies find faces in sideways or upside-down photos; a pyramid of
overlapping tiles finds faces down to ``min_face_px`` in 12 MP photos (duplicates are
merged by ``merge.py``).

Tiles are most of the stage's cost (about 2.5 ms of model time each, ~170 for a busy
colour 12 MP frame, and about as many again for the level that looks for grey and
toned faces in a colour frame): tiles inside heads already found, tiles with no
contrast, and (in colour) tiles without skin tone or, for the grey level, without a
face's area of muted pixels, are skipped (``gate.py``); the rest run on one detector
graph per thread.
"""

from __future__ import annotations

import math
import queue
from concurrent.futures import Executor
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .blazeface import BlazeFace, RawDetection
from .gate import TileGate, has_colour
from .geometry import LEFT_EYE, RIGHT_EYE, Detection
from .merge import dedupe, overlap
from .second_opinion import MAX_WIDTH as SECOND_OPINION_MAX_WIDTH
from .working_copy import downscale, reduced, resize

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
REFINE_CONTEXT = 3.0  # crop side / face size when a face's keypoints are found again
# The hit that replaces a face's keypoints must be a confident one: the tile graphs also
# report weak hits, and a weak upright hit on a sideways face has keypoints a mesh can
# be fitted to at the wrong roll.
REFINE_MIN_SCORE = 0.5
# Crop side / face size for a second look at a weak tile hit: the full-range model
# scores a face highest with about this much around it (a hard grey face in a 1927
# group photo: 0.24 at 3x, 0.65 at 4x, 0.87 at 6x).
RECENTRE_CONTEXT = 6.0
# Candidates narrower than this part of ``min_face_px`` are tile noise, far below the
# size searched for: nothing identifiable (detector boxes are tighter than the face).
MIN_FACE_FRACTION = 0.6
# A small, blurred face in an old grey or toned print can score low on the full-range
# model however it is cropped (0.4-0.69 on the dev set) while the short-range model,
# trained on larger, sharper faces, finds it at 0.75-0.92 once the face is a quarter
# of its input. A weak tile hit the full-range look does not confirm gets a short-range
# look at this context, kept from this score (the hits that reached it on the dev
# set's face-free pictures: none); the stage asks the Haar cascade too when the mesh
# doubts it (``second_opinion.py``), so only hits small enough for the cascade get it
# (about 21 short-range looks, 0.1 s CPU, per busy 12 MP photo).
SHORT_CONTEXT = 4.0
SHORT_MIN_SCORE = 0.75
SHORT_LOOK = "tile_short"  # the source name of a hit the short-range look confirmed


@dataclass(frozen=True)
class PassPlan:
    rotations: tuple[int, ...]
    small_faces: bool
    min_face_px: int
    gate_tiles: bool


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
        # (side searched, only the tiles with muted pixels, last level of the ladder)
        levels: list[tuple[float, bool, bool]] = []
        side = plan.min_face_px * (TILE_FACE_RATIO if colour else GRAY_TILE_FACE_RATIO)
        while side < max(h, w) / 1.5:
            levels.append((side, False, side * LEVEL_STEP >= max(h, w) / 1.5))
            side *= LEVEL_STEP
        if colour and plan.min_face_px * GRAY_TILE_FACE_RATIO < max(h, w) / 1.5:
            # A grey or toned face in a colour frame (a print on the wall, a faded photo)
            # must be larger in the tile than a face in colour: one more level at the
            # black-and-white ratio. It keeps the ladder's overlap (faces up to twice
            # the smallest): a toned, blurred 48 px face is found only here.
            levels.append((plan.min_face_px * GRAY_TILE_FACE_RATIO, True, False))
        for side, grey_only, last in levels:
            # Whole reduction factors are fast and shared with the other working copies;
            # other levels are area-reduced here (never left to the model's own
            # resampling, which aliases fine grain into the face).
            factor = side / TILE_SIDE
            whole = abs(factor - round(factor)) < 1e-6
            scale = 1.0 / round(factor) if whole else min(1.0, 1.0 / factor)
            lh, lw = (h // round(factor), w // round(factor)) if whole else (
                max(1, round(h * scale)), max(1, round(w * scale)))  # fmt: skip
            tile = min(TILE_SIDE, lh, lw) if scale < 1.0 else min(round(side), lh, lw)
            step = max(1, tile - _overlap(tile, LEVEL_STEP * plan.min_face_px * scale, last))
            check = None if gate is None else gate.passes_grey if grey_only else gate.passes
            boxes = [
                (left, top)
                for top in _starts(lh, tile, step)
                for left in _starts(lw, tile, step)
                if check is None
                or check(
                    (left / scale, top / scale, (left + tile) / scale, (top + tile) / scale),
                    plan.min_face_px,
                )
            ]
            if boxes:
                level = reduced(image, round(factor)) if whole else resize(image, scale)
                # Views into the level: each engine makes the one copy it needs (its
                # input tensor), and a busy frame's few hundred tiles are not all held
                # as copies (40 MB at 12 MP) while they wait for the pool.
                for left, top in boxes:
                    crop = level[top : top + tile, left : left + tile]
                    jobs.append((crop, scale, left, top, lw, lh))
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
            if d.width >= MIN_FACE_FRACTION * plan.min_face_px
            and all(overlap(d, f) < 0.3 for f in found)
            and not _inside_any(d.center, heads)
        ]
        if weak:

            def again(det: Detection) -> Detection | None:
                best = self.look_again(image, det, RECENTRE_CONTEXT, TILE_MIN_SCORE)
                if best is None and det.width <= SECOND_OPINION_MAX_WIDTH:
                    best = self.look_again(image, det, SHORT_CONTEXT, SHORT_MIN_SCORE, True)
                return best

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
        best = self.look_again(image, det, REFINE_CONTEXT, REFINE_MIN_SCORE)
        return None if best is None else replace(best, detector=det.detector, score=det.score)

    def look_again(
        self,
        image: np.ndarray,
        det: Detection,
        context: float,
        min_score: float,
        short: bool = False,
    ) -> Detection | None:
        """The best hit on ``det`` in a crop ``context`` times its size, centred on it
        (on the short-range model when ``short``, else on a full-range tile graph)."""
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
        shrink = min(1.0, TILE_SIDE / max(crop.shape[:2]))  # the rest of the way to the model
        if shrink < 1.0:
            size = (max(1, round(crop.shape[1] * shrink)), max(1, round(crop.shape[0] * shrink)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        scale = shrink / factor
        if short:
            raws = self.short_range.detect(np.ascontiguousarray(crop))
        else:
            model = self._free.get()
            try:
                raws = model.detect(np.ascontiguousarray(crop))
            finally:
                self._free.put(model)
        found = [
            _to_detection(
                raw, SHORT_LOOK if short else "tile", 0, crop.shape, scale, x0 * scale, y0 * scale
            )
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


def _overlap(tile: int, max_face: float, last: bool) -> int:
    """Tiles overlap by the largest face this level must find (the next level finds
    larger ones), plus a margin for the box; the last level keeps a third of the tile
    for the faces up to what the whole-frame pass finds."""
    if last:
        return tile // 3
    return min(tile - 1, math.ceil(max_face * BOX_MARGIN) + 2)


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
