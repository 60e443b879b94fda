"""Metadata stage: report what identifying content the input file carries.

The stage only inventories; removal happens when the pipeline writes the output
(lossless strip or re-encode), because that is where the bytes are produced.
Reading the original bytes rather than a decoded image is what lets it see
trailers, MPF images and thumbnails that decoders silently ignore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..metadata import inventory
from ..types import StageResult

if TYPE_CHECKING:
    from ..config import MetadataConfig
    from .base import Context


class MetadataStage:
    name = "metadata"

    def __init__(self, config: MetadataConfig) -> None:
        self.config = config

    def run(self, image: np.ndarray, context: Context) -> StageResult:
        data = context.source.data
        if not data:
            # In-memory images (arrays, PIL objects) have no container to inspect; the
            # pipeline still inventories the bytes it encodes before writing them.
            return StageResult()
        return StageResult(findings=inventory(data))
