"""Reduced working copies of one frame, shared by every pass that needs one.

Detection, the tiles, the gate, the cascades, the mesh and verification all look at
the same read-only frame at a few sizes; each size is computed once per frame and
forgotten with it.
"""

from __future__ import annotations

import threading
import weakref

import cv2
import numpy as np

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
