"""A plugin stage that tells the batch tests how its worker process is set up.

Named in ``config.stages`` as ``"batch_probe:threads"``; spawned workers get the test
run's ``sys.path``, so they import this module too. On every image it writes, to
``DEID_PROBE_DIR/<pid>.json``, the thread limits the worker runs with and what the
image changed in its memory: what the worker's settings are, seen from the inside.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deid.stages.base import Context
from deid.types import StageResult

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
