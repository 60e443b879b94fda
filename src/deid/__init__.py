"""deid: offline de-identification of clinical photos.

Metadata is stripped (orientation applied first), faces are obscured except the
oral region, burned-in PHI text is redacted, and every image gets a PHI-free report.

    import deid
    with deid.Pipeline(deid.Config()) as pipe:
        result = pipe.process("photo.jpg")      # path, bytes, PIL image or ndarray
        if result.ok:
            result.save("out/photo.jpg")
        print(result.status, result.report.to_json())

    result = deid.compose("before.jpg", "after.jpg", labels=("術前", "術後"))
    if result.ok:                               # both sides clean or redacted
        result.save("out/before_after.jpg")
"""

from __future__ import annotations

import logging

from ._version import __version__
from .composer import ComposeResult, compose
from .config import Config, FaceConfig, InputConfig, MetadataConfig, OutputConfig, TextConfig
from .consent import ConsentGate
from .errors import ConfigError, DeidError, InputError, ModelError, StageError
from .pipeline import Pipeline, Result, process_file
from .report import ImageReport

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ComposeResult",
    "Config",
    "ConfigError",
    "ConsentGate",
    "DeidError",
    "FaceConfig",
    "ImageReport",
    "InputConfig",
    "InputError",
    "MetadataConfig",
    "ModelError",
    "OutputConfig",
    "Pipeline",
    "Result",
    "StageError",
    "TextConfig",
    "__version__",
    "compose",
    "process_file",
]
