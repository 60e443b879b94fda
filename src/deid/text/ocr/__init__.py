"""OCR engines behind one small interface (see ``base``)."""

from .base import OcrEngine, OcrWord, build_engine

__all__ = ["OcrEngine", "OcrWord", "build_engine"]
