"""Check the redacted pixels: is any face still recognisable?

Runs BlazeFace plus two independent Haar cascades (frontal and profile) on the
surroundings of this stage's edits in the output, never on the whole frame. A face
whose eye region is not covered by this stage's edits is escalated: its whole head is
obscured and the image goes to review. Every original finding records what
verification saw at its place.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..types import Box, Edit, Reason, StageResult
from .analyze import STAGE, Face, check_mesh, eye_boxes, eyes_in_frame, method_size
from .finding import FaceFinding
from .geometry import Detection
from .merge import merge, overlap
from .obscure import box_covered, coverage, edit_for, head_polygon
from .working_copy import reduced

if TYPE_CHECKING:
    from ..stages.faces import FaceStage

EYE_COVERED = 0.9
# The cascades search each surrounding (twice its head) reduced to this long side (up
# to twice it), and never finer than the whole-frame working copy they searched before
# (a 12 MP frame at 1/10): a large head spans 128-256 px, and the smallest window (the
# configured minimum face size) finds faces down to an eighth of it; a group photo's
# small heads are seen as the whole-frame pass saw them, for the cost of their crops.
CASCADE_SIDE = 256
SURE_HIT = 0.7
MERGE_OVERLAP = 0.4  # merge()'s default threshold
FULLY_OBSCURED = 0.99  # coverage at which a pixel shows nothing of what was there


def verify_faces(
    stage: FaceStage, image: np.ndarray, result: StageResult, changed: bool = True
) -> StageResult:
    cfg = stage.config
    h, w = image.shape[:2]
    done = list(result.edits)
    originals = [f for f in result.findings if isinstance(f, FaceFinding)]
    # Only the surroundings of this stage's edits are looked at again: elsewhere the
    # pixels are those the run's (deterministic) detectors already saw, or a text fill,
    # which cannot make a face. Each surrounding is searched as a crop of its own, so
    # the detectors' smallest windows scale with the head edited there, not the frame.
    crops = [(r, image[r.slices()]) for r in surroundings([e.box for e in done], w, h)]
    # The frontal cascade, which the run does not use, is the independent second
    # opinion on every edit; the cascades run on the stage's pool while BlazeFace runs
    # here. On pixels nothing changed, BlazeFace and the profile cascade would repeat
    # the run.
    cascades = [(stage.frontal_cascade, "haar_frontal")]
    if cfg.profile and changed:
        cascades.append((stage.profile, "haar_profile"))
    jobs = []
    frame_factor = max(h, w) // stage.frontal_cascade.work_side
    for region, crop in crops:
        factor = max(1, max(crop.shape[:2]) // CASCADE_SIDE, frame_factor)
        work, place = reduced(crop, factor), (region, 1.0 / factor)
        # The stage's own fill is no evidence of skin: a neutral grey passes the
        # cascades' skin test as a black-and-white face would, and with a kept mouth
        # in it a texture hit around an obscured head looks like a face left visible.
        hidden = _obscured(done, region, (h, w), factor)
        jobs += [
            (place, stage.submit_cascade(c, work, name, obscured=hidden)) for c, name in cascades
        ]
    candidates: list[Detection] = []
    if changed:
        # Turned copies again only where they found something in the run: redaction
        # only adds grey, so turned passes that found no face before find none now.
        rotate = cfg.rotate_when == "always" or any("_rot" in f.detector for f in originals)
        for region, crop in crops:
            found = stage.frontal_faces(crop, small_faces=False, rotate=rotate, refine=False)
            # A head obscured but for its mouth is itself face-like: weak hits whose
            # landmarks disagree are that, not a face left visible (a visible face
            # scores high or has landmarks that fit).
            candidates += [
                _moved(d, region) for d, m in found if d.score >= SURE_HIT or check_mesh(m, d)
            ]
    # A cascade hit that the merge below would fold into a BlazeFace face needs no mesh.
    frontal = list(candidates)
    for (region, scale), job in jobs:
        hits = [_moved(d, region, scale) for d in job.result()]
        candidates += stage.cascade_faces(image, hits, frontal, MERGE_OVERLAP)
    candidates = [d for d in merge(candidates) if eyes_in_frame(d, w, h)]

    status = ["not_redetected"] * len(originals)
    edits: list[Edit] = []
    new_findings: list[FaceFinding] = []
    for det in candidates:
        face = Face(det, None, False, profile=det.keypoints is None)
        eyes = eye_boxes(face, w, h)
        covered = all(box_covered(done, b, (h, w), EYE_COVERED) for b in eyes)
        matched = [i for i, f in enumerate(originals) if _overlaps(det, f)]
        for i in matched:
            if status[i] != "escalated":
                status[i] = "found_obscured" if covered else "escalated"
        if covered:
            continue
        edit = edit_for(head_polygon(det, profile=True), [], 0.0, cfg.method,
                        method_size(cfg, det.width), cfg.fill_color, w, h)  # fmt: skip
        if edit is None:
            continue
        edits.append(edit)
        if not matched:
            new_findings.append(FaceFinding(
                box=det.box(w, h), score=det.score, detector=f"verify_{det.detector}",
                action="obscured_full", eye_boxes=eyes, eyes_obscured=True,
                verification="escalated", role="unknown",
            ))  # fmt: skip
    findings = [f.with_verification(s) for f, s in zip(originals, status, strict=True)]
    findings += new_findings
    review = ()
    if edits:
        review = (Reason("face_found_after_redaction",
                         f"{len(edits)} face(s) still visible after redaction were fully "
                         "obscured", STAGE),)  # fmt: skip
    return StageResult(findings=tuple(findings), edits=tuple(edits), review=review)


def surroundings(boxes: list[Box], width: int, height: int) -> list[Box]:
    """Each edit's box twice its size about its centre, overlapping ones joined (a face
    left visible overlaps the edit meant to cover it and is no larger than its head;
    joined, a face between two edits is searched once and whole)."""
    grown = [
        Box(b.left - b.width // 2, b.top - b.height // 2,
            b.right + b.width // 2, b.bottom + b.height // 2).clip(width, height)
        for b in boxes
    ]  # fmt: skip
    merged: list[Box] = []
    for box in (b for b in grown if not b.empty):
        while hit := next((m for m in merged if not m.intersection(box).empty), None):
            merged.remove(hit)  # absorbed, and the union may now reach another
            box = Box(min(hit.left, box.left), min(hit.top, box.top),
                      max(hit.right, box.right), max(hit.bottom, box.bottom))  # fmt: skip
        merged.append(box)
    return merged


def _obscured(edits: list[Edit], region: Box, shape: tuple[int, int], factor: int) -> np.ndarray:
    """Pixels of ``region`` the edits obscure fully, reduced by ``factor`` as its crop
    is (a reduced pixel counts only when all of its block is obscured). Only the part
    of the region the edits reach is computed (1-10 ms CPU for a 12 MP photo's heads)."""
    out = np.zeros((region.height // factor, region.width // factor), bool)
    inside = [e.box.clip(shape[1], shape[0]).intersection(region) for e in edits]
    inside = [b for b in inside if not b.empty]
    if not inside or not out.size:
        return out
    x0 = (min(b.left for b in inside) - region.left) // factor
    y0 = (min(b.top for b in inside) - region.top) // factor
    x1 = min(out.shape[1], -(-(max(b.right for b in inside) - region.left) // factor))
    y1 = min(out.shape[0], -(-(max(b.bottom for b in inside) - region.top) // factor))
    if x1 <= x0 or y1 <= y0:
        return out
    part = Box(region.left + x0 * factor, region.top + y0 * factor,
               region.left + x1 * factor, region.top + y1 * factor)  # fmt: skip
    out[y0:y1, x0:x1] = reduced(coverage(edits, shape, part), factor) >= FULLY_OBSCURED
    return out


def _moved(det: Detection, region: Box, scale: float = 1.0) -> Detection:
    """A detection in a crop of ``region`` reduced by ``scale``, in frame pixels."""
    dx, dy = region.left, region.top
    keypoints = None
    if det.keypoints is not None:
        keypoints = np.add(np.divide(det.keypoints, scale), (dx, dy))
    return replace(
        det, center=(det.center[0] / scale + dx, det.center[1] / scale + dy),
        width=det.width / scale, height=det.height / scale, keypoints=keypoints,
    )  # fmt: skip


def _overlaps(det: Detection, finding: FaceFinding) -> bool:
    b = finding.box
    other = Detection(
        center=((b.left + b.right) / 2, (b.top + b.bottom) / 2),
        width=float(b.width), height=float(b.height), angle=0.0, score=0.0, detector="",
    )  # fmt: skip
    return overlap(det, other) >= 0.3
