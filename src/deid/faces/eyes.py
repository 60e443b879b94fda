"""Are a candidate face's eyes in the picture at all?

Nose-to-chin and smile close-ups, the commonest clinical photos, show no eye, yet
BlazeFace often finds a "face" in them: the nostrils taken for eyes, the box running off
the top of the frame. The face mesh fitted to that box agrees with it (it fits a face to
whatever it is shown), so the landmarks cannot tell. What does tell is a refit that lets
the mesh see the whole face: a crop grown and moved up past the frame edge (the part
outside the frame is a black border) puts the visible mouth, nose and jaw low in the
crop, and the mesh, followed a few steps the way MediaPipe tracks a face, places the
eyes where that face has them: above the frame for a lower-face crop, on the eyes for a
face whose forehead alone is cut off. Each step also takes the roll from the mesh's own
eye line, as MediaPipe does: the detector's eye line on a lower-face crop runs through
the nostrils, and a mesh fitted at that roll (25 degrees off on a three-quarter view)
pulls the eyes toward the frame.

A lip crop turned a quarter without an EXIF tag can pass for an upright face (the mesh
agrees with the detector), while no refit in that orientation is sure of a face: the
refit is then tried in the other three quarter turns, and the surest of them tells.

A crop that was turned by a few degrees and filled out to a rectangle has black corners:
an eye placed there is outside the picture as surely as one beyond the frame.

Only candidates whose landmarks failed or whose box reaches the frame edge above the
nose are checked; any doubt (no refit sure of a face) keeps the face obscured.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .geometry import Detection, axes
from .landmarks import LEFT_EYE_RING, RIGHT_EYE_RING, FaceMesh, Mesh

EDGE_MARGIN = 0.05  # x box height: a box this close to the frame edge "reaches" it
# Refit crops (grow, upward shift as a fraction of box height): a lower-face box spans
# nose to chin, so the whole face is about 1.5x that and centred a third higher.
REFITS = ((1.5, 0.35), (2.0, 0.6))
REFIT_STEPS = 2  # mesh -> its own face box -> mesh, as MediaPipe tracks a face
# When the detector's orientation gives no sure refit: also a box that already spans the
# whole face (a lower-face crop filling the frame), raised without growing.
UNSURE_REFITS = (*REFITS, (1.0, 0.35))
MIN_PRESENCE = 0.5
EYE_IN_FRAME = 0.25  # share of an eye contour inside the frame that counts as visible
# A contour point on a patch this dark and flat (max of a 7x7 window, all channels) is on
# the black fill around a turned crop, not on an eye: a real eye's lids and lashes vary.
PAD_LEVEL = 24
PAD_WINDOW = 3  # half-width of that window
QUARTER = math.pi / 2


def reaches_edge(det: Detection, width: int, height: int) -> bool:
    """Whether the box's top edge (forehead side, in the face's own frame) touches or
    crosses the frame edge."""
    right, up = axes(det.angle)
    top = np.asarray(det.center) + up * det.height / 2
    margin = EDGE_MARGIN * det.height
    for point in (top - right * det.width / 2, top, top + right * det.width / 2):
        x, y = float(point[0]), float(point[1])
        if not (margin <= x <= width - margin and margin <= y <= height - margin):
            return True
    return False


def cut_by_frame(det: Detection, width: int, height: int) -> bool:
    """Whether the detector box touches or crosses the frame edge on any side (a crop
    through the face, whichever way the face is turned)."""
    x0, y0, x1, y1 = det.bounds()
    margin = EDGE_MARGIN * det.height
    return min(x0, y0) < margin or x1 > width - margin or y1 > height - margin


def needs_check(det: Detection, landmarks_ok: bool, width: int, height: int) -> bool:
    return not landmarks_ok or reaches_edge(det, width, height)


def refit(
    mesh: FaceMesh,
    image: np.ndarray,
    det: Detection,
    crops: tuple[tuple[float, float], ...] = REFITS,
    follow_weak: bool = False,
) -> Mesh | None:
    """The first sure mesh of the grown, raised ``crops``, or ``None`` if none is sure.
    ``follow_weak`` follows the mesh's own box even from a fit that is not yet sure (a
    face turned a quarter from the crop's roll gets sure only once the box has turned)."""
    _, up = axes(det.angle)
    for grow, shift in crops:
        center = np.asarray(det.center) + up * shift * det.height
        start = replace(det, center=(float(center[0]), float(center[1])),
                        width=det.width * grow, height=det.height * grow)  # fmt: skip
        fit = mesh.run(image, start)
        for _ in range(REFIT_STEPS):
            if fit.presence < MIN_PRESENCE and not follow_weak:
                break
            start = fit.roi(replace(start, angle=eye_line(fit)))
            fit = mesh.run(image, start)
        if fit.presence >= MIN_PRESENCE:
            return fit  # the first sure refit is enough
    return None


def eye_line(fit: Mesh) -> float:
    """Roll of the mesh's eye line (radians, image y down), the way ``Detection.angle``
    is measured."""
    right, left = fit.eye_centers()
    dx, dy = left - right
    return math.atan2(float(dy), float(dx))


def eyes_visible(mesh: FaceMesh, image: np.ndarray, det: Detection) -> bool:
    """False only when a confident refit puts both eyes outside the picture.

    The detector's orientation is tried first. When no refit there is sure of a face,
    the other quarter turns of the detector's roll are tried; and when the detector box
    reaches the frame edge (a crop through the face), so are the quarter turns of the
    picture itself: on a lower-face crop the detector's roll is the nostrils' (tens of
    degrees off a crop turned a whole quarter without an EXIF tag, or tilted), so those
    refits also try a box that already spans the whole face (raised without growing)
    and follow the mesh's own box even from a weak first fit, taking its roll from the
    mesh's eye line. The refit the mesh is surest of tells: a face is surest upright in
    its own frame (a lip crop turned 90 degrees: 0.999 in its turn, 0.62 a half turn
    away with an "eye" at the frame edge)."""
    fit = refit(mesh, image, det)
    if fit is not None:
        return _sees_an_eye(fit, image)
    turns = [replace(det, angle=det.angle + k * QUARTER) for k in (1, 2, 3)]
    fits = [refit(mesh, image, turn) for turn in turns]
    if cut_by_frame(det, image.shape[1], image.shape[0]):
        upright = [replace(det, angle=det.pass_angle + k * QUARTER) for k in range(4)]
        fits += [refit(mesh, image, turn, UNSURE_REFITS, follow_weak=True) for turn in upright]
    sure = [f for f in fits if f is not None]
    if not sure:
        return True  # unsure: keep treating it as a face
    return _sees_an_eye(max(sure, key=lambda f: f.presence), image)


def _sees_an_eye(fit: Mesh, image: np.ndarray) -> bool:
    return any(
        float(np.mean(in_picture(fit.ring(ring), image))) >= EYE_IN_FRAME
        for ring in (RIGHT_EYE_RING, LEFT_EYE_RING)
    )


def in_picture(points: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Per point: inside the frame and not on the flat black fill of a turned crop."""
    h, w = image.shape[:2]
    x, y = points[:, 0], points[:, 1]
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    for i in np.flatnonzero(inside):
        cx, cy = int(x[i]), int(y[i])
        window = image[max(0, cy - PAD_WINDOW) : cy + PAD_WINDOW + 1,
                       max(0, cx - PAD_WINDOW) : cx + PAD_WINDOW + 1]  # fmt: skip
        if int(window.max()) <= PAD_LEVEL:
            inside[i] = False
    return inside
