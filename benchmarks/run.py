"""The benchmark entry point: every stage against the Pillow floor, memory, and efficacy.

    make bench                                      # 2 MP and 12 MP sets, then efficacy
    .venv/bin/python benchmarks/run.py --quick      # 2 MP only, one run, no efficacy
    .venv/bin/python benchmarks/run.py --sets 12 --no-efficacy --json build/bench.json

The inputs are generated (benchmarks/photo_sets.py: portraits, before/after composites,
group photos, caption blocks, X-rays, face-free photos; camera EXIF and sensor grain)
and kept in build/bench/ between runs. Each set is timed in one fresh worker process
that runs the real pipeline with the default configuration, one image at a time, as a
batch worker does. Before every pipeline run the same process decodes the same file
with Pillow and encodes it at quality 95 (Pillow's defaults otherwise): that is the
floor F. Ratios are taken image by image against the floor measured next to them, so
a busy machine slows both sides alike, then the median over images and runs is shown.
Stage times are the ones the pipeline writes into each report (``timings_ms``).

Memory is the worker's peak resident set (``ru_maxrss`` from ``wait4``), which covers
the models, the pipeline and the largest image. Throughput per core is images per
CPU-second of the worker (its threads and subprocesses counted), which holds on a
shared machine where wall-clock throughput does not. Scaling is 2 batch workers
against 1 on the same generated 2 MP photos with faces and captions
(benchmarks/batch_scaling.py, one round each, worker start-up included; ``--scaling-n``
photos, 0 to skip). Efficacy comes from the held-out
split scorers (score_faces.py, score_text.py), run after the timing so that they do
not disturb it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "bench"
PHOTOS_PER_SET = 12  # two of each kind: the second portrait is stored sideways (EXIF 6)
WORKER_TIMEOUT_S = 3600
SCORER_TIMEOUT_S = 3600  # the text scorer takes 6 min alone, several times that on a busy machine
RSS_BUDGET_MB = 600

# Report timing keys, grouped as the budgets are (multiples of F at 12 MP).
GROUPS: dict[str, tuple[str, ...]] = {
    "decode": ("decode",),
    "metadata": ("metadata",),
    "encode": ("encode",),
    "decode + metadata + encode": ("decode", "metadata", "encode"),
    "faces": ("faces",),
    "text": ("text",),
    "redaction + verification": ("redact", "faces_verify", "text_verify"),
    "whole pipeline": ("total",),
}
BUDGETS = {
    "decode + metadata + encode": 1.3,
    "faces": 1.0,
    "text": 1.0,
    "redaction + verification": 0.5,
    "whole pipeline": 4.0,
}
STRETCH = {"whole pipeline": 2.5}


@dataclass
class Sample:
    """One pipeline run of one image, with the floor measured just before it."""

    photo: str
    floor_ms: float
    timings_ms: dict[str, float]
    status: str
    encoding: str | None


@dataclass
class SetResult:
    megapixels: float
    size: str
    photos: list[str]
    repeats: int
    samples: list[Sample] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0

    def group_ms(self, sample: Sample, group: str) -> float:
        return sum(sample.timings_ms.get(key, 0.0) for key in GROUPS[group])

    def ratio(self, group: str) -> float:
        return statistics.median(self.group_ms(s, group) / s.floor_ms for s in self.samples)

    def median_ms(self, group: str) -> float:
        return statistics.median(self.group_ms(s, group) for s in self.samples)


# -- the worker: runs in its own process so its peak RSS is the pipeline's -----------------


def pillow_floor(path: Path) -> float:
    """Seconds for Pillow to read and decode ``path`` and encode it at quality 95."""
    from PIL import Image

    start = time.perf_counter()
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        image.load()
        image.save(io.BytesIO(), "JPEG", quality=95)
    return time.perf_counter() - start


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of the children it has waited for
    (an OCR engine run as a subprocess counts too)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def worker(folder: Path, repeats: int, out: Path) -> None:
    """Time every photo in ``folder`` ``repeats`` times; write the samples as JSON."""
    from deid.config import Config
    from deid.memory import limit_malloc_arenas, release_freed_memory
    from deid.pipeline import Pipeline

    limit_malloc_arenas()  # as a batch worker does (batch._worker_pipeline, _worker_run)
    photos = sorted(folder.glob("*.jpg"))
    samples: list[dict[str, object]] = []
    with Pipeline(Config()) as pipe:
        # Models load and first-call set-up happen here, outside the timed runs; the
        # floor is warmed too (a fresh process decodes slower for its first round trips).
        pipe.process(photos[0], name=photos[0].name)
        for photo in photos:
            pillow_floor(photo)
        cpu, wall = cpu_seconds(), time.perf_counter()
        for _ in range(repeats):
            for photo in photos:
                floor_s = pillow_floor(photo)
                result = pipe.process(photo, name=photo.name)
                report = result.report
                output = report.output
                sample = Sample(photo.name, floor_s * 1000, dict(report.timings_ms),
                                result.status, output.encoding if output else None)  # fmt: skip
                samples.append(asdict(sample))
                release_freed_memory()
        cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    out.write_text(json.dumps({"samples": samples, "cpu_s": cpu, "wall_s": wall}))


def run_worker(folder: Path, repeats: int, out: Path) -> tuple[dict[str, object], float]:
    """Run ``worker`` in a child process; return its results and its peak RSS in MB."""
    cmd = [sys.executable, __file__, "--worker", str(folder), "--repeats", str(repeats),
           "--out", str(out)]  # fmt: skip
    child = subprocess.Popen(cmd, cwd=ROOT)
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            child.kill()
            os.wait4(child.pid, 0)
            raise SystemExit(f"benchmark worker for {folder} exceeded {WORKER_TIMEOUT_S} s")
        time.sleep(0.2)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"benchmark worker for {folder} failed (exit {child.returncode})")
    return json.loads(out.read_text()), usage.ru_maxrss / 1024  # Linux: kilobytes


# -- the parent: generate, time, print -------------------------------------------------------


def time_set(megapixels: float, photos: int, repeats: int, work: Path) -> SetResult:
    sys.path.insert(0, str(Path(__file__).parent))
    from photo_sets import frame_size, make_set

    width, height = frame_size(megapixels)
    folder = work / f"{megapixels:g}mp"
    paths = make_set(folder, photos, megapixels)
    for stale in set(folder.glob("*.jpg")) - set(paths):  # from a run with another --photos
        stale.unlink()
    raw, rss = run_worker(folder, repeats, work / f"{megapixels:g}mp.json")
    result = SetResult(megapixels, f"{width}x{height}", [p.name for p in paths], repeats)
    result.samples = [Sample(**s) for s in raw["samples"]]  # type: ignore[attr-defined]
    result.cpu_s, result.wall_s, result.peak_rss_mb = raw["cpu_s"], raw["wall_s"], rss  # type: ignore[assignment]
    return result


def machine() -> str:
    import cv2
    import numpy
    import PIL
    from PIL import features

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    turbo = " (libjpeg-turbo)" if features.check_feature("libjpeg_turbo") else ""
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
            f"Python {platform.python_version()}, Pillow {PIL.__version__}{turbo}, "
            f"OpenCV {cv2.__version__}, NumPy {numpy.__version__}")  # fmt: skip


def print_set(result: SetResult) -> None:
    samples = result.samples
    floor = statistics.median(s.floor_ms for s in samples)
    kinds = sorted({name.split("_")[0] for name in result.photos})
    print(f"\n{result.megapixels:g} MP set ({result.size}): {len(result.photos)} photos "
          f"({', '.join(kinds)}) x {result.repeats} runs, one worker process")  # fmt: skip
    print(f"  floor F = Pillow decode + q95 encode of the same file, median: {floor:.0f} ms")
    budgets = result.megapixels >= 12
    print(
        f"  {'stage':30s} {'median ms':>10s} {'x F':>7s}" + (f" {'budget':>8s}" if budgets else "")
    )
    for group in GROUPS:
        line = f"  {group:30s} {result.median_ms(group):10.0f} {result.ratio(group):7.2f}"
        if budgets and group in BUDGETS:
            ratio, budget = result.ratio(group), BUDGETS[group]
            verdict = "ok" if ratio <= budget else "over"
            stretch = f" (stretch {STRETCH[group]})" if group in STRETCH else ""
            line += f" {budget:8.1f}  {verdict}{stretch}"
        print(line)
    count = len(samples)
    per_core = count / result.cpu_s if result.cpu_s else 0.0
    print(f"  images/s per core (images per worker CPU-second): {per_core:.3f}")
    print(f"  images/s, one worker (wall clock)                : {count / result.wall_s:.3f}")
    rss = f"  peak RSS per worker                              : {result.peak_rss_mb:.0f} MB"
    print(rss + (f" (budget {RSS_BUDGET_MB} MB)" if budgets else ""))
    statuses: dict[str, int] = {}
    for s in samples:
        key = f"{s.status}/{s.encoding or 'no output'}"
        statuses[key] = statuses.get(key, 0) + 1
    print("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))


def efficacy() -> None:
    """Run the held-out scorers and print their figures (tables only, no per-case lines)."""
    scorers = (
        ("faces", ["score_faces.py", "--split", "heldout", "--no-timing"]),
        ("text", ["score_text.py", "--split", "heldout"]),
    )
    print("\nefficacy on the held-out split (the same run)")
    for name, args in scorers:
        cmd = [sys.executable, str(Path(__file__).parent / args[0]), *args[1:]]
        try:
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                                  timeout=SCORER_TIMEOUT_S, check=False)  # fmt: skip
        except subprocess.TimeoutExpired:
            print(f"  {name}: scorer exceeded {SCORER_TIMEOUT_S} s; no figures")
            continue
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            print(f"  {name}: scorer failed (exit {done.returncode}): {last}")
            continue
        for line in done.stdout.splitlines():
            if "miss:" not in line:
                print(f"  {line}")


def scaling(photos: int, work: Path) -> None:
    """2 workers against 1 (the batch's default on 2 cores against ``--workers 1``)."""
    import batch_scaling

    print(f"\nscaling: 2 workers against 1, {photos} photos of 2 MP (the same run)")
    batch_scaling.throughput(work / "scaling", photos, 2.0, rounds=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", type=float, default=[2.0, 12.0],
                        help="megapixels of each set (default: 2 12)")  # fmt: skip
    parser.add_argument("--photos", type=int, default=PHOTOS_PER_SET, help="photos per set")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each photo")
    parser.add_argument("--quick", action="store_true", help="2 MP only, one run, no efficacy")
    parser.add_argument("--no-efficacy", action="store_true", help="skip the held-out scorers")
    parser.add_argument("--scaling-n", type=int, default=24,
                        help="photos for the 2-against-1 worker figure (0: skip)")  # fmt: skip
    parser.add_argument("--work", type=Path, default=WORK, help="where the sets are kept")
    parser.add_argument("--json", type=Path, help="also write every sample here")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.repeats, args.out)
        return
    if args.quick:
        args.sets, args.repeats, args.no_efficacy, args.scaling_n = [2.0], 1, True, 0
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    results = [time_set(mp, args.photos, args.repeats, args.work) for mp in args.sets]
    for result in results:
        print_set(result)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))
    if args.scaling_n > 0:
        scaling(args.scaling_n, args.work)
    if not args.no_efficacy:
        efficacy()


if __name__ == "__main__":
    main()
