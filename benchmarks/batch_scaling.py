"""Batch scaling figures: throughput of 2 workers against 1, and peak RSS per worker.

    .venv/bin/python benchmarks/batch_scaling.py            # 200 photos, 2 rounds; RSS 50/500
    .venv/bin/python benchmarks/batch_scaling.py --throughput-n 40 --rounds 1 --rss-n 10 40
    .venv/bin/python benchmarks/batch_scaling.py --throughput-n 0 --rss-n 50 500 --rss-same

Every figure is measured in this run, so the machine's load at the time is in both
sides of each ratio; rounds alternate which side runs first (1-2, 2-1, ...), so a load
that rises or falls during a round weighs on both. Each batch runs in a fresh child
process: the peak RSS of its workers is then the largest resident set any of its
children reached (``RUSAGE_CHILDREN``), untouched by earlier batches. Both throughput
runs use supervised worker processes (also for one worker) with default settings, so
the ratio is the gain from the second process and nothing else; worker start-up
(loading the models) and the summary and review page at the end are included, and
printed (``start``: until the first photo is done; ``tail``: after the last one).

``cpu/photo`` is the workers' CPU time per photo and ``cores`` their CPU time over the
wall time: one worker using more than one core leaves a second one less than a core
to add. ``--per-core`` adds a figure that is not the issue's: one worker pinned to one
core against two workers on two cores (how well a core is used, whatever the threads).
``--rss-same`` makes the large RSS set out of the small set's photos repeated, so a
growth with the number of photos shows apart from a costlier photo in a larger set.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from photo_sets import make_set

# Faces and text on every photo, as the figure asks (no x-rays, no face-free).
KINDS = ("portrait", "caption", "group", "composite")


def _child(src: str, out: str, workers: int) -> None:
    """Runs in its own process: one batch, then its timings and its children's usage."""
    from deid.batch import run_batch

    done: list[float] = []
    started = time.perf_counter()
    summary = run_batch(src, out, workers=workers, in_process=False,
                        progress=lambda *_: done.append(time.perf_counter()))  # fmt: skip
    ended = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "wall_s": ended - started, "images": len(summary.items), "counts": summary.counts,
        "worker_peak_rss_mib": usage.ru_maxrss / 1024,  # KiB on Linux
        "worker_cpu_s": usage.ru_utime + usage.ru_stime,
        "start_s": done[0] - started if done else 0.0,
        "tail_s": ended - done[-1] if done else 0.0,
    }))  # fmt: skip


def _batch(src: Path, out: Path, workers: int, cpus: set[int] | None = None) -> dict[str, Any]:
    """One batch in a child process (on ``cpus`` only, if given); its output is removed."""
    load = os.getloadavg()[0]
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(src), str(out), str(workers)],
        capture_output=True, text=True, timeout=7200, check=False,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(f"batch failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # The machine's load around the run: on a shared machine it explains a low ratio.
    result["load"] = f"{load:.1f} -> {os.getloadavg()[0]:.1f}"
    result["rate"] = result["images"] / result["wall_s"]
    return result


def _line(label: str, run: dict[str, Any]) -> str:
    cpu = run["worker_cpu_s"]
    return (f"  {label}: {run['rate']:.3f} img/s ({run['wall_s']:.0f} s; "
            f"cpu/photo {cpu / run['images']:.2f} s, cores {cpu / run['wall_s']:.2f}; "
            f"start {run['start_s']:.1f} s, tail {run['tail_s']:.1f} s; "
            f"load {run['load']})")  # fmt: skip


def throughput(root: Path, n: int, megapixels: float, rounds: int) -> None:
    """The issue's figure: 2 workers against 1, default settings, alternating rounds."""
    src = root / "throughput"
    make_set(src, n, megapixels, seed=0, kinds=KINDS)
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for r in range(rounds):
        order = (1, 2) if r % 2 == 0 else (2, 1)
        for workers in order:
            runs[workers].append(_batch(src, root / "out", workers))
        one, two = runs[1][-1], runs[2][-1]
        print(f"round {r + 1} ({'-'.join(map(str, order))}): "
              f"ratio {two['rate'] / one['rate']:.2f}x", flush=True)  # fmt: skip
        print(_line("1 worker ", one), flush=True)
        print(_line("2 workers", two), flush=True)
    rate = {w: sum(x["images"] for x in v) / sum(x["wall_s"] for x in v) for w, v in runs.items()}
    ratios = [b["rate"] / a["rate"] for a, b in zip(runs[1], runs[2], strict=True)]
    statuses = runs[2][-1]["counts"]
    print(f"throughput, {n} photos of {megapixels:g} MP, {rounds} round(s): "
          f"1 worker {rate[1]:.3f} img/s, 2 workers {rate[2]:.3f} img/s; "
          f"ratio {rate[2] / rate[1]:.2f}x (rounds: {', '.join(f'{x:.2f}' for x in ratios)}; "
          f"median {statistics.median(ratios):.2f}x); statuses {statuses}")  # fmt: skip


def per_core(root: Path, n: int, megapixels: float) -> None:
    """Not the issue's figure: one worker held to one core against two on two cores."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print("per-core efficiency: needs 2 cores")
        return
    src = root / "throughput"
    make_set(src, n, megapixels, seed=0, kinds=KINDS)
    pinned = _batch(src, root / "out", 1, cpus={cpus[0]})
    two = _batch(src, root / "out", 2, cpus=set(cpus[:2]))
    print(f"per-core efficiency (1 worker pinned to 1 core vs 2 workers on 2 cores, not "
          f"the 2-against-1 figure): ratio {two['rate'] / pinned['rate']:.2f}x")  # fmt: skip
    print(_line("1 worker, 1 core", pinned))
    print(_line("2 workers       ", two))


def peak_rss(root: Path, small_n: int, large_n: int, megapixels: float, same: bool) -> None:
    """Peak RSS per worker for a small and a large batch (2 workers each)."""
    small = root / f"rss{small_n}"
    photos = make_set(small, small_n, megapixels, seed=1, kinds=KINDS)
    large = root / f"rss{large_n}"
    if same:  # the small set's photos again and again, under new names
        large.mkdir()
        for i in range(large_n):
            os.link(photos[i % len(photos)], large / f"{i:04d}_{photos[i % len(photos)].name}")
    else:
        make_set(large, large_n, megapixels, seed=1, kinds=KINDS)
    peaks = []
    for n, src in ((small_n, small), (large_n, large)):
        run = _batch(src, root / "rss-out", 2)
        peaks.append(run["worker_peak_rss_mib"])
        print(f"peak RSS per worker, {n} photos{' (repeated)' if same and n == large_n else ''}, "
              f"2 workers: {run['worker_peak_rss_mib']:.0f} MiB ({run['wall_s']:.0f} s, "
              f"load {run['load']})", flush=True)  # fmt: skip
    print(f"peak RSS {large_n} vs {small_n} photos of {megapixels:g} MP: "
          f"{peaks[1] / peaks[0] - 1:+.1%}")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--throughput-n", type=int, default=200, help="photos (0: skip)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating 1/2-worker rounds")
    parser.add_argument("--per-core", action="store_true", help="also the per-core figure")
    parser.add_argument("--rss-n", type=int, nargs=2, default=(50, 500), metavar=("SMALL", "LARGE"))
    parser.add_argument("--rss-same", action="store_true", help="large set: small set repeated")
    parser.add_argument("--megapixels", type=float, default=2.0)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return
    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="deid-scaling-") as tmp:
        root = Path(tmp)
        if args.throughput_n:
            throughput(root, args.throughput_n, args.megapixels, max(1, args.rounds))
            if args.per_core:
                per_core(root, args.throughput_n, args.megapixels)
        small_n, large_n = args.rss_n
        if small_n and large_n:
            peak_rss(root, small_n, large_n, args.megapixels, args.rss_same)


if __name__ == "__main__":
    main()
