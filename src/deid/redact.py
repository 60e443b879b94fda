"""Pure pixel operations: the one place where pixels change.

Every stage describes what it wants changed as ``Edit`` objects; ``apply`` performs
them on a copy, in order, so one function is all there is to reason about (and test)
for what a published image can still show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import cv2
import numpy as np

from .types import Box, Edit


def apply(image: np.ndarray, edits: Iterable[Edit]) -> np.ndarray:
    """Return a new image with ``edits`` applied in order; ``image`` is not modified."""
    out = np.array(image, dtype=np.uint8, copy=True)
    apply_in_place(out, edits)
    return out


def apply_in_place(out: np.ndarray, edits: Iterable[Edit]) -> None:
    """``apply`` on an image the caller owns: edits found by verification go on top of
    the redacted copy without a second 12 MP copy."""
    height, width = out.shape[:2]
    for edit in edits:
        box = edit.box.clip(width, height)
        if box.empty:
            continue
        rows, cols = box.slices()
        region = out[rows, cols]
        mask = _mask_for(edit, box)
        if edit.method == "fill":
            _fill(region, np.asarray(edit.color, dtype=np.uint8), mask)
        elif mask is None:
            region[...] = _replacement(region, edit)
        else:
            _blend(region, _replacement(region, edit), np.clip(mask, 0.0, 1.0))


def _fill(region: np.ndarray, color: np.ndarray, mask: np.ndarray | None) -> None:
    """A head's mask is 1 almost everywhere and soft only where it ramps down to a kept
    mouth: whole pixels are set outright and only the soft band's box is blended (a
    float blend over a whole 12 MP head costs more than the detectors' second look).
    The masks and the band's box come from OpenCV (half the time of numpy's masked
    copy and its row and column scans on a head, same bytes)."""
    if mask is None:
        region[...] = color
        return
    fill = np.empty_like(region)
    fill[...] = color
    mask = np.ascontiguousarray(mask, dtype=np.float32)
    done = cv2.copyTo(fill, cv2.compare(mask, 1.0, cv2.CMP_GE), region)
    if not np.shares_memory(done, region):  # OpenCV could not write into this view
        region[...] = done
    soft = cv2.bitwise_and(cv2.compare(mask, 0.0, cv2.CMP_GT), cv2.compare(mask, 1.0, cv2.CMP_LT))
    left, top, width, height = cv2.boundingRect(soft)
    if width == 0 or height == 0:
        return
    band = slice(top, top + height), slice(left, left + width)
    _blend(region[band], fill[band], np.clip(mask[band], 0.0, 1.0))


def _blend(region: np.ndarray, replaced: np.ndarray, mask: np.ndarray) -> None:
    # blendLinear is ~10x faster than a numpy float blend on head-sized regions.
    mask = np.ascontiguousarray(mask)
    region[...] = cv2.blendLinear(
        np.ascontiguousarray(replaced), np.ascontiguousarray(region), mask, 1.0 - mask
    )


def apply_within(image: np.ndarray, edits: Sequence[Edit], region: Box) -> np.ndarray:
    """The pixels of ``region`` as ``apply(image, edits)`` would leave them, without
    copying the rest of the frame (re-reading around a redaction needs only its
    surroundings, and a 12 MP copy per re-read round is most of its cost).

    A blur or mosaic depends on its whole box, so the copy covers every edit that
    reaches into the region, and every edit that reaches into those; edits are
    applied in order, as ``apply`` does."""
    height, width = image.shape[:2]
    region = region.clip(width, height)
    boxes = [e.box.clip(width, height) for e in edits]
    area = region
    grown = True
    while grown:
        grown = False
        for box in boxes:
            if box.empty or area.intersection(box).empty:
                continue
            union = Box(min(area.left, box.left), min(area.top, box.top),
                        max(area.right, box.right), max(area.bottom, box.bottom))  # fmt: skip
            if union != area:
                area, grown = union, True
    inside = [
        replace(e, box=_shift(e.box, -area.left, -area.top))
        for e, box in zip(edits, boxes, strict=True)
        if not box.empty and not area.intersection(box).empty
    ]
    out = apply(image[area.slices()], inside)
    return out[region.top - area.top : region.bottom - area.top,
               region.left - area.left : region.right - area.left]  # fmt: skip


def _shift(box: Box, dx: int, dy: int) -> Box:
    return Box(box.left + dx, box.top + dy, box.right + dx, box.bottom + dy)


def _mask_for(edit: Edit, clipped: Box) -> np.ndarray | None:
    """The part of ``edit``'s mask inside ``clipped`` (a view: callers clip to 0..1
    where they blend, the fill compares against 0 and 1)."""
    if edit.mask is None:
        return None
    mask = np.asarray(edit.mask, dtype=np.float32)
    if mask.shape != (edit.box.height, edit.box.width):
        raise ValueError("Edit.mask shape must equal (box.height, box.width)")
    top = clipped.top - edit.box.top
    left = clipped.left - edit.box.left
    return mask[top : top + clipped.height, left : left + clipped.width]


def _replacement(region: np.ndarray, edit: Edit) -> np.ndarray:
    if edit.method == "fill":
        return np.broadcast_to(np.asarray(edit.color, dtype=np.uint8), region.shape)
    if edit.method == "pixelate":
        return pixelate(region, block=max(1, edit.size))
    if edit.method == "blur":
        return blur(region, sigma=max(1, edit.size))
    raise ValueError(f"unknown edit method {edit.method!r}")


def pixelate(region: np.ndarray, *, block: int) -> np.ndarray:
    """Mosaic with ``block``-pixel cells, each the mean of its pixels (deterministic)."""
    h, w = region.shape[:2]
    small = cv2.resize(region, (max(1, w // block), max(1, h // block)),
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def blur(region: np.ndarray, *, sigma: int) -> np.ndarray:
    return cv2.GaussianBlur(region, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REPLICATE)


__all__ = ["apply", "apply_in_place", "apply_within", "blur", "pixelate"]
