"""Explicit stage registry: one line per stage, imported lazily.

Lazy imports keep ``import deid`` and metadata-only runs free of the heavy model
stacks (MediaPipe, Tesseract) until a pipeline actually asks for them.

Extension point: a name in ``config.stages`` of the form ``"package.module:factory"``
is a plugin stage, built by calling ``factory(config, models)``. The built-in
registry stays an explicit list; plugins are named by import path so a batch's
spawned worker processes can build the same stage from the settings alone.
"""

from __future__ import annotations

import importlib
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


def resolve(name: str) -> StageFactory:
    """The factory for a built-in stage name or a ``"package.module:factory"`` plugin.

    Importing without building lets a batch check every stage name before it starts
    worker processes.
    """
    factory = REGISTRY.get(name)
    if factory is not None:
        return factory
    module_name, sep, attr = name.partition(":")
    if not sep or not module_name or not attr:
        known = ", ".join(sorted(REGISTRY))
        raise ConfigError(
            f"stages: unknown stage {name!r} (known: {known}, or a plugin 'package.module:factory')"
        )
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(
            f"stages: plugin {name!r} could not be imported ({type(exc).__name__}: {exc})"
        ) from exc
    plugin = getattr(module, attr, None)
    if not callable(plugin):
        raise ConfigError(f"stages: plugin module {module_name!r} has no factory {attr!r}")
    return plugin  # type: ignore[no-any-return]


def build_stages(config: Config, models: ModelStore) -> list[Stage]:
    stages: list[Stage] = []
    for name in config.stages:
        stage = resolve(name)(config, models)
        if not isinstance(stage, Stage):
            raise ConfigError(f"stages: {name!r} did not build a stage (needs name and run)")
        stages.append(stage)
    return stages


__all__ = ["REGISTRY", "Context", "Stage", "StageFactory", "VerifyingStage", "build_stages",
           "resolve"]  # fmt: skip
