"""Shared driver of the stage A/B scripts: a base revision against the working tree.

On a shared machine one revision's figure taken minutes after another's says little,
so both run here in alternating worker processes on the same photos, each photo's
stage time set against the Pillow floor F measured just before it in the same process.
The stage scripts (face_stage_ab.py, text_stage_ab.py) supply the worker; this module
exports the base revision, alternates the rounds and takes the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "build" / "bench" / "12mp"
WARM_UP = 3  # a fresh process's first Pillow round trips are slow

Round = dict[str, dict[str, Any]]


def export(rev: str, into: Path) -> Path:
    """``src/deid`` of ``rev`` under ``into``, with the checkout's models beside it."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src/deid"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "models").symlink_to(ROOT / "models")
    return into / "src"


def one_round(script: str, src: Path, folder: Path, timeout_s: float) -> Round:
    """One worker process of ``script`` on ``folder`` with ``src`` first on the path."""
    env = dict(os.environ, PYTHONPATH=str(src))
    done = subprocess.run(
        [sys.executable, script, "--worker", "--photos", str(folder)],
        env=env, capture_output=True, text=True, timeout=timeout_s, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def alternate(
    script: str, base: str, rounds: int, folder: Path, timeout_s: float
) -> tuple[list[Round], list[Round]]:
    """Rounds of the base revision and of the working tree, the first of each pair
    alternating, so neither always meets the busier minute."""
    if not any(folder.glob("*.jpg")):
        sys.exit(f"no photos in {folder}: run benchmarks/run.py --sets 12 once to make them")
    with tempfile.TemporaryDirectory(prefix="deid-ab-") as tmp:
        order: list[tuple[list[Round], Path]] = [([], export(base, Path(tmp))), ([], ROOT / "src")]
        for i in range(rounds):
            for runs, src in order if i % 2 == 0 else order[::-1]:
                runs.append(one_round(script, src, folder, timeout_s))
    return order[0][0], order[1][0]


def ratios(rounds: list[Round]) -> tuple[float, float]:
    """Median stage time / F over every photo of every round: by wall clock, by CPU."""
    samples = [s for r in rounds for s in r.values()]
    wall = statistics.median(s["wall"] / s["floor_wall"] for s in samples)
    cpu = statistics.median(s["cpu"] / s["floor_cpu"] for s in samples)
    return wall, cpu


def add_arguments(parser: argparse.ArgumentParser, rounds: int) -> None:
    parser.add_argument("--base", default="HEAD", help="revision to compare with (git)")
    parser.add_argument("--rounds", type=int, default=rounds, help="rounds of each, alternating")
    parser.add_argument("--photos", type=Path, default=PHOTOS, help="folder of 12 MP JPEGs")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)


def warm_floor(paths: list[Path], floor: Callable[[Path], object]) -> None:
    for _ in range(WARM_UP):
        floor(paths[0])
