"""Ray backend against the local pool on the same photos: the throughput ratio.

    .venv/bin/python benchmarks/batch_ray.py                    # 200 photos at 2 MP, 8 rounds
    .venv/bin/python benchmarks/batch_ray.py --n 40 --rounds 1 --tasks   # and Ray tasks

Both backends run ``run_batch`` with the same number of workers on the same photos
(``photo_sets.py``: faces, captions of PHI lines, camera EXIF), worker start-up
(model loading) included. The machine may be shared, so the photos are split into
rounds run in alternating order (local, Ray; then Ray, local; ...) and each figure is
the sum over rounds: load that comes and goes falls on both sides of the ratio. The
local Ray instance is started once, before the timing: on a cluster it is already
running. ``--tasks`` adds plain Ray tasks (a pipeline cached per worker process, no
time limit or crash handling) to compare with the actors ``ray_backend.py`` uses;
Ray keeps task workers, and so their loaded models, from one batch to the next, so
compare them with ``--rounds 1`` for batches that each start cold.
Outputs of every backend are compared byte for byte with the local pool's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deid import Config, batch, ray_backend
from deid.batch import BatchItem, run_batch
from photo_sets import frame_size, make_set

_PIPES: dict[str, Any] = {}


def _task(config: dict[str, Any], dst: str, job: Any) -> BatchItem:
    """One image as a plain Ray task; the pipeline is kept per worker process."""
    key = json.dumps(config, sort_keys=True)
    if key not in _PIPES:
        _PIPES[key] = batch._worker_pipeline(config)
    return batch._worker_run(dst, _PIPES[key], job)


def _run_tasks(
    config: Config,
    dst: Path,
    todo: list[Any],
    workers: int,
    record: Callable[[BatchItem], None],
    consent: Any = None,
    **_: Any,
) -> None:
    """``ray_backend.run_ray``'s place taken by one task per image, all submitted at
    once (Ray runs as many as there are CPUs)."""
    import ray

    remote = ray.remote(num_cpus=1, max_retries=0)(_task)
    settings, out = config.to_dict(), os.path.abspath(dst)
    refs = [remote.remote(settings, out, job) for job in todo]
    while refs:
        done, refs = ray.wait(refs, num_returns=1, timeout=600)
        if not done:
            raise TimeoutError("no Ray task finished within 600 s")
        record(ray.get(done[0]))


@dataclass
class Tally:
    images: int = 0
    seconds: float = 0.0

    @property
    def per_s(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0


def _outputs(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((out / "images").rglob("*"))
        if p.is_file()
    }


def _run(kind: str, src: Path, out: Path, config: Config, workers: int) -> tuple[float, int]:
    """Seconds for one batch of ``kind`` and the number of images it processed."""
    started = time.perf_counter()
    if kind == "local":
        summary = run_batch(src, out, config=config, workers=workers, in_process=False)
    elif kind == "ray":
        summary = run_batch(src, out, config=config, workers=workers, backend="ray")
    else:
        with mock.patch.object(ray_backend, "run_ray", _run_tasks):
            summary = run_batch(src, out, config=config, workers=workers, backend="ray")
    seconds = time.perf_counter() - started
    if summary.counts.get("failed"):
        raise SystemExit(f"{kind}: {summary.counts['failed']} image(s) failed")
    return seconds, len(summary.items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="photos in all (default 200)")
    parser.add_argument("--megapixels", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    # Many short rounds: on a shared machine the load changes in steps of minutes, and
    # two long rounds put a step on one side only (0.55x and 1.07x in one run).
    parser.add_argument("--rounds", type=int, default=8, help="alternating rounds")
    parser.add_argument("--tasks", action="store_true", help="also time plain Ray tasks")
    parser.add_argument("--photos", type=Path, default=Path(tempfile.gettempdir()) / "deid-bench")
    args = parser.parse_args()

    kinds = ["local", "ray", *(["tasks"] if args.tasks else [])]
    # One name key for every output folder, so outputs can be compared by name.
    config = Config().replace(text={"filename_key": "benchmark" * 8})
    sizes = [args.n // args.rounds + (r < args.n % args.rounds) for r in range(args.rounds)]
    parts = []
    for r, size in enumerate(sizes):
        folder = args.photos / f"ray-{args.megapixels:g}mp-{size}-round{r}"
        make_set(folder, size, args.megapixels, seed=r)
        parts.append(folder)

    started = time.perf_counter()
    ray_backend.start_local(args.workers)
    ray_start = time.perf_counter() - started

    tallies = {kind: Tally() for kind in kinds}
    identical = True
    work = Path(tempfile.mkdtemp(prefix="deid-bench-ray-"))
    try:
        for r, src in enumerate(parts):
            order = kinds if r % 2 == 0 else kinds[::-1]
            written: dict[str, dict[str, str]] = {}
            for kind in order:
                out = work / kind
                seconds, images = _run(kind, src, out, config, args.workers)
                tallies[kind].seconds += seconds
                tallies[kind].images += images
                written[kind] = _outputs(out)
                shutil.rmtree(out)
                print(f"round {r + 1}/{args.rounds} {kind:6} {images} images {seconds:7.1f} s",
                      flush=True)  # fmt: skip
            identical &= all(w == written["local"] for w in written.values())
    finally:
        shutil.rmtree(work, ignore_errors=True)
        import ray

        ray.shutdown()

    width, height = frame_size(args.megapixels)
    print(f"\n{args.n} photos at {args.megapixels:g} MP ({width}x{height}), {args.workers} "
          f"workers, {args.rounds} alternating rounds, {os.cpu_count()} cores")  # fmt: skip
    base = tallies["local"].per_s
    names = {"local": "local pool", "ray": "Ray actors", "tasks": "Ray tasks"}
    for kind, tally in tallies.items():
        print(f"{names[kind]:11} {tally.images} images {tally.seconds:7.1f} s "
              f"{tally.per_s:.3f} images/s  {tally.per_s / base:.2f}x local")  # fmt: skip
    print(f"Ray instance start-up (not timed above): {ray_start:.1f} s")
    print(f"outputs identical to the local pool's: {'yes' if identical else 'NO'}")


if __name__ == "__main__":
    main()
