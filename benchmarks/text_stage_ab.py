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
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ab_rounds import Round, add_arguments, alternate, ratios, warm_floor

WORKER_TIMEOUT_S = 3600


def worker(folder: Path) -> None:
    """One round in this process: the floor and the text stage for every photo."""
    from PIL import Image

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
    warm_floor(paths, floor)
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


def summary(name: str, rounds: list[Round]) -> None:
    wall, cpu = ratios(rounds)
    print(f"  {name:12s} text (run + verify) / F: wall {wall:5.2f}, CPU {cpu:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser, rounds=2)
    args = parser.parse_args()
    if args.worker:
        worker(args.photos)
        return
    base, current = alternate(__file__, args.base, args.rounds, args.photos, WORKER_TIMEOUT_S)
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
