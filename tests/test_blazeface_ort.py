"""BlazeFace on onnxruntime (``blazeface_ort.py``, ``onnx_export.py``) against the
engines it replaces: the same faces, boxes, keypoints and scores on real photos, in
single calls and through the small-face tiles of a busy frame."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from skimage import data

from deid.config import Config
from deid.faces import tflite_rewrite
from deid.faces.blazeface import TASKS_ERRORS, BlazeFace
from deid.faces.blazeface_dnn import _rewritten
from deid.faces.detector import FrontalDetector, PassPlan
from deid.faces.onnx_export import INPUT_NAME, size_free_onnx
from deid.models import ModelStore
from test_blazeface_dnn import PICTURES, _grace
from test_face_ladder import ASTRONAUT_FACE, GRACE_FACE, busy_scene, paste_face, read_only

FULL = "face_detection_full_range_sparse"
BOX_PX = 2.0  # truncation to whole pixels on both sides, plus float rounding
KEYPOINT_PX = 1.0
SCORE = 0.01
MIN_SCORE = 0.3


@pytest.fixture(scope="module")
def model() -> bytes:
    return ModelStore().read(FULL)


@pytest.fixture(scope="module")
def engines(model):
    """(onnxruntime detector, the engine it replaces: Tasks, or OpenCV DNN where this
    MediaPipe cannot run the model)."""
    ort = BlazeFace(model, "full", MIN_SCORE, backend="onnxruntime")
    try:
        other = BlazeFace(model, "full", MIN_SCORE, backend="tasks")
    except TASKS_ERRORS:
        other = BlazeFace(model, "full", MIN_SCORE, backend="opencv")
    yield ort, other
    ort.close()
    other.close()


def _same(found, expected, offset=(0.0, 0.0)) -> None:
    assert len(found) == len(expected)
    for a, b in zip(
        sorted(found, key=lambda d: d.box), sorted(expected, key=lambda d: d.box), strict=True
    ):
        assert np.abs(np.subtract(a.box, b.box)).max() <= BOX_PX
        assert np.abs(a.keypoints - b.keypoints).max() <= KEYPOINT_PX
        assert abs(a.score - b.score) <= SCORE


@pytest.mark.parametrize("picture", sorted(PICTURES))
def test_onnxruntime_finds_what_the_other_engine_finds(engines, picture):
    ort, other = engines
    image = PICTURES[picture]()
    found = ort.detect(image)
    _same(found, other.detect(image))
    if picture != "tile":  # the photos themselves hold one face each
        assert len([d for d in found if d.score >= 0.5]) == 1


def test_the_exported_graph_runs_on_any_multiple_of_32(model):
    """Same heads as OpenCV DNN's at 192 px; a 256x320 input gives the 4 px anchor grid
    of that size (the upsamplings follow the input)."""
    import onnxruntime

    exported = size_free_onnx(model)
    session = onnxruntime.InferenceSession(exported.model, providers=["CPUExecutionProvider"])
    names = [h.tensor for h in exported.heads]
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (1, 3, 192, 192)).astype(np.float32)
    rewritten = _rewritten(model)
    net = cv2.dnn.readNetFromTFLite(np.frombuffer(rewritten.model, dtype=np.uint8))
    net.setInput(x)
    reference = net.forward(names)
    for got, ref in zip(session.run(names, {INPUT_NAME: x}), reference, strict=True):
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() <= 1e-3 * max(1.0, float(np.abs(ref).max()))
    big = session.run(names, {INPUT_NAME: rng.uniform(-1, 1, (1, 3, 256, 320)).astype("f4")})
    blocks = [h.block for h in exported.heads]
    assert [(o.shape[2] * b, o.shape[3] * b) for o, b in zip(big, blocks, strict=True)] == [
        (64, 80),
        (64, 80),
    ]


def test_small_face_tiles_find_the_same_faces_on_both_engines(model, engines):
    """A busy 2400x1800 frame with astronaut and Grace Hopper faces of 34-60 px off the
    tile grid: the tile pass on onnxruntime returns the same detections as on the other
    engine, and finds every face."""
    ort, other = engines
    canvas = busy_scene(11)
    faces = [
        paste_face(canvas, data.astronaut(), ASTRONAUT_FACE, 34, (301, 257)),
        paste_face(canvas, _grace(), GRACE_FACE, 44, (1379, 415)),
        paste_face(canvas, data.astronaut(), ASTRONAUT_FACE, 60, (843, 1203)),
        paste_face(canvas, _grace(), GRACE_FACE, 38, (1911, 1391)),
    ]
    image = read_only(canvas)
    plan = PassPlan((), True, Config().faces.min_face_px, gate_tiles=True)
    found = {}
    for name, engine in (("ort", ort), ("other", other)):
        detector = FrontalDetector(engine, engine, [engine])
        found[name] = detector.tiles(image, plan, [])
    assert len(found["ort"]) == len(found["other"])
    for a, b in zip(
        sorted(found["ort"], key=lambda d: d.center),
        sorted(found["other"], key=lambda d: d.center),
        strict=True,
    ):
        assert abs(a.center[0] - b.center[0]) <= 2 * BOX_PX
        assert abs(a.center[1] - b.center[1]) <= 2 * BOX_PX
        assert abs(a.score - b.score) <= SCORE
    for cx, cy in faces:
        assert any(abs(d.center[0] - cx) < 20 and abs(d.center[1] - cy) < 20 for d in found["ort"])


def test_without_onnxruntime_the_detector_loads_on_another_engine(model, monkeypatch):
    """An install without onnxruntime (or a release whose session cannot start) keeps
    the other engines, which find the same face."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if absent
    detector = BlazeFace(model, "full", 0.5)
    try:
        assert detector.backend in ("tasks", "opencv")
        assert len(detector.detect(_grace())) == 1
    finally:
        detector.close()


def test_where_tasks_rejects_the_model_onnxruntime_runs_it(model):
    """A model without its TFLite metadata (Tasks needs its input normalisation) is
    rejected by Tasks, as the full-range model is by MediaPipe 0.10.20-0.10.32; the
    automatic choice runs it on onnxruntime and finds Grace Hopper's face."""
    import flatbuffers

    schema = tflite_rewrite.tflite_schema()
    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    tree.metadata = None
    builder = flatbuffers.Builder(0)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    bare = bytes(builder.Output())
    with pytest.raises(TASKS_ERRORS):
        BlazeFace(bare, "full", 0.5, backend="tasks")
    detector = BlazeFace(bare, "full", 0.5)
    try:
        assert detector.backend == "onnxruntime"
        assert len(detector.detect(_grace())) == 1
    finally:
        detector.close()


def test_the_face_stage_runs_the_full_range_model_on_onnxruntime(model, engines):
    """onnxruntime is the first engine: the stage's full-range detectors (whole frame and
    every small-face tile) run on it; the short-range model, which does not export,
    stays on the next engine. On real photos, and on a busy frame whose faces only the
    tiles find, the stage finds the same faces as with the full-range model on the
    other engine, at the same places."""
    from deid.stages.faces import FaceStage

    _, other = engines
    stage = FaceStage(Config().faces, ModelStore())
    try:
        assert stage._full.backend == "onnxruntime"
        assert {m.backend for m in stage._tile_models} == {"onnxruntime"}
        assert stage._short.backend in ("tasks", "opencv")
        on_ort = stage.frontal
        on_other = FrontalDetector(stage._short, other, [other])
        canvas = busy_scene(5)
        small = [
            paste_face(canvas, data.astronaut(), ASTRONAUT_FACE, 36, (517, 341)),
            paste_face(canvas, _grace(), GRACE_FACE, 48, (1603, 1187)),
        ]
        for image, expected in (
            (read_only(data.astronaut()), 1),
            (read_only(_grace()), 1),
            (read_only(canvas), len(small)),
        ):
            found = {}
            for name, detector in (("ort", on_ort), ("other", on_other)):
                stage.frontal = detector
                found[name] = sorted(f.det.center for f in stage.find(image))
            assert len(found["ort"]) == len(found["other"]) == expected
            for a, b in zip(found["ort"], found["other"], strict=True):
                assert np.hypot(a[0] - b[0], a[1] - b[1]) <= 2 * BOX_PX
        for cx, cy in small:
            assert any(np.hypot(x - cx, y - cy) < 20 for x, y in found["ort"])
    finally:
        stage.frontal = on_ort
        stage.close()
