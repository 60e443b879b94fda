"""Each batch worker runs its libraries' thread pools at its share of the cores, seen
from inside real worker processes (the ``batch_probe:threads`` plugin stage)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import pytest

import deid
from batch_probe import noise_photos
from deid.batch import run_batch
from deid.thread_share import ThreadShare
from deid.workers import usable_cores

PROBED = deid.Config(stages=("metadata", "batch_probe:threads"))


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    return noise_photos(tmp_path, seed=5)


@pytest.fixture()
def probes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "probes"
    folder.mkdir()
    monkeypatch.setenv("DEID_PROBE_DIR", str(folder))
    return folder


def _seen(probes: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted(probes.glob("*.json"))]


@pytest.mark.parametrize("workers", [1, 2])
def test_worker_processes_run_at_their_share_of_the_cores(
    photos: Path, probes: Path, tmp_path: Path, workers: int
) -> None:
    parent_threads = cv2.getNumThreads()
    summary = run_batch(photos, tmp_path / "out", config=PROBED, workers=workers,
                        in_process=False)  # fmt: skip
    assert summary.counts == {"clean": 4}
    share = max(1, usable_cores() // workers)
    seen = _seen(probes)
    assert seen and all(pid.stem != str(os.getpid()) for pid in probes.glob("*.json"))
    for worker in seen:
        assert worker == {
            "opencv": share,
            "openmp": str(share),
            "faces": min(PROBED.faces.threads, share),
        }
    assert cv2.getNumThreads() == parent_threads  # the batch's own process is untouched


def test_in_process_batch_leaves_the_thread_settings_alone(
    photos: Path, probes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An embedding program owns its process-wide settings: a one-image-at-a-time run in
    # its process must not change them.
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    before = cv2.getNumThreads()
    run_batch(photos, tmp_path / "out", config=PROBED, workers=1)
    assert _seen(probes) == [{"opencv": before, "openmp": None, "faces": PROBED.faces.threads}]
    assert "OMP_THREAD_LIMIT" not in os.environ


def test_the_cores_are_split_evenly_and_a_lower_setting_is_kept() -> None:
    assert [ThreadShare.of(w, 2).threads for w in (1, 2, 3)] == [2, 1, 1]
    assert [ThreadShare.of(w, 8).threads for w in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    cfg = deid.Config()
    assert ThreadShare(1).limit(cfg).faces.threads == 1
    assert ThreadShare(8).limit(cfg.replace(faces={"threads": 3})).faces.threads == 3
    # Speed only: the settings digest (and so resume) does not change with the share.
    assert ThreadShare(1).limit(cfg).digest() == cfg.digest()
