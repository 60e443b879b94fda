"""The report entry for one face (no PHI: geometry, scores and decisions only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from ..types import Box


@dataclass(frozen=True, eq=False)
class FaceFinding:
    box: Box
    score: float
    detector: str
    action: str  # obscured_except_oral | obscured_full | skipped_no_eyes
    landmarks_ok: bool = False
    eye_boxes: tuple[Box, ...] = ()
    eyes_obscured: bool | None = None
    oral_region: np.ndarray | None = None
    fallback: str | None = None
    verification: str | None = None
    role: str = "subject"  # subject | bystander
    kind: Literal["face"] = "face"

    def with_verification(self, status: str) -> FaceFinding:
        return replace(self, verification=status)

    def to_report(self) -> Mapping[str, Any]:
        oral = None
        if self.oral_region is not None:
            oral = [[round(float(x), 1), round(float(y), 1)] for x, y in self.oral_region]
        return {
            "box": self.box.to_list(),
            "score": round(float(self.score), 3),
            "detector": self.detector,
            "landmarks_ok": self.landmarks_ok,
            "eye_boxes": [b.to_list() for b in self.eye_boxes],
            "eyes_obscured": self.eyes_obscured,
            "oral_region": oral,
            "action": self.action,
            "fallback": self.fallback,
            "verification": self.verification,
            "role": self.role,
        }
