"""A second, independent opinion on a small face the face mesh doubts.

Below about 100 px the mesh is a poor judge: on patient photos with faces of 40-60 px
pasted into the background (blurred, dimmed, toned) it scored real faces 0.0003-0.01,
as low as it scores gravel or a clock dial. The detector's own score does not separate
them either (real faces 0.65-0.8, textures up to 0.82). OpenCV's Haar frontal cascade
was trained on other features (edges and bars, not a network's) and fails differently:
on the crop enlarged so the face is about 96 px, it fires centred on every doubted real
face of the dev set's tuning split and on none of the face-free pictures' hits that a
second centred detector look also confirms. Asked only for small candidates the mesh
vetoes, it costs one cascade run on a 200 px crop for a few candidates per photo.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .geometry import Detection

# Largest detector box (px) judged here: above it the mesh has enough pixels to be
# trusted, and nose-to-chin close-ups (large boxes) keep their own eye check.
MAX_WIDTH = 96.0
FACE_PX = 96  # the face's size in the enlarged crop: well above the cascade's 24 px window
CONTEXT = 1.0  # crop half-side / face size: the whole head and some background
MIN_NEIGHBORS = 2  # a single window is noise; faces this small rarely give more than a few
CENTRED = 0.35  # x cascade box: how far off the candidate's centre a hit may be
SCALE_STEP = 1.1


@dataclass
class SecondOpinion:
    """The frontal cascade run on an enlarged crop around one candidate."""

    cascade_path: Path

    def __post_init__(self) -> None:
        self._cascade = cv2.CascadeClassifier(str(self.cascade_path))
        if self._cascade.empty():
            raise ValueError("frontal cascade could not be loaded")
        self._lock = threading.Lock()

    def applies(self, det: Detection) -> bool:
        return det.width <= MAX_WIDTH

    def sees_face(self, image: np.ndarray, det: Detection) -> bool:
        """Whether the cascade finds a face of about the candidate's size centred on it."""
        h, w = image.shape[:2]
        cx, cy = det.center
        half = CONTEXT * det.size
        x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
        x1, y1 = min(w, int(cx + half)), min(h, int(cy + half))
        if min(x1 - x0, y1 - y0) < 8:
            return False
        scale = FACE_PX / det.size
        crop = cv2.resize(image[y0:y1, x0:x1], None, fx=scale, fy=scale,
                          interpolation=cv2.INTER_CUBIC)  # fmt: skip
        gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        with self._lock:
            hits = self._cascade.detectMultiScale(
                gray, scaleFactor=SCALE_STEP, minNeighbors=MIN_NEIGHBORS,
                minSize=(FACE_PX // 2, FACE_PX // 2), maxSize=(FACE_PX * 5 // 3,) * 2,
            )  # fmt: skip
        mx, my = (cx - x0) * scale, (cy - y0) * scale
        return any(
            abs(x + bw / 2 - mx) < CENTRED * bw and abs(y + bh / 2 - my) < CENTRED * bh
            for x, y, bw, bh in np.asarray(hits).reshape(-1, 4)
        )
