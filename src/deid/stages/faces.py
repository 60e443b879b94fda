"""Face stage: obscure every face except the oral region, then check the output.

Models are loaded once here and shared by all threads (each model call is
serialised by its own lock). ``run`` never touches the input pixels; it returns
``Edit`` objects for the pipeline to apply and the kept oral polygons as
``keep_regions`` for the text stage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from ..config import FaceConfig
from ..errors import ConfigError
from ..faces.analyze import Face, check_mesh, decide, eyes_in_frame
from ..faces.blazeface import BlazeFace
from ..faces.detector import (
    MIN_FACE_FRACTION,
    RECENTRE_CONTEXT,
    SHORT_LOOK,
    FrontalDetector,
    PassPlan,
)
from ..faces.eyes import eyes_visible, needs_check
from ..faces.geometry import Detection
from ..faces.landmarks import FaceMesh, Mesh
from ..faces.merge import dedupe, merge, overlap
from ..faces.obscure import head_polygon
from ..faces.profile import CascadeDetector
from ..faces.second_opinion import SecondOpinion
from ..faces.verify import verify_faces
from ..models import ModelStore
from ..types import Box, StageResult
from .base import Context

log = logging.getLogger(__name__)

MIN_MESH_PX = 16  # below this the mesh has too few pixels to be meaningful
CASCADE_MIN_SKIN = 0.3
CASCADE_MIN_PRESENCE = 0.8
# A detector hit is dropped when the mesh is sure the crop holds no face, or doubts it
# while the detector is not sure either. Real faces on the dev set, frontal to side
# view, score 0.96-1.0 on the mesh; clock dials, coins and machinery score below 0.1.
MESH_VETO = 0.5
MESH_VETO_SURE = 0.05
SURE_SCORE = 0.9
RETRY_MIN_PRESENCE = 0.9  # an upright retry must be confident (animal faces score mid-range)
# The detector box of a small, blurred face often takes in the hair, neck and collar (a
# 40 px face boxed at 80 px); the mesh, which expects the face to fill its crop, then
# doubts it. A doubted candidate gets one more mesh run on a box this much tighter.
TIGHT_BOX = 0.6
# The mesh often doubts a small, blurred face (40-60 px, laughing, looking aside): on
# patient photos with faces pasted into the background it scored real faces 0.001-0.1.
# A detector hit this strong that a look centred on it finds again at LOOK_AGAIN_SCORE is
# kept all the same; on the dev set's face-free pictures and the backgrounds of patient
# photos, texture hits scored at most 0.78 and their second looks at most 0.78.
# A weaker hit on a small face (0.65-0.8: blurred, dimmed, a print on the wall) is kept
# when the second look finds it too and the Haar frontal cascade, an independent
# judge, sees a face centred on it (``second_opinion.py``).
TWICE_SCORE = 0.8
LOOK_AGAIN_SCORE = 0.7
KNOWN_OVERLAP = 0.3  # a cascade hit this much on a BlazeFace face is that face
# Tile hits from this score up (below the tiles' own threshold, or cut by a tile edge)
# get a second look centred on them: a grey face half hidden behind a neighbour in a
# 1927 group photo scores 0.44 off-centre in a tile and 0.87 centred.
WEAK_TILE_SCORE = 0.3


def _mesh_vetoes(mesh: Mesh, det: Detection) -> bool:
    if mesh.presence < MESH_VETO_SURE:
        return True
    return mesh.presence < MESH_VETO and det.score < SURE_SCORE


class FaceStage:
    name = "faces"

    def __init__(self, config: FaceConfig, models: ModelStore) -> None:
        if any(r % 90 for r in config.rotations):
            raise ConfigError("faces.rotations: only multiples of 90 degrees are supported")
        self.config = config
        self._short = BlazeFace(
            models.read("face_detection_short_range"), "short", config.min_score
        )
        self._full = BlazeFace(
            models.read("face_detection_full_range_sparse"), "full", config.min_score
        )
        # A full-range graph per thread for the tiles (a MediaPipe graph runs one image
        # at a time). They report weak hits too: those get a second, centred look.
        threads = max(1, config.threads)
        weak = min(config.min_score, WEAK_TILE_SCORE)
        self._tile_models = [
            BlazeFace(models.read("face_detection_full_range_sparse"), "full", weak)
            for _ in range(threads)
        ]
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="deid-faces")
        self.frontal = FrontalDetector(self._short, self._full, self._tile_models)
        self.mesh = FaceMesh(models.path("face_landmark"))
        self.second_opinion = SecondOpinion(models.path("haarcascade_frontalface_default"))
        self.profile = CascadeDetector(
            models.path("haarcascade_profileface"), CASCADE_MIN_SKIN, min_neighbors=5
        )
        # Verification only: an independent check for faces that are a sizeable part of
        # the frame (>= 1/16 of the long side), so a small working copy is enough.
        self.frontal_cascade = CascadeDetector(
            models.path("haarcascade_frontalface_default"), CASCADE_MIN_SKIN, 8,
            mirror=False, work_side=384,
        )  # fmt: skip

    def close(self) -> None:
        """Release the MediaPipe graphs now (their finalisers fail at interpreter exit)."""
        self._pool.shutdown(wait=True)
        self._short.close()
        self._full.close()
        for model in self._tile_models:
            model.close()

    def plan(self, small_faces: bool | None = None) -> PassPlan:
        cfg = self.config
        return PassPlan(
            rotations=tuple(r for r in cfg.rotations if r % 360),
            small_faces=cfg.small_faces if small_faces is None else small_faces,
            min_face_px=cfg.min_face_px,
            gate_tiles=True,
        )

    # -- detection ------------------------------------------------------------------------

    def find(self, image: np.ndarray, small_faces: bool | None = None) -> list[Face]:
        profiles: Future[list[Detection]] | None = None
        if self.config.profile:
            # The cascade runs beside the BlazeFace passes (OpenCV releases the GIL).
            profiles = self.submit_cascade(self.profile, image, "haar_profile")
        faces = [
            Face(det, mesh, check_mesh(mesh, det), profile=False)
            for det, mesh in self.frontal_faces(image, small_faces)
        ]
        if profiles is not None:
            found = self.cascade_faces(image, profiles.result(), [f.det for f in faces])
            faces += [Face(det, None, False, profile=True) for det in found]
        return faces

    def frontal_faces(
        self,
        image: np.ndarray,
        small_faces: bool | None = None,
        rotate: bool | None = None,
        refine: bool = True,
    ) -> list[tuple[Detection, Mesh | None]]:
        """BlazeFace candidates that survive the size, eyes-in-frame and mesh checks, merged.

        False positives are removed before merging so a large spurious box can never
        suppress the real faces inside it. Upright first; turned copies when the
        configuration says always, or when no upright face with agreeing landmarks was
        found (a photo turned without EXIF orientation shows none); ``rotate`` overrides.
        Small-face tiles last, skipping the heads already found. ``refine=False`` keeps
        the keypoints of the pass (verification: on an obscured head, a close crop
        would place a "face" around the kept mouth).
        """
        plan = self.plan(small_faces)
        found = self._confirmed(image, self.frontal.whole_frame(image, (0,)), [], refine)
        if rotate is None:
            # An upright hit on a turned face is common, but its mesh never agrees.
            upright = any(check_mesh(m, d) for d, m in found)
            rotate = self.config.rotate_when == "always" or not upright
        if rotate and plan.rotations:
            turned = self.frontal.whole_frame(image, plan.rotations)
            found += self._confirmed(image, turned, _trusted(found), refine)
        if plan.small_faces:
            heads = [head_polygon(d, profile=False) for d, _ in found]
            tiles = self.frontal.tiles(image, plan, heads, self._pool)
            found += self._confirmed(image, tiles, _trusted(found), refine)
        meshes = {id(d): m for d, m in found}
        return [(det, meshes[id(det)]) for det in merge(d for d, _ in found)]

    def _confirmed(
        self,
        image: np.ndarray,
        candidates: list[Detection],
        known: list[Detection],
        refine: bool = True,
    ) -> list[tuple[Detection, Mesh | None]]:
        """Candidates that pass the checks, skipping near-copies of ``known`` faces (whose
        landmarks agreed: a doubtful face may be found better by a later pass)."""
        h, w = image.shape[:2]
        kept: list[tuple[Detection, Mesh | None]] = []
        for det in dedupe(candidates):
            if any(_near_copy(det, k) for k in known):
                continue  # already found by an earlier pass: no second mesh run
            if det.width < MIN_FACE_FRACTION * self.config.min_face_px:
                continue  # far below the searched size: tile noise, nothing identifiable
            if not eyes_in_frame(det, w, h):
                continue  # lip and intraoral close-ups: nothing identifying in frame
            det, mesh = self._meshed(image, det, refine)
            if mesh is not None and _mesh_vetoes(mesh, det) and not self._found_twice(image, det):
                continue  # textures (clock faces, machinery) the mesh says hold no face
            if (
                mesh is not None
                and needs_check(det, check_mesh(mesh, det), w, h)
                and not eyes_visible(self.mesh, image, det)
            ):
                continue  # nose-to-chin and smile close-ups: the eyes are out of frame
            kept.append((det, mesh))
        return kept

    def _meshed(
        self, image: np.ndarray, det: Detection, refine: bool = True
    ) -> tuple[Detection, Mesh | None]:
        """Mesh for the candidate. On a side view the keypoint eye line can be far off,
        so a weak result is retried upright in the orientation of the detector pass. A
        mesh sure of a face that disagrees with keypoints found at low resolution is
        checked against keypoints found again from a close crop."""
        if det.width < MIN_MESH_PX:
            return det, None
        mesh = self.mesh.run(image, det)
        if mesh.presence < MESH_VETO and abs(det.angle - det.pass_angle) > 1e-3:
            turned = replace(det, angle=det.pass_angle)
            retry = self.mesh.run(image, turned)
            if retry.presence >= RETRY_MIN_PRESENCE:
                return turned, retry
        if mesh.presence < MESH_VETO:
            tight = self.mesh.run(
                image, replace(det, width=det.width * TIGHT_BOX, height=det.height * TIGHT_BOX)
            )
            if tight.presence >= RETRY_MIN_PRESENCE:
                return det, tight  # the detector's box: it covers the whole head
        if refine and mesh.presence >= RETRY_MIN_PRESENCE and not check_mesh(mesh, det):
            refined = self.frontal.refine(image, det)
            if refined is not None:
                again = self.mesh.run(image, refined)
                if check_mesh(again, refined):
                    return refined, again
        return det, mesh

    def _found_twice(self, image: np.ndarray, det: Detection) -> bool:
        """A hit the detector finds again in a crop centred on it, and either strong or a
        small face the frontal cascade sees too (only asked for the candidates the mesh
        doubts, so it costs a detector call and a small cascade run for a few)."""
        if det.detector == f"blazeface_{SHORT_LOOK}":
            # Found by the short-range model alone: the cascade must see it, whatever
            # the score (the full-range look already failed to find it again).
            return self.second_opinion.applies(det) and self.second_opinion.sees_face(image, det)
        strong = det.score >= TWICE_SCORE
        if not strong and not self.second_opinion.applies(det):
            return False
        again = self.frontal.look_again(image, det, RECENTRE_CONTEXT, LOOK_AGAIN_SCORE)
        if again is None:
            return False
        return strong or self.second_opinion.sees_face(image, det)

    def cascade_faces(
        self,
        image: np.ndarray,
        hits: list[Detection],
        known: list[Detection] | None = None,
        known_overlap: float = KNOWN_OVERLAP,
    ) -> list[Detection]:
        """Cascade hits the mesh confirms, merged; hits on a ``known`` face (already
        found by BlazeFace) are dropped before spending a mesh run on them."""
        fresh = [d for d in hits if all(overlap(d, k) < known_overlap for k in known or [])]
        return merge(d for d in fresh if self._mesh_says_face(image, d))

    def submit_cascade(
        self,
        cascade: CascadeDetector,
        image: np.ndarray,
        name: str,
        regions: Sequence[Box] | None = None,
        obscured: np.ndarray | None = None,
    ) -> Future[list[Detection]]:
        """Raw cascade hits (skin-filtered, ``obscured`` pixels no evidence of skin)
        computed on the pool; see ``cascade_faces``."""
        return self._pool.submit(
            cascade.detect, image, self.config.min_face_px, lambda _d: True, name, regions,
            obscured,
        )  # fmt: skip

    def _mesh_says_face(self, image: np.ndarray, det: Detection) -> bool:
        """Cascades fire on textures; the mesh's face-presence output vetoes those."""
        if det.width < MIN_MESH_PX:
            return False
        return self.mesh.run(image, det).presence >= CASCADE_MIN_PRESENCE

    # -- stage protocol -------------------------------------------------------------------

    def run(self, image: np.ndarray, context: Context) -> StageResult:
        if not self.config.enabled:
            return StageResult()
        image = _read_only(image)
        h, w = image.shape[:2]
        faces = self.find(image)
        findings, edits, keep, review = decide(faces, self.config, w, h)
        log.debug("faces: %d found, %d edits", len(findings), len(edits))
        return StageResult(
            findings=tuple(findings), edits=tuple(edits), keep_regions=tuple(keep),
            review=tuple(review),
        )  # fmt: skip

    def verify(self, image: np.ndarray, context: Context, result: StageResult) -> StageResult:
        if not self.config.enabled or not self.config.verify:
            return StageResult()
        # Nothing in the pipeline changed the pixels: BlazeFace and the profile cascade
        # already ran on exactly these and are deterministic, so only the independent
        # frontal cascade looks again, around this stage's edits (verify_faces).
        unchanged = context is not None and image is context.frame.pixels
        return verify_faces(self, _read_only(image), result, changed=not unchanged)


def _trusted(found: list[tuple[Detection, Mesh | None]]) -> list[Detection]:
    return [d for d, m in found if check_mesh(m, d)]


def _near_copy(a: Detection, b: Detection) -> bool:
    """Same place and similar size (the test ``dedupe`` applies between passes)."""
    return overlap(a, b) >= 0.6 and 0.67 <= a.size / b.size <= 1.5


def _read_only(image: np.ndarray) -> np.ndarray:
    """A read-only view, so the working copies of this frame can be shared safely."""
    view = image.view()
    view.setflags(write=False)
    return view
