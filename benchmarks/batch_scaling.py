"""Batch scaling figures: throughput of 2 workers against 1, and peak RSS per worker.

    .venv/bin/python benchmarks/batch_scaling.py            # 200 photos; RSS at 50 and 500
    .venv/bin/python benchmarks/batch_scaling.py --throughput-n 40 --rss-n 10 40

Every figure is measured in this run, so the machine's load at the time is in both
sides of each ratio. Each batch runs in a fresh child process: the peak RSS of its
workers is then the largest resident set any of its children reached
(``RUSAGE_CHILDREN``), untouched by earlier batches. Both throughput runs use
supervised worker processes (also for one worker), so the ratio is the gain from the
second process and nothing else; worker start-up (loading the models) is included.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
    """Runs in its own process: one batch, then its wall time and children's peak RSS."""
    from deid.batch import run_batch

    started = time.perf_counter()
    summary = run_batch(src, out, workers=workers, in_process=False)
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    print(json.dumps({"wall_s": wall, "images": len(summary.items), "counts": summary.counts,
                      "worker_peak_rss_mib": peak_kib / 1024}))  # fmt: skip


def _batch(src: Path, out: Path, workers: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(src), str(out), str(workers)],
        capture_output=True, text=True, timeout=7200, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"batch failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # The machine's load around the run: on a shared machine it explains a low ratio.
    result["load"] = f"{load:.1f} -> {os.getloadavg()[0]:.1f}"
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--throughput-n", type=int, default=200, help="photos (0: skip)")
    parser.add_argument("--rss-n", type=int, nargs=2, default=(50, 500), metavar=("SMALL", "LARGE"))
    parser.add_argument("--megapixels", type=float, default=2.0)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return
    with tempfile.TemporaryDirectory(prefix="deid-scaling-") as tmp:
        root = Path(tmp)
        if args.throughput_n:
            src = root / "throughput"
            make_set(src, args.throughput_n, args.megapixels, seed=0, kinds=KINDS)
            one = _batch(src, root / "out1", 1)
            two = _batch(src, root / "out2", 2)
            rate1, rate2 = one["images"] / one["wall_s"], two["images"] / two["wall_s"]
            print(f"throughput, {args.throughput_n} photos of {args.megapixels:g} MP: "
                  f"1 worker {rate1:.3f} img/s ({one['wall_s']:.0f} s, load {one['load']}), "
                  f"2 workers {rate2:.3f} img/s ({two['wall_s']:.0f} s, load {two['load']}); "
                  f"ratio {rate2 / rate1:.2f}x; statuses {two['counts']}")  # fmt: skip
        small_n, large_n = args.rss_n
        if small_n and large_n:
            peaks = []
            for n in (small_n, large_n):
                src = root / f"rss{n}"
                make_set(src, n, args.megapixels, seed=1, kinds=KINDS)
                run = _batch(src, root / f"rss-out{n}", 2)
                peaks.append(run["worker_peak_rss_mib"])
                print(f"peak RSS per worker, {n} photos, 2 workers: "
                      f"{run['worker_peak_rss_mib']:.0f} MiB ({run['wall_s']:.0f} s, "
                      f"load {run['load']})")  # fmt: skip
            print(f"peak RSS {large_n} vs {small_n} photos: {peaks[1] / peaks[0] - 1:+.1%}")


if __name__ == "__main__":
    main()
