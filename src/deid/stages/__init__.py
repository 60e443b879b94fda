"""Explicit stage registry: one line per stage, imported lazily.

Lazy imports keep ``import deid`` and metadata-only runs free of the heavy model
stacks (MediaPipe, Tesseract) until a pipeline actually asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .base import Context, Stage, VerifyingStage

if TYPE_CHECKING:
    from ..config import Config
    from ..models import ModelStore

StageFactory = Callable[["Config", "ModelStore"], Stage]


def _metadata(config: Config, models: ModelStore) -> Stage:
    from .metadata import MetadataStage

    return MetadataStage(config.metadata)


def _faces(config: Config, models: ModelStore) -> Stage:
    from .faces import FaceStage

    return FaceStage(config.faces, models)


def _text(config: Config, models: ModelStore) -> Stage:
    from .text import TextStage

    return TextStage(config.text)


REGISTRY: dict[str, StageFactory] = {
    "metadata": _metadata,
    "faces": _faces,
    "text": _text,
}


def build_stages(config: Config, models: ModelStore) -> list[Stage]:
    stages: list[Stage] = []
    for name in config.stages:
        factory = REGISTRY.get(name)
        if factory is None:
            known = ", ".join(sorted(REGISTRY))
            raise ConfigError(f"stages: unknown stage {name!r} (known: {known})")
        stages.append(factory(config, models))
    return stages


__all__ = ["REGISTRY", "Context", "Stage", "StageFactory", "VerifyingStage", "build_stages"]
