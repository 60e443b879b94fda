"""BlazeFace run with OpenCV DNN and decoded the way MediaPipe's FaceDetector decodes it.

MediaPipe 0.10.20 to 0.10.32 configure the Tasks FaceDetector graph for the 128 px
short-range model only, so the 192 px full-range model fails there (the box tensor
has 2304 rows, the graph expects 896). This module is the same graph in Python, for
whichever model the installed MediaPipe cannot run:

* letterbox: the picture, centred in a square of its long side (zero border), warped
  to the model's input with bilinear interpolation, values scaled to [-1, 1];
* SSD anchors (``SsdAnchorsCalculator``) with the options MediaPipe uses for each model;
* box and keypoint decoding (``TensorsToDetectionsCalculator``: x/y/w/h order, scale =
  input size, score = sigmoid of the logit clipped to +-100);
* weighted non-maximum suppression (``NonMaxSuppressionCalculator``, IoU > 0.3: the
  overlapping boxes are averaged by score, the best score is kept);
* projection back to the picture and truncation to whole pixels
  (``DetectionTransformationCalculator``).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from .blazeface import RawDetection
from .landmarks import tflite_engine
from .tflite_rewrite import Rewritten, opencv_ready

SCORE_CLIP = 100.0
NMS_IOU = 0.3  # the FaceDetector's default min_suppression_threshold
NUM_KEYPOINTS = 6


@dataclass(frozen=True)
class AnchorOptions:
    """The ``SsdAnchorsCalculator`` options of one model (fixed-size anchors)."""

    input_side: int
    strides: tuple[int, ...]
    interpolated_ratio: bool  # a second anchor per cell in every layer

    def anchors(self) -> np.ndarray:
        """``(N, 2)`` anchor centres (x, y), normalised, in the model's output order.

        Layers with the same stride share one grid: each cell holds all their anchors.
        """
        centres = []
        layer = 0
        while layer < len(self.strides):
            stride = self.strides[layer]
            last = layer
            per_cell = 0
            while last < len(self.strides) and self.strides[last] == stride:
                per_cell += 2 if self.interpolated_ratio else 1
                last += 1
            side = int(np.ceil(self.input_side / stride))
            ys, xs = np.mgrid[0:side, 0:side]
            grid = np.stack([(xs + 0.5) / side, (ys + 0.5) / side], axis=-1).reshape(-1, 2)
            centres.append(np.repeat(grid, per_cell, axis=0))
            layer = last
        return np.concatenate(centres).astype(np.float32)


# face_detection_short_range / full_range graphs (and the Tasks FaceDetector graph).
SHORT_RANGE = AnchorOptions(128, (8, 16, 16, 16), True)
FULL_RANGE = AnchorOptions(192, (4,), False)
OPTIONS_BY_BOXES = {len(o.anchors()): o for o in (SHORT_RANGE, FULL_RANGE)}


@functools.lru_cache(maxsize=4)
def _rewritten(model: bytes) -> Rewritten:
    """One rewrite per model (about 0.5 s), shared by the per-thread tile detectors."""
    return opencv_ready(model)


@dataclass(frozen=True)
class Candidates:
    """Decoded boxes above the score threshold, in the letterboxed square's [0, 1]."""

    boxes: np.ndarray  # (n, 4) xmin, ymin, xmax, ymax
    keypoints: np.ndarray  # (n, 6, 2)
    scores: np.ndarray  # (n,)


class DnnBlazeFace:
    """One BlazeFace model on OpenCV DNN; ``detect`` is serialised (one net, one input)."""

    def __init__(self, model: bytes, name: str, min_score: float) -> None:
        self.name = name
        self.min_score = min_score
        rewritten = _rewritten(model)
        self._heads = rewritten.heads
        buffer = np.frombuffer(rewritten.model, dtype=np.uint8)
        engine = tflite_engine()
        if engine is None:
            self._net = cv2.dnn.readNetFromTFLite(buffer)
        else:
            self._net = cv2.dnn.readNetFromTFLite(buffer, engine=engine[1])
        self._lock = threading.Lock()
        shapes = [h.shape for h in self._heads]
        boxes = next((s[1] for s in shapes if s[-1] == 4 + 2 * NUM_KEYPOINTS), None)
        if boxes not in OPTIONS_BY_BOXES:
            raise ValueError(f"not a BlazeFace face model (outputs {shapes})")
        self.options = OPTIONS_BY_BOXES[boxes]
        self._anchors = self.options.anchors()

    def detect(self, rgb: np.ndarray) -> list[RawDetection]:
        h, w = rgb.shape[:2]
        side = self.options.input_side
        tensor, to_square = letterbox(rgb, side)
        with self._lock:
            if self._net is None:
                raise RuntimeError("face detector used after close()")
            self._net.setInput(tensor)
            outputs = self._net.forward([head.tensor for head in self._heads])
        raw = [head.finish(out) for head, out in zip(self._heads, outputs, strict=True)]
        regressors = next(r for r in raw if r.shape[-1] == 4 + 2 * NUM_KEYPOINTS)[0]
        logits = next(r for r in raw if r.shape[-1] == 1)[0, :, 0]
        found = weighted_nms(decode(regressors, logits, self._anchors, side, self.min_score))
        return [to_picture(c, to_square, w, h) for c in found]

    def close(self) -> None:
        with self._lock:
            self._net = None


def letterbox(rgb: np.ndarray, side: int) -> tuple[np.ndarray, tuple[float, float, float]]:
    """NCHW float input in [-1, 1] and the square's (left, top, size) in the picture.

    The square of the long side, centred, mapped corner to corner onto the input as
    MediaPipe's ``ImageToTensorCalculator`` does (``keep_aspect_ratio``, zero border).
    """
    h, w = rgb.shape[:2]
    size = float(max(w, h))
    if h == w == side:  # a tile: the warp would be the identity (no border, no resampling)
        tensor = rgb.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
        return tensor.transpose(2, 0, 1)[None], (0.0, 0.0, size)
    left, top = (w - size) / 2.0, (h - size) / 2.0
    src = np.float32([[left, top + size], [left, top], [left + size, top],
                      [left + size, top + size]])  # fmt: skip
    dst = np.float32([[0, side], [0, 0], [side, 0], [side, side]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(
        np.ascontiguousarray(rgb, dtype=np.uint8), matrix, (side, side),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )  # fmt: skip
    tensor = warped.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
    return tensor.transpose(2, 0, 1)[None], (left, top, size)


def decode(
    regressors: np.ndarray, logits: np.ndarray, anchors: np.ndarray, side: int, min_score: float
) -> Candidates:
    """Anchor-relative outputs to boxes, keypoints and scores; weak or empty boxes dropped.

    Scores first, and boxes only for the few anchors that pass: a tile has thousands of
    anchors and this runs once per tile."""
    clipped = np.clip(logits.astype(np.float32), -SCORE_CLIP, SCORE_CLIP)
    with np.errstate(over="ignore"):  # exp(100) is inf in float32, as in MediaPipe: score 0
        scores = (1.0 / (1.0 + np.exp(-clipped))).astype(np.float32)
    keep = np.flatnonzero((scores >= min_score) & (regressors[:, 2] >= 0) & (regressors[:, 3] >= 0))
    reg = regressors[keep].astype(np.float32) / np.float32(side)
    kept_anchors = anchors[keep]
    centre = reg[:, :2] + kept_anchors
    half = reg[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = reg[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + kept_anchors[:, None, :]
    return Candidates(boxes, keypoints, scores[keep])


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    lo = np.maximum(box[:2], others[:, :2])
    hi = np.minimum(box[2:], others[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(others[:, 2:] - others[:, :2], axis=1)
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(c: Candidates) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED suppression: the best remaining box and every box overlapping
    it by more than ``NMS_IOU`` become one detection, their corners and keypoints
    averaged with the scores as weights; the score is the best one's."""
    order = np.argsort(-c.scores, kind="stable")
    remaining = order
    found = []
    while remaining.size:
        best = remaining[0]
        overlap = _iou(c.boxes[best], c.boxes[remaining]) > NMS_IOU
        group = remaining[overlap]
        if group.size:
            weights = c.scores[group][:, None]
            total = weights.sum()
            box = (c.boxes[group] * weights).sum(axis=0) / total
            kps = (c.keypoints[group] * weights[:, :, None]).sum(axis=0) / total
        else:
            box, kps = c.boxes[best], c.keypoints[best]
        found.append((box, kps, float(c.scores[best])))
        if not group.size:
            break
        remaining = remaining[~overlap]
    return found


def to_picture(
    found: tuple[np.ndarray, np.ndarray, float],
    square: tuple[float, float, float],
    w: int,
    h: int,
) -> RawDetection:
    """From the square's [0, 1] to the picture's pixels; the box truncated to whole
    pixels and clamped at the picture's edge like MediaPipe's pixel boxes."""
    box, kps, score = found
    left, top, size = square
    x0, y0 = left + box[0] * size, top + box[1] * size
    bw, bh = (box[2] - box[0]) * size, (box[3] - box[1]) * size

    def whole(value: float, limit: int) -> float:
        return float(min(max(int(value), 0), limit))

    pixel_box = (whole(x0, w), whole(y0, h), whole(bw, w), whole(bh, h))
    points = np.column_stack([left + kps[:, 0] * size, top + kps[:, 1] * size])
    return RawDetection(pixel_box, score, points.astype(np.float64))
