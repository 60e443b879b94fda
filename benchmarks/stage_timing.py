"""Run one stage the way the pipeline does (run, apply edits, verify, apply) and time it.

Scorers measure a stage on its own (decode and encode excluded), so they need the
pipeline's run-and-verify step without the rest of the pipeline.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from deid import redact
from deid.stages.base import Context
from deid.types import StageResult


def run_and_verify(
    stage: Any, image: np.ndarray, context: Context
) -> tuple[np.ndarray, StageResult, StageResult, float]:
    """(redacted pixels, first result, verification result, seconds)."""
    start = time.perf_counter()
    result = stage.run(image, context)
    out = redact.apply(image, result.edits) if result.edits else image
    checked = stage.verify(out, context, result)
    if checked.edits:
        out = redact.apply(out, checked.edits)
    return out, result, checked, time.perf_counter() - start
