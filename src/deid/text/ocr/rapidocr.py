"""RapidOCR (PP-OCR models on onnxruntime) as a recogniser for proposed line crops.

Optional: ``rapidocr`` declares a dependency on opencv-python, which must not be
installed next to opencv-contrib-python (two cv2 packages overwrite each other).
It works with the contrib build we ship, so it is installed without its
dependencies (see the README). Its models are inside its wheel; nothing is
downloaded at run time.

Crops come from our own proposals and are read one line at a time without the
engine's detector, which is where its speed comes from; character positions come
from the recogniser's CTC columns, so a name inside a line still maps to pixels.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
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
            # One thread: line crops are small, batches run one worker per core, and
            # on a shared machine a thread pool per engine was slower (0.40 s against
            # 0.72 s per 12 MP image, measured side by side).
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        for task, path in _verified_models().items():
            params[f"{task}.model_path"] = path
        self._ocr = RapidOCR(params=params)

    def version(self) -> str:
        from importlib.metadata import version

        return f"rapidocr {version('rapidocr')}"

    def read(self, crops: Sequence[np.ndarray]) -> list[list[OcrWord]]:
        out: list[list[OcrWord]] = []
        for crop in crops:
            rgb = np.ascontiguousarray(np.dstack([crop] * 3)) if crop.ndim == 2 else crop
            result = self._ocr(rgb, use_det=False, use_cls=False, use_rec=True)
            out.append(_words(result, crop.shape[1], crop.shape[0]))
        return out


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
