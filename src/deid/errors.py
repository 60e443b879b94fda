"""Error hierarchy.

Every message is written for a clinic's IT person and never carries PHI: no file
contents, metadata values or OCR text, only codes, categories and tag names.
"""

from __future__ import annotations


class DeidError(Exception):
    """Base class; ``code`` is a short machine-readable reason used in reports."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InputError(DeidError):
    """The input cannot be processed safely (corrupt, unsupported, too large...)."""

    code = "bad_input"


class ConfigError(DeidError):
    """The configuration is invalid; we never fall back to defaults silently."""

    code = "bad_config"


class ModelError(DeidError):
    """A pinned model file is missing or does not match its sha256."""

    code = "model_unavailable"


class StageError(DeidError):
    """A pipeline stage could not complete; the image is failed, never written."""

    code = "stage_failed"


class WorkerStartError(DeidError):
    """A batch worker could not build its pipeline, so the batch stops at once.

    Start-up failures come from the installation, settings or model files, never from
    an image, so waiting or retrying cannot help; the message names the cause and the
    fix in one line.
    """

    code = "worker_start_failed"


class ImageTimeout(DeidError):
    """An image ran past ``batch.image_timeout_s``; it is failed, never written."""

    code = "timeout"
