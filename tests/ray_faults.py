"""A plugin stage that kills its own Ray worker, for the Ray backend's tests.

Named in ``config.stages`` as ``"ray_faults:kill"``; Ray workers import it because the
test starts Ray with this folder on ``PYTHONPATH``. On images whose name contains
*crash* it leaves one mark per attempt in ``DEID_FAULTS_DIR`` (so the test can count
retries) and then sends SIGKILL to its own process, as the kernel's OOM killer would.
On every image it leaves the worker's ``OMP_NUM_THREADS`` (Ray caps it unless lifted).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import numpy as np

from deid.stages.base import Context
from deid.types import StageResult

FAULTS_DIR = "DEID_FAULTS_DIR"


class _Kill:
    name = "kill"

    def run(self, image: np.ndarray, context: Context) -> StageResult:
        # The thread cap each worker runs with, as the test started Ray or Ray set it.
        threads = os.environ.get("OMP_NUM_THREADS", "unset")
        (Path(os.environ[FAULTS_DIR]) / f"threads-{os.getpid()}").write_text(threads)
        if "crash" in (context.name or ""):
            mark = Path(os.environ[FAULTS_DIR]) / f"attempt-{os.getpid()}"
            mark.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return StageResult()


def kill(config: Any, models: Any) -> _Kill:
    return _Kill()
