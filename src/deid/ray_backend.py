"""Ray backend: the batch's per-image job on the nodes of a Ray cluster.

``run_ray`` stands in for the local supervised pool (``batch._run_supervised``): the
same job (``batch._worker_run``) on the same pipeline (``batch._worker_pipeline``),
the same outcomes (done, ``worker_crashed``, ``timeout``) and the same one-line start
errors, so resume, the summary and the review page, which stay in ``run_batch``, are
the same for both backends. Inputs and outputs are read and written by the nodes
themselves, so the input and output folders must be one shared folder mounted at the
same path on every node (docs/ray.md).

Each worker is a Ray actor (one CPU) holding its pipeline, given one image at a time,
because that keeps the guarantees of the local pool: the models load once per worker
process and are checked (``ready``) within ``batch.start_timeout_s`` before any image
is given; the time limit covers one image, not its wait in a queue nor model
loading; and an image over its limit is stopped by killing its actor (Ray cannot
cancel a running call by force) without touching the other images. Plain Ray tasks
with a cached pipeline were as fast (benchmarks/batch_ray.py) but give neither.

Retries are deliberate: Ray's own are off (``max_restarts=0``, ``max_task_retries=0``)
because an image that kills its worker (a segfault in a decoder, memory) would kill
the next one too, so it fails alone like in the local pool. A node that is lost
(shut down, preempted, unreachable) says nothing about the image, so that image gets
one more try on another worker.

Ray is an optional extra and is imported only here, only when this backend is used.
A local instance (no address) binds loopback only and sends no usage statistics.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from . import batch
from .config import Config
from .consent import ConsentGate
from .errors import DeidError, WorkerStartError
from .types import Reason
from .workers import RESTART_ATTEMPTS, STOP_GRACE_S, Outcome, expired, start_error

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'deid[ray]'"
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2  # results are a few hundred bytes each
NODE_LOST_RETRIES = 1
PROBE_TIMEOUT_S = 10.0
_MAX_WAIT_S = 1.0  # the wait loop wakes at least this often
_OFFLINE_ENV = {
    # No usage report to anyscale.com from the instance this process starts.
    "RAY_USAGE_STATS_ENABLED": "0",
    # Off, Ray takes 127.0.0.1 as the node address instead of the address of the
    # interface that reaches the internet, so a local instance listens on loopback only.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}
# Ray starts its workers at nice 15; beside other work (the same machine's local pool
# runs at 0) they then got a fraction of the cores: 0.78x the local pool's throughput.
_LOCAL_ENV = {**_OFFLINE_ENV, "RAY_worker_niceness": "0"}


def run_ray(
    config: Config,
    dst: Path,
    todo: list[batch._Job],
    workers: int,
    record: Callable[[batch.BatchItem], None],
    consent: ConsentGate | None = None,
    *,
    address: str | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Process ``todo`` on Ray workers, calling ``record`` once per job as results arrive.

    A process already connected to Ray (``ray.init`` by the caller) keeps using that
    connection. Otherwise ``address`` (or ``RAY_ADDRESS``) names an existing cluster to
    connect to for this batch; without one, a private local instance with ``workers``
    CPUs is started for this batch and shut down after.
    At most ``workers`` images run at once, fewer if the cluster has fewer CPUs. Once
    ``stop`` is set no new image starts and the ones in progress finish, as locally.
    """
    if not todo:
        return
    ray = import_ray()
    with _connected(ray, address, workers):
        size = _pool_size(ray, workers, len(todo))
        pool = _ActorPool(ray, config, consent, size)
        # Nodes resolve paths on their own: a relative path would name another folder.
        shipped = {_absolute(job): job for job in todo}
        out = os.path.abspath(dst)
        try:
            for outcome in pool.run(out, shipped, stop):
                job = shipped[outcome.job]
                if outcome.kind == "done":
                    record(outcome.value)
                elif outcome.kind == "timeout":
                    record(batch._fail_job(dst, job, config, batch._timeout_reason(outcome.detail)))
                else:
                    msg = (f"the worker process ended ({outcome.detail}) while processing this "
                           "image; image not written")  # fmt: skip
                    reason = Reason("worker_crashed", msg, "batch")
                    record(batch._fail_job(dst, job, config, reason))
        finally:
            for job in pool.stop():
                # Killed mid-image (the batch is stopping): no half-written file may stay,
                # and without a report a rerun redoes the image.
                batch._remove_job_files(dst, shipped[job], report_too=True)


def import_ray() -> ModuleType:
    """Ray, or a one-line error naming the extra to install."""
    first = "ray" not in sys.modules
    # Some settings are read once, when Ray is first imported.
    with _environ(_OFFLINE_ENV) if first else contextlib.nullcontext():
        try:
            import ray
        except ImportError as exc:
            raise DeidError(
                f"the Ray backend needs Ray, which is not installed: {INSTALL_HINT}"
            ) from exc
    return ray


def start_local(num_cpus: int) -> None:
    """Start a private Ray instance on this machine: loopback only, quiet, no usage stats.

    Used for a batch without a cluster address, and by tests and benchmarks that start
    the instance themselves so several batches share its start-up time.
    """
    ray = import_ray()
    constants = ray._private.ray_constants
    cluster = constants.ENABLE_RAY_CLUSTER
    with _environ(_LOCAL_ENV):
        constants.ENABLE_RAY_CLUSTER = False  # in case Ray was imported before
        try:
            ray.init(
                # "local": a new instance even when a `ray start` one runs on this machine
                address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                logging_level=logging.ERROR, namespace="deid",
                object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            )  # fmt: skip
        finally:
            constants.ENABLE_RAY_CLUSTER = cluster


@contextlib.contextmanager
def _connected(ray: ModuleType, address: str | None, workers: int) -> Iterator[None]:
    """Ray connected for the length of a batch; only what was set up here is undone."""
    if ray.is_initialized():
        yield
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    try:
        if address is None:
            start_local(max(1, workers))
        else:
            _probe(address)
            with _environ({"RAY_USAGE_STATS_ENABLED": "0"}):
                ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR,
                         namespace="deid")  # fmt: skip
    except DeidError:
        raise
    except Exception as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise WorkerStartError(f"could not connect to {where}: {_one_line(exc)}") from exc
    try:
        yield
    finally:
        ray.shutdown()


def _probe(address: str) -> None:
    """Fail in seconds on a head node that does not answer: Ray itself retries for
    minutes, printing a warning every few seconds.

    The library's only connection beyond loopback, and only to the cluster the user
    names with ``--ray-address``: distributing work is what was asked for, and
    docs/ray.md requires that cluster on the clinic's own firewalled network. Without
    an address the private instance listens on 127.0.0.1, and no other backend opens
    a socket (tests/test_no_network.py)."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return  # "auto" or a Ray Client address: Ray's own lookup fails quickly
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise WorkerStartError(
            f"could not connect to the Ray cluster at {address} ({why}); check the address "
            "and that `ray start --head` runs there"
        ) from None


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _pool_size(ray: ModuleType, workers: int, jobs: int) -> int:
    """Workers that can all run at once: an actor beyond the cluster's CPUs would wait
    for one, and its start-up time limit would fail the batch."""
    cpus = int(ray.cluster_resources().get("CPU", 0))
    size = max(1, min(workers, jobs))
    if 0 < cpus < size:
        log.warning("the Ray cluster has %d CPUs: %d workers instead of %d", cpus, cpus, size)
        size = cpus
    return size


def _absolute(job: batch._Job) -> batch._Job:
    return replace(job, source=os.path.abspath(job.source))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def _lift_thread_cap() -> None:
    """Undo Ray's ``OMP_NUM_THREADS=1`` in an actor, before the models load.

    Ray sets it for every worker whose node did not, to keep many workers from crowding
    the cores. The local pool's workers run without it, and so should these: capped,
    2 MP photos took 15-40 % longer (measured on a 2-core machine, benchmarks/batch_ray.py).
    A value the node was started with is left alone.
    """
    try:
        started_with = Path("/proc/self/environ").read_bytes().split(b"\0")
    except OSError:
        return  # not Linux: Ray's setting stays
    if not any(entry.startswith(b"OMP_NUM_THREADS=") for entry in started_with):
        os.environ.pop("OMP_NUM_THREADS", None)


class _Worker:
    """A Ray actor's body: one pipeline, one image at a time.

    A pipeline that cannot be built is reported by ``ready`` as the same one-line
    message a local worker gives, instead of Ray's traceback of a failed actor.
    """

    def __init__(self, config: dict[str, Any], consent: ConsentGate | None) -> None:
        _lift_thread_cap()
        self.pipe = None
        self.error: str | None = None
        try:
            self.pipe = batch._worker_pipeline(config, consent)
        except Exception as exc:
            self.error = str(start_error(exc))

    def ready(self) -> tuple[str | None, str]:
        """(start error or None, node id): the node tells a lost node from a crash."""
        import ray

        return self.error, ray.get_runtime_context().get_node_id()

    def run(self, dst: str, job: batch._Job) -> batch.BatchItem:
        return batch._worker_run(dst, self.pipe, job)

    def close(self) -> None:
        if self.pipe is not None:
            self.pipe.close()


@dataclass(eq=False)
class _Actor:
    handle: Any
    ref: Any  # ready() while starting, then the current image's run()
    deadline: float
    node: str | None = None
    job: Any = None


class _ActorPool:
    """Ray actors run jobs the way ``workers.Supervisor`` runs processes: outcomes are
    yielded as they finish, a dead or stuck actor fails its image and is replaced, and
    a start-up failure ends the run with ``WorkerStartError``."""

    def __init__(
        self, ray: ModuleType, config: Config, consent: ConsentGate | None, size: int
    ) -> None:
        self.ray, self.size = ray, size
        self.job_timeout = config.batch.image_timeout_s
        self.start_timeout = config.batch.start_timeout_s
        self._remote = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(_Worker)
        self._args = (config.to_dict(), consent)
        self._actors: list[_Actor] = []
        self._started_once = False
        self._start_failures = 0
        self._retried: Counter[Any] = Counter()

    def run(
        self, dst: str, jobs: Iterable[Any], stop: threading.Event | None = None
    ) -> Iterator[Outcome]:
        pending = deque(jobs)
        while pending or self._busy():
            if stop is not None and stop.is_set():
                pending.clear()  # not started, so not recorded: a rerun does them
            yield from self._step(dst, pending)

    def stop(self) -> list[Any]:
        """End every actor (idle ones after closing their pipelines) and return the jobs
        that were abandoned."""
        abandoned = [a.job for a in self._actors if a.job is not None]
        idle = [a for a in self._actors if a.job is None and a.node is not None]
        closing = [a.handle.close.remote() for a in idle]
        if closing:
            with contextlib.suppress(Exception):
                self.ray.wait(closing, num_returns=len(closing), timeout=STOP_GRACE_S)
        for a in list(self._actors):
            self._discard(a)
        return abandoned

    # -- internals -----------------------------------------------------------------

    def _start(self) -> None:
        handle = self._remote.remote(*self._args)
        deadline = time.monotonic() + self.start_timeout
        self._actors.append(_Actor(handle, handle.ready.remote(), deadline))

    def _step(self, dst: str, pending: deque[Any]) -> list[Outcome]:
        now = time.monotonic()
        timeout = min([_MAX_WAIT_S, *(max(0.0, a.deadline - now) for a in self._actors)])
        refs = [a.ref for a in self._actors if a.ref is not None]
        finished: set[Any] = set()
        if refs and self.ray.wait(refs, num_returns=1, timeout=timeout)[0]:
            # Everything else that finished meanwhile too, without waiting.
            finished = set(self.ray.wait(refs, num_returns=len(refs), timeout=0)[0])
        outcomes: list[Outcome] = []
        for a in list(self._actors):
            if a.ref in finished:
                self._finished(a, outcomes, pending)
            elif time.monotonic() > a.deadline:
                self._expired(a, outcomes)
        for a in self._actors:
            if pending and a.node is not None and a.job is None:
                a.job = pending.popleft()
                a.ref = a.handle.run.remote(dst, a.job)
                a.deadline = time.monotonic() + self.job_timeout
        while len(self._actors) < min(self.size, len(pending) + self._busy()):
            self._start()  # the first actors, and replacements for those that ended
        return outcomes

    def _busy(self) -> int:
        return sum(a.job is not None for a in self._actors)

    def _finished(self, a: _Actor, outcomes: list[Outcome], pending: deque[Any]) -> None:
        try:
            value = self.ray.get(a.ref, timeout=0)
        except self.ray.exceptions.RayActorError as exc:
            self._died(a, exc, outcomes, pending)
            return
        except self.ray.exceptions.RayTaskError as exc:
            # Not the image's fault (a full disk, a bug in writing outputs): the batch
            # stops as it would locally, with the same exception.
            a.job = None
            cause = exc.cause
            raise cause if isinstance(cause, Exception) else DeidError(_one_line(exc)) from None
        if a.node is None:
            error, a.node = value
            if error is not None:
                raise WorkerStartError(error)
            self._started_once, self._start_failures = True, 0
        else:
            outcomes.append(Outcome(a.job, "done", value))
            a.job = None
        a.ref, a.deadline = None, float("inf")

    def _died(
        self, a: _Actor, exc: Exception, outcomes: list[Outcome], pending: deque[Any]
    ) -> None:
        job, node = a.job, a.node
        self._discard(a)
        if node is None:
            self._start_failed_softly(f"the Ray worker ended during start-up ({_exit(exc)})")
        elif self._node_lost(exc, node) and self._retried_less(job):
            log.warning("a Ray node was lost during an image; trying it once more")
            pending.appendleft(job)
        else:
            log.warning("Ray worker ended (%s) during an image; starting another", _exit(exc))
            outcomes.append(Outcome(job, "crashed", detail=_exit(exc)))

    def _expired(self, a: _Actor, outcomes: list[Outcome]) -> None:
        job, ready = a.job, a.node is not None
        self._discard(a)
        expired(self, job, ready, outcomes, "Ray worker")

    def _retried_less(self, job: Any) -> bool:
        if self._retried[job] >= NODE_LOST_RETRIES:
            return False
        self._retried[job] += 1
        return True

    def _node_lost(self, exc: Exception, node: str) -> bool:
        """Whether the actor's node is gone, rather than its worker process."""
        if getattr(exc, "preempted", False):
            return True
        try:
            alive = {n["NodeID"] for n in self.ray.nodes() if n.get("Alive")}
        except Exception:
            return False
        return node not in alive

    def _start_failed_softly(self, cause: str) -> None:
        """As in the local pool: fatal on the first start, tolerated a few times in a row
        on restarts."""
        self._start_failures += 1
        if not self._started_once or self._start_failures >= RESTART_ATTEMPTS:
            raise WorkerStartError(
                f"worker failed to start: {cause}. Check that every Ray node has deid "
                "installed and its model files (`deid models verify`)"
            )

    def _discard(self, a: _Actor) -> None:
        with contextlib.suppress(Exception):
            self.ray.kill(a.handle, no_restart=True)
        self._actors.remove(a)


def _exit(exc: Exception) -> str:
    """How a Ray worker ended, in a few words (Ray's message also holds ids and hints)."""
    found = re.search(r"Worker exit type: (\w+)", str(exc))
    kind = found.group(1) if found else "unknown cause"
    return f"Ray worker died, {kind}"


__all__ = ["INSTALL_HINT", "import_ray", "run_ray", "start_local"]
