"""The installed OpenCV and MediaPipe releases, not the ones the code was written on.

OpenCV 5.1 renamed its DNN engines and broke every new install once; these tests run
on whatever release the lock (or `make test-latest`) installed, so a rename shows up
here instead of at a clinic.
"""

from __future__ import annotations

import types

import cv2
import matplotlib.cbook
import numpy as np
from PIL import Image

from deid.faces import landmarks
from deid.faces.blazeface import BlazeFace
from deid.faces.geometry import Detection
from deid.models import ModelStore


def test_engine_choice_exists_in_the_installed_cv2():
    choice = landmarks.tflite_engine()
    offered = {n for n in dir(cv2.dnn) if n.startswith("ENGINE_")}
    if choice is None:
        # A release with no engine names at all: the default engine is used.
        assert not offered & set(landmarks.ENGINE_PREFERENCE)
    else:
        name, value = choice
        assert name in offered
        assert getattr(cv2.dnn, name) == value
        # The first preferred name this release offers is the one chosen.
        assert name == next(n for n in landmarks.ENGINE_PREFERENCE if n in offered)


def test_engine_choice_follows_a_rename(monkeypatch):
    renamed = types.SimpleNamespace(ENGINE_AUTO=0, ENGINE_OPENCV=1, ENGINE_ORT=3)
    monkeypatch.setattr(landmarks.cv2, "dnn", renamed)
    assert landmarks.tflite_engine() == ("ENGINE_OPENCV", 1)
    classic = types.SimpleNamespace(ENGINE_AUTO=0, ENGINE_CLASSIC=1, ENGINE_NEW=2)
    monkeypatch.setattr(landmarks.cv2, "dnn", classic)
    assert landmarks.tflite_engine() == ("ENGINE_CLASSIC", 1)
    monkeypatch.setattr(landmarks.cv2, "dnn", types.SimpleNamespace())
    assert landmarks.tflite_engine() is None


def test_mesh_runs_on_a_real_face_with_the_installed_engine():
    """Both outputs (points and presence) come back and land on Grace Hopper's face."""
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as im:
        image = np.asarray(im.convert("RGB"))
    mesh_model = landmarks.FaceMesh(ModelStore().path("face_landmark"))
    # Hand-drawn eyes and mouth of the photo (tests/test_faces.py GRACE).
    det = Detection(center=(265.0, 235.0), width=150.0, height=170.0, angle=0.0, score=0.9,
                    detector="test")  # fmt: skip
    mesh = mesh_model.run(image, det)
    assert mesh.presence > 0.9
    right_eye, left_eye = mesh.eye_centers()
    assert 200 <= right_eye[0] <= 246 and 170 <= right_eye[1] <= 210
    assert 284 <= left_eye[0] <= 325 and 170 <= left_eye[1] <= 210
    mx, my = mesh.mouth_center()
    assert 230 <= mx <= 305 and 262 <= my <= 295
    blank = np.zeros_like(image)
    assert mesh_model.run(blank, det).presence < 0.5


def test_mediapipe_tasks_face_detector_finds_the_face_with_the_pinned_model():
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as im:
        image = np.asarray(im.convert("RGB"))
    store = ModelStore()
    detector = BlazeFace(store.read("face_detection_short_range"), "short", 0.5)
    try:
        found = detector.detect(image)
    finally:
        detector.close()
    assert len(found) == 1
    x, y, w, h = found[0].box
    # Hand-drawn mouth (230-305, 267-288) lies inside the box; eyes in its upper half.
    assert x < 230 and x + w > 305 and y < 178 and y + h > 288
    assert found[0].score > 0.8
