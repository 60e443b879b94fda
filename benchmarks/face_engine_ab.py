"""Face stage speed by BlazeFace engine, in one process, in alternating rounds.

The face stage of the working tree on the same 12 MP photos with its BlazeFace calls
(whole frame, small-face tiles, second looks) on one engine and then the other, in
ABBA order per photo, each time set against the Pillow floor F (decode + quality 95
encode of the same file) measured just before it. The rest of the stage is the same
code, so the difference is the engine's. Prints the median ratio by wall clock and
by CPU time (this process's threads summed, which holds on a loaded machine where the
wall clock does not) and the faces found, which must agree.

    .venv/bin/python benchmarks/face_engine_ab.py --rounds 2 --a tasks --b onnxruntime
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ab_rounds import PHOTOS, warm_floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=Path, default=PHOTOS, help="folder of 12 MP JPEGs")
    parser.add_argument("--rounds", type=int, default=2, help="ABBA rounds per photo")
    parser.add_argument("--a", default="tasks", help="engine A (BlazeFace backend)")
    parser.add_argument("--b", default="onnxruntime", help="engine B (BlazeFace backend)")
    parser.add_argument("--only", default="", help="photos whose name contains this")
    args = parser.parse_args()

    import numpy as np
    from PIL import Image

    from deid.config import Config
    from deid.faces.blazeface import BlazeFace
    from deid.faces.detector import FrontalDetector
    from deid.models import ModelStore
    from deid.stages.faces import WEAK_TILE_SCORE, FaceStage

    config = Config().faces
    store = ModelStore()
    stage = FaceStage(config, store)
    short = store.read("face_detection_short_range")
    full = store.read("face_detection_full_range_sparse")
    weak = min(config.min_score, WEAK_TILE_SCORE)
    loaded: list[BlazeFace] = []

    def detector(backend: str) -> FrontalDetector:
        def model(data: bytes, name: str, score: float) -> BlazeFace:
            # The short-range model may only run on Tasks: the first engine that loads.
            for engine in (backend, "auto"):
                try:
                    loaded.append(BlazeFace(data, name, score, backend=engine))  # type: ignore[arg-type]
                    return loaded[-1]
                except Exception:
                    continue
            raise RuntimeError(f"no engine for {name}")

        tiles = [model(full, "full", weak) for _ in range(max(1, config.threads))]
        return FrontalDetector(
            model(short, "short", config.min_score), model(full, "full", config.min_score), tiles
        )

    engines = {args.a: detector(args.a), args.b: detector(args.b)}
    print("engines:", {k: v.full_range.backend for k, v in engines.items()})

    def floor(path: Path) -> tuple[float, float, np.ndarray]:
        wall, cpu = time.perf_counter(), time.process_time()
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        rgb.save(io.BytesIO(), "JPEG", quality=95)
        return time.perf_counter() - wall, time.process_time() - cpu, np.asarray(rgb)

    paths = [p for p in sorted(args.photos.glob("*.jpg")) if args.only in p.name]
    warm_floor(paths, floor)
    ratios: dict[str, list[tuple[float, float]]] = {args.a: [], args.b: []}
    faces: dict[str, dict[str, int]] = {args.a: {}, args.b: {}}
    try:
        for path in paths:
            for _ in range(args.rounds):
                for name in (args.a, args.b, args.b, args.a):
                    f_wall, f_cpu, pixels = min((floor(path) for _ in range(2)), key=lambda r: r[1])
                    pixels.setflags(write=False)
                    stage.frontal = engines[name]
                    wall, cpu = time.perf_counter(), time.process_time()
                    found = stage.find(pixels)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    ratios[name].append((wall / f_wall, cpu / f_cpu))
                    faces[name][path.name] = len(found)
    finally:
        stage.close()
        for model in loaded:
            model.close()
    print(f"face stage, {len(paths)} photos, {args.rounds} ABBA rounds each")
    for name, values in ratios.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"  {name:12s} faces / F: wall {wall:5.2f}, CPU {cpu:5.2f}")
    differ = sorted(p for p in faces[args.a] if faces[args.a][p] != faces[args.b].get(p))
    print("  faces found differ on: " + (", ".join(differ) if differ else "none"))


if __name__ == "__main__":
    main()
