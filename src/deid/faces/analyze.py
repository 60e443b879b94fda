"""Per-face decisions: landmarks, role, oral region, eye boxes and the Edit.

Kept apart from the model wrappers so the policy (who keeps a mouth, when to fall
back, when to ask for review) reads in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import FaceConfig
from ..types import Box, Edit, Reason
from . import oral
from .finding import FaceFinding
from .geometry import LEFT_EYE, RIGHT_EYE, Detection, polygon_box, to_image
from .landmarks import LEFT_BROW, LEFT_EYE_RING, RIGHT_BROW, RIGHT_EYE_RING, Mesh, agrees
from .obscure import box_covered, edit_for, head_polygon

STAGE = "faces"
MESH_MIN_PRESENCE = 0.5
MESH_TOLERANCE = 0.35  # x eye distance


@dataclass(frozen=True, eq=False)
class Face:
    det: Detection
    mesh: Mesh | None
    landmarks_ok: bool
    profile: bool


def eyes_in_frame(det: Detection, width: int, height: int) -> bool:
    """False only when the detector places both eyes outside the picture (lip close-ups)."""
    if det.keypoints is None:
        return True
    margin = 0.02 * det.width
    for x, y in det.keypoints[[RIGHT_EYE, LEFT_EYE]]:
        if -margin <= x < width + margin and -margin <= y < height + margin:
            return True
    return False


def eye_boxes(face: Face, width: int, height: int) -> tuple[Box, ...]:
    det = face.det
    if face.landmarks_ok and face.mesh is not None:
        rings = (RIGHT_EYE_RING + RIGHT_BROW, LEFT_EYE_RING + LEFT_BROW)
        pad = 0.04 * det.width
        return tuple(polygon_box(face.mesh.ring(r), pad, width, height) for r in rings)
    if det.keypoints is not None:
        half = 0.16 * det.width
        return tuple(
            polygon_box(np.array([[x - half, y - half], [x + half, y + half]]), 0, width, height)
            for x, y in det.keypoints[[RIGHT_EYE, LEFT_EYE]]
        )
    # Profile: the eye band is the upper-middle of the cascade box.
    band = to_image(det.center, det.angle,
                    np.array([[-0.5, -0.35], [0.5, -0.35], [0.5, 0.05], [-0.5, 0.05]])
                    * [det.width, det.height])  # fmt: skip
    return (polygon_box(band, 0, width, height),)


def roles(faces: list[Face], cfg: FaceConfig) -> list[str]:
    if not faces:
        return []
    largest = max(f.det.width for f in faces)
    return ["subject" if f.det.width >= cfg.bystander_ratio * largest else "bystander"
            for f in faces]  # fmt: skip


def keeps_mouth(index: int, faces: list[Face], role: list[str], cfg: FaceConfig) -> bool:
    if cfg.keep_oral == "none" or role[index] != "subject":
        return False
    if cfg.keep_oral == "largest":
        return index == max(range(len(faces)), key=lambda i: faces[i].det.width)
    return True


def oral_region(face: Face, cfg: FaceConfig) -> tuple[np.ndarray | None, str | None]:
    """(polygon, fallback used) for a face that should keep its mouth."""
    det = face.det
    if face.landmarks_ok and face.mesh is not None and not face.profile:
        poly = oral.from_mesh(face.mesh, det.angle, cfg.oral_margin)
        if oral.is_plausible(poly, det):
            return poly, None
    if cfg.mouth_fallback == "ellipse" and not face.profile:
        poly = oral.from_keypoints(det)
        if poly is not None and oral.is_plausible(poly, det):
            return poly, "mouth_ellipse"
    return None, "mouth_not_located"


def method_size(cfg: FaceConfig, face_width: float) -> int:
    if cfg.method == "pixelate":
        return max(4, round(cfg.pixelate_block * face_width))
    if cfg.method == "blur":
        return max(3, round(cfg.blur_sigma * face_width))
    return 0


def decide(
    faces: list[Face], cfg: FaceConfig, width: int, height: int
) -> tuple[list[FaceFinding], list[Edit], list[np.ndarray], list[Reason]]:
    role = roles(faces, cfg)
    regions: list[np.ndarray | None] = []
    fallbacks: list[str | None] = []
    for i, face in enumerate(faces):
        if keeps_mouth(i, faces, role, cfg):
            poly, fb = oral_region(face, cfg)
        else:
            poly, fb = None, None
        regions.append(poly)
        fallbacks.append(fb)
    kept = [r for r in regions if r is not None]

    findings: list[FaceFinding] = []
    edits: list[Edit] = []
    review: list[Reason] = []
    for i, face in enumerate(faces):
        det = face.det
        head = head_polygon(det, face.profile)
        size = method_size(cfg, det.width)
        feather = cfg.feather * det.width
        edit = edit_for(head, kept, feather, cfg.method, size, cfg.fill_color, width, height)
        eyes = eye_boxes(face, width, height)
        new = [edit] if edit is not None else []
        eyes_ok = all(box_covered(new, b, (height, width)) for b in eyes)
        action = "obscured_except_oral" if regions[i] is not None else "obscured_full"
        fallback = fallbacks[i]
        if not eyes_ok:
            # The kept mouth of some face reaches into this face's eyes: drop all keeping here.
            edit = edit_for(head, [], feather, cfg.method, size, cfg.fill_color, width, height)
            new = [edit] if edit is not None else []
            eyes_ok = all(box_covered(new, b, (height, width)) for b in eyes)
            action = "obscured_full"
            review.append(Reason("face_keep_conflict",
                                 "a kept oral region overlapped a face's eyes; face fully obscured",
                                 STAGE))  # fmt: skip
        if not eyes_ok:
            # Eyes outside the head ellipse (odd pose or geometry): cover them directly.
            new += [Edit(box=b, method=cfg.method, size=size, color=cfg.fill_color)
                    for b in eyes]  # fmt: skip
            eyes_ok = True
        if fallback == "mouth_not_located" and cfg.review_unlocated_mouth:
            review.append(Reason("face_mouth_not_located",
                                 "a face was found but its mouth could not be located; "
                                 "the whole face was obscured", STAGE))  # fmt: skip
        edits.extend(new)
        findings.append(FaceFinding(
            box=det.box(width, height), score=det.score, detector=det.detector, action=action,
            landmarks_ok=face.landmarks_ok, eye_boxes=eyes, eyes_obscured=eyes_ok,
            oral_region=regions[i] if action == "obscured_except_oral" else None,
            fallback=fallback, role=role[i],
        ))  # fmt: skip
    keep = [r for r, f in zip(regions, findings, strict=True)
            if r is not None and f.action == "obscured_except_oral"]  # fmt: skip
    return findings, edits, keep, review


def check_mesh(mesh: Mesh | None, det: Detection) -> bool:
    return mesh is not None and agrees(mesh, det, MESH_MIN_PRESENCE, MESH_TOLERANCE)
