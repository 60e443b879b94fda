"""The region kept sharp: lips, teeth, gums and the smile line.

Built from the outer lip contour pushed outward by a margin (so a wide smile or a
retracted mouth stays whole) and cut by a line just below the nose, so no setting
of the margin can ever uncover the nose or eyes. Without a trustworthy mesh, an
ellipse around the detector's mouth keypoint stands in, cut the same way.
"""

from __future__ import annotations

import numpy as np

from .geometry import MOUTH, NOSE_TIP, Detection, axes, clip_below, ellipse, to_face, to_image
from .landmarks import LIPS_OUTER, NOSE_TO_LIP, SUBNASALE, Mesh


def from_mesh(mesh: Mesh, angle: float, margin: float) -> np.ndarray:
    lips = mesh.ring(LIPS_OUTER)
    center = lips.mean(axis=0)
    local = to_face((float(center[0]), float(center[1])), angle, lips)
    mouth_width = float(local[:, 0].max() - local[:, 0].min())
    push = margin * mouth_width
    norms = np.maximum(np.linalg.norm(local, axis=1, keepdims=True), 1e-6)
    grown = local + push * local / norms
    polygon = to_image((float(center[0]), float(center[1])), angle, grown)
    # The cut line: a little below the subnasale, toward the point above the lip.
    cut = mesh.points[SUBNASALE] + 0.3 * (mesh.points[NOSE_TO_LIP] - mesh.points[SUBNASALE])
    _, up = axes(angle)
    return clip_below(polygon, cut, up)


def from_keypoints(det: Detection) -> np.ndarray | None:
    """Fallback ellipse sized from the face; ``None`` when there is no mouth keypoint."""
    if det.keypoints is None:
        return None
    mouth = det.keypoints[MOUTH]
    nose = det.keypoints[NOSE_TIP]
    size = det.width
    shape = ellipse((float(mouth[0]), float(mouth[1])), 0.30 * size, 0.16 * size, det.angle)
    _, up = axes(det.angle)
    cut = nose + 0.45 * (mouth - nose)
    return clip_below(shape, cut, up)


def is_plausible(polygon: np.ndarray, det: Detection) -> bool:
    """A kept region must be a real area well below the eyes and not wider than the face."""
    if len(polygon) < 3:
        return False
    local = to_face(det.center, det.angle, polygon)
    width = float(local[:, 0].max() - local[:, 0].min())
    if width < 0.15 * det.width or width > 1.1 * det.width:
        return False
    if det.keypoints is not None:
        from .geometry import LEFT_EYE, RIGHT_EYE

        eyes = to_face(det.center, det.angle, det.keypoints[[RIGHT_EYE, LEFT_EYE]])
        eye_line = float(eyes[:, 1].max())
        if float(local[:, 1].min()) < eye_line + 0.2 * det.height:
            return False
    return True
