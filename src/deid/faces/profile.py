"""Side-view faces, which BlazeFace (trained on frontal faces) misses.

The OpenCV profile cascade only knows faces looking one way, so it runs on the
image and on its mirror. A cascade fires on many textures; candidates are kept only
when the box is largely skin-coloured (colour images) and the face mesh, run on the
box, agrees that it holds a face. Profiles carry no reliable keypoints, so the
stage obscures the whole head for them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from ..types import Box
from .gate import neutral_map, skin_map
from .geometry import Detection
from .working_copy import downscale

# Side views in clinical sets are portraits (the head fills much of the frame), and
# small faces are the tile pass's job; limiting the cascade to faces of at least
# 1/16 of the long side keeps it from spending 0.3 s on textures like grass. The
# working copy puts that smallest face at 25 px, near the cascade's 20 px window: a
# larger copy only adds scales below the size searched for. Side views found by the
# cascade alone on the dev set: 3/8 at 400 px and step 1.15, 1/8 at 320 px and 1.2,
# 2/8 at 480 px and 1.15 (which costs 40% more than 400 px).
CASCADE_SIDE = 400
MIN_SIZE = 20
MIN_FRACTION = 1 / 16
SCALE_STEP = 1.15
MIN_SKIN_IN_FRAME = 0.002


class CascadeDetector:
    """A Haar cascade with skin and mesh filtering (profile path and verification)."""

    def __init__(
        self,
        cascade_path: Path,
        min_skin: float,
        min_neighbors: int,
        mirror: bool = True,
        work_side: int = CASCADE_SIDE,
    ) -> None:
        self.work_side = work_side
        self._cascade = cv2.CascadeClassifier(str(cascade_path))
        if self._cascade.empty():
            raise ValueError("profile cascade could not be loaded")
        self._lock = threading.Lock()
        self.min_skin = min_skin
        self.min_neighbors = min_neighbors
        self.mirror = mirror

    def detect(
        self,
        image: np.ndarray,
        min_face_px: int,
        is_face: Callable[[Detection], bool],
        name: str = "haar_profile",
        regions: Sequence[Box] | None = None,
        obscured: np.ndarray | None = None,
    ) -> list[Detection]:
        """Hits on the whole frame, or only inside ``regions`` (full-resolution boxes).

        A region is searched on the same working copy and with the same window sizes as
        the whole frame, so it finds what a whole-frame run finds there (boxes may move
        by a few pixels: a crop's pyramid rounds differently), for the cost of the region
        alone. ``obscured`` (boolean, the image's size) marks pixels the face stage has
        already obscured: they are no evidence of skin, so a hit's skin share is taken
        over the rest of its box (verification: a neutral grey fill would otherwise pass
        as a black-and-white face, and a head obscured but for its mouth is face-like).
        """
        work, scale = downscale(image, self.work_side)
        # No histogram equalisation: the cascade normalises each window's contrast itself,
        # and equalising made it miss the dev set's side views.
        gray = cv2.cvtColor(work, cv2.COLOR_RGB2GRAY)
        skin = skin_map(work)
        if skin is not None:
            skin |= neutral_map(work)  # a black-and-white region may hold a face
        visible = None
        if obscured is not None and skin is not None:
            visible = ~_resized_mask(obscured, work.shape[1], work.shape[0])
            skin &= visible
        if skin is not None and float(skin.mean()) < MIN_SKIN_IN_FRAME:
            return []  # a colour picture without skin-coloured pixels shows no face
        min_size = max(MIN_SIZE, int(min_face_px * scale), int(max(work.shape[:2]) * MIN_FRACTION))
        gh, gw = gray.shape[:2]
        windows = [(0, 0, gw, gh)] if regions is None else _work_windows(regions, scale, gw, gh)
        found: list[Detection] = []
        for (x0, y0, x1, y1), mirrored in (
            (win, m) for win in windows for m in ((False, True) if self.mirror else (False,))
        ):
            if min(x1 - x0, y1 - y0) < min_size:
                continue
            part = gray[y0:y1, x0:x1]
            src = np.ascontiguousarray(part[:, ::-1]) if mirrored else part
            with self._lock:
                boxes = self._cascade.detectMultiScale(
                    src, scaleFactor=SCALE_STEP, minNeighbors=self.min_neighbors,
                    minSize=(min_size, min_size),
                )  # fmt: skip
            for x, y, w, h in np.asarray(boxes).reshape(-1, 4):
                if mirrored:
                    x = part.shape[1] - x - w
                x, y = x + x0, y + y0
                if skin is not None and _skin_share(skin, visible, x, y, w, h) < self.min_skin:
                    continue
                det = Detection(
                    center=((x + w / 2) / scale, (y + h / 2) / scale),
                    width=w / scale,
                    height=h / scale,
                    angle=0.0,
                    score=0.5,
                    detector=name + ("_mirror" if mirrored else ""),
                )
                if is_face(det):
                    found.append(det)
        return found


def _skin_share(
    skin: np.ndarray, visible: np.ndarray | None, x: int, y: int, w: int, h: int
) -> float:
    """Share of skin-coloured pixels in a box, over its pixels not already obscured
    (0 when the stage obscured all of it: nothing of a face is left to see there)."""
    box = (slice(y, y + h), slice(x, x + w))
    if visible is None:
        return float(skin[box].mean())
    seen = int(np.count_nonzero(visible[box]))
    return float(np.count_nonzero(skin[box])) / seen if seen else 0.0


def _resized_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """``mask`` at the working copy's size: a pixel counts only when all of it is set."""
    if mask.shape[:2] == (height, width):
        return mask.astype(bool)
    small = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)
    return small >= 0.99


def _work_windows(
    regions: Sequence[Box], scale: float, width: int, height: int
) -> list[tuple[int, int, int, int]]:
    """``regions`` in working-copy pixels, overlapping ones joined (each window is
    searched once, so overlapping regions would report a face twice)."""
    boxes = [
        [max(0, int(r.left * scale)), max(0, int(r.top * scale)),
         min(width, int(np.ceil(r.right * scale))), min(height, int(np.ceil(r.bottom * scale)))]
        for r in regions
    ]  # fmt: skip
    merged: list[list[int]] = []
    for box in boxes:
        while hit := next((m for m in merged if _touch(m, box)), None):
            merged.remove(hit)  # absorbed, and the union may now touch another
            box = [min(hit[0], box[0]), min(hit[1], box[1]),
                   max(hit[2], box[2]), max(hit[3], box[3])]  # fmt: skip
        merged.append(box)
    return [(a, b, c, d) for a, b, c, d in merged if c > a and d > b]


def _touch(a: list[int], b: list[int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
