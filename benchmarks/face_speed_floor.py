"""How fast can the small-face pass be? The floor set by the detector's own compute.

Finding faces down to 32 px in a 12 MP frame means showing the detector the frame at
half size (a 32 px face must be 16 px of a 192 px BlazeFace input), then at a quarter
and an eighth for larger faces, plus one level at two thirds for grey and toned faces
in a colour frame. This script counts the tiles that takes with no tile skipped and
measures what one tile costs on the stage's own detector graphs (both threads busy):
the least the recall passes can cost on a frame where the gate can skip nothing (busy,
skin-coloured or black-and-white scenes). score_faces.py prints it as a
ratio to its Pillow baseline, measured in the same process: a fresh process decodes
and encodes a 12 MP JPEG about 40 % slower for its first dozen round trips, so a
baseline taken here would flatter the ratio.

    .venv/bin/python benchmarks/face_speed_floor.py
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from skimage import data

from deid.config import Config
from deid.faces.detector import FrontalDetector
from deid.models import ModelStore
from deid.stages.faces import FaceStage

W, H = 4000, 3000
REPEATS = 4
TIMED_TILES = 240


def tiles_needed(stage: FaceStage, colour: bool) -> int:
    """Tiles of the ungated pyramid for a 12 MP frame (counted, not run)."""
    image = cv2.resize(data.astronaut(), (W, H))
    if not colour:
        image = np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    image.setflags(write=False)
    plan = stage.plan()
    plan = type(plan)(plan.rotations, True, plan.min_face_px, gate_tiles=False)
    counted: list[int] = []
    original = FrontalDetector._tile

    def count(self, crop, *args):  # type: ignore[no-untyped-def]
        counted.append(1)
        return [], []

    FrontalDetector._tile = count  # type: ignore[method-assign]
    try:
        stage.frontal.tiles(image, plan, [])
    finally:
        FrontalDetector._tile = original  # type: ignore[method-assign]
    return len(counted)


def tile_seconds(stage: FaceStage) -> float:
    """Seconds per 192 px tile with every detector graph of the stage busy."""
    tile = np.ascontiguousarray(cv2.resize(data.astronaut(), (192, 192)))
    detector = stage.frontal

    def run(_i: int) -> object:
        return detector._tile(tile, 1.0, 0, 0, 192, 192)

    with ThreadPoolExecutor(stage.config.threads) as pool:
        list(pool.map(run, range(20)))
        best = float("inf")
        for _ in range(REPEATS):
            start = time.perf_counter()
            list(pool.map(run, range(TIMED_TILES)))
            best = min(best, (time.perf_counter() - start) / TIMED_TILES)
    return best


def floor(stage: FaceStage) -> tuple[float, int, int]:
    """(seconds per tile, tiles for a colour frame, tiles for a black-and-white frame)."""
    return tile_seconds(stage), tiles_needed(stage, True), tiles_needed(stage, False)


def main() -> None:
    config = Config()
    stage = FaceStage(config.faces, ModelStore())
    try:
        per_tile, colour, grey = floor(stage)
    finally:
        stage.close()
    print("small-face pass floor, 12 MP frame, faces from", config.faces.min_face_px, "px")
    print(f"  BlazeFace full-range per tile, {config.faces.threads} threads busy: "
          f"{per_tile * 1000:.2f} ms")  # fmt: skip
    for name, n in (("colour", colour), ("black-and-white", grey)):
        print(f"  {name:16s}: {n} tiles ungated -> {n * per_tile:.3f} s")
    print("  (score_faces.py sets these against Pillow in the same run)")


if __name__ == "__main__":
    main()
