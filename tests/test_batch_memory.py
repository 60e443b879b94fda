"""A batch worker gives an image's freed heap back before the next image, so its
resident set does not creep up with the number of images (``deid/memory.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

import deid
from batch_probe import noise_photos
from deid.batch import run_batch

HEAPY = deid.Config(stages=("metadata", "batch_probe:heap"))
HELD_MIB = 100  # of the 160 MB the probe frees on each image


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    return noise_photos(tmp_path, seed=9)


def _entries(probes: Path) -> list[tuple[float, float]]:
    (rss,) = probes.glob("*.rss")  # one worker did every image
    return [(float(a), float(b)) for a, b in (ln.split() for ln in rss.read_text().splitlines())]


def test_worker_returns_freed_heap_between_images(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes = tmp_path / "probes"
    probes.mkdir()
    monkeypatch.setenv("DEID_PROBE_DIR", str(probes))
    summary = run_batch(photos, tmp_path / "out", config=HEAPY, workers=1, in_process=False)
    assert summary.counts == {"clean": 4}
    rss = _entries(probes)
    assert len(rss) == 4
    first_entry = rss[0][0]
    for entry, freed in rss:
        # The freed memory of the images before is gone when the next one starts: no
        # creep with the count...
        assert entry - first_entry < HELD_MIB / 4
        # ...although it is still resident when the image ends (the heap cannot shrink
        # past the chunk in use at its top).
        assert freed - entry > HELD_MIB
