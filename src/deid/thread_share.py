"""Each batch worker's share of the cores, in every library of the pipeline that
starts threads.

Left alone, every worker process sizes its thread pools to the whole machine: OpenCV's
pool (cascades, resizes, the face mesh network) takes one thread per core, and so would
libtesseract's OpenMP. One worker then runs on more than one core, and two workers on
two cores run pools whose threads wait for each other's cores: on the 2-core machine,
two workers spent a fifth more CPU time per photo (50 s against 41 s for 24 photos of
2 MP) than with one OpenCV thread each. So each of ``n`` workers gets ``cores // n``
threads (at least one) everywhere; a single worker keeps the whole machine.

Threads change speed only, never an output (the tiles, cascades and OCR crops are
independent), so the share is not part of the settings digest. In-process runs are not
touched: the embedding program owns its process-wide thread settings.

RapidOCR's onnxruntime sessions already run on one thread (``text/ocr/rapidocr.py``),
and MediaPipe's graphs run their calculators one at a time, so neither needs a share.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .config import Config

# libgomp reads it once, when libtesseract first loads it (the engine is built after
# the share is applied). RapidOCR, the default engine, does not use OpenMP.
_OPENMP_LIMIT = "OMP_THREAD_LIMIT"


@dataclass(frozen=True)
class ThreadShare:
    """Threads one worker process may use in each library."""

    threads: int

    @classmethod
    def of(cls, workers: int, cores: int) -> ThreadShare:
        """An even split of ``cores`` between ``workers`` processes, at least one each."""
        return cls(max(1, cores // max(1, workers)))

    def limit(self, config: Config) -> Config:
        """``config`` with the face stage's tile threads capped at the share (a lower
        setting is kept: it was asked for)."""
        threads = min(config.faces.threads, self.threads)
        if threads == config.faces.threads:
            return config
        return config.replace(faces={"threads": threads})

    def apply(self) -> None:
        """Cap this process's thread pools; call in a worker before its models load."""
        import cv2

        cv2.setNumThreads(self.threads)
        os.environ[_OPENMP_LIMIT] = str(self.threads)


__all__ = ["ThreadShare"]
