"""Plugin stages that misbehave, for the fail-closed tests (``"fail_closed_stages:raises"``).

Each misbehaves only on images whose name contains its marker word (``bad``), so the
other images of the same batch show that the batch went on and kept their outputs.
Every other image gets a real edit (a filled box), so it is re-encoded and written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from deid.errors import StageError
from deid.stages.base import Context
from deid.types import Box, Edit, StageResult

MARKER = "bad"


class _Misbehaving:
    def __init__(self, name: str, bad: Callable[[np.ndarray, Context], Any]) -> None:
        self.name, self.bad = name, bad

    def run(self, image: np.ndarray, context: Context) -> Any:
        if MARKER in (context.name or ""):
            return self.bad(image, context)
        return StageResult(edits=(Edit(Box(0, 0, 8, 8), color=(1, 2, 3)),))


class _MisbehavingVerify(_Misbehaving):
    """Runs cleanly, then breaks in ``verify`` (a verifying stage)."""

    def run(self, image: np.ndarray, context: Context) -> Any:
        return StageResult(edits=(Edit(Box(0, 0, 8, 8), color=(1, 2, 3)),))

    def verify(self, image: np.ndarray, context: Context, first: StageResult) -> Any:
        if MARKER in (context.name or ""):
            return self.bad(image, context)
        return StageResult()


def _raise(exc: BaseException) -> Callable[[np.ndarray, Context], Any]:
    def bad(image: np.ndarray, context: Context) -> Any:
        raise exc

    return bad


def raises(config: Any, models: Any) -> _Misbehaving:
    return _Misbehaving("raises", _raise(RuntimeError("onnxruntime: bad allocation")))


def raises_deid_error(config: Any, models: Any) -> _Misbehaving:
    return _Misbehaving("raises_deid_error", _raise(StageError("detector gave up")))


def raises_memory_error(config: Any, models: Any) -> _Misbehaving:
    return _Misbehaving("raises_memory_error", _raise(MemoryError()))


def returns_none(config: Any, models: Any) -> _Misbehaving:
    return _Misbehaving("returns_none", lambda image, context: None)


def returns_wrong_type(config: Any, models: Any) -> _Misbehaving:
    return _Misbehaving("returns_wrong_type", lambda image, context: {"edits": []})


def bad_mask_shape(config: Any, models: Any) -> _Misbehaving:
    """An edit whose soft mask does not match its box."""
    mask = np.ones((3, 5), np.float32)
    return _Misbehaving("bad_mask_shape",
                        lambda image, context: StageResult(edits=(Edit(Box(0, 0, 9, 9),
                                                                       mask=mask),)))  # fmt: skip


def bad_edit_method(config: Any, models: Any) -> _Misbehaving:
    edit = Edit(Box(0, 0, 9, 9), method="smudge")  # type: ignore[arg-type]
    return _Misbehaving("bad_edit_method", lambda image, context: StageResult(edits=(edit,)))


def bad_findings(config: Any, models: Any) -> _Misbehaving:
    """Findings that are not findings (no ``kind``, no ``to_report``)."""
    return _Misbehaving("bad_findings",
                        lambda image, context: StageResult(findings=(object(),)))  # type: ignore[arg-type]  # fmt: skip


def verify_raises(config: Any, models: Any) -> _MisbehavingVerify:
    return _MisbehavingVerify("verify_raises", _raise(ValueError("landmarks out of range")))


def verify_returns_none(config: Any, models: Any) -> _MisbehavingVerify:
    return _MisbehavingVerify("verify_returns_none", lambda image, context: None)


def model_read_each_image(config: Any, models: Any) -> _Misbehaving:
    """A stage that (re)loads a pinned model file for every image, like a lazy runtime:
    deleting the file mid-run must fail the images that come after, nothing else."""

    class Lazy(_Misbehaving):
        def run(self, image: np.ndarray, context: Context) -> Any:
            path = models.path("haarcascade_frontalface_default")
            with open(path, "rb") as fh:  # the file is gone once the test deletes it
                fh.read(16)
            if not os.path.getsize(path):
                raise StageError("empty model file")
            return StageResult(edits=(Edit(Box(0, 0, 8, 8), color=(1, 2, 3)),))

    return Lazy("model_read_each_image", lambda image, context: None)


FAULTS = (
    "raises",
    "raises_deid_error",
    "raises_memory_error",
    "returns_none",
    "returns_wrong_type",
    "bad_mask_shape",
    "bad_edit_method",
    "bad_findings",
    "verify_raises",
    "verify_returns_none",
)


def raises_with_phi(config: Any, models: Any) -> _Misbehaving:
    """On images named *after*, raises an exception whose message quotes PHI (as an OCR
    library might), taken from ``$DEID_PHI_MESSAGE``: reports and logs must not copy it."""

    class Quoting(_Misbehaving):
        def run(self, image: np.ndarray, context: Context) -> Any:
            if "after" in (context.name or ""):
                raise RuntimeError(f"could not parse line {os.environ['DEID_PHI_MESSAGE']!r}")
            return StageResult()

    return Quoting("raises_with_phi", lambda image, context: None)
