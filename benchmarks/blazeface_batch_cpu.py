"""CPU and wall time per small-face tile on onnxruntime, one tile per call or batched.

The exported BlazeFace graph takes any batch (``onnx_export.py``), so the tiles of a
level could go through one ``session.run`` each 16-64 of them instead of one call per
tile. This prints what that costs: CPU and wall milliseconds per tile for each batch
size, in alternating rounds in one process, on a single-threaded session (the tile
pool's setting: one session per core) and, with ``--threads 2``, on one session using
both cores. It also decodes every batched result and compares it with the single-tile
result of the same tile: detections, largest score and box difference.

The tiles are 192 px squares cut from real photos (scikit-image's astronaut,
matplotlib's Grace Hopper and, when ``benchmarks/devset/cache`` holds them, the pinned
package photos), each at its own size and at half size, so faces of many sizes fall in
them, whole and cut by the tile edge.

    .venv/bin/python benchmarks/blazeface_batch_cpu.py --rounds 4
    .venv/bin/python benchmarks/blazeface_batch_cpu.py --rounds 4 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deid.faces.blazeface import RawDetection
from deid.faces.blazeface_dnn import NUM_KEYPOINTS, decode, letterbox, to_picture, weighted_nms
from deid.faces.blazeface_ort import OrtBlazeFace
from deid.models import ModelStore

SIDE = 192
STEP = 160
MIN_SCORE = 0.3  # the tile models' threshold (weak hits get a second look)
PACKAGE_PHOTOS = ("group", "solvay", "obama", "biden")


def photos() -> dict[str, np.ndarray]:
    import matplotlib.cbook
    from PIL import Image
    from skimage import data

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        grace = np.asarray(Image.open(f).convert("RGB"))
    found = {"astronaut": data.astronaut(), "grace_hopper": grace}
    from package_photos import CACHE, PHOTOS, _cached, photo

    for name in PACKAGE_PHOTOS:
        if name in PHOTOS and _cached(name, CACHE).exists():
            found[name] = photo(name)
    return found


def tiles_of(image: np.ndarray) -> list[np.ndarray]:
    out = []
    for scale in (1.0, 0.5):
        level = image if scale == 1.0 else cv2.resize(
            image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)  # fmt: skip
        h, w = level.shape[:2]
        for top in range(0, max(1, h - SIDE + 1), STEP):
            for left in range(0, max(1, w - SIDE + 1), STEP):
                tile = level[top : top + SIDE, left : left + SIDE]
                if tile.shape[:2] == (SIDE, SIDE):
                    out.append(np.ascontiguousarray(tile))
    return out


def decoded(engine: OrtBlazeFace, outputs: list[np.ndarray]) -> list[RawDetection]:
    """One tile's head outputs (batch of one) to detections, as ``OrtBlazeFace.detect``."""
    raw = [head.finish(out) for head, out in zip(engine._heads, outputs, strict=True)]
    regressors = next(r for r in raw if r.shape[-1] == 4 + 2 * NUM_KEYPOINTS)[0]
    logits = next(r for r in raw if r.shape[-1] == 1)[0, :, 0]
    found = weighted_nms(decode(regressors, logits, engine._anchors, SIDE, MIN_SCORE))
    return [to_picture(c, (0.0, 0.0, float(SIDE)), SIDE, SIDE) for c in found]


def run_batches(engine: OrtBlazeFace, tensors: list[np.ndarray], batch: int) -> list:
    """Head outputs per tile, ``batch`` tiles per ``session.run``."""
    names = [head.tensor for head in engine._heads]
    per_tile = []
    for start in range(0, len(tensors), batch):
        stacked = np.concatenate(tensors[start : start + batch])
        outputs = engine._session.run(names, {"input": stacked})
        per_tile += [[o[i : i + 1] for o in outputs] for i in range(len(stacked))]
    return per_tile


def compare(engine: OrtBlazeFace, tensors: list[np.ndarray], batch: int) -> str:
    single = [decoded(engine, o) for o in run_batches(engine, tensors, 1)]
    batched = [decoded(engine, o) for o in run_batches(engine, tensors, batch)]
    count_differs, score, box = 0, 0.0, 0.0
    for a, b in zip(single, batched, strict=True):
        if len(a) != len(b):
            count_differs += 1
            continue
        for x, y in zip(
            sorted(a, key=lambda d: d.box), sorted(b, key=lambda d: d.box), strict=True
        ):
            score = max(score, abs(x.score - y.score))
            box = max(box, float(np.abs(np.subtract(x.box, y.box)).max()))
    hits = sum(len(a) for a in single)
    return (
        f"batch {batch:3d} vs single: {hits} detections, tiles with another count "
        f"{count_differs}, max score difference {score:.2e}, max box difference {box:.1f} px"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = parser.parse_args()
    model = ModelStore().read("face_detection_full_range_sparse")
    engine = OrtBlazeFace(model, "full", MIN_SCORE)
    if args.threads != 1:
        import onnxruntime as ort

        from deid.faces.blazeface_ort import _exported

        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        engine._session = ort.InferenceSession(
            _exported(model).model, options, providers=["CPUExecutionProvider"]
        )
    pictures = photos()
    tiles = [t for image in pictures.values() for t in tiles_of(image)]
    tensors = [letterbox(t, SIDE)[0] for t in tiles]
    print(f"{len(tiles)} tiles of {SIDE} px from {', '.join(pictures)}; "
          f"onnxruntime intra-op threads {args.threads}")  # fmt: skip
    for batch in args.batches:
        if batch != 1:
            print("  " + compare(engine, tensors, batch))
    timed = tensors[:128]
    cpu: dict[int, list[float]] = {b: [] for b in args.batches}
    wall: dict[int, list[float]] = {b: [] for b in args.batches}
    for batch in args.batches:
        run_batches(engine, timed[: 2 * batch], batch)  # warm the session at this shape
    for i in range(args.rounds):
        for batch in args.batches if i % 2 == 0 else args.batches[::-1]:
            w, c = time.perf_counter(), time.process_time()
            run_batches(engine, timed, batch)
            cpu[batch].append((time.process_time() - c) / len(timed) * 1000)
            wall[batch].append((time.perf_counter() - w) / len(timed) * 1000)
    for batch in args.batches:
        print(
            f"  batch {batch:3d}: CPU ms per tile {statistics.median(cpu[batch]):.2f} "
            f"(rounds {', '.join(f'{v:.2f}' for v in cpu[batch])}), "
            f"wall {statistics.median(wall[batch]):.2f}"
        )
    engine.close()


if __name__ == "__main__":
    main()
