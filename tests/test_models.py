"""Pinned models: verified before use, clear errors when missing or tampered with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deid import models
from deid.errors import ModelError


def test_every_manifest_model_is_present_and_verified() -> None:
    results = models.verify()
    assert results and all(r.ok for r in results), [r for r in results if not r.ok]


def test_fetch_is_idempotent_when_files_are_verified(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_a: object, **_k: object) -> Path:
        raise AssertionError("fetch must not download verified files again")

    monkeypatch.setattr(models, "_pip_download", no_network)
    assert all(r.ok for r in models.fetch())


def test_missing_model_names_the_fix(tmp_path: Path) -> None:
    store = models.ModelStore(tmp_path)
    with pytest.raises(ModelError, match="deid models fetch"):
        store.path("face_landmark")


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    spec = models.load_manifest()["face_landmark"]
    shutil.copy(models.ModelStore().path("face_landmark"), tmp_path / spec.file)
    with open(tmp_path / spec.file, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(ModelError, match="sha256"):
        models.ModelStore(tmp_path).path("face_landmark")
    assert [r.problem for r in models.verify(tmp_path) if r.name == "face_landmark"] == [
        "sha256 mismatch"
    ]


def test_store_reports_only_models_it_handed_out() -> None:
    store = models.ModelStore()
    store.path("face_detection_short_range")
    used = store.used()
    assert list(used) == ["face_detection_short_range"]
    assert len(used["face_detection_short_range"]) == 64
