"""Turn a face into an ``Edit``: head region minus the kept oral regions.

The head region is an ellipse in the face's upright frame around the detector box,
grown upward for forehead and hair, sideways for the ears and down for the jaw.
The kept mouth gets a soft edge (``feather``) that fades from untouched to fully
obscured outside the oral polygon, so the boundary reads as deliberate and the
oral region itself is never altered.

Why solid fill is the default (``FaceConfig.method``): it is the only mode that
leaves nothing to recover. A Gaussian blur is a known linear filter that
deconvolution partly undoes, and both blur and pixelation keep the low-frequency
layout (face shape, hairline, brow position) that recognition models are trained to
exploit on obscured faces. Fill removes all of it; the kept mouth is unaffected either
way, and the neutral grey with a feathered edge reads as a deliberate mask. Pixelate
(blocks sized to the face) and blur remain available for clinics that accept the
trade-off. All modes are deterministic: masks come from geometry alone, no noise.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..types import Box, Edit, EditMethod
from .geometry import LEFT_EYE, NOSE_TIP, RIGHT_EYE, Detection, axes, ellipse, to_face

# Head ellipse around the detector box (multiples of box width/height): half-width,
# half-height, upward shift. BlazeFace boxes span brows to chin, so hair, ears and
# jaw need the margins.
FRONTAL_HEAD = (0.95, 1.05, 0.20)
PROFILE_HEAD = (1.05, 1.10, 0.15)
# A side view keeps the back of the head (ear, hair) behind the face box.
SIDE_VIEW_IOD = 0.3  # eye distance / box width below this = turned far to the side
SIDE_VIEW_SHIFT = 0.30  # ellipse moved toward the back of the head by this x width


def head_polygon(det: Detection, profile: bool) -> np.ndarray:
    ax, ay, shift = PROFILE_HEAD if profile else FRONTAL_HEAD
    right, up = axes(det.angle)
    center = np.asarray(det.center) + up * shift * det.height
    back = _back_of_head(det)
    if back:
        ax = PROFILE_HEAD[0]
        center = center + right * back * SIDE_VIEW_SHIFT * det.width
    return ellipse((float(center[0]), float(center[1])), ax * det.width, ay * det.height,
                   det.angle, n=72)  # fmt: skip


def _back_of_head(det: Detection) -> int:
    """+1/-1: direction (face frame x) of the back of a side-turned head; 0 if frontal."""
    if det.keypoints is None:
        return 0
    local = to_face(det.center, det.angle, det.keypoints)
    iod = abs(local[LEFT_EYE, 0] - local[RIGHT_EYE, 0])
    if iod >= SIDE_VIEW_IOD * det.width:
        return 0
    eyes_mid = (local[LEFT_EYE, 0] + local[RIGHT_EYE, 0]) / 2
    nose_side = local[NOSE_TIP, 0] - eyes_mid
    return -1 if nose_side > 0 else 1


def edit_for(
    polygon: np.ndarray,
    keep: list[np.ndarray],
    feather: float,
    method: EditMethod,
    size: int,
    color: tuple[int, int, int],
    width: int,
    height: int,
) -> Edit | None:
    pts = np.asarray(polygon)
    box = Box(
        math.floor(pts[:, 0].min()), math.floor(pts[:, 1].min()),
        math.ceil(pts[:, 0].max()) + 1, math.ceil(pts[:, 1].max()) + 1,
    ).clip(width, height)  # fmt: skip
    if box.empty:
        return None
    mask = np.zeros((box.height, box.width), np.uint8)
    origin = np.array([box.left, box.top], dtype=np.float64)
    _fill(mask, pts - origin, 1)
    mask = mask.astype(np.float32)
    for region in keep:
        _carve(mask, np.asarray(region) - origin, feather)
    if not mask.any():
        return None
    return Edit(box=box, method=method, mask=mask, size=size, color=color)


def _fill(mask: np.ndarray, pts: np.ndarray, value: int) -> None:
    shift = 4
    fixed = np.round(pts * (1 << shift)).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(mask, [fixed], value, lineType=cv2.LINE_8, shift=shift)


def _carve(mask: np.ndarray, region: np.ndarray, feather: float) -> None:
    """Zero the mask inside ``region`` and ramp it back to its value over ``feather`` px."""
    h, w = mask.shape
    pad = math.ceil(feather) + 2
    x0 = max(0, math.floor(region[:, 0].min()) - pad)
    y0 = max(0, math.floor(region[:, 1].min()) - pad)
    x1 = min(w, math.ceil(region[:, 0].max()) + pad + 1)
    y1 = min(h, math.ceil(region[:, 1].max()) + pad + 1)
    if x1 <= x0 or y1 <= y0:
        return
    inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
    _fill(inside, region - (x0, y0), 1)
    if not inside.any():
        return
    # Distance of each outside pixel to the kept region (0 inside it).
    dist = cv2.distanceTransform((1 - inside).astype(np.uint8), cv2.DIST_L2, 5)
    ramp = np.clip(dist / max(feather, 1.0), 0.0, 1.0).astype(np.float32)
    ramp[inside > 0] = 0.0
    window = mask[y0:y1, x0:x1]
    np.minimum(window, ramp, out=window)


def coverage(edits: list[Edit], shape: tuple[int, int], region: Box | None = None) -> np.ndarray:
    """Per-pixel strength of the union of ``edits`` (max of their masks), float32.

    With ``region`` only that part of the frame is computed (eye boxes are small; a
    full 12 MP float map is not).
    """
    h, w = shape
    area = (region or Box(0, 0, w, h)).clip(w, h)
    alpha = np.zeros((area.height, area.width), np.float32)
    for e in edits:
        box = e.box.clip(w, h).intersection(area)
        if box.empty:
            continue
        if e.mask is None:
            m = np.ones((box.height, box.width), np.float32)
        else:
            m = e.mask[box.top - e.box.top : box.bottom - e.box.top,
                       box.left - e.box.left : box.right - e.box.left]  # fmt: skip
        rows = slice(box.top - area.top, box.bottom - area.top)
        cols = slice(box.left - area.left, box.right - area.left)
        np.maximum(alpha[rows, cols], m, out=alpha[rows, cols])
    return alpha


def box_covered(
    edits: list[Edit], box: Box, shape: tuple[int, int], min_fraction: float = 0.98
) -> bool:
    """Whether at least ``min_fraction`` of ``box`` is fully obscured by ``edits``."""
    b = box.clip(shape[1], shape[0])
    if b.empty:
        return True  # nothing of it is in the frame
    return float(np.mean(coverage(edits, shape, b) >= 0.99)) >= min_fraction
