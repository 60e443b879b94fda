"""MediaPipe Tasks ``FaceDetector`` over the pinned BlazeFace models.

MediaPipe letterboxes every input to the model's 128 or 192 px square, so what a
call can find depends only on how large the face is relative to the picture it is
given; ``detector.py`` decides which pictures (whole frame, rotations, tiles) to give.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
from dataclasses import dataclass

import numpy as np

from .quiet import native_stderr_silenced, set_env_defaults


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
        def __del__(self) -> None:
            with contextlib.suppress(Exception), native_stderr_silenced():
                super().__del__()

    return QuietFaceDetector


class BlazeFace:
    """One loaded BlazeFace model; ``detect`` is serialised (the graph is not re-entrant)."""

    def __init__(self, model: bytes, name: str, min_score: float) -> None:
        set_env_defaults()
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self.name = name
        self._mp = mp
        self._lock = threading.Lock()
        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_buffer=model),
            min_detection_confidence=min_score,
        )
        with native_stderr_silenced():
            self._task = vision.FaceDetector.create_from_options(options)
            self._task.__class__ = _quiet_finaliser(type(self._task))
            # The first inference logs allocator warnings; get it over with here.
            self._task.detect(self._image(np.zeros((64, 64, 3), np.uint8)))

    def _image(self, rgb: np.ndarray):  # type: ignore[no-untyped-def]
        data = np.ascontiguousarray(rgb, dtype=np.uint8)
        return self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=data)

    def detect(self, rgb: np.ndarray) -> list[RawDetection]:
        h, w = rgb.shape[:2]
        image = self._image(rgb)
        with self._lock:
            if self._task is None:
                raise RuntimeError("face detector used after close()")
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
        with self._lock, native_stderr_silenced():
            task, self._task = self._task, None
            if task is not None:
                task.close()
                del task
                gc.collect()
