"""BlazeFace on OpenCV DNN against MediaPipe Tasks: the cost of the fallback.

MediaPipe 0.10.20 to 0.10.32 cannot run the full-range model through Tasks, so there
every tile runs on OpenCV DNN (``deid/faces/blazeface_dnn.py``). This prints, for each
model, the time of one ``detect`` on a 192 px tile and on a 640 px frame with each
engine, and the DNN/Tasks ratio; then one face stage run (detection, mesh, tiles and
verification) on a 12 MP photo with every detector on Tasks where it runs and on DNN.
The machine may be shared: engines alternate within each round and each figure is the
median over rounds, so load that comes and goes falls on both sides of a ratio.

    .venv/bin/python benchmarks/blazeface_engines.py
    .venv/bin/python benchmarks/blazeface_engines.py --rounds 9 --no-stage
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from unittest import mock

import cv2
import mediapipe
import numpy as np
from skimage import data

from deid.config import Config
from deid.faces import blazeface
from deid.faces.blazeface import TASKS_ERRORS, BlazeFace
from deid.models import ModelStore
from deid.stages.base import Context
from deid.stages.faces import FaceStage
from deid.types import Frame

MODELS = {"short": "face_detection_short_range", "full": "face_detection_full_range_sparse"}


def _mean_ms(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e3


def detect_costs(store: ModelStore, rounds: int) -> None:
    face = data.astronaut()
    pictures = {
        "tile 192": cv2.resize(face, (192, 192), interpolation=cv2.INTER_AREA),
        "frame 640": cv2.resize(face, (640, 640), interpolation=cv2.INTER_CUBIC),
    }
    for name, key in MODELS.items():
        model = store.read(key)
        engines = {"opencv": BlazeFace(model, name, 0.5, backend="opencv")}
        try:
            engines["tasks"] = BlazeFace(model, name, 0.5, backend="tasks")
        except TASKS_ERRORS:
            print(f"{name}: Tasks cannot run this model on mediapipe {mediapipe.__version__}")
        for label, picture in pictures.items():
            times: dict[str, list[float]] = {e: [] for e in engines}
            for engine in engines.values():
                engine.detect(picture)
            for r in range(rounds):
                order = list(engines) if r % 2 == 0 else list(reversed(engines))
                for e in order:
                    times[e].append(_mean_ms(functools.partial(engines[e].detect, picture), 10))
            medians = {e: statistics.median(t) for e, t in times.items()}
            line = f"{name} {label}: " + ", ".join(f"{e} {m:.1f} ms" for e, m in medians.items())
            if "tasks" in medians:
                line += f", opencv/tasks {medians['opencv'] / medians['tasks']:.2f}"
            print(line)
        for engine in engines.values():
            engine.close()


def _stage(backend: str) -> FaceStage:
    if backend == "auto":
        return FaceStage(Config().faces, ModelStore())
    original = BlazeFace.__init__

    def forced(self, model, name, min_score, backend_arg="auto"):  # type: ignore[no-untyped-def]
        original(self, model, name, min_score, backend=backend)

    with mock.patch.object(blazeface.BlazeFace, "__init__", forced):
        return FaceStage(Config().faces, ModelStore())


def stage_costs(rounds: int) -> None:
    face = cv2.resize(data.astronaut(), (600, 600), interpolation=cv2.INTER_AREA)
    image = np.full((3000, 4000, 3), 120, np.uint8)
    image[1200:1800, 1700:2300] = face
    # The astronaut again at 300 px: a face of about 60 px, which only the tiles find.
    image[300:600, 500:800] = cv2.resize(data.astronaut(), (300, 300), interpolation=cv2.INTER_AREA)
    image.setflags(write=False)
    stages = {"auto": _stage("auto"), "opencv": _stage("opencv")}
    engines = {k: s._full.backend for k, s in stages.items()}
    ctx = Context(config=Config(), source=None, frame=Frame(image))  # type: ignore[arg-type]

    def run(stage: FaceStage) -> int:
        result = stage.run(image, ctx)
        return len(result.findings)

    faces = {k: run(s) for k, s in stages.items()}
    times: dict[str, list[float]] = {k: [] for k in stages}
    for r in range(rounds):
        order = list(stages) if r % 2 == 0 else list(reversed(stages))
        for k in order:
            times[k].append(_mean_ms(functools.partial(run, stages[k]), 1))
    auto, dnn = (statistics.median(times[k]) for k in ("auto", "opencv"))
    print(
        f"face stage, 12 MP, {faces['auto']}/{faces['opencv']} faces: "
        f"auto (full-range on {engines['auto']}) {auto:.0f} ms, all opencv {dnn:.0f} ms, "
        f"ratio {dnn / auto:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-stage", action="store_true", help="only the detect calls")
    args = parser.parse_args()
    print(f"mediapipe {mediapipe.__version__}, opencv {cv2.__version__}")
    detect_costs(ModelStore(), args.rounds)
    if not args.no_stage:
        stage_costs(max(1, args.rounds // 2))


if __name__ == "__main__":
    main()
