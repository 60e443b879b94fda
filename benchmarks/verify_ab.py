"""Redaction and verification speed, one revision against the working tree, in
alternating rounds.

Issue 15 budgets the pipeline's redaction and verification (report timing keys
``redact``, ``faces_verify`` and ``text_verify``) at half the Pillow floor F (decode +
quality 95 encode of the same file). This script runs the whole pipeline of a base
revision (``git archive`` of its ``src/deid``) and of the working tree on the same
12 MP photos in alternating worker processes, and times every ``redact.apply`` and
stage verification the pipeline makes, by wall clock and by CPU time (the worker's
threads summed: the cascades run on the face stage's pool), each image against the
floor measured just before it in the same process. It prints the median ratios, per
kind of photo too, and the photos whose status, review reasons or output bytes differ
between the two (none unless the change is meant to alter what is published).

    .venv/bin/python benchmarks/verify_ab.py --base HEAD~3 --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ab_rounds import Round, add_arguments, alternate, ratios, warm_floor

WORKER_TIMEOUT_S = 1800


class _Clock:
    """Wall and CPU time spent inside the wrapped calls (outermost call only: the text
    verification applies edits to its crops inside its own verification)."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self.depth = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.depth += 1
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.depth -= 1
                if self.depth == 0:
                    self.wall += time.perf_counter() - wall
                    self.cpu += time.process_time() - cpu

        return timed


def worker(folder: Path) -> None:
    """One round in this process: the floor, then the pipeline, for every photo."""
    import numpy as np
    from PIL import Image

    from deid import pipeline, redact
    from deid.config import Config

    clock = _Clock()
    for name in ("apply", "apply_in_place"):
        if hasattr(redact, name):
            setattr(redact, name, clock.wrap(getattr(redact, name)))
    pipeline.Pipeline._verify = clock.wrap(pipeline.Pipeline._verify)  # type: ignore[method-assign]

    def floor(path: Path) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        rgb.save(io.BytesIO(), "JPEG", quality=95)
        np.asarray(rgb)
        return time.perf_counter() - wall, time.process_time() - cpu

    paths = sorted(folder.glob("*.jpg"))
    warm_floor(paths, floor)
    out = {}
    with pipeline.Pipeline(Config()) as pipe:
        for path in paths:
            f_wall, f_cpu = min((floor(path) for _ in range(2)), key=lambda r: r[1])
            clock.wall = clock.cpu = 0.0
            result = pipe.process(path, name=path.name)
            out[path.name] = {
                "floor_wall": f_wall, "floor_cpu": f_cpu, "wall": clock.wall, "cpu": clock.cpu,
                "status": result.status,
                "reasons": sorted(r.code for r in result.report.reasons),
                "output": hashlib.sha256(result.data or b"").hexdigest()[:16],
            }  # fmt: skip
    print(json.dumps(out))


def _kind(photo: str) -> str:
    return photo.split("_", 1)[0]


def summary(name: str, rounds: list[Round]) -> dict[str, tuple[str, list[str], str]]:
    wall, cpu = ratios(rounds)
    print(f"  {name:14s} redaction + verification / F: wall {wall:5.2f}, CPU {cpu:5.2f}")
    samples = [(p, s) for r in rounds for p, s in r.items()]
    for kind in sorted({_kind(p) for p, _ in samples}):
        mine = [s for p, s in samples if _kind(p) == kind]
        w = statistics.median(s["wall"] / s["floor_wall"] for s in mine)
        c = statistics.median(s["cpu"] / s["floor_cpu"] for s in mine)
        print(f"    {kind:12s} wall {w:5.2f}, CPU {c:5.2f}")
    return {p: (s["status"], s["reasons"], s["output"]) for p, s in rounds[-1].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser, rounds=3)
    args = parser.parse_args()
    if args.worker:
        worker(args.photos)
        return
    base, current = alternate(__file__, args.base, args.rounds, args.photos, WORKER_TIMEOUT_S)
    print(f"redaction + verification, {len(base[0])} photos, {args.rounds} alternating rounds")
    before = summary(args.base, base)
    after = summary("working tree", current)
    for what, i in (("status or review reasons", slice(0, 2)), ("output bytes", slice(2, 3))):
        differ = sorted(p for p in before if before[p][i] != after.get(p, ())[i])
        print(f"  {what} differ on: " + (", ".join(differ) if differ else "none"))


if __name__ == "__main__":
    main()
