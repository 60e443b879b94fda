"""Plugin stages that tell the batch tests how their worker process behaves.

Named in ``config.stages`` (``"batch_probe:threads"``, ``"batch_probe:heap"``); spawned
workers get the test run's ``sys.path``, so they import this module too. They write
what they see to ``DEID_PROBE_DIR``, one file per worker process: the thread limits
the worker runs with (``<pid>.json``), and its resident set before and after an image
that leaves freed heap behind (``<pid>.rss``).
"""

from __future__ import annotations

import ctypes
import io
import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from deid.stages.base import Context
from deid.types import StageResult


def noise_photos(folder: Path, seed: int) -> Path:
    """Four small noise JPEGs in ``folder/in``: inputs whose content the probes ignore."""
    src = folder / "in"
    src.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(4):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(buf, "JPEG")
        (src / f"p{i}.jpg").write_bytes(buf.getvalue())
    return src


PROBE_DIR = "DEID_PROBE_DIR"


class _Probe:
    name = "probe"

    def __init__(self, config: Any) -> None:
        self.face_threads = config.faces.threads

    def run(self, image: np.ndarray, context: Context) -> StageResult:
        seen = {
            "opencv": cv2.getNumThreads(),
            "openmp": os.environ.get("OMP_THREAD_LIMIT"),
            "faces": self.face_threads,
        }
        (Path(os.environ[PROBE_DIR]) / f"{os.getpid()}.json").write_text(json.dumps(seen))
        return StageResult()


def threads(config: Any, models: Any) -> _Probe:
    return _Probe(config)


_libc = ctypes.CDLL(None)
_libc.malloc.restype, _libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
_libc.free.argtypes = [ctypes.c_void_p]
CHUNK, CHUNKS = 4096, 40_000  # 160 MB in chunks small enough for the heap, not mmap


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class _Heap:
    """Frees what it allocated on each image except the last chunk, which stays in use
    on top of the heap, as a runtime's buffer or a cache does: the freed memory below
    it cannot shrink the heap, and stays resident unless it is trimmed."""

    name = "heap"

    def __init__(self) -> None:
        self.kept: list[int] = []

    def run(self, image: np.ndarray, context: Context) -> StageResult:
        entry = _rss_mib()
        chunks = [_libc.malloc(CHUNK) for _ in range(CHUNKS)]
        for chunk in chunks:
            ctypes.memset(chunk, 1, CHUNK)
        for chunk in chunks[:-1]:
            _libc.free(chunk)
        self.kept.append(chunks[-1])
        freed = _rss_mib()
        with (Path(os.environ[PROBE_DIR]) / f"{os.getpid()}.rss").open("a") as fh:
            fh.write(f"{entry:.1f} {freed:.1f}\n")
        return StageResult()


def heap(config: Any, models: Any) -> _Heap:
    return _Heap()
