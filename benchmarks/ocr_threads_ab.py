"""RapidOCR crops read on one thread against the process's thread share, alternating.

The crops are the ones the text stage sends the engine for a 12 MP photo (first pass,
re-reads and verification); each round reads all of them once with OpenCV (and so the
engine) allowed one thread, and once with ``--threads``, in alternating order. Prints
the medians by wall clock and CPU time and checks that the words are the same.

    .venv/bin/python benchmarks/ocr_threads_ab.py --rounds 8
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

from ab_rounds import PHOTOS
from stage_timing import run_and_verify


def stage_crops(path: Path) -> list[np.ndarray]:
    """The crops the text stage reads for ``path``, in the order it reads them."""
    from deid import io as deid_io
    from deid.config import Config
    from deid.stages.base import Context
    from deid.stages.text import TextStage

    config = Config()
    stage = TextStage(config.text)
    crops: list[np.ndarray] = []
    read = stage.engine.read

    def keep(batch):  # type: ignore[no-untyped-def]
        crops.extend(c.copy() for c in batch)
        return read(batch)

    stage.engine.read = keep  # type: ignore[method-assign]
    try:
        loaded = deid_io.load(str(path), config.input)
        run_and_verify(
            stage,
            loaded.frame.pixels,
            Context(config=config, source=loaded.source, frame=loaded.frame),
        )
    finally:
        stage.close()
    return crops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photo", type=Path, default=PHOTOS / "caption_4000x3000_s0_003.jpg")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from deid.text.ocr.rapidocr import RapidOcrEngine

    crops = stage_crops(args.photo)
    engine = RapidOcrEngine()
    before = cv2.getNumThreads()
    times: dict[int, list[tuple[float, float]]] = {1: [], args.threads: []}
    words: dict[int, object] = {}
    try:
        for i in range(args.rounds):
            for n in (1, args.threads) if i % 2 == 0 else (args.threads, 1):
                cv2.setNumThreads(n)
                wall, cpu = time.perf_counter(), time.process_time()
                words[n] = engine.read(crops)
                times[n].append((time.perf_counter() - wall, time.process_time() - cpu))
    finally:
        cv2.setNumThreads(before)
        engine.close()
    print(f"{len(crops)} crops of {args.photo.name}, {args.rounds} alternating rounds")
    for n, samples in times.items():
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        print(f"  {n} thread(s): wall {wall:.2f} s, CPU {cpu:.2f} s")
    pairs = zip(times[1], times[args.threads], strict=True)
    gain = statistics.median(a[0] / b[0] for a, b in pairs)
    print(f"  one thread / {args.threads}, wall, median per round: {gain:.2f}")
    print("  words: " + ("same" if words[1] == words[args.threads] else "DIFFER"))


if __name__ == "__main__":
    main()
