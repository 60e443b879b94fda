"""Supervised worker processes: a batch that can end, whatever its workers do.

A ``ProcessPoolExecutor`` whose spawned workers raise in their initializer can
leave the parent waiting on a lock forever, and a pool cannot stop one image that
never finishes. So each worker here is a spawned process (spawn, not fork: model
runtimes start threads, and forking a process that holds them can deadlock the
child) with its own ``Pipe``. It builds its state (a ``Pipeline``), answers
``ready`` or a one-line start error, then handles one job at a time. The parent
waits on every pipe *and* every process sentinel with a timeout
(``multiprocessing.connection.wait``), so a result, a death and an expired
deadline are each noticed promptly and nothing blocks without a bound.

Outcomes are yielded as they finish, not in order, so one slow image does not hold
finished work back. A worker that dies mid-job fails that job (``crashed``) and is
replaced; a job past its time limit has its worker killed (``timeout``) and
replaced. The job is never retried, so an image that kills every worker fails once
instead of looping. A worker that cannot start ends the run with
``WorkerStartError``.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError, DeidError, ModelError, WorkerStartError

log = logging.getLogger(__name__)

KILL_GRACE_S = 2.0  # for a worker that ended to be reaped
STOP_GRACE_S = 5.0  # for idle workers to close their pipelines at the end
RESTART_ATTEMPTS = 3  # consecutive failed restarts tolerated once a worker has started
_MAX_WAIT_S = 1.0  # the wait loop wakes at least this often


@dataclass(frozen=True)
class Outcome:
    """What became of one job: ``done`` carries the handler's return value."""

    job: Any
    kind: Literal["done", "crashed", "timeout"]
    value: Any = None
    detail: str = ""


class _Raised(Exception):
    """Carries a worker's exception past the pipe-error handler (it may be an OSError)."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(type(exc).__name__)
        self.exc = exc


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    deadline: float | None  # start-up deadline, then the current job's
    ready: bool = False
    job: Any = None


class Supervisor:
    """Runs jobs on ``size`` worker processes; see the module docstring.

    ``init()`` runs in each worker and returns its state; ``handle(state, job)`` runs
    one job there. Both must be picklable (module-level functions or partials of
    them). Call ``stop()`` in a ``finally``: it kills what is still running and
    returns the jobs that were abandoned, so their partial files can be removed.
    """

    def __init__(
        self,
        size: int,
        init: Callable[[], Any],
        handle: Callable[[Any, Any], Any],
        *,
        job_timeout: float,
        start_timeout: float,
    ) -> None:
        self.size = max(1, size)
        self.init, self.handle = init, handle
        self.job_timeout, self.start_timeout = job_timeout, start_timeout
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._started_once = False
        self._start_failures = 0

    # -- public --------------------------------------------------------------------

    def run(self, jobs: Iterable[Any], stop: threading.Event | None = None) -> Iterator[Outcome]:
        """Outcomes as jobs finish. Once ``stop`` is set no job is sent to a worker any
        more; the ones in progress still finish (or time out) and are yielded."""
        pending = deque(jobs)
        for _ in range(min(self.size, len(pending))):
            self._start()
        while pending or any(w.job is not None for w in self._workers):
            if stop is not None and stop.is_set():
                pending.clear()
                if not any(w.job is not None for w in self._workers):
                    break
            if pending and not self._workers:
                self._start()
            self._dispatch(pending)
            yield from self._step(pending)

    def stop(self) -> list[Any]:
        """End every worker (idle ones politely, busy or starting ones by force)."""
        abandoned = [w.job for w in self._workers if w.job is not None]
        polite = [w for w in self._workers if w.ready and w.job is None]
        for w in polite:
            with contextlib.suppress(OSError):
                w.conn.send(None)
        for w in self._workers:
            if w not in polite:
                w.process.kill()  # workers ignore SIGTERM (see _worker_main)
        end = time.monotonic() + STOP_GRACE_S
        for w in self._workers:
            w.process.join(max(0.0, end - time.monotonic()))
        for w in list(self._workers):
            self._discard(w)
        return abandoned

    # -- internals -----------------------------------------------------------------

    def _start(self) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main, args=(child, self.init, self.handle, os.getpid()),
            name="deid-worker", daemon=True,
        )  # fmt: skip
        process.start()
        child.close()  # only the worker holds its end: its death shows as EOF here
        self._workers.append(_Worker(process, parent, time.monotonic() + self.start_timeout))

    def _dispatch(self, pending: deque[Any]) -> None:
        for w in self._workers:
            if pending and w.ready and w.job is None:
                job = pending.popleft()
                try:
                    w.conn.send(job)
                except OSError:  # died while idle: noticed by its sentinel, job kept
                    pending.appendleft(job)
                    continue
                w.job, w.deadline = job, time.monotonic() + self.job_timeout

    def _step(self, pending: deque[Any]) -> list[Outcome]:
        now = time.monotonic()
        deadlines = [w.deadline for w in self._workers if w.deadline is not None]
        timeout = min([_MAX_WAIT_S, *(max(0.0, d - now) for d in deadlines)])
        handles: list[Any] = [w.conn for w in self._workers]
        handles += [w.process.sentinel for w in self._workers]
        ready = set(wait(handles, timeout))
        outcomes: list[Outcome] = []
        for w in list(self._workers):
            gone = False
            if w.conn in ready:
                gone = self._receive(w, outcomes)
            if gone or w.process.sentinel in ready or not w.process.is_alive():
                if not gone:
                    self._receive(w, outcomes)  # a result sent just before exiting counts
                self._died(w, outcomes, pending)
            elif w.deadline is not None and time.monotonic() > w.deadline:
                self._expired(w, outcomes, pending)
        return outcomes

    def _receive(self, w: _Worker, outcomes: list[Outcome]) -> bool:
        """Handle every message waiting on ``w``'s pipe; True when the pipe is closed."""
        try:
            while w.conn.poll():
                kind, payload = w.conn.recv()
                if kind == "ready":
                    w.ready, w.deadline = True, None
                    self._started_once, self._start_failures = True, 0
                elif kind == "start_failed":
                    # An exception in start-up comes from settings, installation or
                    # models: the next worker would raise the same, so the run ends now.
                    raise WorkerStartError(_start_message(*payload))
                elif kind == "done":
                    outcomes.append(Outcome(w.job, "done", payload))
                    w.job, w.deadline = None, None
                elif kind == "raised":
                    # Not the image's fault (a full disk, a bug in writing outputs): the
                    # batch stops as it would in-process, with the same exception.
                    w.job, w.deadline = None, None
                    raise _Raised(payload)
        except (EOFError, OSError):
            return True
        except _Raised as raised:
            raise raised.exc from None
        return False

    def _died(self, w: _Worker, outcomes: list[Outcome], pending: deque[Any]) -> None:
        w.process.join(KILL_GRACE_S)
        detail = _exit_detail(w.process.exitcode)
        job, was_ready = w.job, w.ready
        self._discard(w)
        if not was_ready:
            self._start_failed_softly(
                f"the worker process ended during start-up ({detail}) before it was ready"
            )
        elif job is not None:
            log.warning("worker ended (%s) during an image; starting another", detail)
            outcomes.append(Outcome(job, "crashed", detail=detail))
        if pending:
            self._start()

    def _expired(self, w: _Worker, outcomes: list[Outcome], pending: deque[Any]) -> None:
        job, was_ready = w.job, w.ready
        _kill(w.process)
        self._discard(w)
        expired(self, job, was_ready, outcomes, "worker")
        if pending:
            self._start()

    def _start_failed_softly(self, cause: str) -> None:
        """Deaths and stalls before ``ready``: fatal on the first start; on restarts a
        few in a row are tolerated (memory pressure can be passing)."""
        self._start_failures += 1
        if not self._started_once or self._start_failures >= RESTART_ATTEMPTS:
            raise WorkerStartError(f"worker failed to start: {cause}. {_HINT_INSTALL}")

    def _discard(self, w: _Worker) -> None:
        if w.process.is_alive():
            _kill(w.process)
        w.conn.close()
        w.process.close()
        self._workers.remove(w)


def expired(pool: Any, job: Any, ready: bool, outcomes: list[Outcome], who: str) -> None:
    """What a worker past its limit means, for the local pool and the Ray backend alike:
    still loading, the installation is broken (start failure); busy, the image is stuck
    (``timeout`` outcome). ``pool`` has ``start_timeout``, ``job_timeout`` and
    ``_start_failed_softly``."""
    if not ready:
        pool._start_failed_softly(
            f"the {who} did not finish loading within {pool.start_timeout:g} s "
            "(batch.start_timeout_s)"
        )
    else:
        log.warning("image over the %g s limit: %s stopped", pool.job_timeout, who)
        outcomes.append(Outcome(job, "timeout", detail=f"{pool.job_timeout:g} s"))


def _kill(process: BaseProcess) -> None:
    """SIGKILL: a worker ignores SIGTERM, and holds nothing a kill could corrupt
    (its writes are atomic, and the supervisor removes what it left half-done)."""
    process.kill()
    process.join()


def usable_cores() -> int:
    """Cores this process may run on: CPU affinity (taskset, cpusets) and a cgroup CPU
    quota (containers) both count, as a worker per visible core would only queue."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def _exit_detail(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


_HINT_INSTALL = "Check the installation (`make setup`) and the model files (`deid models verify`)"
_HINTS = {
    ConfigError.__name__: "Check the settings (--config, --stages)",
    ModelError.__name__: "Run `deid models fetch` (or `make setup`)",
    ImportError.__name__: "Reinstall the Python packages (`make setup`)",
    ModuleNotFoundError.__name__: "Reinstall the Python packages (`make setup`)",
}


def _start_message(kind: str, message: str) -> str:
    cause = f"{kind}: {message}".rstrip(". ")
    hint = _HINTS.get(kind, _HINT_INSTALL)
    if "deid models fetch" in message:  # model errors name their fix already
        return f"worker failed to start: {cause}"
    return f"worker failed to start: {cause}. {hint}"


def start_error(exc: BaseException) -> WorkerStartError:
    """The one-line error for a pipeline that could not be built (also in-process)."""
    return WorkerStartError(_start_message(*_one_line(exc)))


def _one_line(exc: BaseException) -> tuple[str, str]:
    """Exception type and message, on one line and bounded. Start-up errors come from
    settings, installation and models, never from an image, so paths are kept."""
    text = " ".join(str(exc).split()) or "(no message)"
    return type(exc).__name__, text[:400]


def _portable(exc: Exception) -> Exception:
    """The exception itself if it survives pickling, else a DeidError naming its type."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        kind, text = _one_line(exc)
        return DeidError(f"a worker raised {kind}: {text}")
    return exc


def _die_with_parent(parent: int) -> None:
    """End this worker when the batch process is gone, even mid-image.

    A parent killed outright (SIGKILL, the OOM killer) cannot stop its workers, and a
    worker stuck in an image would never read the closed pipe. Linux ends the worker
    with the parent (PR_SET_PDEATHSIG); elsewhere a thread watches the parent id.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # it died before the request took effect
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="deid-parent-watch", daemon=True).start()


_PR_SET_PDEATHSIG = 1


def _worker_main(
    conn: Connection, init: Callable[[], Any], handle: Callable[[Any, Any], Any], parent: int
) -> None:
    """Worker process body. Never prints: everything goes back over ``conn``."""
    _die_with_parent(parent)
    # Ctrl-C, and a service manager's SIGTERM, reach the whole process group; the
    # parent owns them: it lets the images in progress finish, then stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        state = init()
    except BaseException as exc:
        conn.send(("start_failed", _one_line(exc)))
        return
    try:
        conn.send(("ready", None))
        while True:
            try:
                job = conn.recv()
            except EOFError:  # the parent is gone
                return
            if job is None:
                return
            try:
                value = handle(state, job)
            except Exception as exc:
                conn.send(("raised", _portable(exc)))
            else:
                conn.send(("done", value))
    finally:
        close = getattr(state, "close", None)
        if callable(close):
            close()


__all__ = ["Outcome", "Supervisor", "start_error", "usable_cores"]
