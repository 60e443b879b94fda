"""Text-region proposals and the crops the OCR engine reads.

OCR on a whole 12 MP photo is slow and, with page segmentation guessing over a
busy photo, often finds nothing. Text lines, however, are easy to propose: many
short high-contrast strokes that a horizontal closing fuses into a long, thin,
well-filled blob. We look for such blobs on a small image pyramid (so that both
12 px overlay captions and large name-card lettering fuse), take their rotated
rectangles (rotation comes for free), join pieces of the same line so labels stay
next to their values, and cut each line out upright, dark-on-light and scaled to
the text height the OCR engine reads best.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..types import Box

# Longest side of the detection image: 12 px captions on a 12 MP frame are still
# about 6 px tall there, enough for the stroke gradient to show.
WORK_SIDE = 2000
# Pyramid factors relative to the detection image; coarser levels fuse large text.
_LEVELS = (1.0, 0.4, 0.16)
# Blob height accepted at each level, in level pixels.
_MIN_H, _MAX_H = 4, 48
_MAX_ANGLE = 20.0
# Proposals tilted less than this are taken as level (see ``_rotated``).
_SNAP_ANGLE = 2.5
# Text height (ink rows of one line) the OCR engine is given.
TARGET_LINE_HEIGHT = 36
_MAX_CROP_WIDTH = 3000
# Lines taller than this (image pixels) are cut from a reduced copy of their
# surroundings (``_reduced_crops``).
_REDUCE_ABOVE = 4 * TARGET_LINE_HEIGHT


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rotated rectangle around one text line, in full-resolution pixels.

    ``angle`` is the baseline direction in degrees, positive when the line runs
    downwards to the right (image y grows downwards).
    """

    cx: float
    cy: float
    width: float
    height: float
    angle: float

    def corners(self) -> np.ndarray:
        a = math.radians(self.angle)
        ux, uy = math.cos(a), math.sin(a)
        vx, vy = -uy, ux
        hw, hh = self.width / 2, self.height / 2
        pts = [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
        return np.array(
            [(self.cx + x * ux + y * vx, self.cy + x * uy + y * vy) for x, y in pts],
            dtype=np.float64,
        )

    def bbox(self) -> Box:
        pts = self.corners()
        return Box(
            math.floor(pts[:, 0].min()), math.floor(pts[:, 1].min()),
            math.ceil(pts[:, 0].max()), math.ceil(pts[:, 1].max()),
        )  # fmt: skip


@dataclass(frozen=True, eq=False)
class Crop:
    """An upright, dark-on-light grayscale crop and the way back to the image.

    ``to_image`` is a 2x3 affine matrix mapping crop pixels to image pixels;
    ``text_height`` is the line height in image pixels (used for padding).
    """

    pixels: np.ndarray
    to_image: np.ndarray
    text_height: float
    candidate: Candidate
    # Rows of the crop the line's ink spans (top, bottom): redactions cover these,
    # whatever the height of the crop around them.
    band: tuple[float, float] | None = None

    def quad_to_image(self, box: Box) -> np.ndarray:
        """Corners of a crop box in image pixels (TL, TR, BR, BL), unclipped."""
        pts = np.array(
            [
                [box.left, box.top, 1.0],
                [box.right, box.top, 1.0],
                [box.right, box.bottom, 1.0],
                [box.left, box.bottom, 1.0],
            ]
        )
        return pts @ self.to_image.T

    def box_to_image(self, box: Box, width: int, height: int) -> Box:
        pts = np.array(
            [
                [box.left, box.top, 1.0],
                [box.right, box.top, 1.0],
                [box.right, box.bottom, 1.0],
                [box.left, box.bottom, 1.0],
            ]
        )
        mapped = pts @ self.to_image.T
        return Box(
            math.floor(mapped[:, 0].min()), math.floor(mapped[:, 1].min()),
            math.ceil(mapped[:, 0].max()), math.ceil(mapped[:, 1].max()),
        ).clip(width, height)  # fmt: skip


# -- proposals --------------------------------------------------------------------------


def work_size(width: int, height: int) -> tuple[int, int]:
    """Size of the detection image for a frame: a caller holding a reduced copy of
    that size (the shared pyramid's ``fit(WORK_SIDE)``) passes it to
    ``find_candidates`` instead of having it resized again from the full frame."""
    scale = min(1.0, WORK_SIDE / max(width, height))
    if scale >= 1.0:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def find_candidates(image: np.ndarray, work: np.ndarray | None = None) -> list[Candidate]:
    """Rotated line rectangles likely to hold text, full-resolution coordinates.

    ``work`` is ``image`` already reduced to ``work_size`` (None: reduced here)."""
    h, w = image.shape[:2]
    work_scale = min(1.0, WORK_SIDE / max(h, w))
    if work is None or (work.shape[1], work.shape[0]) != work_size(w, h):
        work = _resize(image, work_scale)
    covered = np.zeros(work.shape[:2], dtype=np.uint8)
    found: list[Candidate] = []
    for factor in _LEVELS:
        level = _resize(work, factor) if factor < 1.0 else work
        if min(level.shape[:2]) < 8:
            continue
        for cand in _level_candidates(level):
            in_work = _scaled(cand, 1.0 / factor)
            if _mostly_covered(covered, in_work):
                continue
            found.append(_scaled(in_work, 1.0 / work_scale))
    return _drop_stacked(merge_lines(found))


def _mostly_covered(covered: np.ndarray, cand: Candidate) -> bool:
    """Whether >= 70 % of the candidate's polygon is already ``covered`` (a finer level
    found the line); if not, its polygon is added to ``covered``.

    Drawn in the polygon's own bounding box, not in a frame-sized canvas: on a busy
    photo the coarse levels propose hundreds of blobs, and clearing and summing a
    3 MP canvas for each of them cost more than finding them."""
    poly = np.round(cand.corners()).astype(np.int32)
    height, width = covered.shape
    x0, y0 = max(0, int(poly[:, 0].min())), max(0, int(poly[:, 1].min()))
    x1, y1 = min(width, int(poly[:, 0].max()) + 1), min(height, int(poly[:, 1].max()) + 1)
    if x1 <= x0 or y1 <= y0:
        return True
    mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    cv2.fillConvexPoly(mask, poly - (x0, y0), 1)
    area = int(np.count_nonzero(mask))
    if area == 0:
        return True
    window = covered[y0:y1, x0:x1]
    if int(np.count_nonzero(mask & window)) >= 0.7 * area:
        return True
    window |= mask
    return False


def _drop_stacked(cands: list[Candidate]) -> list[Candidate]:
    """Drop a proposal that holds finer ones stacked one above the other.

    A coarse level fuses two lines of a tight caption block on photo texture into one
    tall blob; read as one line it gives neither line, and its redaction box would
    span both. When the finer levels found the lines themselves, the tall proposal
    only adds that harm.
    """
    out = []
    for big in cands:
        a = math.radians(big.angle)
        ux, uy, vx, vy = math.cos(a), math.sin(a), -math.sin(a), math.cos(a)
        inside = []
        for small in cands:
            if small is big or small.height > 0.65 * big.height:
                continue
            dx, dy = small.cx - big.cx, small.cy - big.cy
            along, across = dx * ux + dy * uy, dx * vx + dy * vy
            if abs(along) <= big.width / 2 and abs(across) <= big.height / 2:
                inside.append(across)
        if inside and max(inside) - min(inside) >= 0.4 * big.height:
            continue
        out.append(big)
    return out


def _resize(image: np.ndarray, factor: float) -> np.ndarray:
    if factor >= 1.0:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _scaled(c: Candidate, s: float) -> Candidate:
    return Candidate(c.cx * s, c.cy * s, c.width * s, c.height * s, c.angle)


def _stroke_maps(level: np.ndarray) -> list[np.ndarray]:
    """Binary maps of strong local contrast, taking the best colour channel per pixel.

    Two thresholds: the image's own (Otsu) finds faint captions on plain ground;
    a high one separates bright captions from the busy photo they are printed on.

    The per-channel maximum keeps coloured captions whose luminance matches the
    background (yellow on light skin, red on grey).
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    grad = cv2.morphologyEx(level, cv2.MORPH_GRADIENT, kernel)
    if grad.ndim == 3:
        grad = cv2.max(cv2.max(grad[:, :, 0], grad[:, :, 1]), grad[:, :, 2])
    otsu, _ = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    maps = []
    for thr in sorted({max(float(otsu), 40.0), 110.0}):
        _, binary = cv2.threshold(grad, thr, 255, cv2.THRESH_BINARY)
        maps.append(binary)
    return maps


def _drop_large(strokes: np.ndarray) -> np.ndarray:
    """Remove stroke components too tall to belong to a text line at this level.

    Long object edges and texture form large connected gradient regions; left in,
    the closing below would fuse a caption with the photo behind it.
    """
    _, labels, stats, _ = cv2.connectedComponentsWithStats(strokes, connectivity=8)
    heights = stats[:, cv2.CC_STAT_HEIGHT]
    widths = stats[:, cv2.CC_STAT_WIDTH]
    keep = (heights <= 1.3 * _MAX_H) & (widths <= 12 * _MAX_H)
    keep[0] = False
    return (keep.astype(np.uint8) * 255)[labels]


def _level_candidates(level: np.ndarray) -> list[Candidate]:
    out: list[Candidate] = []
    for strokes in _stroke_maps(level):
        out.extend(_blobs(_drop_large(strokes)))
    return out


def _blobs(strokes: np.ndarray) -> list[Candidate]:
    fused = cv2.morphologyEx(
        strokes, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 3))
    )
    contours, _ = cv2.findContours(fused, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out: list[Candidate] = []
    for contour in contours:
        _, _, bw, bh = cv2.boundingRect(contour)
        if bh < _MIN_H or bw < 2 * _MIN_H:
            continue
        if min(bw, bh) > 3 * _MAX_H:
            continue
        cand = _rotated(contour)
        if cand is None:
            continue
        if not (_MIN_H <= cand.height <= _MAX_H) or cand.width < 1.2 * cand.height:
            continue
        area = cv2.contourArea(contour)
        if area < 0.45 * cand.width * cand.height:
            continue
        if not _has_strokes(strokes, cand):
            continue
        out.append(_grow(strokes, cand))
    return out


# How much wider a gap _grow crosses to the left than to the right.
_LEFT_GAP = 1.5


def _grow(strokes: np.ndarray, cand: Candidate) -> Candidate:
    """Extend a line along its axis over strokes at most one line height away to the
    right, and a line height and a half to the left.

    A last character the closing did not fuse ("7" after "1", a thin "日") would
    otherwise be left outside the crop, and unread. On photo texture the first
    characters of a value lose strokes where the texture is as bright as they are,
    and the gap before them grows: a value far to the right of its label then starts
    its crop a few characters late ("01111333" for L101111333). A label stands
    further away than that (a space at least, on a form usually several).
    """
    reach = 3 * cand.height
    band = _upright(strokes, cand, pad_x=reach, pad_y=0, scale=1.0, border=0)
    if band.size == 0:
        return cand
    inked = np.flatnonzero(band.any(axis=0))
    if inked.size == 0:
        return cand
    lo, hi = round(reach), round(reach + cand.width)
    max_gap = cand.height
    new_hi = hi
    for col in inked[inked > hi]:
        if col - new_hi > max_gap:
            break
        new_hi = int(col)
    new_lo = lo
    for col in inked[inked < lo][::-1]:
        if new_lo - col > _LEFT_GAP * max_gap:
            break
        new_lo = int(col)
    if new_hi == hi and new_lo == lo:
        return cand
    shift = ((new_hi - hi) - (lo - new_lo)) / 2
    a = math.radians(cand.angle)
    return Candidate(
        cand.cx + shift * math.cos(a),
        cand.cy + shift * math.sin(a),
        cand.width + (new_hi - hi) + (lo - new_lo),
        cand.height,
        cand.angle,
    )


def _rotated(contour: np.ndarray) -> Candidate | None:
    (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
    if rw < rh:
        rw, rh = rh, rw
        angle -= 90.0
    while angle > 90.0:
        angle -= 180.0
    while angle <= -90.0:
        angle += 180.0
    if abs(angle) > _MAX_ANGLE:
        return None
    if abs(angle) < _SNAP_ANGLE:
        # A short blob's rectangle tilts with its ragged ends; most captions are level.
        x, y, w, h = cv2.boundingRect(contour)
        cx, cy, rw, rh, angle = x + w / 2, y + h / 2, w, h, 0.0
    return Candidate(float(cx), float(cy), float(rw), float(rh), float(angle))


def _has_strokes(strokes: np.ndarray, cand: Candidate) -> bool:
    """Text crosses many separate strokes along its line; an edge or a bar does not."""
    patch = _upright(strokes, cand, pad_x=0, pad_y=0, scale=1.0, border=0)
    if patch.size == 0:
        return False
    ph, pw = patch.shape
    best = 0
    for frac in (0.35, 0.5, 0.65):
        row = patch[min(ph - 1, int(ph * frac))] > 0
        best = max(best, int(np.count_nonzero(row[1:] & ~row[:-1])) + int(row[0]))
    return best >= max(3, 0.6 * pw / max(ph, 1))


def merge_lines(cands: list[Candidate]) -> list[Candidate]:
    """Join pieces of one line (words split by wide spaces, label and value)."""
    items = sorted(cands, key=lambda c: (c.cy, c.cx))
    changed = True
    while changed:
        changed = False
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                merged = _try_merge(items[i], items[j])
                if merged is not None:
                    items[i] = merged
                    del items[j]
                    changed = True
                    break
            if changed:
                break
    return items


def _try_merge(a: Candidate, b: Candidate) -> Candidate | None:
    if abs(a.angle - b.angle) > 6.0:
        return None
    if max(a.height, b.height) > 1.8 * min(a.height, b.height):
        return None
    angle = (a.angle * a.width + b.angle * b.width) / (a.width + b.width)
    rad = math.radians(angle)
    ux, uy = math.cos(rad), math.sin(rad)
    pts = np.vstack([a.corners(), b.corners()])
    along = pts[:, 0] * ux + pts[:, 1] * uy
    across = -pts[:, 0] * uy + pts[:, 1] * ux
    pa_along, pb_along = along[:4], along[4:]
    pa_across, pb_across = across[:4], across[4:]
    overlap = min(pa_across.max(), pb_across.max()) - max(pa_across.min(), pb_across.min())
    if overlap < 0.7 * min(a.height, b.height):
        return None
    gap = max(pa_along.min(), pb_along.min()) - min(pa_along.max(), pb_along.max())
    if gap > 2.0 * max(a.height, b.height):
        return None
    lo_a, hi_a = float(along.min()), float(along.max())
    lo_c, hi_c = float(across.min()), float(across.max())
    if hi_c - lo_c > 1.3 * max(a.height, b.height):
        return None
    mid_a, mid_c = (lo_a + hi_a) / 2, (lo_c + hi_c) / 2
    cx = mid_a * ux - mid_c * uy
    cy = mid_a * uy + mid_c * ux
    return Candidate(cx, cy, hi_a - lo_a, hi_c - lo_c, angle)


# -- crops ------------------------------------------------------------------------------


def _upright(
    image: np.ndarray,
    cand: Candidate,
    *,
    pad_x: float,
    pad_y: float,
    scale: float,
    border: int | None = None,
) -> np.ndarray:
    matrix, size = _upright_matrix(cand, pad_x, pad_y, scale)
    if border is not None:
        return cv2.warpAffine(
            image, matrix, size, flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )  # fmt: skip
    # Outside the image, the line's own median colour: replicating the edge row would
    # smear a caption cut by the frame into streaks that swallow its glyphs.
    box = cand.bbox().clip(image.shape[1], image.shape[0])
    inside = image[box.slices()] if not box.empty else image[:1, :1]
    fill = np.median(inside.reshape(-1, inside.shape[-1] if inside.ndim == 3 else 1), axis=0)
    return cv2.warpAffine(
        image,
        matrix,
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=tuple(float(v) for v in np.atleast_1d(fill)),
    )


def _upright_matrix(
    cand: Candidate, pad_x: float, pad_y: float, scale: float
) -> tuple[np.ndarray, tuple[int, int]]:
    out_w = max(1, round((cand.width + 2 * pad_x) * scale))
    out_h = max(1, round((cand.height + 2 * pad_y) * scale))
    matrix = cv2.getRotationMatrix2D((cand.cx, cand.cy), cand.angle, scale)
    matrix[0, 2] += out_w / 2 - cand.cx
    matrix[1, 2] += out_h / 2 - cand.cy
    return matrix, (out_w, out_h)


def make_crop(image: np.ndarray, cand: Candidate) -> Crop:
    """The first of ``make_crops``: the crop the OCR reads best."""
    return make_crops(image, cand)[0]


def make_crops(image: np.ndarray, cand: Candidate, depth: int = 0) -> list[Crop]:
    """See ``_line_crops``; a line much taller than the OCR's text height is cut from
    a reduced copy of its surroundings (``_reduced_crops``)."""
    if cand.height > _REDUCE_ABOVE:
        return _reduced_crops(image, cand)
    return _line_crops(image, cand, depth)


def _reduced_crops(image: np.ndarray, cand: Candidate) -> list[Crop]:
    """``make_crops`` of a tall line, at the resolution its crops need.

    Its crops end up ``TARGET_LINE_HEIGHT`` tall whatever its size, yet finding its
    polarity, band and strokes at full size costs as many pixels as the line has (a
    coarse proposal on a 12 MP frame is hundreds of pixels tall). The line's
    surroundings are area-reduced until it is ``2 * TARGET_LINE_HEIGHT`` tall, which
    keeps its band (at least half the proposal) at or above the OCR's height, and the
    crops map back to the full frame."""
    factor = 2 * TARGET_LINE_HEIGHT / cand.height
    margin = math.ceil(2 / factor)
    pad_x, pad_y = 1.2 * cand.height + 4, 0.8 * cand.height + 4
    outer = Candidate(
        cand.cx, cand.cy, cand.width + 2 * pad_x, cand.height + 2 * pad_y, cand.angle
    ).bbox()
    height, width = image.shape[:2]
    area = outer.pad(margin).clip(width, height)
    if area.empty:
        return _line_crops(image, cand, 0)
    size = (max(1, round(area.width * factor)), max(1, round(area.height * factor)))
    small = cv2.resize(image[area.slices()], size, interpolation=cv2.INTER_AREA)
    fx, fy = size[0] / area.width, size[1] / area.height
    local = Candidate(
        (cand.cx - area.left) * fx, (cand.cy - area.top) * fy,
        cand.width * fx, cand.height * fy, cand.angle,
    )  # fmt: skip
    up = np.array([[1 / fx, 0, area.left], [0, 1 / fy, area.top], [0, 0, 1]], dtype=np.float64)
    return [
        replace(
            crop,
            to_image=(up @ np.vstack([crop.to_image, [0, 0, 1]]))[:2],
            text_height=crop.text_height / fy,
            candidate=cand,
        )
        for crop in _line_crops(small, local, 0)
    ]


def _line_crops(image: np.ndarray, cand: Candidate, depth: int = 0) -> list[Crop]:
    """Upright, dark-on-light crops of the line, scaled to the OCR text height.

    The line is cut out with a generous margin above and below (a proposal on photo
    texture is often shorter than its line), the line's own band is found from the
    ink crossing its middle, and the crop is cut to that band. Strokes touching the
    crop border (photo detail, the edge of a caption bar, a neighbouring line) are
    removed when that keeps the line's ink; when the removal took a noticeable part
    of the ink inside the band (glyphs joined to the texture behind them), the plain
    crop is returned too, so the line is read both ways.
    """
    # A proposal on texture often stops a character short of its line's ends.
    pad_x = 1.2 * cand.height + 4
    pad_y = 0.8 * cand.height + 4
    matrix, _ = _upright_matrix(cand, pad_x, pad_y, 1.0)
    colour = _upright(image, cand, pad_x=pad_x, pad_y=pad_y, scale=1.0)
    grays = _polarities(colour, round(pad_x), round(pad_y))
    gray = grays[0]
    if depth < 2:
        parts = _split_rows(gray, cand, pad_x, pad_y)
        if parts:
            return [crop for part in parts for crop in _line_crops(image, part, depth + 1)]
    back = np.vstack([cv2.invertAffineTransform(matrix), [0, 0, 1]])
    top, bottom = _line_band(gray, pad_y, cand.height)
    band_h = max(4.0, bottom - top)
    margin = max(3, round(0.35 * band_h))
    y0, y1 = max(0, round(top) - margin), min(gray.shape[0], round(bottom) + margin)
    cut = gray[y0:y1]
    plain = _scaled_crop(cut, 0, y0, band_h, back, cand, (top - y0, bottom - y0))
    isolated = _isolate_text(cut)
    if isolated is None or isolated[0].shape[1] < 0.8 * (gray.shape[1] - 2 * pad_x):
        return [plain, *_inverse(grays, y0, y1, band_h, back, cand, (top - y0, bottom - y0))]
    pixels, ix, iy, text_h = isolated
    text_h = min(text_h, 1.3 * band_h)
    # The isolated crop is cut to its ink plus a margin; the band is the line's own
    # rows within it (or the ink's, when that is the narrower).
    inked = np.flatnonzero((pixels < 128).any(axis=1))
    ink_top, ink_bottom = (float(inked[0]), float(inked[-1] + 1)) if inked.size else (0.0, 0.0)
    rows = (max(top - y0 - iy, ink_top), min(bottom - y0 - iy, ink_bottom))
    if rows[1] - rows[0] < 0.5 * text_h:
        rows = (ink_top, ink_bottom)
    crop = _scaled_crop(pixels, ix, y0 + iy, text_h, back, cand, rows)
    crops = [crop]
    if _ink_kept(cut, pixels, ix, iy, round(top) - y0, round(bottom) - y0) < 0.8:
        crops.append(plain)
    return crops + _inverse(grays, y0, y1, band_h, back, cand, (top - y0, bottom - y0))


def _inverse(
    grays: list[np.ndarray],
    y0: int,
    y1: int,
    band_h: float,
    back: np.ndarray,
    cand: Candidate,
    band: tuple[float, float],
) -> list[Crop]:
    """The second reading's plain crop, when ``_polarities`` was in doubt."""
    if len(grays) < 2:
        return []
    return [_scaled_crop(grays[1][y0:y1], 0, y0, band_h, back, cand, band)]


def _split_rows(
    gray: np.ndarray, cand: Candidate, pad_x: float, pad_y: float
) -> list[Candidate] | None:
    """Two stacked lines fused into one proposal (a coarse level joins the lines of a
    tight caption block) are cut apart at the emptiest row between their ink."""
    if cand.height < 16:
        return None
    y0, y1 = round(pad_y), round(pad_y + cand.height)
    x0, x1 = round(pad_x), max(round(pad_x) + 1, gray.shape[1] - round(pad_x))
    core = gray[y0:y1, x0:x1]
    if core.size == 0:
        return None
    _, ink = cv2.threshold(core, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    rows = ink.sum(axis=1).astype(np.float64)
    if rows.max() <= 0:
        return None
    rows = np.convolve(rows, np.ones(3) / 3, mode="same")
    lo, hi = int(0.3 * len(rows)), int(0.7 * len(rows))
    if hi <= lo:
        return None
    cut = lo + int(np.argmin(rows[lo:hi]))
    upper, lower = rows[:cut], rows[cut:]
    if len(upper) < 6 or len(lower) < 6:
        return None
    # A real gap: almost no ink there, and both sides carry a line's worth of ink.
    if rows[cut] > 0.08 * min(upper.max(), lower.max()):
        return None
    if (upper > 0.3 * upper.max()).sum() < 0.3 * cut:
        return None
    if (lower > 0.3 * lower.max()).sum() < 0.3 * (len(rows) - cut):
        return None
    a = math.radians(cand.angle)
    vx, vy = -math.sin(a), math.cos(a)
    out = []
    for start, end in ((0, cut), (cut, len(rows))):
        mid = (start + end) / 2 - len(rows) / 2
        out.append(
            Candidate(cand.cx + mid * vx, cand.cy + mid * vy, cand.width, end - start, cand.angle)
        )
    return out


def _line_band(gray: np.ndarray, pad_y: float, height: float) -> tuple[float, float]:
    """Top and bottom (crop rows) of the text line whose middle the proposal found.

    Ink components crossing the proposal's middle rows and sized like characters
    vote: their tops and bottoms, robustly (a stroke of texture crossing the line
    does not stretch it). Falls back to the proposal itself.
    """
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    mid_lo, mid_hi = pad_y + 0.3 * height, pad_y + 0.7 * height
    tops, bottoms = [], []
    for i in range(1, n):
        y, h = stats[i, cv2.CC_STAT_TOP], stats[i, cv2.CC_STAT_HEIGHT]
        if h < 0.3 * height or h > 2.0 * height or stats[i, cv2.CC_STAT_AREA] < 4:
            continue
        if y > mid_hi or y + h < mid_lo:
            continue
        tops.append(y)
        bottoms.append(y + h)
    # A glyph fused with the photo behind it (a digit touching an object's edge) is a
    # component far taller than the line's characters: it does not vote.
    heights = np.subtract(bottoms, tops)
    glyph_sized = heights <= 2.0 * float(np.median(heights)) if len(tops) >= 3 else None
    if glyph_sized is not None and glyph_sized.sum() >= 2:
        tops = [t for t, ok in zip(tops, glyph_sized, strict=True) if ok]
        bottoms = [b for b, ok in zip(bottoms, glyph_sized, strict=True) if ok]
    if len(tops) < 2:
        return pad_y, pad_y + height
    top = float(np.percentile(tops, 10))
    bottom = float(np.percentile(bottoms, 90))
    # Never narrower than the proposal's middle, never taller than two of its lines.
    top = min(top, pad_y + 0.25 * height)
    bottom = max(bottom, pad_y + 0.75 * height)
    if bottom - top > 2.0 * height:
        return pad_y, pad_y + height
    return top, bottom


def _ink_kept(
    gray: np.ndarray, cleaned: np.ndarray, x0: int, y0: int, top: int, bottom: int
) -> float:
    """Share of the ink inside the line band that border-touching removal kept."""
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    band = ink[max(0, top) : max(top + 1, bottom)]
    total = int(band.sum())
    if total == 0:
        return 1.0
    kept_full = np.zeros_like(ink)
    h, w = cleaned.shape
    kept_full[y0 : y0 + h, x0 : x0 + w] = cleaned < 128
    kept = int((kept_full[max(0, top) : max(top + 1, bottom)] & band).sum())
    return kept / total


def _scaled_crop(
    gray: np.ndarray,
    x0: int,
    y0: int,
    line_h: float,
    back: np.ndarray,
    cand: Candidate,
    band: tuple[float, float] | None = None,
) -> Crop:
    scale = min(4.0, max(0.25, TARGET_LINE_HEIGHT / max(line_h, 1.0)))
    scale = min(scale, _MAX_CROP_WIDTH / max(gray.shape[1], 1))
    if abs(scale - 1.0) > 0.05:
        interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        gray = cv2.resize(gray, size, interpolation=interp)
    else:
        scale = 1.0
    # crop pixel -> upright (scale 1) pixel -> image pixel
    local = np.array([[1 / scale, 0, x0], [0, 1 / scale, y0], [0, 0, 1]], dtype=np.float64)
    rows = None if band is None else (band[0] * scale, band[1] * scale)
    return Crop(np.ascontiguousarray(gray), (back @ local)[:2], float(line_h), cand, rows)


def _isolate_text(gray: np.ndarray) -> tuple[np.ndarray, int, int, float] | None:
    """Keep only the dark strokes not touching the crop border, on white.

    What touches the border is the photo or the edge of a caption bar; left in,
    single-line OCR tries to read it as characters. Returns the cleaned crop cut
    to the text plus a margin, its offset, and the text height.
    """
    h, w = gray.shape
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    bw, bh = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    inner = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h) & (stats[:, cv2.CC_STAT_AREA] >= 3)
    inner[0] = False
    if inner.sum() < 2:
        return None
    mask = inner[labels]
    ys, xs = np.nonzero(mask)
    top, bottom, left, right = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    text_h = float(bottom - top)
    if text_h < 4:
        return None
    keep = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2) > 0
    cleaned = np.where(keep, gray, 255).astype(np.uint8)
    margin = max(4, round(0.3 * text_h))
    y0, y1 = max(0, top - margin), min(h, bottom + margin)
    x0, x1 = max(0, left - margin), min(w, right + margin)
    return np.ascontiguousarray(cleaned[y0:y1, x0:x1]), x0, y0, text_h


def _dark_on_light(colour: np.ndarray, pad_x: int, pad_y: int) -> np.ndarray:
    return _polarities(colour, pad_x, pad_y)[0]


def _polarities(colour: np.ndarray, pad_x: int, pad_y: int) -> list[np.ndarray]:
    """``_dark_on_light``, plus a second reading when it is in doubt: the inverse
    near an even split of the pixels, the brightness when a colour channel won."""
    """Pick the channel that separates text best, then make the text dark.

    Both are judged on the line's core (without the padding, which may hold
    unrelated photo): the channel with the largest Otsu between-class variance
    wins, and text is the minority class there, whichever its brightness, so
    white-on-black X-ray captions are inverted and black-on-white cards are not.
    """
    h, w = colour.shape[:2]
    # The middle of the line: its ends may reach past a caption bar into the photo.
    inner_w = max(1, w - 2 * pad_x)
    core = colour[
        min(pad_y, h // 3) : max(h - pad_y, h - h // 3),
        pad_x + inner_w // 5 : max(pad_x + inner_w // 5 + 1, pad_x + inner_w * 4 // 5),
    ]
    gray = cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY)
    channels = [(gray, cv2.cvtColor(core, cv2.COLOR_RGB2GRAY))] + [
        (np.ascontiguousarray(colour[:, :, i]), np.ascontiguousarray(core[:, :, i]))
        for i in range(3)
    ]
    best, best_score, bright_text, share = gray, -1.0, False, 0.0
    gray_variant: tuple[np.ndarray, bool] | None = None
    for full, inner in channels:
        thr, _ = cv2.threshold(inner, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        high = inner > thr
        n_high = int(np.count_nonzero(high))
        if n_high == 0 or n_high == inner.size:
            continue
        w1 = n_high / inner.size
        diff = float(inner[high].mean()) - float(inner[~high].mean())
        score = w1 * (1 - w1) * diff**2
        if full is gray:
            gray_variant = (gray, w1 < 0.5)
        if score > best_score:
            best, best_score, bright_text, share = full, score, w1 < 0.5, w1
    out = _stretch(255 - best if bright_text else best)
    # Text is the minority of the line's pixels, except where it is not: bold Chinese
    # glyphs fill half their line. Near an even split, both polarities are read.
    if 0.38 <= share <= 0.62:
        return [out, 255 - out]
    # A colour channel won on contrast that may be a bright object behind the line
    # rather than the text (yellow text has no blue): the brightness is read too.
    if best is not gray and gray_variant is not None:
        g, bright = gray_variant
        return [out, _stretch(255 - g if bright else g)]
    return [out]


def _stretch(channel: np.ndarray) -> np.ndarray:
    """Contrast stretch between the 1st and 99th percentiles.

    Computed on the 256 grey levels (a histogram for the percentiles, a lookup table
    for the mapping) rather than on every pixel in floating point: the crop of a
    large caption is megapixels, and this gives the same bytes as
    ``np.percentile`` and the float arithmetic per pixel."""
    lo, hi = _percentiles(channel, (1.0, 99.0))
    if hi - lo < 1:
        return channel.copy()
    levels = np.arange(256, dtype=np.uint8).astype(np.float32)
    lut = np.clip((levels - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    return cv2.LUT(np.ascontiguousarray(channel), lut)


def _percentiles(channel: np.ndarray, qs: tuple[float, ...]) -> list[np.float64]:
    """``np.percentile(channel, qs)`` (linear method) of a uint8 array, from its
    histogram: the same order statistics and the same interpolation."""
    hist = cv2.calcHist([np.ascontiguousarray(channel)], [0], None, [256], [0, 256])
    cum = np.cumsum(hist.ravel().astype(np.int64))
    n = int(cum[-1])
    out = []
    for q in qs:
        virtual = (n - 1) * (np.float64(q) / 100)
        below = int(np.floor(virtual))
        gamma = virtual - below
        a = np.float64(np.searchsorted(cum, below, side="right"))
        b = np.float64(np.searchsorted(cum, min(below + 1, n - 1), side="right"))
        # numpy's _lerp: from the upper neighbour when the weight is past one half.
        out.append(b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma)
    return out


def _binarise(gray: np.ndarray) -> np.ndarray:
    """Local threshold at about two line heights.

    A global threshold over a page of stacked crops suits none of them, and even
    one crop's Otsu turns the photo behind a caption into black blobs that the OCR
    tries to read; a local threshold keeps only strokes darker than their
    surroundings, which is what (dark-normalised) text is.
    """
    block = 2 * TARGET_LINE_HEIGHT + 1
    return cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 12
    )


def _line_height(gray: np.ndarray) -> float | None:
    """Median height of the ink row runs: the height of one text line."""
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    rows = ink.sum(axis=1) > max(2, 0.01 * gray.shape[1])
    runs: list[int] = []
    run = 0
    for filled in rows:
        if filled:
            run += 1
        elif run:
            runs.append(run)
            run = 0
    if run:
        runs.append(run)
    runs = [r for r in runs if r >= 3]
    if not runs:
        return None
    return float(max(runs)) if len(runs) <= 2 else float(np.median(runs))
