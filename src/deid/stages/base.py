"""The stage contract.

A stage is a plain object built once per ``Pipeline`` (models loaded then) with one
method, ``run(image, context) -> StageResult``. It must not modify ``image`` (it is
read-only), must not write files or print, and signals failure by raising; the
pipeline turns any exception into status ``failed`` and writes no output (fail
closed). A stage that can check its own work on the redacted pixels also provides
``verify``; anything it returns is applied and recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from ..pyramid import Pyramid
from ..types import Frame, Polygon, StageResult

if TYPE_CHECKING:
    from ..config import Config
    from ..io import SourceInfo


@dataclass(frozen=True, eq=False)
class Context:
    """Read-only per-image information shared by all stages.

    ``keep_regions`` accumulates the regions earlier stages marked as clinically
    important (the oral region found by the face stage). ``pyramid`` holds the
    frame's reduced copies, built on first use and shared by all stages (one per
    image: contexts derived with ``dataclasses.replace`` keep it). It is the pyramid of
    ``frame``, the unredacted original: ``verify`` sees other pixels and must not use it.
    """

    config: Config
    source: SourceInfo
    frame: Frame
    name: str | None = None
    keep_regions: tuple[Polygon, ...] = ()
    pyramid: Pyramid = None  # type: ignore[assignment]  # made from ``frame`` when omitted

    def __post_init__(self) -> None:
        if self.pyramid is None:
            object.__setattr__(self, "pyramid", Pyramid(self.frame.pixels))


@runtime_checkable
class Stage(Protocol):
    name: str

    def run(self, image: np.ndarray, context: Context) -> StageResult: ...


@runtime_checkable
class VerifyingStage(Stage, Protocol):
    def verify(self, image: np.ndarray, context: Context, result: StageResult) -> StageResult:
        """Inspect the redacted ``image``; return extra edits and review reasons (or nothing)."""
        ...
