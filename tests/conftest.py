"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deid.config import Config
from deid.models import ModelStore
from deid.stages.faces import FaceStage


@pytest.fixture(scope="module")
def stage() -> Iterator[FaceStage]:
    """The face stage with the default settings, one per module (its models load once
    there). Modules about another stage define their own ``stage``."""
    s = FaceStage(Config().faces, ModelStore())
    yield s
    s.close()
