"""A batch's own record: ``summary.json`` and ``summary.csv`` in the output folder.

The per-image table is rebuilt from the reports on disk, not from what this run
happened to see, so a resumed batch still lists every image with the numbers of
the run that produced it. Only PHI-free fields are copied: output names, status,
reason codes, counts of faces by action and of text by category, and timings.
"""

from __future__ import annotations

import csv
import io as stdio
import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import io

log = logging.getLogger(__name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Item(Protocol):
    input: str
    output: str | None
    report: str
    status: str
    reasons: list[str]
    resumed: bool


@dataclass
class StageTime:
    """One stage's time over the images this run processed (resumed ones took none)."""

    total_ms: float = 0.0
    images: int = 0
    max_ms: float = 0.0

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.images if self.images else 0.0

    def add(self, ms: float) -> None:
        self.total_ms += ms
        self.images += 1
        self.max_ms = max(self.max_ms, ms)


@dataclass
class BatchRecord:
    """What a batch was, for tracing outputs to code, settings and models."""

    deid_version: str
    config_digest: str
    backend: str
    workers: int
    counts: dict[str, int]
    total: int
    processed: int
    resumed: int
    withdrawn: int
    pending: int
    interrupted: bool
    wall_s: float
    images_per_s: float
    models: dict[str, str] = field(default_factory=dict)


@dataclass
class _Row:
    item: _Item
    faces: Counter[str]
    text: Counter[str]
    ms: dict[str, float]


def read_rows(dst: Path, items: Iterable[_Item]) -> tuple[list[_Row], dict[str, str]]:
    """Each item with the counts and timings of its report, and the models all used."""
    rows, models = [], {}
    for item in items:
        report = _load(dst / item.report)
        faces = Counter(str(f.get("action", "")) for f in report.get("faces") or [])
        text = Counter(str(t.get("category", "")) for t in report.get("text") or [])
        ms = {str(k): float(v) for k, v in (report.get("timings_ms") or {}).items()}
        models.update({str(k): str(v) for k, v in (report.get("models") or {}).items()})
        rows.append(_Row(item, faces, text, ms))
    return rows, dict(sorted(models.items()))


def stage_times(rows: Sequence[_Row]) -> dict[str, StageTime]:
    """Per-stage time of this run's images, slowest total first; ``total`` left out."""
    times: dict[str, StageTime] = {}
    for row in rows:
        if row.item.resumed:
            continue
        for stage, ms in row.ms.items():
            if stage != "total":
                times.setdefault(stage, StageTime()).add(ms)
    return dict(sorted(times.items(), key=lambda kv: -kv[1].total_ms))


def write_csv(dst: Path, rows: Sequence[_Row]) -> Path:
    """``summary.csv``: one row per image, one column per face action, text category
    and stage seen anywhere in the batch, so it opens as a plain spreadsheet."""
    actions = sorted({a for r in rows for a in r.faces})
    categories = sorted({c for r in rows for c in r.text})
    stages = sorted({s for r in rows for s in r.ms}, key=lambda s: (s == "total", s))
    buf = stdio.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["output", "input", "report", "status", "reasons", "resumed",
                  *(f"faces_{a}" for a in actions), *(f"text_{c}" for c in categories),
                  *(f"ms_{s}" for s in stages)])  # fmt: skip
    for row in rows:
        item = row.item
        cells: list[Any] = [item.output or "", item.input, item.report, item.status,
                            ";".join(item.reasons), int(item.resumed)]  # fmt: skip
        cells += [row.faces.get(a, 0) for a in actions]
        cells += [row.text.get(c, 0) for c in categories]
        cells += [f"{row.ms[s]:.1f}" if s in row.ms else "" for s in stages]
        out.writerow([_cell(c) for c in cells])
    path = dst / "summary.csv"
    io.write_atomic(path, buf.getvalue().encode("utf-8"))
    return path


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is quoted: names come from file names."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        log.warning("a report could not be read for the summary table")
        return {}
    return data if isinstance(data, dict) else {}


__all__ = ["BatchRecord", "StageTime", "read_rows", "stage_times", "write_csv"]
