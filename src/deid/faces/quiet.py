"""Keep the native model runtimes from writing to the process's stderr.

MediaPipe's C++ core (glog and the LiteRT runtime) prints INFO/WARNING lines straight
to file descriptor 2 when a model loads, on the first inference and when a detector
closes. A library must not print, and Python's ``logging`` cannot intercept writes
made by C++ to fd 2, so the calls that trigger them run with fd 2 held in a temporary
file, dropped afterwards (loading, closing) or passed on without the runtime's notices
(inferences). The environment defaults are set only when the caller has not chosen
otherwise, so an operator debugging a model problem can still turn the output on.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator

_ENV_DEFAULTS = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "2"}
# Re-entrant: closing a detector runs its finaliser, which silences stderr again.
_LOCK = threading.RLock()


def set_env_defaults() -> None:
    """Lower native log verbosity before MediaPipe is imported, unless already configured."""
    for key, value in _ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Drop whatever is written to fd 2 for the duration (process-wide, so keep it
    short): model creation, warm-up and shutdown. Python-level errors raised inside
    still propagate normally because they are exceptions, not stderr writes."""
    with native_stderr_held(None):
        yield


@contextlib.contextmanager
def native_stderr_held(drop: tuple[str, ...] | None) -> Iterator[None]:
    """Hold fd 2 in a temporary file for the duration, then write it back to the real
    stderr without the lines containing any of ``drop`` (``None``: without any line).

    For calls that run on every image: LiteRT logs one warning, at random, when the
    tensor memory an inference gets happens not to be aligned to its liking ("Input
    tensor memory is not aligned ...": it copies and goes on). Discarding fd 2 as
    ``native_stderr_silenced`` does would also discard what other threads write
    meanwhile; held, their output arrives a few milliseconds late instead."""
    with _LOCK:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:
            yield
            return
        with tempfile.TemporaryFile() as held:
            try:
                os.dup2(held.fileno(), 2)
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                held.seek(0)
                lines = held.read().splitlines(keepends=True) if drop is not None else []
                kept = [ln for ln in lines if not any(d.encode() in ln for d in drop or ())]
                if kept:
                    with contextlib.suppress(OSError):
                        os.write(2, b"".join(kept))
