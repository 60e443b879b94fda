"""Tesseract, read crop by crop with the model loaded once.

Each pytesseract call starts a tesseract process and loads chi_tra (about 0.2 s
here), more than reading a short line costs; and reading many crops stacked on
one page lets tesseract's page layout mix the crops up. So the engine talks to
libtesseract directly (its C API, through ctypes): the model is loaded once per
engine and every crop is recognised as a single line (``--psm 7``) on its own.
Where the library cannot be loaded, pytesseract is used the same way, one
process per crop: slower, same results.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import weakref
from collections.abc import Sequence

import numpy as np

from ...types import Box
from .base import OcrWord

log = logging.getLogger(__name__)

LANGUAGES = "chi_tra+eng"
_PSM_SINGLE_BLOCK = 6
_PSM_SINGLE_LINE = 7
_OEM_LSTM_ONLY = 1
# Crops arrive scaled to about 36 px of text; one taller than about three lines
# holds several lines and is read as a block.
_MAX_LINE_CROP_HEIGHT = 115


class TesseractEngine:
    name = "tesseract"

    def __init__(self, languages: str = LANGUAGES) -> None:
        self.languages = languages
        self._lock = threading.Lock()
        self._api = _CApi.load(languages)
        if self._api is not None:
            # Release the model with the engine, not at interpreter exit.
            weakref.finalize(self, self._api.close)
        if self._api is None:
            log.info("libtesseract not loadable; using one tesseract process per crop")

    def version(self) -> str:
        if self._api is not None:
            return f"tesseract {self._api.version()} {self.languages}"
        import pytesseract

        return f"tesseract {pytesseract.get_tesseract_version()} {self.languages}"

    def read(self, crops: Sequence[np.ndarray]) -> list[list[OcrWord]]:
        out: list[list[OcrWord]] = []
        with self._lock:
            for crop in crops:
                psm = (
                    _PSM_SINGLE_LINE if crop.shape[0] < _MAX_LINE_CROP_HEIGHT else _PSM_SINGLE_BLOCK
                )
                if self._api is not None:
                    tsv = self._api.tsv(crop, psm)
                else:
                    tsv = _tsv_by_process(crop, self.languages, psm)
                out.append(parse_tsv(tsv))
        return out

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None


def parse_tsv(tsv: str) -> list[OcrWord]:
    """Words from tesseract's TSV (level 5 rows), numbered by (block, par, line)."""
    lines: dict[tuple[str, str, str], int] = {}
    words: list[OcrWord] = []
    for row in tsv.splitlines():
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        try:
            conf = float(cols[10])
            left, top, width, height = (int(c) for c in cols[6:10])
        except ValueError:
            continue
        if not text or conf < 0:
            continue
        line = lines.setdefault((cols[2], cols[3], cols[4]), len(lines))
        words.append(OcrWord(text, Box.from_xywh(left, top, width, height), conf / 100.0, line))
    return words


def _tsv_by_process(crop: np.ndarray, languages: str, psm: int) -> str:
    import pytesseract

    return str(
        pytesseract.image_to_data(
            crop, lang=languages, config=f"--oem {_OEM_LSTM_ONLY} --psm {psm}", timeout=60
        )
    )


class _CApi:
    """The few libtesseract C API calls we need (tesseract/capi.h)."""

    def __init__(self, lib: ctypes.CDLL, handle: int) -> None:
        self._lib = lib
        self._handle = ctypes.c_void_p(handle)

    @classmethod
    def load(cls, languages: str) -> _CApi | None:
        name = ctypes.util.find_library("tesseract") or "libtesseract.so.5"
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            return None
        lib.TessBaseAPICreate.restype = ctypes.c_void_p
        lib.TessBaseAPIInit2.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        lib.TessBaseAPISetPageSegMode.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.TessBaseAPISetImage.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int
        ]  # fmt: skip
        lib.TessBaseAPISetSourceResolution.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.TessBaseAPIRecognize.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.TessBaseAPIGetTsvText.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.TessBaseAPIGetTsvText.restype = ctypes.c_void_p
        lib.TessDeleteText.argtypes = [ctypes.c_void_p]
        lib.TessBaseAPIEnd.argtypes = [ctypes.c_void_p]
        lib.TessBaseAPIDelete.argtypes = [ctypes.c_void_p]
        lib.TessVersion.restype = ctypes.c_char_p
        handle = lib.TessBaseAPICreate()
        if not handle:
            return None
        if lib.TessBaseAPIInit2(handle, None, languages.encode(), _OEM_LSTM_ONLY) != 0:
            lib.TessBaseAPIDelete(handle)
            return None
        return cls(lib, handle)

    def version(self) -> str:
        return self._lib.TessVersion().decode()

    def tsv(self, gray: np.ndarray, psm: int) -> str:
        pixels = np.ascontiguousarray(gray, dtype=np.uint8)
        h, w = pixels.shape
        lib, api = self._lib, self._handle
        lib.TessBaseAPISetPageSegMode(api, psm)
        lib.TessBaseAPISetImage(api, pixels.ctypes.data, w, h, 1, w)
        lib.TessBaseAPISetSourceResolution(api, 300)
        if lib.TessBaseAPIRecognize(api, None) != 0:
            raise RuntimeError("tesseract could not recognise a crop")
        ptr = lib.TessBaseAPIGetTsvText(api, 0)
        if not ptr:
            return ""
        try:
            return ctypes.string_at(ptr).decode("utf-8", errors="replace")
        finally:
            lib.TessDeleteText(ptr)

    def close(self) -> None:
        if self._handle:
            self._lib.TessBaseAPIEnd(self._handle)
            self._lib.TessBaseAPIDelete(self._handle)
            self._handle = ctypes.c_void_p(0)
