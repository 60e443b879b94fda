"""468-point face mesh (MediaPipe ``face_landmark.tflite``) run with OpenCV DNN.

The crop is rotated upright by the eye line and sized 1.5x the detector box, the
way the model was trained, so tilted and sideways faces get the same accuracy as
upright ones. Both model outputs are read: the points and the face-presence
logit, which rejects crops that hold no face.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from .detector import WORK_SIDE
from .geometry import LEFT_EYE, MOUTH, RIGHT_EYE, Detection, axes
from .working_copy import downscale, resize

INPUT = 192
CROP_SCALE = 1.5

LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291,
              409, 270, 269, 267, 0, 37, 39, 40, 185)  # fmt: skip
RIGHT_EYE_RING = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE_RING = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
SUBNASALE = 2
UPPER_LIP_TOP = 0
NOSE_TO_LIP = 164


@dataclass(frozen=True, eq=False)
class Mesh:
    points: np.ndarray  # (468, 2) image coordinates
    presence: float  # probability the crop holds a face

    def ring(self, indices: tuple[int, ...]) -> np.ndarray:
        return self.points[list(indices)]

    def eye_centers(self) -> tuple[np.ndarray, np.ndarray]:
        return self.ring(RIGHT_EYE_RING).mean(axis=0), self.ring(LEFT_EYE_RING).mean(axis=0)

    def mouth_center(self) -> np.ndarray:
        return self.points[[13, 14]].mean(axis=0)

    def roi(self, det: Detection) -> Detection:
        """The face box the mesh itself outlines (how MediaPipe tracks a face from one
        frame to the next), in ``det``'s orientation: a crop placed from it fits the
        face better than the detector box it started from."""
        right, up = axes(det.angle)
        d = self.points - np.asarray(det.center)
        x, y = d @ right, d @ (-up)
        cx, cy = (x.min() + x.max()) / 2, (y.min() + y.max()) / 2
        center = np.asarray(det.center) + cx * right - cy * up
        return replace(det, center=(float(center[0]), float(center[1])),
                       width=float(x.max() - x.min()), height=float(y.max() - y.min()))  # fmt: skip


class FaceMesh:
    def __init__(self, model_path: Path) -> None:
        self._net = read_tflite(model_path)
        names = self._net.getUnconnectedOutLayersNames()
        self._points_out = next(n for n in names if n == "conv2d_21")
        self._score_out = next(n for n in names if n == "conv2d_31")
        self._lock = threading.Lock()

    def run(self, image: np.ndarray, det: Detection) -> Mesh:
        side = CROP_SCALE * max(det.width, det.height)
        crop, to_image = _upright_crop(image, det.center, det.angle, side)
        blob = (crop.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        with self._lock:
            self._net.setInput(blob)
            raw, logit = self._net.forward([self._points_out, self._score_out])
        pts = raw.reshape(468, 3)[:, :2].astype(np.float64)
        homog = np.hstack([pts, np.ones((468, 1))])
        presence = 1.0 / (1.0 + math.exp(-float(np.clip(logit.ravel()[0], -50, 50))))
        return Mesh(points=homog @ to_image.T, presence=presence)


# OpenCV's engine names have changed between releases (4.10 and 5.0 have
# ENGINE_CLASSIC; 5.1 renamed them ENGINE_OPENCV / ENGINE_ORT, and its TFLite importer
# only supports AUTO and OPENCV). The names are looked up, never assumed, so the next
# rename degrades to the release's own default instead of crashing every user.
ENGINE_PREFERENCE = ("ENGINE_CLASSIC", "ENGINE_OPENCV")


def tflite_engine() -> tuple[str, int] | None:
    """The DNN engine this cv2 offers that runs TFLite graphs with every output exposed."""
    for name in ENGINE_PREFERENCE:
        value = getattr(cv2.dnn, name, None)
        if isinstance(value, int):
            return name, value
    return None


def read_tflite(model_path: Path) -> cv2.dnn.Net:
    engine = tflite_engine()
    if engine is None:
        return cv2.dnn.readNetFromTFLite(str(model_path))
    return cv2.dnn.readNetFromTFLite(str(model_path), engine=engine[1])


def _upright_crop(
    image: np.ndarray, center: tuple[float, float], angle: float, side: float
) -> tuple[np.ndarray, np.ndarray]:
    """Rotated square crop resampled to INPUT px; returns it and the crop->image affine.

    Large faces are first reduced with area averaging so the 192 px crop is not aliased.
    """
    cx, cy = center
    h, w = image.shape[:2]
    pre = 1.0
    half = side * 0.75  # covers the rotated square
    src = image
    ox = oy = 0
    work, work_scale = downscale(image, WORK_SIDE) if side > 2 * INPUT else (image, 1.0)
    if side > 2 * INPUT and side * work_scale >= INPUT:
        # Large face: the shared working copy has at least one pixel per crop pixel.
        pre, src = work_scale, work
    elif side > 2 * INPUT:
        x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
        x1, y1 = min(w, int(cx + half) + 1), min(h, int(cy + half) + 1)
        pre = 2 * INPUT / side
        src = resize(image[y0:y1, x0:x1], pre)
        ox, oy = x0, y0
    right, up = axes(angle)
    k = side / INPUT  # image px per crop px
    # crop (u, v) -> image: center + (u - 96) * k * right + (v - 96) * k * (-up)
    a = np.array([
        [k * right[0], -k * up[0], cx - INPUT / 2 * k * (right[0] - up[0])],
        [k * right[1], -k * up[1], cy - INPUT / 2 * k * (right[1] - up[1])],
    ])  # fmt: skip
    # into the (possibly reduced) source: subtract origin, scale
    to_src = a.copy()
    to_src[:, 2] -= (ox, oy)
    to_src *= pre
    crop = cv2.warpAffine(
        src, to_src, (INPUT, INPUT), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
    )  # fmt: skip
    return crop, a


def agrees(mesh: Mesh, det: Detection, min_presence: float, tolerance: float) -> bool:
    """Mesh eyes and mouth within ``tolerance`` x eye distance of the detector keypoints."""
    if mesh.presence < min_presence or det.keypoints is None:
        return False
    kps = det.keypoints
    iod = float(np.linalg.norm(kps[LEFT_EYE] - kps[RIGHT_EYE]))
    if iod < 2:
        return False
    right_eye, left_eye = mesh.eye_centers()
    checks = (
        (right_eye, kps[RIGHT_EYE]),
        (left_eye, kps[LEFT_EYE]),
        (mesh.mouth_center(), kps[MOUTH]),
    )
    return all(float(np.linalg.norm(a - b)) <= tolerance * iod for a, b in checks)
