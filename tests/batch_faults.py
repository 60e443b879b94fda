"""Faulty plugin stages for the batch supervision tests.

Named in ``config.stages`` by import path (``"batch_faults:crash"``); spawned worker
processes get the test run's ``sys.path``, so they import this module too. A stage
misbehaves only on images whose name contains its marker word, so the other images
of the same batch show that the batch went on. Stages that need a place to leave
their process id read it from ``DEID_FAULTS_DIR``.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from deid.stages.base import Context
from deid.types import StageResult

FAULTS_DIR = "DEID_FAULTS_DIR"


class _Fault:
    name = "fault"

    def __init__(self, marker: str, action: Callable[[], None]) -> None:
        self.marker, self.action = marker, action

    def run(self, image: np.ndarray, context: Context) -> StageResult:
        if self.marker in (context.name or ""):
            self.action()
        return StageResult()


def _leave_pid() -> None:
    """Tell the test which process holds the image (it may kill it, or check it died)."""
    folder = Path(os.environ[FAULTS_DIR])
    (folder / f"{os.getpid()}.pid").write_text(str(os.getpid()))


def _hang() -> None:
    _leave_pid()
    time.sleep(120)


# -- start-up faults -------------------------------------------------------------------


def broken_runtime(config: Any, models: Any) -> _Fault:
    """A model runtime whose native library cannot be loaded."""
    raise RuntimeError("libonnxruntime.so.1: cannot open shared object file")


def exit_on_start(config: Any, models: Any) -> _Fault:
    """A worker that dies while loading, before it can say anything."""
    os._exit(3)


def slow_start(config: Any, models: Any) -> _Fault:
    """A worker whose start-up never finishes."""
    time.sleep(120)
    raise AssertionError("unreachable")


def needs_landmark_model(config: Any, models: Any) -> _Fault:
    """A stage that loads a pinned model file when it is built."""
    models.path("face_landmark")
    return _Fault("\0", lambda: None)


def fails_on_restart(config: Any, models: Any) -> _Fault:
    """The first worker starts (and dies on images named *crash*); every later one dies
    while loading."""
    try:
        (Path(os.environ[FAULTS_DIR]) / "started").open("x").close()
    except FileExistsError:
        os._exit(4)
    return _Fault("crash", lambda: os._exit(9))


# -- faults during an image ------------------------------------------------------------


def crash(config: Any, models: Any) -> _Fault:
    """``os._exit`` in the middle of images named *crash*."""
    return _Fault("crash", lambda: os._exit(9))


def segfault(config: Any, models: Any) -> _Fault:
    """A real segmentation fault in native code on images named *crash*."""
    return _Fault("crash", lambda: ctypes.string_at(0))


def hang(config: Any, models: Any) -> _Fault:
    """Images named *slow* never finish (a native loop, as far as anyone can tell)."""
    return _Fault("slow", _hang)
