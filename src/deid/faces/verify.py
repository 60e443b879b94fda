"""Check the redacted pixels: is any face still recognisable?

Runs the whole-frame BlazeFace passes plus two independent Haar cascades (frontal
and profile) on the output. A face whose eye region is not covered by this stage's
edits is escalated: its whole head is obscured and the image goes to review. Every
original finding records what verification saw at its place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..types import Box, Edit, Reason, StageResult
from .analyze import STAGE, Face, check_mesh, eye_boxes, eyes_in_frame, method_size
from .finding import FaceFinding
from .geometry import Detection
from .merge import merge, overlap
from .obscure import box_covered, edit_for, head_polygon

if TYPE_CHECKING:
    import numpy as np

    from ..stages.faces import FaceStage

EYE_COVERED = 0.9
SURE_HIT = 0.7
MERGE_OVERLAP = 0.4  # merge()'s default threshold


def verify_faces(
    stage: FaceStage, image: np.ndarray, result: StageResult, changed: bool = True
) -> StageResult:
    cfg = stage.config
    h, w = image.shape[:2]
    done = list(result.edits)
    originals = [f for f in result.findings if isinstance(f, FaceFinding)]
    # The cascades run on the stage's pool while BlazeFace runs here. On pixels nothing
    # changed, the detectors the run used (deterministic) would repeat themselves: only
    # the frontal cascade, which the run does not use, looks at the whole frame again;
    # the profile cascade looks only around what this stage changed.
    cascades = [stage.submit_cascade(stage.frontal_cascade, image, "haar_frontal")]
    if cfg.profile and changed and done:
        around = [_around(e.box, w, h) for e in done]
        cascades.append(stage.submit_cascade(stage.profile, image, "haar_profile", around))
    candidates: list[Detection] = []
    if changed:
        # Turned copies again only where they found something in the run: redaction
        # only adds grey, so turned passes that found no face before find none now.
        rotate = cfg.rotate_when == "always" or any("_rot" in f.detector for f in originals)
        found = stage.frontal_faces(image, small_faces=False, rotate=rotate, refine=False)
        # A head obscured but for its mouth is itself face-like: weak hits whose
        # landmarks disagree are that, not a face left visible (a visible face scores
        # high or has landmarks that fit).
        candidates += [d for d, m in found if d.score >= SURE_HIT or check_mesh(m, d)]
    # A cascade hit that the merge below would fold into a BlazeFace face needs no mesh.
    frontal = list(candidates)
    for job in cascades:
        candidates += stage.cascade_faces(image, job.result(), frontal, MERGE_OVERLAP)
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


def _around(box: Box, width: int, height: int) -> Box:
    """Changed pixels plus their own size on every side: every cascade window that
    overlaps the change and is up to twice its size lies inside."""
    grow_x, grow_y = box.width, box.height
    return Box(box.left - grow_x, box.top - grow_y, box.right + grow_x,
               box.bottom + grow_y).clip(width, height)  # fmt: skip


def _overlaps(det: Detection, finding: FaceFinding) -> bool:
    b = finding.box
    other = Detection(
        center=((b.left + b.right) / 2, (b.top + b.bottom) / 2),
        width=float(b.width), height=float(b.height), angle=0.0, score=0.0, detector="",
    )  # fmt: skip
    return overlap(det, other) >= 0.3
