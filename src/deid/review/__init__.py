"""A review page for human sign-off: ``OUT_DIR/review.html``, every image of a batch.

Images needing review come first, then failed ones. The page links the de-identified
outputs by relative path (never copies them), draws the report's boxes over them, and
lets a reviewer mark each image approved or rejected and export those marks as a
sign-off file. It holds only PHI-free names, statuses, reason codes and masked values,
so it can be opened on any workstation, unless originals are embedded on request
(``--review-originals``), which its title and header then say.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .. import io
from .entries import ReviewEntry, load_entries
from .originals import embed_originals
from .page import render_page

REVIEW_PAGE = "review.html"


def write_review(
    out_dir: Path,
    items: list[dict[str, object]],
    *,
    originals: Mapping[str, Path] | None = None,
) -> Path:
    """Write ``out_dir/review.html`` from batch items (``vars(BatchItem)``), atomically.

    ``originals`` maps an item's ``report`` to its input file; given only when the
    user asked for originals on the page.
    """
    entries = load_entries(out_dir, items)
    if originals is not None:
        embedded = embed_originals(originals)
        for entry in entries:
            entry.original = embedded.get(entry.report)
    path = out_dir / REVIEW_PAGE
    page = render_page(entries, originals=originals is not None)
    io.write_atomic(path, page.encode("utf-8"))
    return path


__all__ = ["REVIEW_PAGE", "ReviewEntry", "write_review"]
