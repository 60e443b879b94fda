"""Value types shared by the stages: boxes, decoded frames, findings and edits.

Stages exchange these instead of pixels-by-side-effect so that detectors can run
in any order, be re-run for verification, and never modify their input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

EditMethod = Literal["pixelate", "blur", "fill"]


@dataclass(frozen=True, slots=True)
class Box:
    """Axis-aligned pixel box; ``right``/``bottom`` are exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def pad(self, px: int) -> Box:
        return Box(self.left - px, self.top - px, self.right + px, self.bottom + px)

    def clip(self, width: int, height: int) -> Box:
        return Box(
            min(max(self.left, 0), width),
            min(max(self.top, 0), height),
            min(max(self.right, 0), width),
            min(max(self.bottom, 0), height),
        )

    def intersection(self, other: Box) -> Box:
        return Box(
            max(self.left, other.left),
            max(self.top, other.top),
            min(self.right, other.right),
            min(self.bottom, other.bottom),
        )

    def iou(self, other: Box) -> float:
        inter = self.intersection(other).area
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def slices(self) -> tuple[slice, slice]:
        """(rows, cols) slices, for indexing an ``(H, W, ...)`` array."""
        return slice(self.top, self.bottom), slice(self.left, self.right)

    def to_list(self) -> list[int]:
        return [self.left, self.top, self.right, self.bottom]

    @classmethod
    def from_xywh(cls, x: float, y: float, w: float, h: float) -> Box:
        return cls(round(x), round(y), round(x + w), round(y + h))


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded, upright image.

    ``pixels`` is always ``(H, W, 3)`` uint8 RGB, read-only, with EXIF orientation
    already applied, so every detector sees what a viewer would show.
    ``alpha`` (if any) is kept aside and re-attached on output.
    ``mode`` is the colour model the output is written in ("RGB" or "L").
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    mode: Literal["RGB", "L"] = "RGB"

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True, eq=False)
class Edit:
    """A pixel change a stage asks for; only ``redact.apply`` performs it.

    ``mask`` (optional) is float32 ``(box.height, box.width)`` in [0, 1]; 1 means
    fully replaced, fractions give a soft boundary. ``size`` is the pixelate block
    or blur sigma in pixels; ``color`` is the fill colour.
    """

    box: Box
    method: EditMethod = "fill"
    mask: np.ndarray | None = None
    size: int = 0
    color: tuple[int, int, int] = (0, 0, 0)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an image is not plain ``clean``/``redacted``: a code plus a PHI-free sentence."""

    code: str
    message: str
    stage: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "stage": self.stage, "message": self.message}


class Finding(Protocol):
    """A report entry produced by a stage. ``kind`` picks the report section."""

    kind: Literal["face", "text", "metadata"]

    def to_report(self) -> Mapping[str, Any]: ...


Polygon = np.ndarray
"""``(N, 2)`` float array of (x, y) vertices in full-resolution pixel coordinates."""


@dataclass(frozen=True, eq=False)
class StageResult:
    """What a stage returns: report findings, requested edits and review flags.

    ``keep_regions`` are polygons later stages must treat as clinically important
    (the oral region), e.g. the text stage only redacts high-confidence PHI there.
    """

    findings: tuple[Finding, ...] = ()
    edits: tuple[Edit, ...] = ()
    keep_regions: tuple[Polygon, ...] = ()
    review: tuple[Reason, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
