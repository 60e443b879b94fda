"""Folder processing: walk, resume, supervised workers, per-image outputs and a summary.

Inputs are never modified. Every output is written atomically, and an image's
report is written last, so a crash mid-batch leaves either a complete pair or
nothing; a rerun skips images whose report shows the same input, settings and a
written output, and redoes the rest.

A batch never hangs: worker processes are supervised (``workers.py``), so an image
whose worker dies or runs past ``batch.image_timeout_s`` fails alone (reasons
``worker_crashed``, ``timeout``) and the batch goes on, while a worker that cannot
start stops the batch at once with ``WorkerStartError``. In-process runs
(``workers=1``) get the time limit from ``deadline.py`` as far as it can reach.

A batch can be stopped cleanly: once ``stop`` is set no new image starts, the images
in progress finish, and the summary says the batch was interrupted. One batch at a
time writes to an output folder (a lock on the folder), and the temporary files of
writes cut short by a kill are removed when the next batch starts there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from . import __version__, io
from .config import Config
from .consent import ConsentGate
from .deadline import Deadline
from .errors import ConfigError, DeidError, ImageTimeout
from .memory import limit_malloc_arenas, release_freed_memory
from .models import ModelStore
from .names import NamePolicy, name_policy
from .pipeline import Pipeline
from .report import ImageReport, InputInfo, summarise, validate
from .review import write_review
from .selection import Selection
from .stages import resolve as resolve_stage
from .summary import BatchRecord, StageTime, read_rows, stage_times, write_csv
from .thread_share import ThreadShare
from .types import Reason
from .workers import Supervisor, start_error, usable_cores

log = logging.getLogger(__name__)

IMAGES_DIR, REVIEW_DIR, REPORTS_DIR = "images", "needs_review", "reports"
BACKENDS = ("local", "ray")


@dataclass
class BatchItem:
    input: str
    output: str | None
    report: str
    status: str
    reasons: list[str] = field(default_factory=list)
    resumed: bool = False


@dataclass
class BatchSummary:
    items: list[BatchItem] = field(default_factory=list)
    withdrawn: int = 0
    # Stopped early (``stop`` was set): ``pending`` images were not started and are
    # neither in ``items`` nor withdrawn; a rerun does them.
    interrupted: bool = False
    pending: int = 0
    record: BatchRecord | None = None
    stage_ms: dict[str, StageTime] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(i.status for i in self.items))

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "total": len(self.items),
            "withdrawn": self.withdrawn,
            "interrupted": self.interrupted,
            "pending": self.pending,
            "batch": dataclasses.asdict(self.record) if self.record else None,
            "items": [vars(i) for i in self.items],
        }

    @property
    def exit_code(self) -> int:
        counts = self.counts
        if counts.get("failed"):
            return 2
        if counts.get("needs_review"):
            return 1
        return 0


def check_paths(in_dir: Path, out_dir: Path) -> None:
    """Refuse layouts where outputs could land on, or be re-read as, inputs."""
    src, dst = in_dir.resolve(), out_dir.resolve()
    if not src.is_dir():
        raise ConfigError(f"input folder not found: {in_dir}")
    if dst == src or dst.is_relative_to(src):
        raise ConfigError("output folder must not be the input folder or inside it")
    if src.is_relative_to(dst):
        raise ConfigError("input folder must not be inside the output folder")


def iter_inputs(
    in_dir: Path, *, follow_symlinks: bool = False, select: Callable[[str], bool] | None = None
) -> Iterator[str]:
    """Relative POSIX paths of candidate images, sorted so names and collisions are stable.

    ``select`` (include/exclude globs, ``selection.py``) narrows them by relative path.

    A symbolic link (to a file or a folder) that leads out of ``in_dir`` is skipped
    unless ``follow_symlinks``: a link planted in a shared input folder must not make
    deid read, and publish, whatever it points to. Links that stay inside are read.
    """
    top = in_dir.resolve()
    found, skipped, seen = [], 0, {top}
    for root, dirs, files in os.walk(in_dir, followlinks=follow_symlinks):
        keep = []
        for d in sorted(d for d in dirs if not d.startswith(".")):
            real = Path(root, d).resolve()
            if follow_symlinks and real in seen:
                continue  # a link back up the tree: walked once, not forever
            seen.add(real)
            keep.append(d)
        dirs[:] = keep
        for name in files:
            if name.startswith(".") or Path(name).suffix.lower() not in io.INPUT_EXTENSIONS:
                continue
            path = Path(root, name)
            if not follow_symlinks and not path.resolve().is_relative_to(top):
                skipped += 1
                continue
            rel = path.relative_to(in_dir).as_posix()
            if select is None or select(rel):
                found.append(rel)
    if skipped:
        log.warning("skipped %d symbolic link(s) leading out of the input folder", skipped)
    return iter(sorted(found))


@dataclass(frozen=True)
class _Job:
    relpath: str
    source: str
    out_rel: str
    masked: str | None


def run_batch(
    in_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    config: Config | None = None,
    workers: int | None = 1,
    in_process: bool | None = None,
    names: NamePolicy | None = None,
    progress: Callable[[int, int, BatchItem], None] | None = None,
    follow_symlinks: bool = False,
    consent: ConsentGate | None = None,
    backend: str = "local",
    ray_address: str | None = None,
    review_originals: bool = False,
    stop: threading.Event | None = None,
) -> BatchSummary:
    """Process every image under ``in_dir``; see the module docstring.

    ``follow_symlinks`` also reads what symbolic links lead to outside ``in_dir``
    (skipped by default). ``config.batch.include``/``exclude`` narrow the images taken.

    ``workers`` is the number of worker processes; ``None`` takes
    ``config.batch.workers``, whose 0 means one per usable core. ``in_process``
    (default: ``workers == 1`` as given) runs the pipeline in this process, for
    embedding and debugging; otherwise supervised processes do the work, so a crash
    or a stuck image fails that image only. ``backend="ray"`` runs the same per-image
    job as Ray tasks (``ray_backend.py``, on ``ray_address`` or a local instance).
    ``consent`` (opt-in) holds every image without a valid consent for its purpose
    in ``needs_review/``. ``review_originals`` embeds the input images in the review
    page, for sign-off on a trusted workstation only. Once ``stop`` is set, no new
    image starts (see the module docstring). Raises ``WorkerStartError`` (nothing
    more is processed, no summary is written) when a worker cannot start.
    """
    started = time.monotonic()
    config = config or Config()
    src, dst = Path(in_dir), Path(out_dir)
    check_paths(src, dst)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown batch backend {backend!r}; use one of {', '.join(BACKENDS)}")
    size = _worker_count(workers, config)
    if in_process is None:
        in_process = workers == 1 or (workers is None and config.batch.workers == 1)
    in_process = in_process and backend == "local"
    store = _preflight(config)
    policy = names or name_policy(_with_name_key(config, dst))
    with _output_lock(dst):
        _remove_partials(dst)
        select = Selection.from_globs(config.batch.include, config.batch.exclude)
        jobs = _plan(src, policy, follow_symlinks, select)
        summary = BatchSummary()
        digest = config.digest()
        todo: list[_Job] = []
        for job in jobs:
            done = _resumable(dst, job, digest, consent)
            if done is not None:
                summary.items.append(done)
                if progress:
                    progress(len(summary.items), len(jobs), done)
            else:
                todo.append(job)

        def record(item: BatchItem) -> None:
            summary.items.append(item)
            if progress:
                progress(len(summary.items), len(jobs), item)

        if in_process:
            with _open_pipeline(config, store, consent) as pipe:
                for job in todo:
                    if stop is not None and stop.is_set():
                        break
                    record(_run_job(pipe, job, dst, limit=config.batch.image_timeout_s))
        elif todo and backend == "ray":
            from .ray_backend import run_ray

            run_ray(_per_worker(config, size), dst, todo, size, record, consent,
                    address=ray_address, stop=stop)  # fmt: skip
        elif todo:
            _run_supervised(_per_worker(config, size), dst, todo, size, record, consent,
                            stop=stop)  # fmt: skip

        summary.pending = len(jobs) - len(summary.items)
        summary.interrupted = summary.pending > 0
        summary.items.sort(key=lambda i: i.report)
        if not summary.interrupted:
            # An interrupted batch did not look at every input: what it did not reach
            # is not an orphan.
            summary.withdrawn = _withdraw_orphans(dst, summary.items)
        originals = {_report_rel(j): Path(j.source) for j in jobs} if review_originals else None
        _write_summary(dst, summary, config, backend, 1 if in_process else size,
                       time.monotonic() - started, originals)  # fmt: skip
    return summary


def _worker_count(workers: int | None, config: Config) -> int:
    """The number asked for, else the config's, else one per usable core."""
    wanted = workers if workers is not None else config.batch.workers
    return max(1, wanted or usable_cores())


def _per_worker(config: Config, workers: int) -> Config:
    """Each worker's share of the cores for the face stage's threads, so workers do not
    crowd each other out (threads change no output and are not in the digest)."""
    return ThreadShare.of(workers, usable_cores()).limit(config)


def _write_summary(
    dst: Path,
    summary: BatchSummary,
    config: Config,
    backend: str,
    workers: int,
    wall_s: float,
    originals: Mapping[str, Path] | None,
) -> None:
    rows, models = read_rows(dst, summary.items)
    summary.stage_ms = stage_times(rows)
    processed = sum(not i.resumed for i in summary.items)
    summary.record = BatchRecord(
        deid_version=__version__, config_digest=config.digest(), backend=backend,
        workers=workers, counts=summary.counts, total=len(summary.items),
        processed=processed, resumed=len(summary.items) - processed,
        withdrawn=summary.withdrawn, pending=summary.pending,
        interrupted=summary.interrupted, wall_s=round(wall_s, 3),
        images_per_s=round(processed / wall_s, 4) if wall_s > 0 else 0.0, models=models,
    )  # fmt: skip
    write_csv(dst, rows)
    data = json.dumps(summary.to_dict(), ensure_ascii=False, indent=2)
    io.write_atomic(dst / "summary.json", data.encode("utf-8"))
    items = [vars(i) for i in summary.items]
    if originals is None:
        write_review(dst, items)
    else:
        keep = {i.report: originals[i.report] for i in summary.items if i.report in originals}
        write_review(dst, items, originals=keep)


@contextlib.contextmanager
def _output_lock(dst: Path) -> Iterator[None]:
    """One batch at a time per output folder: a second one would delete the first one's
    temporary files as leftovers and race it on every output. The lock is on the
    folder itself, so nothing is left behind, and the system drops it on any death."""
    dst.mkdir(parents=True, exist_ok=True)
    fd = os.open(dst, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError("another deid batch is writing to this output folder") from None
        yield
    finally:
        os.close(fd)


def _remove_partials(dst: Path) -> int:
    """Remove the temporary files (``.NAME.*.part``, from ``io.write_atomic``) of writes a
    kill cut short; under the lock none can belong to a running write."""
    removed = 0
    for folder in (dst, dst / IMAGES_DIR, dst / REVIEW_DIR, dst / REPORTS_DIR):
        if not folder.is_dir():
            continue
        found = folder.glob(".*.part") if folder == dst else folder.rglob(".*.part")
        for path in found:
            if path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted batch", removed)
    return removed


def _preflight(config: Config) -> ModelStore | None:
    """Fail before any worker starts on what the parent can check cheaply: stage names
    (plugins imported, not built) and, for the face stage, the model files."""
    for name in config.stages:
        resolve_stage(name)
    if "faces" not in config.stages:
        return None
    store = ModelStore(config.models.dir or None)
    for name in store.manifest:
        store.path(name)  # ModelError naming the file and the fix
    return store


def _open_pipeline(
    config: Config, store: ModelStore | None = None, consent: ConsentGate | None = None
) -> Pipeline:
    """Build the in-process pipeline; an unexpected exception (a broken runtime) becomes
    the same one-line error a worker process would give, not a traceback."""
    try:
        return Pipeline(config, models=store, consent=consent)
    except DeidError:
        raise
    except Exception as exc:
        raise start_error(exc) from exc


def _run_supervised(
    config: Config,
    dst: Path,
    todo: list[_Job],
    workers: int,
    record: Callable[[BatchItem], None],
    consent: ConsentGate | None = None,
    *,
    stop: threading.Event | None = None,
) -> None:
    share = ThreadShare.of(workers, usable_cores())
    supervisor = Supervisor(
        min(workers, len(todo)),
        functools.partial(_worker_pipeline, config.to_dict(), consent, share.threads),
        functools.partial(_worker_run, str(dst)),
        job_timeout=config.batch.image_timeout_s,
        start_timeout=config.batch.start_timeout_s,
    )
    try:
        for outcome in supervisor.run(todo, stop=stop):
            if outcome.kind == "done":
                record(outcome.value)
            elif outcome.kind == "timeout":
                record(_fail_job(dst, outcome.job, config, _timeout_reason(outcome.detail)))
            else:
                msg = (f"the worker process ended ({outcome.detail}) while processing this "
                       "image; image not written")  # fmt: skip
                record(_fail_job(dst, outcome.job, config, Reason("worker_crashed", msg, "batch")))
    finally:
        for job in supervisor.stop():
            # Killed mid-image (the batch is stopping): no half-written file may stay, and
            # without a report a rerun redoes the image.
            _remove_job_files(dst, job, report_too=True)


def _timeout_reason(limit: str) -> Reason:
    msg = (f"processing took longer than the {limit} limit (batch.image_timeout_s, --timeout); "
           "image not written")  # fmt: skip
    return Reason("timeout", msg, "batch")


def _with_name_key(config: Config, dst: Path) -> Config:
    """Give PHI-free output names a secret key kept with the outputs.

    Names must be the same on a rerun (resume finds outputs by name), yet not be
    reversible by hashing a list of common names, so the key is random per output
    folder, stored there, and never leaves it.
    """
    if config.text.filename_key:
        return config
    key_file = dst / ".name-key"
    if not key_file.is_file():
        dst.mkdir(parents=True, exist_ok=True)
        io.write_atomic(key_file, secrets.token_hex(32).encode("ascii"))
        key_file.chmod(0o600)
    key = key_file.read_text("ascii").strip()
    return config.replace(text={"filename_key": key})


def _plan(
    src: Path,
    policy: NamePolicy,
    follow_symlinks: bool = False,
    select: Callable[[str], bool] | None = None,
) -> list[_Job]:
    jobs, used = [], set()
    for rel in iter_inputs(src, follow_symlinks=follow_symlinks, select=select):
        out_rel, masked = policy(rel)
        candidate, n = out_rel, 1
        # Unique without the extension: the written extension follows the content, so
        # a.jpg holding a PNG would otherwise land on a.png's output and report.
        while _stem_key(candidate) in used:
            n += 1
            p = PurePosixPath(out_rel)
            candidate = str(p.with_name(f"{p.stem}-{n}{p.suffix}"))
        used.add(_stem_key(candidate))
        jobs.append(_Job(rel, str(src / rel), candidate, masked))
    return jobs


def _stem_key(rel: str) -> str:
    return str(PurePosixPath(rel).with_suffix("")).lower()


def _report_rel(job: _Job) -> str:
    return f"{REPORTS_DIR}/{job.out_rel}.json"


def _resumable(
    dst: Path, job: _Job, digest: str, consent: ConsentGate | None = None
) -> BatchItem | None:
    report_path = dst / _report_rel(job)
    if not report_path.is_file():
        return None
    try:
        report = json.loads(report_path.read_text("utf-8"))
        sha = hashlib.sha256(Path(job.source).read_bytes()).hexdigest()
    except (OSError, ValueError):
        return None
    output = report.get("output") or {}
    out_path = output.get("path")
    if (
        report.get("config_digest") != digest
        or report.get("input", {}).get("sha256") != sha
        or report.get("status") == "failed"
        or not out_path
        or not _is_output_of(dst, out_path, output.get("sha256"))
        or not _consent_current(report.get("consent"), consent)
    ):
        return None
    reasons = [r.get("code", "") for r in report.get("reasons", [])]
    return BatchItem(job.masked or job.relpath, out_path, _report_rel(job), report["status"],
                     reasons, resumed=True)  # fmt: skip


def _consent_current(recorded: Any, gate: ConsentGate | None) -> bool:
    """A report's consent decision still stands: the gate is on or off as it was, with
    the same manifest and purpose, and the consent it relied on has not expired since."""
    if gate is None or recorded is None:
        return gate is None and recorded is None
    if not isinstance(recorded, dict) or recorded.get("manifest") != gate.digest:
        return False
    until = recorded.get("valid_until")
    today = (gate.today or date.today()).isoformat()
    return until is None or str(until) >= today


def _is_output_of(dst: Path, out_path: str, sha256: object) -> bool:
    """Whether the file a report names is still, byte for byte, the output it describes.

    A replaced output (copied back from the input, edited, or left by another run)
    must be redone, never resumed as if the report vouched for it.
    """
    path = dst / out_path
    if not _in_output_folders(out_path) or not path.is_file():
        return False
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    except OSError:
        return False


def _in_output_folders(out_path: str) -> bool:
    parts = PurePosixPath(out_path).parts
    return len(parts) > 1 and parts[0] in (IMAGES_DIR, REVIEW_DIR) and ".." not in parts


def _earlier_outputs(job: _Job) -> set[str]:
    """Every path an earlier run may have written this job's image to (either folder,
    any written extension); output names are unique without their extension, so none
    of these can belong to another input."""
    p = PurePosixPath(job.out_rel)
    names = {job.out_rel} | {str(p.with_suffix(ext)) for ext in io.EXTENSIONS.values()}
    return {f"{folder}/{name}" for folder in (IMAGES_DIR, REVIEW_DIR) for name in names}


def _withdraw_orphans(dst: Path, items: list[BatchItem]) -> int:
    """Remove outputs and reports no current input accounts for.

    The output folder mirrors the input folder: an image whose input was deleted
    (consent withdrawn) or renamed, or a partial file from a crash, must not stay
    publishable. Returns how many images were removed.
    """
    keep = {i.report for i in items} | {i.output for i in items if i.output}
    removed = 0
    for folder in (IMAGES_DIR, REVIEW_DIR, REPORTS_DIR):
        root = dst / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(dst).as_posix()
            if path.is_file() and rel not in keep:
                path.unlink()
                removed += folder != REPORTS_DIR
    return removed


def _run_job(pipe: Pipeline, job: _Job, dst: Path, limit: float | None = None) -> BatchItem:
    deadline = Deadline(limit)
    result = None
    try:
        with deadline:
            # The pipeline masks the name for its report itself; the consent gate
            # matches on the unmasked one.
            result = pipe.process(job.source, name=job.relpath)
    except ImageTimeout:
        deadline.disarm()  # the alarm may have landed inside the first disarm
    if deadline.expired or result is None:
        # Whatever the pipeline returned: a stage may have swallowed the exception and
        # skipped part of its work.
        return _fail_job(dst, job, pipe.config, _timeout_reason(f"{limit:g} s"))
    report = result.report
    report.input.path = job.masked or job.relpath
    report.input.path_masked = job.masked is not None
    out_rel = None
    if result.ok and result.format:
        folder = REVIEW_DIR if result.status == "needs_review" else IMAGES_DIR
        out_rel = f"{folder}/{_with_extension(job.out_rel, result.format)}"
    for earlier in _earlier_outputs(job) - {out_rel}:
        # An image that now fails or needs review must not stay publishable under
        # images/ from an earlier run (changed input or settings, or a lost report).
        (dst / earlier).unlink(missing_ok=True)
    if out_rel is not None:
        try:
            result.save(dst / out_rel)
        except OSError as exc:
            # A full disk or a broken output folder: the image is failed (its report
            # says so if it still fits) and the batch stops, as every later write would
            # fail the same way.
            why = exc.strerror or type(exc).__name__
            reason = Reason("write_failed", f"the output could not be written ({why}); "
                            "image not written", "write")  # fmt: skip
            with contextlib.suppress(OSError):
                _fail_job(dst, job, pipe.config, reason)
            raise
        if report.output is not None:
            report.output.path = out_rel
    io.write_atomic(dst / _report_rel(job), report.to_json().encode("utf-8"))
    reasons = [r.code for r in report.reasons]
    return BatchItem(report.input.path or job.relpath, out_rel, _report_rel(job), result.status,
                     reasons)  # fmt: skip


def _fail_job(dst: Path, job: _Job, config: Config, reason: Reason) -> BatchItem:
    """A failed report for an image the pipeline could not finish (its worker died or
    ran out of time): earlier outputs withdrawn and partial files removed, like any
    other failure."""
    _remove_job_files(dst, job)
    try:
        sha = hashlib.sha256(Path(job.source).read_bytes()).hexdigest()
    except OSError:
        sha = None
    path = job.masked or job.relpath
    report = ImageReport(
        status="failed", input=InputInfo(path=path, path_masked=job.masked is not None, sha256=sha),
        reasons=[reason], stages=list(config.stages), config_digest=config.digest(),
    )  # fmt: skip
    report.summary = summarise(report)
    problems = validate(report.to_dict())
    if problems:  # a bug here must not pass silently, nor stop the batch
        log.error("failure report did not validate: %s", "; ".join(problems[:3]))
    io.write_atomic(dst / _report_rel(job), report.to_json().encode("utf-8"))
    return BatchItem(path, None, _report_rel(job), "failed", [reason.code])


def _remove_job_files(dst: Path, job: _Job, *, report_too: bool = False) -> None:
    """Remove every output an image may have (either folder, any extension) and the
    temporary files of writes cut short, so a killed worker leaves nothing behind."""
    rels = _earlier_outputs(job) | {_report_rel(job)}
    for rel in sorted(rels):
        path = dst / rel
        if path.parent.is_dir():
            prefix = f".{path.name}."
            for tmp in path.parent.iterdir():
                if tmp.name.startswith(prefix) and tmp.name.endswith(".part"):
                    tmp.unlink(missing_ok=True)
        if rel != _report_rel(job) or report_too:
            path.unlink(missing_ok=True)


def _with_extension(rel: str, fmt: str) -> str:
    """Keep the name's extension unless it contradicts what was written (a PNG named .jpg)."""
    p = PurePosixPath(rel)
    wanted = io.EXTENSIONS.get(fmt, p.suffix)
    same = {".jpg": {".jpg", ".jpeg", ".jpe"}, ".tif": {".tif", ".tiff"},
            ".heic": {".heic", ".heif"}}.get(wanted, {wanted})  # fmt: skip
    return rel if p.suffix.lower() in same else str(p.with_suffix(wanted))


def _worker_pipeline(
    config: dict[str, Any], consent: ConsentGate | None = None, threads: int | None = None
) -> Pipeline:
    """Runs in a worker process: the pipeline it keeps for all its images, built after
    the worker's thread pools are capped at its share of the cores (``thread_share.py``)."""
    limit_malloc_arenas()
    if threads is not None:
        ThreadShare(threads).apply()
    return Pipeline(Config.from_mapping(config), consent=consent)


def _worker_run(dst: str, pipe: Pipeline, job: _Job) -> BatchItem:
    """Runs in a worker process; its supervisor enforces the time limit by killing it.
    The image's freed memory goes back to the system before the next one, so a worker's
    footprint does not creep up with the number of images (``memory.py``)."""
    try:
        return _run_job(pipe, job, Path(dst))
    finally:
        release_freed_memory()


__all__ = ["BatchItem", "BatchSummary", "check_paths", "iter_inputs", "run_batch"]
