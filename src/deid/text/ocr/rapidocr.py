"""RapidOCR (PP-OCR models on onnxruntime) as a recogniser for proposed line crops.

Optional: ``rapidocr`` declares a dependency on opencv-python, which must not be
installed next to opencv-contrib-python (two cv2 packages overwrite each other).
It works with the contrib build we ship, so it is installed without its
dependencies (see the README). Its models are inside its wheel; nothing is
downloaded at run time.

Crops come from our own proposals and are read one line at a time without the
engine's detector, which is where its speed comes from; character positions come
from the recogniser's CTC columns, so a name inside a line still maps to pixels.

Recognition is most of the text stage's time, and the crops of one call are
independent, so they are read on as many threads as OpenCV may use in this process
(a batch worker's share of the cores, ``deid.thread_share``), each crop on its own
single-threaded run of the one shared session: every crop is read exactly as it would
be alone. On a caption photo's 38 crops, two threads took 1.92x less wall time for
the same CPU time on a quiet machine (1.47x on a busy one; medians of alternating
rounds, ``benchmarks/ocr_threads_ab.py``). Batching crops
into one run saves nothing (27 ms of CPU per crop either way: most crops are padded
to the recogniser's 320 px width alone or in a batch), and onnxruntime's own thread
pool on such small inputs was slower.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError, ModelError
from ...types import Box
from ..lines import is_cjk
from .base import OcrWord

log = logging.getLogger(__name__)

RAPIDOCR_VERSION = "3.10.0"
# The models inside the rapidocr wheel, pinned: RapidOCR re-downloads a model it
# finds invalid, so we check first and pass explicit paths, which it never fetches.
MODELS = {
    "Det": (
        "PP-OCRv6_det_small.onnx",
        "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
    ),
    "Rec": (
        "PP-OCRv6_rec_small.onnx",
        "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
    ),
    "Cls": (
        "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
        "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
    ),
}


def _verified_models() -> dict[str, str]:
    import hashlib

    import rapidocr

    folder = Path(rapidocr.__file__).parent / "models"
    paths: dict[str, str] = {}
    for task, (name, sha256) in MODELS.items():
        path = folder / name
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise ModelError(f"RapidOCR model {name} is missing") from exc
        if digest != sha256:
            raise ModelError(f"RapidOCR model {name} does not match its pinned sha256")
        paths[task] = str(path)
    return paths


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise ConfigError(
                "text.engine = 'rapidocr' needs rapidocr installed without its OpenCV "
                f"dependency: pip install --no-deps rapidocr=={RAPIDOCR_VERSION} "
                "(or set text.engine = 'tesseract')"
            ) from exc
        # Quiet logging, character positions from the recogniser, pinned local models.
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.return_word_box": True,
            # One thread per run: line crops are small, and on a shared machine a thread
            # pool per run was slower (0.40 s against 0.72 s per 12 MP image, measured
            # side by side). Crops are spread over threads instead (``read``).
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        for task, path in _verified_models().items():
            params[f"{task}.model_path"] = path
        self._ocr = RapidOCR(params=params)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0
        self._pool_lock = threading.Lock()

    def version(self) -> str:
        from importlib.metadata import version

        return f"rapidocr {version('rapidocr')}"

    def read(self, crops: Sequence[np.ndarray]) -> list[list[OcrWord]]:
        pool = self._threads(len(crops))
        if pool is None:
            return [self._read_one(crop) for crop in crops]
        return list(pool.map(self._read_one, crops))

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool, self._pool_size = None, 0

    def _read_one(self, crop: np.ndarray) -> list[OcrWord]:
        rgb = np.ascontiguousarray(np.dstack([crop] * 3)) if crop.ndim == 2 else crop
        result = self._ocr(rgb, use_det=False, use_cls=False, use_rec=True)
        return _words(result, crop.shape[1], crop.shape[0])

    def _threads(self, crops: int) -> ThreadPoolExecutor | None:
        """The pool for a call of ``crops`` crops, or None to read on this thread.

        Its size follows OpenCV's thread setting, read at every call: a batch worker
        caps it at its share of the cores after the engine may have been built, and
        an embedding program's own setting is respected the same way.
        """
        size = reading_threads()
        if size <= 1 or crops <= 1:
            return None
        with self._pool_lock:
            if self._pool is None or self._pool_size != size:
                if self._pool is not None:
                    self._pool.shutdown(wait=True)
                self._pool = ThreadPoolExecutor(size, thread_name_prefix="deid-ocr")
                self._pool_size = size
            return self._pool


def reading_threads() -> int:
    """Threads to read crops on: OpenCV's setting, within the cores this process may
    run on."""
    import cv2

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cores = os.cpu_count() or 1
    return max(1, min(int(cv2.getNumThreads()), cores))


def _words(result: Any, width: int, height: int) -> list[OcrWord]:
    """Words with boxes from the CTC columns of one recognised line.

    The recogniser groups characters into words (spaces are the gaps between
    groups); Chinese characters become one word each, as with Tesseract, so a name
    inside a line maps to its own pixels.
    """
    txts = getattr(result, "txts", None) or ()
    infos = getattr(result, "word_results", None) or ()
    if not txts or not infos:
        return []
    info = infos[0]
    steps = float(info.line_txt_len) or 1.0
    groups: list[list[tuple[str, float, float]]] = []
    confs = iter(list(info.confs))
    line_conf = float(result.scores[0])
    for group, cols in zip(info.words, info.word_cols, strict=False):
        groups.append(
            [
                (ch, col / steps * width, next(confs, line_conf))
                for ch, col in zip(group, cols, strict=False)
            ]
        )
    flat = [c for g in groups for c in g]
    xs = [x for _, x, _ in flat]
    pieces: list[list[int]] = []
    index = 0
    for group in groups:
        members = list(range(index, index + len(group)))
        index += len(group)
        if any(is_cjk(ch) for ch, _, _ in group):
            pieces.extend([i] for i in members)
        else:
            pieces.append(members)
    words: list[OcrWord] = []
    half = height / 4
    for piece in pieces:
        first, last = piece[0], piece[-1]
        left = (xs[first] + xs[first - 1]) / 2 if first > 0 else xs[first] - half
        right = (xs[last] + xs[last + 1]) / 2 if last + 1 < len(xs) else xs[last] + half
        text = "".join(flat[i][0] for i in piece)
        # Mean, not minimum: one hesitant separator in a ten-digit ID is not doubt
        # about the ID.
        conf = sum(flat[i][2] for i in piece) / len(piece)
        box = Box(max(0, int(left)), 0, min(width, int(right) + 1), height)
        words.append(OcrWord(text, box, float(conf), 0))
    return words
