"""Which tiles of a frame are worth a detector call: skin tone and contrast maps.

Used only to skip work (tiles, cascade hits), never to accept a face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .working_copy import downscale

GATE_SIDE = 1000  # maps that decide which tiles are worth a detector call
MIN_CONTRAST = 24  # grey levels across 3 px; any eye or hairline in a face exceeds it
SKIN_MIN_CR = 3  # red chroma above neutral: every skin tone has it, grey does not
DARK_LUMA = 40  # below this, chroma shrinks: a faint red may be skin in shadow
NEUTRAL_CHROMA = 6  # |Cr|+|Cb| of a colourless pixel, JPEG and sensor noise included
COLOURLESS_TILE = 0.95  # a tile this colourless is a black-and-white picture
# A black-and-white or toned print in a colour photo (a framed picture behind the
# patient, a faded portrait) shows a face without skin tone, on any background. The
# tiles that look for such faces need a face's area of pixels this muted; that is most
# tiles of a photo, which is the cost of finding them (excluding skin-toned tiles would
# halve it and lose grey faces on warm walls and wood).
MUTED_CHROMA = 24
MUTED_AREA = 1.0  # x the smallest face's area


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


def muted_map(rgb: np.ndarray) -> np.ndarray:
    """Pixels with little colour (grey, or a faint tone such as sepia or a colour cast)."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1].astype(np.int16) - 128, ycc[..., 2].astype(np.int16) - 128
    return (np.abs(cr) + np.abs(cb)) < MUTED_CHROMA


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
    muted: np.ndarray | None = None

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
            muted=None if skin is None else cv2.integral(
                cv2.dilate(muted_map(small).astype(np.uint8), np.ones((5, 5), np.uint8)) & outside
            ),
        )  # fmt: skip

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

    def passes_grey(self, box: tuple[float, float, float, float], min_face: float) -> bool:
        """For the tiles that look for grey and toned faces in a colour frame: a face's
        worth of contrast and a face's area of muted pixels."""
        window = self._window(box)
        needed = max(2.0, 0.15 * (min_face * self.scale) ** 2)
        if _count(self.contrast, window) < needed:
            return False
        if self.muted is None:
            return True
        return _count(self.muted, window) >= MUTED_AREA * (min_face * self.scale) ** 2

    def _window(self, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        ih, iw = self.contrast.shape[0] - 1, self.contrast.shape[1] - 1
        left, top, right, bottom = box
        f = self.scale
        return (
            min(iw, int(left * f)), min(ih, int(top * f)),
            min(iw, math.ceil(right * f)), min(ih, math.ceil(bottom * f)),
        )  # fmt: skip
