"""What the review page knows about each image, read from the batch items and reports.

Only PHI-free fields are copied: the output name, status, reason codes, the report's
summary sentence, boxes, categories, masked values and timings. Reason messages are
left out on purpose: a decoder's error text may quote a path, and the page is meant to
be opened on any workstation. Reports are read defensively (a missing or damaged
report still gives an entry), because the page must list every image of the batch.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

#: Images a person has to look at come first, then the ones that were not written.
STATUS_ORDER = {"needs_review": 0, "failed": 1, "redacted": 2, "clean": 3}

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class FaceMark:
    """A face as the page draws it: the obscured box and eyes, and the oral region kept."""

    box: Box
    eyes: list[Box]
    oral: list[tuple[int, int]] | None
    action: str
    role: str | None
    #: "escalated" when verification found this face still visible and obscured it.
    verification: str = ""


@dataclass(frozen=True)
class TextMark:
    """A text finding: where, which category, and its masked value (never the text)."""

    box: Box
    category: str
    masked: str
    action: str


@dataclass
class ReviewEntry:
    """One image on the page; ``sha256`` (of the output) ties a sign-off to the exact
    pixels approved, so a rerun that changes an output drops its mark."""

    name: str
    status: str
    report: str
    image: str | None
    reasons: list[str] = field(default_factory=list)
    summary: str = ""
    sha256: str | None = None
    size: tuple[int, int] | None = None
    faces: list[FaceMark] = field(default_factory=list)
    text: list[TextMark] = field(default_factory=list)
    metadata: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    resumed: bool = False
    original: str | None = None

    @property
    def categories(self) -> list[str]:
        """Filterable categories: each text category, and ``face`` for faces."""
        found = {t.category for t in self.text}
        if self.faces:
            found.add("face")
        return sorted(found)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["categories"] = self.categories
        return data


def load_entries(out_dir: Path, items: list[dict[str, object]]) -> list[ReviewEntry]:
    """Entries in review order: needs_review, failed, then the rest, by name."""
    entries = [_entry(out_dir, item) for item in items]
    entries.sort(key=lambda e: (STATUS_ORDER.get(e.status, 9), e.name))
    return entries


def _entry(out_dir: Path, item: dict[str, object]) -> ReviewEntry:
    report_rel = str(item["report"])
    report = _read_report(out_dir / report_rel)
    output = report.get("output") if isinstance(report.get("output"), dict) else {}
    image = item.get("output")
    entry = ReviewEntry(
        name=_output_name(report_rel),
        status=str(item["status"]),
        report=report_rel,
        image=str(image) if image else None,
        reasons=[str(code) for code in _list(item.get("reasons"))],
        summary=str(report.get("summary", "")),
        sha256=str(output["sha256"]) if output and image and output.get("sha256") else None,
        resumed=bool(item.get("resumed", False)),
    )
    if image:
        entry.size = _output_size(report.get("input"))
    entry.faces = [f for f in map(_face, _list(report.get("faces"))) if f is not None]
    entry.text = [t for t in map(_text, _list(report.get("text"))) if t is not None]
    metadata = report.get("metadata") if isinstance(report.get("metadata"), dict) else {}
    entry.metadata = [str(c) for c in _list(metadata.get("removed"))]
    timings = report.get("timings_ms") if isinstance(report.get("timings_ms"), dict) else {}
    entry.timings = {str(k): round(float(v), 1) for k, v in timings.items() if _number(v)}
    return entry


def _read_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _output_name(report_rel: str) -> str:
    """The PHI-free output name (the report is named after it, also when nothing was
    written); the input's own name may carry PHI and is never shown."""
    p = PurePosixPath(report_rel)
    rel = PurePosixPath(*p.parts[1:]) if len(p.parts) > 1 else p
    return str(rel)[: -len(".json")] if str(rel).endswith(".json") else str(rel)


def _output_size(info: object) -> tuple[int, int] | None:
    """Output pixels are the upright input, and the report's input size is already the
    upright one; the page lays the image out with it before the image has loaded."""
    if not isinstance(info, dict):
        return None
    width, height = info.get("width"), info.get("height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return (width, height)
    return None


def _face(data: object) -> FaceMark | None:
    if not isinstance(data, dict) or (box := _box(data.get("box"))) is None:
        return None
    eyes = [b for b in map(_box, _list(data.get("eye_boxes"))) if b is not None]
    oral = _polygon(data.get("oral_region"))
    role = data.get("role")
    return FaceMark(box, eyes, oral, str(data.get("action", "")), str(role) if role else None,
                    str(data.get("verification") or ""))  # fmt: skip


def _text(data: object) -> TextMark | None:
    if not isinstance(data, dict) or (box := _box(data.get("box"))) is None:
        return None
    category = str(data.get("category", "text"))
    return TextMark(box, category, str(data.get("masked", "")), str(data.get("action", "")))


def _box(value: object) -> Box | None:
    if not isinstance(value, list | tuple) or len(value) != 4 or not all(map(_number, value)):
        return None
    left, top, right, bottom = (round(float(v)) for v in value)
    return (left, top, right, bottom)


def _polygon(value: object) -> list[tuple[int, int]] | None:
    points = []
    for point in _list(value):
        if isinstance(point, list | tuple) and len(point) == 2 and all(map(_number, point)):
            points.append((round(float(point[0])), round(float(point[1]))))
    return points if len(points) >= 3 else None


def _number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
