"""Reduced copies of one image, built once and shared by every stage that needs one.

The face and text stages each look at the frame at several reduced sizes; computing
those from the full frame in every stage repeats the same work on 12 MP. A ``Pyramid``
is made per image by the pipeline (``Context.pyramid``) and builds each level on first
use, halving the previous level with area averaging, so each pixel is read once per
level and a level asked for twice is computed once.

Measured on a 12 MP JPEG (benchmarks/run.py's set; CPU time against the Pillow floor
F): halving the decoded frame costs about 0.03 F and the quarter from the half 0.01 F,
while a DCT-scaled decode of the file (``Image.draft``/``IMREAD_REDUCED_*``) costs
0.25-0.4 F per level. Since the full frame is decoded anyway (redaction needs it),
levels come from the frame, not from the file.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np


class Pyramid:
    """Levels of ``pixels`` at 1/2**n of its size; thread-safe, each built once.

    Level arrays are read-only like the frame: a stage that draws on one must copy it.
    """

    def __init__(self, pixels: np.ndarray) -> None:
        self._levels: list[np.ndarray] = [pixels]
        self._fits: dict[int, tuple[np.ndarray, float]] = {}
        self._lock = threading.Lock()

    @property
    def full(self) -> np.ndarray:
        return self._levels[0]

    def level(self, n: int) -> np.ndarray:
        """The frame halved ``n`` times (sides rounded down, at least one pixel)."""
        if n < 0:
            raise ValueError("pyramid levels start at 0 (the full frame)")
        with self._lock:
            while len(self._levels) <= n:
                self._levels.append(_half(self._levels[-1]))
            return self._levels[n]

    def covering(self, long_side: int) -> tuple[np.ndarray, float]:
        """The smallest level whose longer side is still >= ``long_side`` (the full frame
        if none is), and its scale relative to the full frame."""
        height, width = self.full.shape[:2]
        n = 0
        while max(width, height) >> (n + 1) >= long_side and min(width, height) >> (n + 1):
            n += 1
        image = self.level(n)
        return image, image.shape[1] / width

    def fit(self, long_side: int) -> tuple[np.ndarray, float]:
        """The frame resized so its longer side is ``long_side`` (never enlarged), made
        from the nearest level above it, and the scale actually applied to the width.
        The same request from another stage returns the same array."""
        with self._lock:
            cached = self._fits.get(long_side)
        if cached is not None:
            return cached
        height, width = self.full.shape[:2]
        source, _ = self.covering(long_side)
        scale = min(1.0, long_side / max(width, height))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if size == (source.shape[1], source.shape[0]):
            image = source
        else:
            image = cv2.resize(source, size, interpolation=cv2.INTER_AREA)
            image.setflags(write=False)
        result = (image, size[0] / width)
        with self._lock:
            return self._fits.setdefault(long_side, result)


def _half(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    size = (max(1, width // 2), max(1, height // 2))
    out = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if image.ndim == 3 and out.ndim == 2:  # OpenCV drops a single channel axis
        out = out[:, :, None]
    out.setflags(write=False)
    return out


__all__ = ["Pyramid"]
