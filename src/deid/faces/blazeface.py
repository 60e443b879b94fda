"""BlazeFace over the pinned models: the graph on onnxruntime (``blazeface_ort.py``),
MediaPipe Tasks ``FaceDetector``, or the graph on OpenCV DNN (``blazeface_dnn.py``).

MediaPipe letterboxes every input to the model's 128 or 192 px square, so what a
call can find depends only on how large the face is relative to the picture it is
given; ``detector.py`` decides which pictures (whole frame, rotations, tiles) to give.

Which engine runs a model is decided when it loads, by trying: onnxruntime first
(``blazeface_ort.py``: the same graph exported to ONNX; onnxruntime is already there
for the OCR engine), then MediaPipe Tasks, then OpenCV DNN. All three give the same
boxes to a pixel and scores to 0.01. onnxruntime costs 12-15 % less CPU per
small-face tile than Tasks (``benchmarks/blazeface_tile_cpu.py``), and the tiles are
most of the face stage: 12 % less CPU per 12 MP photo (``benchmarks/face_stage_ab.py``).
On the loaded shared machine its wall clock was no better: Tasks' threads sleep and
wake on every call (ten times the time slices per tile), which a busy scheduler
serves first. The dev-set figures are the same on either engine, tuning and
held-out (a tuning group photo once held back for review with onnxruntime first was
held back with Tasks first too; the cause was in verification). MediaPipe 0.10.20
to 0.10.32 cannot run the 192 px full-range model through Tasks at all (their graph
is built for the 128 px model), so there Tasks only matters where onnxruntime is
missing; OpenCV DNN, 2-3x slower than onnxruntime, is the last resort.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import threading
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .quiet import native_stderr_held, native_stderr_silenced, set_env_defaults

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class RawDetection:
    """Box ``(x, y, w, h)`` and keypoints ``(6, 2)`` in the pixels of the picture given."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray


@functools.cache
def _quiet_finaliser(cls: type) -> type:
    """The detector class with a finaliser that cannot print.

    MediaPipe's own ``__del__`` fails with a traceback on stderr when it only runs at
    interpreter exit (its dispatcher is already gone), and its native teardown logs
    INFO lines; a pipeline that was never closed must still print nothing.
    """

    class QuietFaceDetector(cls):  # type: ignore[misc, valid-type]
        abandoned = False

        def __del__(self) -> None:
            if self.abandoned:
                return
            with contextlib.suppress(Exception), native_stderr_silenced():
                super().__del__()

    return QuietFaceDetector


Backend = Literal["auto", "onnxruntime", "tasks", "opencv"]
# What the Tasks runtime may write to fd 2 during an inference, at random (see
# ``native_stderr_held``); anything else it writes is passed on.
_RUNTIME_NOTICES = ("memory is not aligned", "Logging before InitGoogle")
# What MediaPipe raises for a failed graph status (its status-code-to-exception table:
# RuntimeError, ValueError, FileNotFoundError and other OSErrors, IndexError).
TASKS_ERRORS = (RuntimeError, ValueError, OSError, IndexError)


class BlazeFace:
    """One loaded BlazeFace model; ``detect`` is serialised (the graph is not re-entrant).

    ``backend="auto"`` uses the first engine that loads this model: onnxruntime,
    MediaPipe Tasks, OpenCV DNN; ``"onnxruntime"``, ``"tasks"`` or ``"opencv"`` choose
    one (tests, diagnosis, speed comparisons). ``self.backend`` says which one loaded.
    """

    def __init__(
        self, model: bytes, name: str, min_score: float, backend: Backend = "auto"
    ) -> None:
        set_env_defaults()
        import mediapipe as mp

        self.name = name
        self._mp = mp
        self._lock = threading.Lock()
        self._task = None
        self._dnn = None
        self._ort = None
        tasks_error: Exception | None = None
        if backend in ("auto", "onnxruntime"):
            try:
                from .blazeface_ort import OrtBlazeFace

                self._ort = OrtBlazeFace(model, name, min_score)
            except Exception as exc:  # an engine that cannot load leaves the next one
                if backend == "onnxruntime":
                    raise
                log.info("face model '%s': not on onnxruntime (%s)", name, type(exc).__name__)
        if self._ort is None and backend in ("auto", "tasks"):
            try:
                self._task = self._load_tasks(model, min_score)
            except TASKS_ERRORS as exc:
                if backend == "tasks":
                    raise
                tasks_error = exc
        if self._ort is None and self._task is None:
            from .blazeface_dnn import DnnBlazeFace

            if tasks_error is not None:
                log.info(
                    "face model '%s': MediaPipe %s cannot run it through Tasks (%s); "
                    "running it on OpenCV DNN",
                    name, getattr(mp, "__version__", "?"), type(tasks_error).__name__,
                )  # fmt: skip

            try:
                self._dnn = DnnBlazeFace(model, name, min_score)
            except Exception as exc:
                raise RuntimeError(
                    f"face model '{name}' runs neither on MediaPipe Tasks ({tasks_error}) "
                    f"nor on OpenCV DNN ({exc})"
                ) from exc
        self.backend = (
            "onnxruntime" if self._ort is not None
            else "tasks" if self._task is not None
            else "opencv"
        )  # fmt: skip

    def _load_tasks(self, model: bytes, min_score: float):  # type: ignore[no-untyped-def]
        """The Tasks detector, after one inference: releases that cannot run the model
        fail there, not when the graph is created."""
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_buffer=model),
            min_detection_confidence=min_score,
        )
        with native_stderr_silenced():
            task = vision.FaceDetector.create_from_options(options)
            task.__class__ = _quiet_finaliser(type(task))
            try:
                # The first inference also logs allocator warnings; get it over with here.
                task.detect(self._image(np.zeros((64, 64, 3), np.uint8)))
            except Exception:
                # A graph whose run failed also fails to close (0.10.30-0.10.32 report
                # the run's error again and keep the handle); closing it once more from
                # the finaliser, whenever garbage collection runs it, can deadlock on
                # MediaPipe's dispatcher thread. One attempt here, none later.
                task.abandoned = True
                with contextlib.suppress(Exception):
                    task.close()
                raise
        return task

    def _image(self, rgb: np.ndarray):  # type: ignore[no-untyped-def]
        data = np.ascontiguousarray(rgb, dtype=np.uint8)
        return self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=data)

    def detect(self, rgb: np.ndarray) -> list[RawDetection]:
        if self._ort is not None:
            return self._ort.detect(rgb)
        if self._dnn is not None:
            return self._dnn.detect(rgb)
        h, w = rgb.shape[:2]
        image = self._image(rgb)
        with self._lock:
            if self._task is None:
                raise RuntimeError("face detector used after close()")
            with native_stderr_held(_RUNTIME_NOTICES):
                result = self._task.detect(image)
        found = []
        for d in result.detections:
            bb = d.bounding_box
            kps = np.array([[p.x * w, p.y * h] for p in d.keypoints], dtype=np.float64)
            if kps.shape != (6, 2):
                continue
            score = float(d.categories[0].score) if d.categories else 0.0
            box = (float(bb.origin_x), float(bb.origin_y), float(bb.width), float(bb.height))
            found.append(RawDetection(box, score, kps))
        return found

    def close(self) -> None:
        """Close the graph and drop it now: MediaPipe's finaliser closes it again, which
        fails noisily if it only runs at interpreter exit."""
        if self._ort is not None:
            self._ort.close()
        if self._dnn is not None:
            self._dnn.close()
        with self._lock, native_stderr_silenced():
            task, self._task = self._task, None
            if task is not None:
                task.close()
                del task
                gc.collect()
