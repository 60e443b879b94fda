"""Per-image report: dataclasses, JSON, and validation against the shipped schema.

The report is what a clinic keeps as evidence of de-identification, so it records
categories, tag names, boxes and masked values, and never a metadata value, OCR
string, GPS coordinate or a file name that carried PHI.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from ._version import __version__
from .types import Reason

SCHEMA_VERSION = 1
Status = Literal["clean", "redacted", "needs_review", "failed"]


@dataclass
class InputInfo:
    path: str | None = None
    path_masked: bool = False
    sha256: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    bytes: int | None = None
    mode: str | None = None
    orientation: int | None = None
    conversions: list[str] = field(default_factory=list)


@dataclass
class OutputInfo:
    sha256: str
    format: str
    encoding: Literal["lossless-strip", "re-encoded"]
    bytes: int
    quality: int | None = None
    path: str | None = None


@dataclass
class MetadataSummary:
    found: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    orientation_applied: int = 1


@dataclass
class ImageReport:
    status: Status
    input: InputInfo
    output: OutputInfo | None = None
    reasons: list[Reason] = field(default_factory=list)
    summary: str = ""
    metadata: MetadataSummary = field(default_factory=MetadataSummary)
    faces: list[dict[str, Any]] = field(default_factory=list)
    text: list[dict[str, Any]] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    ocr: str | None = None
    stages: list[str] = field(default_factory=list)
    config_digest: str = ""
    deid_version: str = __version__
    consent: dict[str, Any] | None = None  # only when the consent gate ran

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "deid_version": self.deid_version,
            "config_digest": self.config_digest,
            "models": dict(self.models),
            "ocr": self.ocr,
            "stages": list(self.stages),
            "input": asdict(self.input),
            "output": asdict(self.output) if self.output else None,
            "status": self.status,
            "reasons": [r.to_dict() for r in self.reasons],
            "summary": self.summary,
            "metadata": asdict(self.metadata),
            "faces": list(self.faces),
            "text": list(self.text),
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }
        if self.consent is not None:
            data["consent"] = dict(self.consent)
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("deid").joinpath("data/report.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(schema())


def validate(report: dict[str, Any]) -> list[str]:
    """Schema problems as PHI-free strings (JSON paths and rule names, no values)."""
    return schema_problems(_validator(), report)


def schema_problems(validator: Any, document: dict[str, Any]) -> list[str]:
    """What ``validator`` finds wrong, as JSON paths and rule names: a value may be PHI."""
    problems = []
    for err in validator.iter_errors(document):
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        problems.append(f"{where}: violates '{err.validator}'")
    return problems


def summarise(report: ImageReport) -> str:
    """One PHI-free sentence a person can read in a review list."""
    parts = []
    if report.status == "failed":
        codes = ", ".join(r.code for r in report.reasons) or "error"
        return f"Not written: {codes}."
    if report.metadata.removed:
        parts.append("removed metadata (" + ", ".join(report.metadata.removed) + ")")
    if report.metadata.orientation_applied != 1:
        parts.append(f"applied orientation {report.metadata.orientation_applied}")
    if report.faces:
        parts.append(f"{len(report.faces)} face(s) obscured")
    if report.text:
        cats = sorted({str(t.get("category")) for t in report.text})
        parts.append(f"{len(report.text)} text region(s) redacted ({', '.join(cats)})")
    if not parts:
        parts.append("nothing identifying found")
    skipped = [s for s in ("faces", "text") if s not in report.stages]
    if skipped:
        parts.append(" and ".join(skipped) + " not checked")
    sentence = "; ".join(parts)
    if report.status == "needs_review":
        sentence += "; needs review: " + ", ".join(r.code for r in report.reasons)
        # Where verification still read PHI (boxes only, never the text).
        late = [t["box"] for t in report.text if t.get("action") == "redacted_on_verify"]
        if late:
            sentence += "; check the text at " + ", ".join(
                f"x={b[0]}-{b[2]} y={b[1]}-{b[3]}" for b in late[:5]
            )
    return sentence[0].upper() + sentence[1:] + "."


__all__ = ["SCHEMA_VERSION", "ImageReport", "InputInfo", "MetadataSummary", "OutputInfo",
           "Status", "schema", "summarise", "validate"]  # fmt: skip
