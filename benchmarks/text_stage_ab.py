"""Text stage speed, one revision against the working tree, in alternating rounds.

The text stage's time on a shared machine swings by several times within minutes, so
a figure is only worth setting against another taken in the same run. This script
runs the text stage (first pass, redaction, verification: ``stage_timing``) of a base
revision (``git archive`` of its ``src/deid``) and of the working tree on the same
12 MP photos, in alternating worker processes, and sets each photo's time against
the Pillow floor F (decode + quality 95 encode of the same file) measured just before
it in the same process. It prints the median ratio by wall clock and by CPU time
(which holds on a loaded machine where the wall clock does not; the stage runs
recognition on one thread), and the photos whose redactions differ, which must be
none unless the change is meant to alter what is redacted.

    .venv/bin/python benchmarks/text_stage_ab.py --base HEAD~1 --rounds 2
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "build" / "bench" / "12mp"
WORKER_TIMEOUT_S = 3600
WARM_UP = 3  # a fresh process's first Pillow round trips are slow


def worker(folder: Path) -> None:
    """One round in this process: the floor and the text stage for every photo."""
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).parent))
    from deid import io as deid_io
    from deid.config import Config
    from deid.stages.base import Context
    from deid.stages.text import TextStage
    from stage_timing import run_and_verify

    config = Config()
    stage = TextStage(config.text)

    def floor(path: Path) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        with Image.open(path) as im:
            im.load()
            im.save(io.BytesIO(), "JPEG", quality=95)
        return time.perf_counter() - wall, time.process_time() - cpu

    paths = sorted(folder.glob("*.jpg"))
    for _ in range(WARM_UP):
        floor(paths[0])
    warm = deid_io.load(str(paths[0]), config.input)  # loads the recogniser once
    stage.run(warm.frame.pixels, Context(config=config, source=warm.source, frame=warm.frame))
    out = {}
    try:
        for path in paths:
            f_wall, f_cpu = min((floor(path) for _ in range(2)), key=lambda r: r[1])
            loaded = deid_io.load(str(path), config.input)
            context = Context(config=config, source=loaded.source, frame=loaded.frame)
            cpu = time.process_time()
            _, first, checked, wall = run_and_verify(stage, loaded.frame.pixels, context)
            edits = [e.box for e in (*first.edits, *checked.edits)]
            out[path.name] = {
                "floor_wall": f_wall, "floor_cpu": f_cpu,
                "wall": wall, "cpu": time.process_time() - cpu,
                "edits": sorted([b.left, b.top, b.right, b.bottom] for b in edits),
            }  # fmt: skip
    finally:
        stage.close()
    print(json.dumps(out))


def export(rev: str, into: Path) -> Path:
    """``src/deid`` of ``rev`` under ``into``, with the checkout's models beside it."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src/deid"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "models").symlink_to(ROOT / "models")
    return into / "src"


def one_round(src: Path, folder: Path) -> dict[str, dict]:
    env = dict(os.environ, PYTHONPATH=str(src))
    done = subprocess.run(
        [sys.executable, __file__, "--worker", "--photos", str(folder)],
        env=env, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(name: str, rounds: list[dict[str, dict]]) -> None:
    samples = [s for r in rounds for s in r.values()]
    wall = statistics.median(s["wall"] / s["floor_wall"] for s in samples)
    cpu = statistics.median(s["cpu"] / s["floor_cpu"] for s in samples)
    print(f"  {name:12s} text (run + verify) / F: wall {wall:5.2f}, CPU {cpu:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="HEAD", help="revision to compare with (git)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each, alternating")
    parser.add_argument("--photos", type=Path, default=PHOTOS, help="folder of 12 MP JPEGs")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.photos)
        return
    if not any(args.photos.glob("*.jpg")):
        sys.exit(f"no photos in {args.photos}: run benchmarks/run.py --sets 12 once to make them")
    with tempfile.TemporaryDirectory(prefix="deid-ab-") as tmp:
        base_src = export(args.base, Path(tmp))
        current_src = ROOT / "src"
        base, current = [], []
        for i in range(args.rounds):
            # Alternate which goes first, so neither always meets the busier minute.
            order = [(base, base_src), (current, current_src)]
            for runs, src in order if i % 2 == 0 else order[::-1]:
                runs.append(one_round(src, args.photos))
    print(f"text stage, {len(base[0])} photos, {args.rounds} alternating rounds")
    summary(args.base, base)
    summary("working tree", current)
    per_photo = [
        (b[p]["cpu"] / b[p]["floor_cpu"]) / (c[p]["cpu"] / c[p]["floor_cpu"])
        for b, c in zip(base, current, strict=True)
        for p in b
    ]
    print(f"  base / working tree, CPU, median per photo: {statistics.median(per_photo):.2f}")
    differ = sorted(p for p in base[-1] if base[-1][p]["edits"] != current[-1][p]["edits"])
    print("  redactions differ on: " + (", ".join(differ) if differ else "none"))


if __name__ == "__main__":
    main()
