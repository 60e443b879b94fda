"""Face geometry shared by detection, landmarks, oral region and obscuring.

A face is described in its own upright frame (centre, size, roll angle) so every
later step works the same for a tilted head, a sideways photo or a mirrored profile.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..types import Box

# MediaPipe BlazeFace keypoint order (normalised in the detector output).
RIGHT_EYE, LEFT_EYE, NOSE_TIP, MOUTH, RIGHT_EAR, LEFT_EAR = range(6)


@dataclass(frozen=True, eq=False)
class Detection:
    """One face candidate in full-resolution pixel coordinates.

    ``center``/``width``/``height`` describe the face box in the face's upright frame;
    ``angle`` is the roll in radians (direction of the eye line, image y down).
    ``keypoints`` is ``(6, 2)`` in BlazeFace order, or ``None`` (profile cascade).
    """

    center: tuple[float, float]
    width: float
    height: float
    angle: float
    score: float
    detector: str
    keypoints: np.ndarray | None = None
    pass_angle: float = 0.0  # orientation of the picture the detector was given

    @property
    def size(self) -> float:
        return math.sqrt(max(self.width, 1.0) * max(self.height, 1.0))

    def corners(self) -> np.ndarray:
        return rotated_rect(self.center, self.width, self.height, self.angle)

    @functools.cached_property
    def _bounds(self) -> tuple[float, float, float, float]:
        pts = self.corners()
        return (
            float(pts[:, 0].min()),
            float(pts[:, 1].min()),
            float(pts[:, 0].max()),
            float(pts[:, 1].max()),
        )

    def bounds(self) -> tuple[float, float, float, float]:
        """Axis-aligned bounds; computed once (merging compares every pair of candidates)."""
        return self._bounds

    def box(self, width: int, height: int) -> Box:
        x0, y0, x1, y1 = self.bounds()
        return Box(math.floor(x0), math.floor(y0), math.ceil(x1),
                   math.ceil(y1)).clip(width, height)  # fmt: skip


def axes(angle: float) -> tuple[np.ndarray, np.ndarray]:
    """(right, up) unit vectors of a face rolled by ``angle`` (image coordinates, y down)."""
    right = np.array([math.cos(angle), math.sin(angle)])
    up = np.array([right[1], -right[0]])
    return right, up


def to_image(center: tuple[float, float], angle: float, local: np.ndarray) -> np.ndarray:
    """Face-frame points (x right, y down) to image coordinates."""
    right, up = axes(angle)
    local = np.asarray(local, dtype=np.float64).reshape(-1, 2)
    return np.asarray(center) + local[:, :1] * right + local[:, 1:] * (-up)


def to_face(center: tuple[float, float], angle: float, points: np.ndarray) -> np.ndarray:
    """Image points to the face frame (inverse of ``to_image``)."""
    right, up = axes(angle)
    d = np.asarray(points, dtype=np.float64).reshape(-1, 2) - np.asarray(center)
    return np.stack([d @ right, d @ (-up)], axis=1)


def rotated_rect(center: tuple[float, float], w: float, h: float, angle: float) -> np.ndarray:
    local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    return to_image(center, angle, local)


def ellipse(
    center: tuple[float, float], ax: float, ay: float, angle: float, n: int = 48
) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    local = np.stack([ax * np.cos(t), ay * np.sin(t)], axis=1)
    return to_image(center, angle, local)


def clip_below(polygon: np.ndarray, point: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Keep the part of ``polygon`` on the far side of the line through ``point``
    perpendicular to ``up`` (i.e. below it in the face frame); Sutherland-Hodgman."""
    pts = np.asarray(polygon, dtype=np.float64)
    side = (pts - point) @ up  # > 0 means above the line
    out: list[np.ndarray] = []
    n = len(pts)
    for i in range(n):
        a, b = pts[i], pts[(i + 1) % n]
        sa, sb = side[i], side[(i + 1) % n]
        if sa <= 0:
            out.append(a)
        if (sa <= 0) != (sb <= 0):
            t = sa / (sa - sb)
            out.append(a + t * (b - a))
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def polygon_box(polygon: np.ndarray, pad: float, width: int, height: int) -> Box:
    pts = np.asarray(polygon)
    return Box(
        math.floor(pts[:, 0].min() - pad),
        math.floor(pts[:, 1].min() - pad),
        math.ceil(pts[:, 0].max() + pad) + 1,
        math.ceil(pts[:, 1].max() + pad) + 1,
    ).clip(width, height)
