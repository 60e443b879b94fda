"""A review page for human sign-off: every image of a batch, its status and why.

Only de-identified outputs are shown (linked, never copied or embedded) and only
PHI-free names and report sentences are printed, so the page can be opened on
any workstation. Images needing review come first.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from . import io

_ORDER = {"needs_review": 0, "failed": 1, "redacted": 2, "clean": 3}
_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:8px;
vertical-align:top;text-align:left}img{max-width:240px;max-height:180px}
.needs_review{background:#fff4d6}.failed{background:#fde2e2}.status{font-weight:600}
"""


def write_review(out_dir: Path, items: list[dict[str, object]]) -> Path:
    """Write ``OUT_DIR/review.html`` from batch items (see ``BatchItem``)."""
    rows = []
    ordered = sorted(items, key=lambda i: (_ORDER.get(str(i["status"]), 9), str(i["report"])))
    for item in ordered:
        report_path = out_dir / str(item["report"])
        summary = ""
        if report_path.is_file():
            summary = json.loads(report_path.read_text("utf-8")).get("summary", "")
        out = item.get("output")
        image = f'<a href="{_attr(out)}"><img src="{_attr(out)}" alt=""></a>' if out else ""
        rows.append(
            f'<tr class="{_attr(item["status"])}"><td>{image}</td>'
            f"<td>{html.escape(str(item['input']))}</td>"
            f'<td class="status">{html.escape(str(item["status"]))}</td>'
            f"<td>{html.escape(str(summary))}</td>"
            f'<td><a href="{_attr(item["report"])}">report</a></td></tr>'
        )
    counts: dict[str, int] = {}
    for item in items:
        counts[str(item["status"])] = counts.get(str(item["status"]), 0) + 1
    heading = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>deid review</title>"
        f"<style>{_STYLE}</style></head><body><h1>deid review</h1><p>{html.escape(heading)}."
        " Publish only images you have looked at; rows needing review come first.</p>"
        "<table><tr><th>output</th><th>input</th><th>status</th><th>what was done</th>"
        f"<th></th></tr>{''.join(rows)}</table></body></html>"
    )
    path = out_dir / "review.html"
    io.write_atomic(path, page.encode("utf-8"))
    return path


def _attr(value: object) -> str:
    return html.escape(str(value), quote=True)


__all__ = ["write_review"]
