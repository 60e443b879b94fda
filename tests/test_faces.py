"""Face stage on real photos shipped in packages (skimage astronaut/camera, Grace Hopper).

Ground-truth boxes are the hand-drawn ones of the dev set (benchmarks/devset_faces.py).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from importlib import resources

import cv2
import jsonschema
import matplotlib.cbook
import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.metrics import structural_similarity

from deid import redact
from deid.config import Config
from deid.faces.merge import overlap
from deid.models import ModelStore
from deid.stages import REGISTRY
from deid.stages.base import Context
from deid.stages.faces import FaceStage
from deid.types import Box, Frame, StageResult

ASTRONAUT = {"eyes": [(190, 93, 214, 108), (236, 95, 260, 110)], "mouth": (199, 136, 247, 157)}
GRACE = {"eyes": [(200, 178, 246, 202), (284, 175, 325, 200)], "mouth": (230, 267, 305, 288)}
CAMERA = {"eyes": [(224, 138, 252, 155)], "mouth": (228, 170, 250, 185)}


def grace() -> np.ndarray:
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as im:
        return np.asarray(im.convert("RGB"))


def camera() -> np.ndarray:
    return np.stack([data.camera()] * 3, axis=-1)


def process(stage: FaceStage, image: np.ndarray, config: Config | None = None):
    image = np.ascontiguousarray(image)
    image.setflags(write=False)
    ctx = Context(config=config or Config(), source=None, frame=Frame(image))  # type: ignore[arg-type]
    result = stage.run(image, ctx)
    out = redact.apply(image, result.edits)
    checked = stage.verify(out, ctx, result)
    out = redact.apply(out, checked.edits)
    return out, result, checked


def changed_fraction(a: np.ndarray, b: np.ndarray, box: tuple[int, int, int, int]) -> float:
    rows, cols = Box(*box).slices()
    diff = np.abs(a[rows, cols].astype(int) - b[rows, cols].astype(int)).max(axis=2)
    return float(np.mean(diff > 0))


def ssim(a: np.ndarray, b: np.ndarray, box: tuple[int, int, int, int]) -> float:
    rows, cols = Box(*box).slices()
    ga = a[rows, cols].mean(axis=2)
    gb = b[rows, cols].mean(axis=2)
    return float(structural_similarity(ga, gb, data_range=255, win_size=7))


def assert_eyes_obscured(before, after, eyes) -> None:
    for eye in eyes:
        assert changed_fraction(before, after, eye) > 0.97, eye


@pytest.mark.parametrize(("load", "truth"), [(data.astronaut, ASTRONAUT), (grace, GRACE)])
def test_eyes_obscured_and_mouth_kept(stage, load, truth):
    image = load()
    out, result, checked = process(stage, image)
    assert_eyes_obscured(image, out, truth["eyes"])
    assert ssim(image, out, truth["mouth"]) >= 0.95
    # Inside the kept polygon not one pixel changes.
    (poly,) = result.keep_regions
    inside = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(poly).astype(np.int32)], 1)
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8))
    assert np.array_equal(out[inside > 0], image[inside > 0])
    (face,) = checked.findings
    assert face.action == "obscured_except_oral" and face.landmarks_ok
    assert face.eyes_obscured is True and face.fallback is None
    assert face.verification in {"not_redetected", "found_obscured"}
    assert not result.review and not checked.review
    # The input array is never modified.
    assert np.array_equal(image, load())


def test_kept_region_stays_below_the_nose(stage):
    image = data.astronaut()
    _, result, _ = process(stage, image)
    (poly,) = result.keep_regions
    # nose tip of the astronaut is at about y=130; the kept region starts below it
    assert poly[:, 1].min() > 128
    assert poly[:, 1].max() < 175


def test_bystander_is_fully_obscured(stage):
    scene = np.zeros((1200, 1600, 3), np.uint8) + 200
    big = cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    scene[88:1112, 0:1024] = big
    small = cv2.resize(grace(), (160, 188), interpolation=cv2.INTER_AREA)  # face ~60 px
    scene[100:288, 1250:1410] = small
    out, result, _ = process(stage, scene)
    scale = 2.0
    eyes = [(int(a * scale), int(b * scale) + 88, int(c * scale), int(d * scale) + 88)
            for a, b, c, d in ASTRONAUT["eyes"]]  # fmt: skip
    assert_eyes_obscured(scene, out, eyes)
    m = ASTRONAUT["mouth"]
    assert ssim(scene, out, (m[0] * 2, m[1] * 2 + 88, m[2] * 2, m[3] * 2 + 88)) >= 0.95
    sx, sy = 160 / 512, 188 / 600
    gm = GRACE["mouth"]
    small_mouth = (int(gm[0] * sx) + 1250, int(gm[1] * sy) + 100,
                   int(gm[2] * sx) + 1250, int(gm[3] * sy) + 100)  # fmt: skip
    assert changed_fraction(scene, out, small_mouth) > 0.97  # bystander keeps nothing
    roles = sorted(f.role for f in result.findings)
    assert roles == ["bystander", "subject"]


@pytest.mark.parametrize("name", ["chelsea", "coffee", "rocket", "brick"])
def test_face_free_image_untouched(stage, name):
    image = getattr(data, name)()
    image = np.stack([image] * 3, -1) if image.ndim == 2 else image
    out, result, checked = process(stage, image)
    assert not result.edits and not checked.edits and not checked.review
    assert np.array_equal(out, image)


@pytest.mark.parametrize("load", [data.astronaut, grace])
def test_lower_face_crop_untouched(stage, load):
    image = load()
    truth = ASTRONAUT if load is data.astronaut else GRACE
    top = truth["mouth"][1] - 12
    crop = np.ascontiguousarray(image[top:, 100:420])
    crop = cv2.resize(crop, (crop.shape[1] * 3, crop.shape[0] * 3), interpolation=cv2.INTER_CUBIC)
    out, result, checked = process(stage, crop)
    assert not result.edits and not checked.edits
    assert np.array_equal(out, crop)


@pytest.mark.parametrize("mirror", [False, True])
def test_side_view_is_obscured(stage, mirror):
    image = camera()
    eye = CAMERA["eyes"][0]
    if mirror:
        image = np.ascontiguousarray(image[:, ::-1])
        eye = (512 - eye[2], eye[1], 512 - eye[0], eye[3])
    out, _, checked = process(stage, image)
    assert_eyes_obscured(image, out, [eye])
    assert checked.findings


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_sideways_photo_handled(stage, turns):
    # Upside down, BlazeFace also reports an upright "face" whose mesh disagrees; the
    # turned passes must still run (they run only when no upright face is trusted).
    image = np.ascontiguousarray(np.rot90(data.astronaut(), turns))
    out, result, _ = process(stage, image)

    def rot(box):  # map an upright box into the turned picture
        x0, y0, x1, y1 = box
        if turns == 1:
            return (y0, 512 - x1, y1, 512 - x0)
        if turns == 2:
            return (512 - x1, 512 - y1, 512 - x0, 512 - y0)
        return (512 - y1, x0, 512 - y0, x1)

    assert_eyes_obscured(image, out, [rot(e) for e in ASTRONAUT["eyes"]])
    assert ssim(image, out, rot(ASTRONAUT["mouth"])) >= 0.9
    assert result.findings[0].landmarks_ok


def test_tilted_head_handled(stage):
    image = data.astronaut()
    m = cv2.getRotationMatrix2D((256, 256), 25, 1.0)
    tilted = cv2.warpAffine(image, m, (512, 512), flags=cv2.INTER_CUBIC)
    out, _, _ = process(stage, tilted)
    for x0, y0, x1, y1 in ASTRONAUT["eyes"]:
        cx, cy = m @ [(x0 + x1) / 2, (y0 + y1) / 2, 1]
        assert (
            changed_fraction(tilted, out, (int(cx) - 6, int(cy) - 4, int(cx) + 6, int(cy) + 4)) == 1
        )
    mx, my = m @ [223, 147, 1]
    assert ssim(tilted, out, (int(mx) - 12, int(my) - 5, int(mx) + 12, int(my) + 5)) >= 0.9


def test_keep_oral_none_obscures_mouth_too():
    config = Config().replace(faces={"keep_oral": "none"})
    s = FaceStage(config.faces, ModelStore())
    try:
        image = data.astronaut()
        out, result, _ = process(s, image, config)
    finally:
        s.close()
    assert changed_fraction(image, out, ASTRONAUT["mouth"]) > 0.97
    assert not result.keep_regions
    assert result.findings[0].action == "obscured_full"


def test_pixelate_mode_is_deterministic_and_changes_eyes():
    config = Config().replace(faces={"method": "pixelate"})
    s = FaceStage(config.faces, ModelStore())
    try:
        image = grace()
        first, result, _ = process(s, image, config)
        second, _, _ = process(s, image, config)
    finally:
        s.close()
    assert result.edits[0].method == "pixelate" and result.edits[0].size >= 4
    assert np.array_equal(first, second)
    for eye in GRACE["eyes"]:
        assert changed_fraction(image, first, eye) > 0.8
    mask = result.edits[0].mask
    assert mask.dtype == np.float32 and float(mask.min()) >= 0.0 and float(mask.max()) <= 1.0
    assert ((mask > 0.05) & (mask < 0.95)).any()  # the soft boundary around the mouth


def test_verification_escalates_a_face_left_visible(stage):
    image = data.astronaut()
    ctx = Context(config=Config(), source=None, frame=Frame(image))  # type: ignore[arg-type]
    # As if the run had placed its head edit a third of a head too low: the eyes above
    # it are still visible, and verification looks at the edit's surroundings.
    from deid.types import Edit

    wrong = Edit(Box(178, 110, 282, 232), "fill", color=(128, 128, 128))
    redacted = redact.apply(image, [wrong])
    checked = stage.verify(redacted, ctx, StageResult(edits=(wrong,)))
    assert checked.edits
    assert any(r.code == "face_found_after_redaction" for r in checked.review)
    out = redact.apply(redacted, checked.edits)
    assert_eyes_obscured(image, out, ASTRONAUT["eyes"])
    assert any(f.verification == "escalated" for f in checked.findings)


def test_verification_leaves_a_covered_face_alone(stage):
    image = data.astronaut()
    out, _, checked = process(stage, image)
    assert_eyes_obscured(image, out, ASTRONAUT["eyes"])
    assert not checked.edits and not checked.review
    assert {f.verification for f in checked.findings} <= {"not_redetected", "found_obscured"}


def test_keypoints_found_again_in_a_close_crop_are_accurate(stage):
    # A 290 px face in a 12 MP frame is 16 px in the whole-frame model input: its
    # keypoints are off by a quarter of the eye distance. Found again in a crop where
    # it fills a third of the input, they fit the hand-drawn eyes and mouth.
    from deid.faces.geometry import LEFT_EYE, MOUTH, RIGHT_EYE

    zoom, offset = 2.5, np.array([1500, 500])
    canvas = np.full((3000, 4000, 3), 90, np.uint8)
    big = cv2.resize(data.astronaut(), None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
    canvas[500 : 500 + big.shape[0], 1500 : 1500 + big.shape[1]] = big
    canvas.setflags(write=False)
    truth = {  # centres of the hand-drawn eye and mouth boxes
        RIGHT_EYE: np.array([202.0, 100.5]),
        LEFT_EYE: np.array([248.0, 102.5]),
        MOUTH: np.array([223.0, 146.5]),
    }

    def error(det) -> float:
        worst = max(
            np.linalg.norm(det.keypoints[k] - (p * zoom + offset)) for k, p in truth.items()
        )
        return float(worst) / (zoom * 46.0)  # in eye distances

    (det,) = stage.frontal.whole_frame(canvas, (0,))
    refined = stage.frontal.refine(canvas, det)
    assert refined is not None and refined.detector == det.detector
    assert error(det) > 0.2
    assert error(refined) < 0.12


def test_tilted_face_found_small_keeps_its_lips_not_a_keypoint_ellipse(stage):
    # Tilted by 20 degrees and found small, the face's keypoints disagree with a mesh
    # that is sure of the face; keypoints found again agree, so the kept region follows
    # the lips instead of falling back to an ellipse. (At 15 degrees the onnxruntime
    # engine's keypoints happen to agree already; at 10 and 20 neither engine's do.)
    from deid.faces.analyze import check_mesh

    big = cv2.resize(data.astronaut(), None, fx=3.0, fy=3.0, interpolation=cv2.INTER_CUBIC)
    h, w = big.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), -20, 1.0)
    big = cv2.warpAffine(big, turn, (w, h), borderValue=(90, 90, 90))
    canvas = np.full((3000, 4000, 3), 90, np.uint8)
    canvas[300 : 300 + h, 1500 : 1500 + w] = big
    canvas.setflags(write=False)
    (det,) = stage.frontal.whole_frame(canvas, (0,))
    assert not check_mesh(stage.mesh.run(canvas, det), det)
    # Without the small-face tiles, which would find the face again at a better scale.
    config = Config().replace(faces={"small_faces": False})
    whole_frame_only = FaceStage(config.faces, ModelStore())
    try:
        _, result, _ = process(whole_frame_only, canvas)
    finally:
        whole_frame_only.close()
    (face,) = result.findings
    assert face.detector == "blazeface_full"
    assert face.landmarks_ok and face.fallback is None


def test_verification_ignores_weak_hits_whose_landmarks_disagree(stage, monkeypatch):
    # An obscured head with its mouth kept is face-like, and so is clothing next to it:
    # a weak hit whose mesh does not fit is not escalated; a sure hit is.
    from deid.faces.geometry import Detection

    image = data.astronaut()
    out, result, _ = process(stage, image)
    ctx = Context(config=Config(), source=None, frame=Frame(image))  # type: ignore[arg-type]
    layout = np.array([[-22, -15], [22, -15], [0, 5], [0, 25], [-45, -5], [45, -5]], float)
    on_suit = Detection((256.0, 420.0), 100.0, 100.0, 0.0, 0.55, "blazeface_short",
                        layout + np.array([256.0, 420.0]))  # fmt: skip
    for score, escalated in ((0.55, False), (0.95, True)):
        hit = replace(on_suit, score=score)
        mesh = stage.mesh.run(out, hit)
        monkeypatch.setattr(stage, "frontal_faces", lambda *a, h=hit, m=mesh, **k: [(h, m)])
        checked = stage.verify(out, ctx, result)
        assert bool(checked.edits) is escalated, score


def test_profile_cascade_in_a_region_finds_what_the_whole_frame_finds_there(stage):
    # Verification searches only around the pixels the stage changed; the cameraman's
    # side view must come out of a region search as it does out of the whole frame.
    image = np.ascontiguousarray(camera())
    image.setflags(write=False)
    whole = stage.profile.detect(image, 32, lambda _d: True)
    assert len(whole) == 1
    x, y = whole[0].center
    around = Box(int(x) - 190, int(y) - 140, int(x) + 190, int(y) + 190).clip(512, 512)
    inside = stage.profile.detect(image, 32, lambda _d: True, regions=[around])
    # The pyramid of a crop rounds differently, so boxes move by a few pixels.
    assert any(d.detector == whole[0].detector and overlap(d, whole[0]) > 0.6 for d in inside)
    elsewhere = Box(0, 330, 512, 512)  # the tripod and the field below
    assert stage.profile.detect(image, 32, lambda _d: True, regions=[elsewhere]) == []


def test_report_items_validate_against_schema(stage):
    schema = json.loads(resources.files("deid").joinpath("data/report.schema.json").read_text())
    face_schema = {"$defs": schema["$defs"], **schema["$defs"]["face"]}
    _, _, checked = process(stage, data.astronaut())
    _, _, side = process(stage, camera())
    items = [f.to_report() for f in (*checked.findings, *side.findings)]
    assert items
    for item in items:
        jsonschema.validate(json.loads(json.dumps(item)), face_schema)
    first = items[0]
    assert first["oral_region"] and len(first["eye_boxes"]) == 2
    assert first["verification"] is not None


def test_thread_safe(stage):
    images = [data.astronaut(), grace(), data.astronaut(), grace()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        outs = list(pool.map(lambda im: process(stage, im)[0], images))
    assert np.array_equal(outs[0], outs[2]) and np.array_equal(outs[1], outs[3])
    assert np.array_equal(outs[0], process(stage, data.astronaut())[0])


def test_registry_builds_the_stage():
    s = REGISTRY["faces"](Config(), ModelStore())
    try:
        assert s.name == "faces" and isinstance(s, FaceStage)
    finally:
        s.close()


def test_unlocated_mouth_obscures_whole_face_and_asks_for_review():
    # The side view's mesh does not match BlazeFace's keypoints; with the ellipse
    # fallback disabled the mouth counts as not located.
    config = Config().replace(faces={"mouth_fallback": "obscure"})
    s = FaceStage(config.faces, ModelStore())
    try:
        image = camera()
        out, result, _ = process(s, image, config)
    finally:
        s.close()
    (face,) = result.findings
    assert face.action == "obscured_full" and face.fallback == "mouth_not_located"
    assert [r.code for r in result.review] == ["face_mouth_not_located"]
    assert changed_fraction(image, out, CAMERA["mouth"]) > 0.9
    assert not result.keep_regions


def test_keep_oral_largest_keeps_one_mouth_in_a_composite():
    left = data.astronaut()
    right = cv2.resize(data.astronaut(), (400, 400), interpolation=cv2.INTER_AREA)
    canvas = np.full((512, 960, 3), 255, np.uint8)
    canvas[:, :512] = left
    canvas[56:456, 540:940] = right
    config = Config().replace(faces={"keep_oral": "largest"})
    s = FaceStage(config.faces, ModelStore())
    try:
        out, result, _ = process(s, canvas, config)
    finally:
        s.close()
    actions = sorted(f.action for f in result.findings)
    assert actions == ["obscured_except_oral", "obscured_full"]
    assert ssim(canvas, out, ASTRONAUT["mouth"]) >= 0.95
    k = 400 / 512
    m = ASTRONAUT["mouth"]
    small = (int(m[0] * k) + 540, int(m[1] * k) + 56, int(m[2] * k) + 540, int(m[3] * k) + 56)
    assert changed_fraction(canvas, out, small) > 0.97


# -- small-face tiles: which tiles the gate lets through -----------------------------------


def small_face(rgb: np.ndarray, width: int) -> np.ndarray:
    """The whole photo scaled so the face is ``width`` px wide (a person in a crowd)."""
    zoom = width / 104  # hand-drawn face box is 104 px wide
    return cv2.resize(rgb, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_AREA)


def scene(kind: str, size: tuple[int, int] = (1600, 1200), seed: int = 3) -> np.ndarray:
    """Busy real-photo texture (skimage grass), tinted: 'green' (no skin tone) or 'gray'."""
    w, h = size
    grass = cv2.resize(data.grass(), (w, h), interpolation=cv2.INTER_CUBIC)
    if kind == "gray":
        return np.stack([grass] * 3, axis=-1)
    rgb = np.stack([grass * 0.35, grass * 0.8, grass * 0.3], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def gate_for(image: np.ndarray):
    from deid.faces.gate import TileGate

    image = np.ascontiguousarray(image)
    image.setflags(write=False)
    return TileGate.build(image, [])


def test_gate_skips_tiles_without_skin_tone_but_keeps_the_face():
    image = scene("green")
    face = small_face(data.astronaut(), 40)
    fh, fw = face.shape[:2]
    image[500 : 500 + fh, 700 : 700 + fw] = face
    gate = gate_for(image)
    assert gate.passes((700, 500, 1084, 884), 32)  # the tile holding the face
    assert not gate.passes((0, 0, 384, 384), 32)  # green texture: contrast, no skin


def test_gate_keeps_dark_skin_and_black_and_white_pictures():
    image = scene("green")
    face = data.astronaut()[70:192, 178:282]  # the face box alone, 104 px
    dark = (cv2.resize(face, (40, 47)).astype(np.float32) * 0.35).astype(np.uint8)
    image[100 : 100 + dark.shape[0], 100 : 100 + dark.shape[1]] = dark
    panel = scene("gray", (500, 500))  # a black-and-white print inside a colour photo
    image[600:1100, 1000:1500] = panel
    gate = gate_for(image)
    assert gate.passes((0, 0, 384, 384), 32)
    assert gate.passes((1050, 650, 1434, 1034), 32)


def test_gate_on_black_and_white_image_uses_contrast_only():
    image = scene("gray")
    image[:, :400] = 128  # a plain backdrop strip
    gate = gate_for(image)
    assert gate.skin is None
    assert gate.passes((800, 400, 1184, 784), 32)  # texture may hide a face
    assert not gate.passes((0, 0, 384, 384), 32)  # nothing there to be a face


def test_hard_face_off_centre_in_every_tile_gets_a_second_look(stage, monkeypatch):
    # A grey face with its chin hidden behind a neighbour's dark head (as in old group
    # photos) scores below the tile threshold wherever the tile grid puts it; the
    # weak hit, looked at again centred with room around it, is a face.
    from deid.faces.detector import FrontalDetector

    zoom, left, top = 90 / 104, 260, 300
    canvas = scene("gray")
    face = small_face(np.stack([cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)] * 3, -1), 90)
    canvas[top : top + face.shape[0], left : left + face.shape[1]] = face
    chin = (int(left + 250 * zoom), int(top + 210 * zoom))
    cv2.ellipse(canvas, chin, (int(70 * zoom), int(80 * zoom)), 0, 0, 360, (40, 40, 40), -1)
    canvas.setflags(write=False)
    centre = (left + 230 * zoom, top + 131 * zoom)

    def found() -> bool:
        dets = stage.frontal.tiles(canvas, stage.plan(), [])
        return any(abs(d.center[0] - centre[0]) < 45 and abs(d.center[1] - centre[1]) < 45
                   for d in dets)  # fmt: skip

    assert found()
    with monkeypatch.context() as patch:
        patch.setattr(FrontalDetector, "look_again", lambda *_a: None)
        assert not found()
    out, _, _ = process(stage, canvas)
    eyes = [tuple(int(v * zoom) + o for v, o in zip(e, (left, top) * 2, strict=True))
            for e in ASTRONAUT["eyes"]]  # fmt: skip
    assert_eyes_obscured(canvas, out, eyes)


def test_small_face_in_black_and_white_photo_is_found(stage):
    # Without colour BlazeFace needs the face larger in the tile; 40 px is found.
    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    face = small_face(np.stack([gray] * 3, axis=-1), 40)
    image = scene("gray")
    top, left = 600, 900
    image[top : top + face.shape[0], left : left + face.shape[1]] = face
    out, result, _ = process(stage, image)
    zoom = 40 / 104
    eyes = [(int(left + x0 * zoom), int(top + y0 * zoom),
             int(left + x1 * zoom) + 1, int(top + y1 * zoom) + 1)
            for x0, y0, x1, y1 in ASTRONAUT["eyes"]]  # fmt: skip
    assert result.findings, "small face in a black-and-white photo missed"
    assert_eyes_obscured(image, out, eyes)


def test_upright_portrait_skips_the_turned_passes(stage):
    from deid.faces import blazeface

    calls = []
    original = blazeface.BlazeFace.detect

    def counting(self, rgb):
        calls.append(rgb.shape)
        return original(self, rgb)

    image = data.astronaut()
    blazeface.BlazeFace.detect = counting
    try:
        out, result, _ = process(stage, image)
    finally:
        blazeface.BlazeFace.detect = original
    assert result.findings[0].landmarks_ok
    assert_eyes_obscured(image, out, ASTRONAUT["eyes"])
    # upright whole frame (short + full) in the run, plus small-face tiles: none of the
    # calls sees the turned (512 x 512 stays square, so count them instead); verification
    # looks only at the edits' surroundings, never the whole frame again
    whole_frame = [s for s in calls if s[:2] == (512, 512)]
    assert len(whole_frame) == 2
