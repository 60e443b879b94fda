"""Originals for side-by-side review, only when asked for (``--review-originals``).

They are embedded as downscaled upright JPEG previews rather than linked: a link would
print the input's path, whose folder and file names may carry PHI, and would break as
soon as the page is moved. Upright (EXIF orientation applied, like the pipeline does)
so the report's boxes, which are in output pixels, line up on them too.
"""

from __future__ import annotations

import base64
import io as _bytesio
import logging
from collections.abc import Mapping
from pathlib import Path

from PIL import Image

from .. import io
from ..config import InputConfig
from ..errors import DeidError

log = logging.getLogger(__name__)

#: Long side of an embedded original: enough to compare with the output at screen size
#: while a page of a few hundred originals stays in the tens of megabytes.
PREVIEW_SIDE = 1600


def embed_originals(originals: Mapping[str, Path]) -> dict[str, str]:
    """Map each report path to a ``data:`` URI of its original; unreadable ones are left
    out (the page says the original could not be shown) and never stop the page."""
    embedded: dict[str, str] = {}
    failed = 0
    for report, source in originals.items():
        uri = preview_uri(source)
        if uri is None:
            failed += 1
        else:
            embedded[report] = uri
    if failed:
        log.warning("review page: %d original(s) could not be read and are not shown", failed)
    return embedded


def preview_uri(source: Path, side: int = PREVIEW_SIDE) -> str | None:
    try:
        loaded = io.load(source, InputConfig())
    except (DeidError, OSError, ValueError, MemoryError):
        return None
    frame = loaded.frame
    img = io.to_pil(frame.pixels, None, frame.mode).convert("RGB")
    img.thumbnail((side, side), Image.Resampling.LANCZOS)
    buf = _bytesio.BytesIO()
    img.save(buf, "JPEG", quality=85)
    # Same aspect as the output, so the page draws the report's boxes on it unchanged.
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
