"""How fast can the small-face pass be? The floor set by the detector's own compute.

Finding faces down to 32 px in a 12 MP frame means showing the detector the frame at
half size (a 32 px face must be 16 px of a 192 px BlazeFace input), then at a quarter
and an eighth for larger faces. This script counts the tiles that takes with no tile
skipped, measures what one tile costs on the stage's own detector graphs (both
threads busy), and sets that against a Pillow decode + encode of a 12 MP JPEG measured
in the same run. The result is the least the recall passes can cost on a frame where
the gate can skip nothing (busy, skin-coloured or black-and-white scenes).

    .venv/bin/python benchmarks/face_speed_floor.py
"""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from PIL import Image
from skimage import data

from deid.config import Config
from deid.faces.detector import FrontalDetector
from deid.models import ModelStore
from deid.stages.faces import FaceStage

W, H = 4000, 3000
REPEATS = 4
TIMED_TILES = 240


def camera_like_jpeg() -> bytes:
    """A 12 MP JPEG with sensor-like grain (what the dev set's timed files are like)."""
    rng = np.random.default_rng(1)
    base = cv2.resize(data.astronaut(), (W, H), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    grain = rng.normal(0.0, 4.0, (H, W, 1)).astype(np.float32)
    pixels = np.clip(base + grain, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def pillow_roundtrip(jpeg: bytes) -> float:
    start = time.perf_counter()
    with Image.open(io.BytesIO(jpeg)) as im:
        pixels = np.asarray(im.convert("RGB"))
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=95, subsampling=0)
    return time.perf_counter() - start


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
        return []

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
    with ThreadPoolExecutor(stage.config.threads) as pool:
        list(pool.map(lambda _i: detector._tile(tile, 1.0, 0, 0, 192, 192), range(20)))
        best = float("inf")
        for _ in range(REPEATS):
            start = time.perf_counter()
            list(pool.map(lambda _i: detector._tile(tile, 1.0, 0, 0, 192, 192), range(TIMED_TILES)))
            best = min(best, (time.perf_counter() - start) / TIMED_TILES)
    return best


def main() -> None:
    config = Config()
    stage = FaceStage(config.faces, ModelStore())
    try:
        jpeg = camera_like_jpeg()
        baseline = min(pillow_roundtrip(jpeg) for _ in range(REPEATS))
        per_tile = tile_seconds(stage)
        colour, grey = tiles_needed(stage, True), tiles_needed(stage, False)
    finally:
        stage.close()
    print("small-face pass floor, 12 MP frame, faces from", config.faces.min_face_px, "px")
    print(f"  Pillow decode+encode of a 12 MP JPEG ({len(jpeg) / 1e6:.1f} MB): {baseline:.3f} s")
    print(f"  BlazeFace full-range per tile, {config.faces.threads} threads busy : "
          f"{per_tile * 1000:.2f} ms")  # fmt: skip
    for name, n in (("colour", colour), ("black-and-white", grey)):
        floor = n * per_tile
        print(f"  {name:16s}: {n} tiles ungated -> {floor:.3f} s, "
              f"{floor / baseline:.2f}x the Pillow baseline before anything else runs")  # fmt: skip


if __name__ == "__main__":
    main()
