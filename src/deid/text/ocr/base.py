"""OCR engine interface.

Engines read a batch of already-prepared crops (upright, dark text on a light
background, scaled to a comfortable text height) and return words in each crop's
own pixel coordinates. Batching is part of the interface because the main cost of
an OCR call is often fixed (process start-up, model load), not per pixel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ...types import Box


@dataclass(frozen=True, slots=True)
class OcrWord:
    """One recognised word (for Chinese often one character) in crop coordinates.

    ``line`` numbers the words' line within the crop so that callers can rebuild
    lines without guessing from geometry; ``confidence`` is in [0, 1].
    """

    text: str
    box: Box
    confidence: float
    line: int


@runtime_checkable
class OcrEngine(Protocol):
    name: str

    def version(self) -> str:
        """Engine and model version for the report, so outputs can be traced."""
        ...

    def read(self, crops: Sequence[np.ndarray]) -> list[list[OcrWord]]:
        """Words per crop; ``crops`` are uint8 grayscale ``(H, W)`` arrays."""
        ...


def build_engine(name: str) -> OcrEngine:
    """Engines are imported lazily: RapidOCR is an optional extra."""
    if name == "tesseract":
        from .tesseract import TesseractEngine

        return TesseractEngine()
    if name == "rapidocr":
        from .rapidocr import RapidOcrEngine

        return RapidOcrEngine()
    raise ValueError(f"unknown OCR engine {name!r}")
