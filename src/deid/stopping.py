"""Ctrl-C and SIGTERM for a batch: the first asks it to stop, the second stops it now.

A clinic batch runs for hours; a Ctrl-C or a service manager's SIGTERM should not
throw away the images being processed, so the first one only stops new images from
starting and lets the batch write its summary. A second one raises
``KeyboardInterrupt`` at once: workers are killed and their half-written files
removed, and a rerun redoes those images.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulStop:
    """Context manager installing the two-step handlers; ``event`` is set on the first."""

    def __init__(self, notify: Callable[[str], None] | None = None) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self._notify = notify
        self._previous: dict[int, Any] = {}

    @property
    def exit_code(self) -> int:
        """The shell's convention for a death by signal: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + (self.signum or signal.SIGINT)

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.signum = signum
        self.event.set()
        message = ("deid: stopping after the images in progress; "
                   "press Ctrl-C again to stop at once")  # fmt: skip
        with contextlib.suppress(Exception):  # a message must not turn a stop into a crash
            (self._notify or _to_stderr)(message)


def _to_stderr(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


__all__ = ["GracefulStop"]
