"""CPU time of one small-face tile (192 px) on each BlazeFace engine, same process.

The tiles are most of the face stage's cost, and CPU time is the figure that holds on
a shared machine (a loaded scheduler favours the engine whose threads sleep often, so
wall clock misleads). Engines alternate within each round; prints every round.

    .venv/bin/python benchmarks/blazeface_tile_cpu.py --rounds 3
"""

from __future__ import annotations

import argparse
import time

import cv2
from skimage import data

from deid.faces.blazeface import BlazeFace
from deid.models import ModelStore

ENGINES = ("tasks", "onnxruntime", "opencv")
CALLS = 40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    model = ModelStore().read("face_detection_full_range_sparse")
    tile = cv2.resize(data.coffee(), (192, 192), interpolation=cv2.INTER_AREA)
    engines = {}
    for name in ENGINES:
        try:
            engines[name] = BlazeFace(model, "full", 0.3, backend=name)  # type: ignore[arg-type]
        except Exception as exc:  # e.g. Tasks on MediaPipe 0.10.20-0.10.32
            print(f"{name}: does not load ({type(exc).__name__})")
    runs: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(args.rounds):
        for name, engine in engines.items():
            for _ in range(3):
                engine.detect(tile)
            cpu = time.process_time()
            for _ in range(CALLS):
                engine.detect(tile)
            runs[name].append((time.process_time() - cpu) / CALLS * 1000)
    for name, values in runs.items():
        print(f"{name:12s} CPU ms per tile: " + ", ".join(f"{v:.2f}" for v in values))
    for engine in engines.values():
        engine.close()


if __name__ == "__main__":
    main()
