"""BlazeFace on onnxruntime: the same graph and decoding as the other engines.

The pinned graph exported to ONNX (``onnx_export.py``) on onnxruntime (already a
dependency: the OCR engine), the first engine tried (``blazeface.py``): it carries the
full-range model, so every small-face tile, 2-3x faster than OpenCV DNN and with
12-15 % less CPU per tile than MediaPipe Tasks. Its heads agree with OpenCV DNN's to
4e-5; boxes agree with Tasks' to a pixel and scores to 0.01
(``tests/test_blazeface_ort.py``). The short-range model does not export (a strided
convolution with SAME padding, which the exporter does not write) and stays on Tasks.

One tile per call, one single-threaded session per pool thread: batches of tiles in
one call were measured and not taken. The results are identical, but the CPU per
tile grows with the batch (2.6 ms alone, 2.9 ms in fours, 3.4 ms in sixteens, 4.4 ms
in sixty-fours on this machine; one two-threaded session is no better). The cost is
the convolutions over the tile, not the call: a whole call on a 32 px input costs
0.22 ms (``benchmarks/blazeface_batch_cpu.py``).

Input and output are MediaPipe's (``blazeface_dnn.py``): the picture letterboxed into
the model's square, SSD anchors, weighted suppression, boxes in the picture's pixels.

Larger inputs were measured and not taken: the graph runs on any multiple of 32, but
a face's score depends on the 192 px square around it (a 34 px face at half size:
0.60 in a tile, nothing at 0.05 in a 256 px window), so one call over a whole reduced
frame does not find what the tiles find.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from .blazeface import RawDetection
from .blazeface_dnn import (
    NUM_KEYPOINTS,
    OPTIONS_BY_BOXES,
    decode,
    letterbox,
    to_picture,
    weighted_nms,
)
from .onnx_export import INPUT_NAME, Exported, size_free_onnx


@functools.lru_cache(maxsize=4)
def _exported(model: bytes) -> Exported:
    """One export per model (about 0.7 s), shared by the per-thread tile detectors."""
    return size_free_onnx(model)


class OrtBlazeFace:
    """One BlazeFace model in one onnxruntime session on the calling thread (the tile
    pool gives each thread its own detector, as with the other engines)."""

    def __init__(self, model: bytes, name: str, min_score: float) -> None:
        import onnxruntime as ort

        self.name = name
        self.min_score = min_score
        exported = _exported(model)
        self._heads = exported.heads
        shapes = [h.shape for h in self._heads]
        boxes = next((s[1] for s in shapes if s[-1] == 4 + 2 * NUM_KEYPOINTS), None)
        if boxes not in OPTIONS_BY_BOXES:
            raise ValueError(f"not a BlazeFace face model (outputs {shapes})")
        self.options = OPTIONS_BY_BOXES[boxes]
        self._anchors = self.options.anchors()
        options = ort.SessionOptions()
        # One thread per session: the detector's pool already runs one call per core.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session: ort.InferenceSession | None = ort.InferenceSession(
            exported.model, options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[RawDetection]:
        h, w = rgb.shape[:2]
        side = self.options.input_side
        tensor, to_square = letterbox(rgb, side)
        with self._lock:
            if self._session is None:
                raise RuntimeError("face detector used after close()")
            session = self._session
        outputs = session.run([head.tensor for head in self._heads], {INPUT_NAME: tensor})
        raw = [head.finish(out) for head, out in zip(self._heads, outputs, strict=True)]
        regressors = next(r for r in raw if r.shape[-1] == 4 + 2 * NUM_KEYPOINTS)[0]
        logits = next(r for r in raw if r.shape[-1] == 1)[0, :, 0]
        found = weighted_nms(decode(regressors, logits, self._anchors, side, self.min_score))
        return [to_picture(c, to_square, w, h) for c in found]

    def close(self) -> None:
        with self._lock:
            self._session = None
