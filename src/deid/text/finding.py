"""The report entry for one text region: box, category, masked value, decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..types import Box


@dataclass(frozen=True, eq=False)
class TextFinding:
    box: Box
    category: str
    recognizer: str
    confidence: float
    ocr_confidence: float
    masked: str
    action: str  # redacted | kept_in_oral_region | redacted_on_verify
    hipaa: str = ""
    pdpa: str = ""
    in_oral_region: bool = False
    kind: Literal["text"] = "text"

    def to_report(self) -> Mapping[str, Any]:
        return {
            "box": self.box.to_list(),
            "category": self.category,
            "recognizer": self.recognizer,
            "confidence": round(float(self.confidence), 3),
            "ocr_confidence": round(float(self.ocr_confidence), 3),
            "masked": self.masked,
            "action": self.action,
            "hipaa": self.hipaa,
            "pdpa": self.pdpa,
            "in_oral_region": self.in_oral_region,
        }
