"""The metadata layer: what identifying, non-pixel content a file carries, and removal.

``inventory`` lists it by category (names and sizes only, never values);
``strip_lossless`` removes it from JPEG, PNG and WebP without touching the
compressed image data; ``plain_icc`` is the policy for the one thing outputs may
keep, a plain colour profile. Everything here parses bytes defensively and
never raises on corrupt input: what cannot be parsed is reported as
``unparsed`` so that the pipeline treats it as unsafe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from . import bmp, gif, heif, jpeg, png, tiff, webp
from .icc import plain_icc
from .items import CATEGORIES, ICC, UNPARSED, MetadataItem, unparsed
from .sniff import sniff

logger = logging.getLogger(__name__)

_INVENTORY: dict[str, Callable[[bytes], list[MetadataItem]]] = {
    "jpeg": jpeg.inventory,
    "png": png.inventory,
    "webp": webp.inventory,
    "tiff": tiff.inventory,
    "bmp": bmp.inventory,
    "gif": gif.inventory,
    "heif": heif.inventory,
}
_STRIP: dict[str, Callable[..., bytes | None]] = {
    "jpeg": jpeg.strip,
    "png": png.strip,
    "webp": webp.strip,
}


def inventory(data: bytes) -> tuple[MetadataItem, ...]:
    """Everything identifying or non-pixel in ``data``, by category; () for a clean file."""
    data = bytes(data)
    container = sniff(data)
    if container is None:
        return (unparsed("unknown container", len(data)),)
    try:
        return _bounded(_INVENTORY[container](data))
    except Exception as exc:  # corrupt input must yield a report item, never a crash
        logger.debug("metadata inventory of a %s failed: %s", container, type(exc).__name__)
        return (unparsed(f"{container} structure", len(data)),)


MAX_ITEMS = 100  # per category; the rest is summed into one item


def _bounded(items: list[MetadataItem]) -> tuple[MetadataItem, ...]:
    """At most ``MAX_ITEMS`` items per category, then one item for the rest.

    A 4 MB PNG can hold 200,000 text chunks: listed one by one they would make a
    report of tens of megabytes and minutes of schema validation per image.
    """
    kept: list[MetadataItem] = []
    rest: dict[str, list[MetadataItem]] = {}
    seen: dict[str, int] = {}
    for item in items:
        seen[item.category] = seen.get(item.category, 0) + 1
        if seen[item.category] <= MAX_ITEMS:
            kept.append(item)
        else:
            rest.setdefault(item.category, []).append(item)
    for category, more in rest.items():
        tags = sorted({t for i in more for t in i.tags})
        kept.append(MetadataItem(category, f"{len(more)} more {category} items",
                                 tuple(tags[:MAX_ITEMS]), sum(i.bytes for i in more)))  # fmt: skip
    return tuple(kept)


def strip_lossless(data: bytes, *, keep_icc: bool) -> bytes | None:
    """``data`` with all metadata removed and image data untouched; None if not possible.

    None means the container is not handled here (TIFF, HEIF, BMP, GIF), the file
    is not sound enough to rewrite, or dropping EXIF would change how it displays
    (orientation other than 1): the caller then re-encodes. A result is returned
    only if its own inventory is clean, so this never hands back anything that
    still carries metadata.
    """
    data = bytes(data)
    container = sniff(data)
    strip = _STRIP.get(container or "")
    if strip is None:
        return None
    try:
        out = strip(data, keep_icc=keep_icc)
    except Exception as exc:  # same fail-safe contract as inventory
        logger.debug("lossless strip of a %s failed: %s", container, type(exc).__name__)
        return None
    if out is None:
        return None
    leftover = [i.category for i in inventory(out) if i.category != ICC or not keep_icc]
    if leftover:
        logger.warning("lossless strip left metadata categories %s; re-encoding", leftover)
        return None
    return out


__all__ = [
    "CATEGORIES",
    "ICC",
    "UNPARSED",
    "MetadataItem",
    "inventory",
    "plain_icc",
    "sniff",
    "strip_lossless",
]
