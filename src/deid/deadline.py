"""A per-image time limit for in-process batches (``--workers 1``), using SIGALRM.

A worker process that runs too long is simply killed by its supervisor; in-process
there is nothing to kill, so the limit is an alarm whose handler raises
``ImageTimeout`` inside whatever Python code is running (a stage, usually), and the
pipeline fails the image closed. Limits of the approach, by design of the OS and
CPython:

- it only works on the main thread of the main interpreter, and only when the
  application has no alarm of its own running (we never take over someone else's);
  otherwise the image runs without a limit;
- native code that never returns to the interpreter (a loop inside a C library)
  cannot be interrupted: the handler runs only when control comes back. Worker
  processes (``--workers N``, or the command line's default) are killed instead.

The caller must fail the image whenever ``expired`` is set, whatever the pipeline
returned: a stage may have swallowed the exception and skipped part of its work.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from .errors import ImageTimeout

log = logging.getLogger(__name__)


class Deadline:
    """Context manager: raise ``ImageTimeout`` in this thread after ``seconds``.

    One-shot: the handler raises at most once. ``disarm`` is idempotent so a caller
    that catches the exception can call it again (the alarm may land inside the
    first ``disarm``).
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.expired = False
        self.active = False
        self._armed = False
        self._previous: Any = None

    def __enter__(self) -> Deadline:
        self.arm()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disarm()

    def arm(self) -> None:
        if not self.seconds or not _usable():
            return
        try:
            self._previous = signal.signal(signal.SIGALRM, self._on_alarm)
        except ValueError:  # not the main thread of the main interpreter
            return
        self.active = self._armed = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def disarm(self) -> None:
        self._armed = False
        if not self.active:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._previous)
        self.active = False

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if not self._armed:
            return
        self._armed = False
        self.expired = True
        raise ImageTimeout(f"image took longer than the {self.seconds:g} s limit; not written")


def _usable() -> bool:
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        log.debug("no in-process time limit: not on the main thread or no SIGALRM")
        return False
    if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, None) or any(
        signal.getitimer(signal.ITIMER_REAL)
    ):
        log.debug("no in-process time limit: the application uses SIGALRM itself")
        return False
    return True


__all__ = ["Deadline"]
