"""BlazeFace on OpenCV DNN (``blazeface_dnn.py``) against MediaPipe's own FaceDetector.

MediaPipe 0.10.20 to 0.10.32 cannot run the full-range model through Tasks, so there
the DNN path carries every tile. On releases where Tasks runs both models, both
engines must find the same faces with the same boxes, keypoints and scores.
"""

from __future__ import annotations

import logging
import sys

import cv2
import matplotlib.cbook
import numpy as np
import pytest
from PIL import Image
from skimage import data

from deid.faces import blazeface_dnn, tflite_rewrite
from deid.faces.blazeface import TASKS_ERRORS, BlazeFace
from deid.faces.tflite_rewrite import UnsupportedModelError
from deid.models import ModelStore

MODELS = {"short": "face_detection_short_range", "full": "face_detection_full_range_sparse"}
BOX_PX = 2.0  # truncation to whole pixels on both sides, plus float rounding
KEYPOINT_PX = 1.0
SCORE = 0.01
MIN_SCORE = 0.3  # low, so weak and overlapping candidates are compared as well


def _grace() -> np.ndarray:
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as im:
        return np.asarray(im.convert("RGB"))


def _tile() -> np.ndarray:
    """A 192 px tile with a 96 px astronaut: a face of the size the tile passes look for."""
    tile = np.full((192, 192, 3), 40, np.uint8)
    face = cv2.resize(data.astronaut(), (96, 96), interpolation=cv2.INTER_AREA)
    tile[50:146, 40:136] = face
    return tile


PICTURES = {
    "astronaut": data.astronaut,
    "grace_hopper": _grace,
    "tile": _tile,
    # Not square: the letterbox border is on the sides, then top and bottom.
    "wide": lambda: np.ascontiguousarray(np.hstack([_grace(), _grace()[:, :200]])),
    "tall": lambda: np.ascontiguousarray(np.vstack([data.astronaut(), data.astronaut()[:150]])),
}


@pytest.fixture(scope="module")
def store() -> ModelStore:
    return ModelStore()


@pytest.fixture(scope="module", params=sorted(MODELS))
def engines(request, store):
    """(Tasks detector or None where this MediaPipe cannot run the model, DNN detector)."""
    model = store.read(MODELS[request.param])
    try:
        tasks = BlazeFace(model, request.param, MIN_SCORE, backend="tasks")
    except TASKS_ERRORS:
        tasks = None  # MediaPipe 0.10.20-0.10.32 and the full-range model
    dnn = BlazeFace(model, request.param, MIN_SCORE, backend="opencv")
    yield tasks, dnn
    if tasks is not None:
        tasks.close()
    dnn.close()


@pytest.mark.parametrize("picture", sorted(PICTURES))
def test_dnn_decoder_matches_the_tasks_detector(engines, picture):
    tasks, dnn = engines
    if tasks is None:
        # The automatic-choice test below checks the fallback finds the face there.
        pytest.skip("the installed MediaPipe cannot run this model through Tasks")
    assert (tasks.backend, dnn.backend) == ("tasks", "opencv")
    image = PICTURES[picture]()
    expected = sorted(tasks.detect(image), key=lambda d: -d.score)
    found = sorted(dnn.detect(image), key=lambda d: -d.score)
    assert expected, "the photo has a face both models find"
    assert len(found) == len(expected)
    for want, got in zip(expected, found, strict=True):
        assert np.allclose(got.box, want.box, atol=BOX_PX), (got.box, want.box)
        assert np.abs(got.keypoints - want.keypoints).max() <= KEYPOINT_PX
        assert abs(got.score - want.score) <= SCORE


def test_dnn_decoder_finds_nothing_in_a_blank_picture(engines):
    _, dnn = engines
    assert dnn.detect(np.zeros((300, 200, 3), np.uint8)) == []


def test_dnn_detector_refuses_use_after_close(store):
    dnn = BlazeFace(store.read(MODELS["short"]), "short", 0.5, backend="opencv")
    dnn.close()
    with pytest.raises(RuntimeError, match="after close"):
        dnn.detect(data.astronaut())


def test_the_opencv_engine_is_chosen_when_tasks_rejects_the_model(store, caplog, monkeypatch):
    """A model without its TFLite metadata (Tasks needs its input normalisation) is
    rejected by Tasks; without onnxruntime (an install without it) the detector falls
    back to OpenCV DNN and still finds the face."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if absent
    schema = tflite_rewrite.tflite_schema()
    import flatbuffers

    tree = schema.ModelT.InitFromPackedBuf(bytearray(store.read(MODELS["full"])), 0)
    tree.metadata = None
    builder = flatbuffers.Builder(0)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    bare = bytes(builder.Output())
    with pytest.raises(TASKS_ERRORS):
        BlazeFace(bare, "full", 0.5, backend="tasks")
    with caplog.at_level(logging.INFO, logger="deid.faces.blazeface"):
        detector = BlazeFace(bare, "full", 0.5)
    try:
        assert detector.backend == "opencv"
        records = [r.getMessage() for r in caplog.records if r.name == "deid.faces.blazeface"]
        assert any("'full'" in m and "OpenCV DNN" in m for m in records)
        found = detector.detect(_grace())
    finally:
        detector.close()
    assert len(found) == 1
    x, y, w, h = found[0].box
    # Hand-drawn mouth of the photo (tests/test_faces.py GRACE) inside the box.
    assert x < 230 and x + w > 305 and y < 178 and y + h > 288


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_automatic_choice_takes_the_first_engine_that_runs_the_model(store, kind):
    """Whatever the installed release: the engine chosen finds Grace Hopper's face, and
    it is the first of onnxruntime, Tasks and OpenCV DNN that loads the model alone."""
    model = store.read(MODELS[kind])
    runs = []
    for backend in ("onnxruntime", "tasks"):
        try:
            BlazeFace(model, kind, 0.5, backend=backend).close()  # type: ignore[arg-type]
            runs.append(backend)
        except (*TASKS_ERRORS, UnsupportedModelError):
            pass
    detector = BlazeFace(model, kind, 0.5)
    try:
        assert detector.backend == (runs[0] if runs else "opencv")
        assert len(detector.detect(_grace())) == 1
    finally:
        detector.close()


def test_densified_model_holds_the_same_weights(store):
    """Every DENSIFY op is gone and its output is now a constant with the sparse tensor's
    values at the positions the CSR indices name, zeros elsewhere."""
    schema = tflite_rewrite.tflite_schema()
    model = store.read(MODELS["full"])
    rewritten = tflite_rewrite.opencv_ready(model)
    before = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    after = schema.ModelT.InitFromPackedBuf(bytearray(rewritten.model), 0)
    densify = schema.BuiltinOperator.DENSIFY
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in before.operatorCodes]
    graph = before.subgraphs[0]
    sparse_ops = [op for op in graph.operators if codes[op.opcodeIndex] == densify]
    assert sparse_ops
    codes_after = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in after.operatorCodes]
    assert all(codes_after[op.opcodeIndex] != densify for op in after.subgraphs[0].operators)
    for op in sparse_ops:
        source = graph.tensors[op.inputs[0]]
        target = after.subgraphs[0].tensors[op.outputs[0]]
        values = np.frombuffer(bytes(before.buffers[source.buffer].data), np.float16)
        dense = np.frombuffer(bytes(after.buffers[target.buffer].data), np.float16)
        dense = dense.reshape([int(d) for d in source.shape])
        # Row by row (the last axis is the CSR one): the row's stored values, in order.
        level = source.sparsity.dimMetadata[-1]
        segments = np.asarray(level.arraySegments.values)
        indices = np.asarray(level.arrayIndices.values)
        rows = dense.reshape(-1, dense.shape[-1])
        for r, row in enumerate(rows):
            cols = indices[segments[r] : segments[r + 1]]
            assert np.array_equal(row[cols], values[segments[r] : segments[r + 1]])
            rest = np.delete(row, cols)
            assert not rest.any()


def test_anchor_grids_match_the_model_outputs():
    # 16x16x2 + 8x8x6 for the short-range model, 48x48x1 for the full-range one.
    assert len(blazeface_dnn.SHORT_RANGE.anchors()) == 896
    assert len(blazeface_dnn.FULL_RANGE.anchors()) == 2304
    first = blazeface_dnn.FULL_RANGE.anchors()[:2]
    assert np.allclose(first, [[0.5 / 48, 0.5 / 48], [1.5 / 48, 0.5 / 48]])


def test_block_sparse_tensor_expands_like_tflite():
    """A 4x4 matrix in 2x2 blocks (dense block rows, CSR block columns, dense blocks),
    the layout TFLite's sparsity format describes; the all-zero block is not stored."""
    from types import SimpleNamespace as Ns

    schema = tflite_rewrite.tflite_schema()
    dense_type, csr_type = schema.DimensionType.DENSE, schema.DimensionType.SPARSE_CSR
    matrix = np.array([[1, 0, 2, 3], [0, 4, 0, 0], [0, 0, 5, 0], [0, 0, 6, 0]], np.float32)
    sparsity = Ns(
        traversalOrder=[0, 1, 2, 3],
        blockMap=[0, 1],
        dimMetadata=[
            Ns(format=dense_type, denseSize=2),
            Ns(
                format=csr_type,
                arraySegments=Ns(values=[0, 2, 3]),
                arrayIndices=Ns(values=[0, 1, 1]),
            ),
            Ns(format=dense_type, denseSize=2),
            Ns(format=dense_type, denseSize=2),
        ],
    )
    blocks = [matrix[0:2, 0:2], matrix[0:2, 2:4], matrix[2:4, 2:4]]
    values = np.concatenate([b.ravel() for b in blocks])
    assert np.array_equal(tflite_rewrite.expand(values, [4, 4], sparsity, schema), matrix)
    with pytest.raises(tflite_rewrite.UnsupportedModelError):
        tflite_rewrite.expand(values[:-1], [4, 4], sparsity, schema)
