"""The review page's HTML: one self-contained file from the template, style and script
shipped as package data, with the entries embedded as JSON.

Self-contained because the page is opened from a folder on a clinic workstation, often
offline: no CDN, no web fonts, and a Content-Security-Policy that forbids any request
except the output images next to it.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from typing import Any

from .entries import ReviewEntry

TITLE = "deid review"
ORIGINALS_TITLE = "deid review (ORIGINALS EMBEDDED: contains PHI)"
ORIGINALS_BANNER = (
    '<p class="originals-warning" id="originals-warning">This page embeds the original '
    "images, which contain PHI. Keep it where the originals are kept, do not send or "
    "publish it, and delete it after review.</p>"
)
_MARKER = re.compile(r"@@(?:TITLE|BANNER|STYLE|SCRIPT|DATA)@@")


def render_page(entries: list[ReviewEntry], *, originals: bool = False) -> str:
    """The page's HTML text."""
    title = ORIGINALS_TITLE if originals else TITLE
    data = {"title": title, "originals": originals, "entries": [e.to_json() for e in entries]}
    fields = {
        "@@TITLE@@": html.escape(title),
        "@@BANNER@@": ORIGINALS_BANNER if originals else "",
        "@@STYLE@@": _asset("review.css"),
        "@@SCRIPT@@": _asset("review.js"),
        "@@DATA@@": script_json(data),
    }
    # One pass over the template, so inserted text is never read as a placeholder.
    return _MARKER.sub(lambda m: fields[m.group(0)], _asset("review.html"))


def script_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``</script>``, ``<!--`` and the line
    separators JavaScript reads as line ends cannot occur in it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(raw, escaped)
    return text


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text("utf-8")
