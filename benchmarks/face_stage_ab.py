"""Face stage speed, one revision against the working tree, in alternating rounds.

On a shared machine a face-stage figure taken today cannot be set against one taken
yesterday, nor one revision's figure against another's taken minutes apart. This
script runs the face stage of a base revision (``git archive`` of its ``src/deid``)
and of the working tree on the same 12 MP photos, in alternating worker processes,
and sets each image's face-stage time against the Pillow floor F (decode + quality 95
encode of the same file) measured just before it in the same process. It prints the
median ratio by wall clock and by CPU time (the worker's threads summed, which holds
on a loaded machine where the wall clock does not), the tiles the small-face pass ran
and the faces found, which must agree unless the change is meant to alter detection.

    .venv/bin/python benchmarks/face_stage_ab.py --base HEAD~1 --rounds 3
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

WORKER_TIMEOUT_S = 1800


def worker(folder: Path) -> None:
    """One round in this process: the floor and the face stage for every photo."""
    import numpy as np
    from PIL import Image

    from deid.config import Config
    from deid.faces import detector
    from deid.models import ModelStore
    from deid.stages.faces import FaceStage

    stage = FaceStage(Config().faces, ModelStore())
    tiles = [0]
    run_tile = detector.FrontalDetector._tile

    def counted(self, *args):  # type: ignore[no-untyped-def]
        tiles[0] += 1
        return run_tile(self, *args)

    detector.FrontalDetector._tile = counted  # type: ignore[method-assign]

    def floor(path: Path) -> tuple[float, float, np.ndarray]:
        wall, cpu = time.perf_counter(), time.process_time()
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        rgb.save(io.BytesIO(), "JPEG", quality=95)
        return time.perf_counter() - wall, time.process_time() - cpu, np.asarray(rgb)

    paths = sorted(folder.glob("*.jpg"))
    warm_floor(paths, floor)
    out = {}
    try:
        for path in paths:
            f_wall, f_cpu, pixels = min((floor(path) for _ in range(2)), key=lambda r: r[1])
            pixels.setflags(write=False)
            tiles[0] = 0
            wall, cpu = time.perf_counter(), time.process_time()
            faces = stage.find(pixels)
            out[path.name] = {
                "floor_wall": f_wall, "floor_cpu": f_cpu,
                "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                "tiles": tiles[0], "faces": len(faces),
            }  # fmt: skip
    finally:
        stage.close()
    print(json.dumps(out))


def summary(name: str, rounds: list[Round]) -> dict[str, int]:
    samples = [s for r in rounds for s in r.values()]
    wall, cpu = ratios(rounds)
    tiles = statistics.mean(s["tiles"] for s in samples)
    print(f"  {name:12s} faces / F: wall {wall:5.2f}, CPU {cpu:5.2f}; tiles per photo {tiles:.0f}")
    # The same in seconds (the floor F itself as measured in this run), and the stage's
    # CPU over the tiles it ran: what a tile costs with its share of the rest.
    f_cpu = statistics.median(s["floor_cpu"] for s in samples)
    s_wall = statistics.median(s["wall"] for s in samples)
    s_cpu = statistics.median(s["cpu"] for s in samples)
    per_tile = sum(s["cpu"] for s in samples) / max(1, sum(s["tiles"] for s in samples))
    print(
        f"  {'':12s} per photo: wall {s_wall:.2f} s, CPU {s_cpu:.2f} s (F CPU {f_cpu:.3f} s); "
        f"stage CPU per tile {per_tile * 1000:.1f} ms"
    )
    return {photo: int(s["faces"]) for photo, s in rounds[-1].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser, rounds=3)
    args = parser.parse_args()
    if args.worker:
        worker(args.photos)
        return
    base, current = alternate(__file__, args.base, args.rounds, args.photos, WORKER_TIMEOUT_S)
    print(f"face stage, {len(base[0])} photos, {args.rounds} alternating rounds")
    before = summary(args.base, base)
    after = summary("working tree", current)
    differ = sorted(p for p in before if before[p] != after.get(p))
    print("  faces found differ on: " + (", ".join(differ) if differ else "none"))


if __name__ == "__main__":
    main()
