"""Container detection from the first bytes, independent of file names.

A file called ``.jpg`` may be a PNG; the inventory must parse what the bytes
are, not what the name claims.
"""

from __future__ import annotations

from .heif import BRANDS


def sniff(data: bytes) -> str | None:
    """One of jpeg, png, webp, tiff, bmp, gif, heif; None for anything else."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP" and len(data) >= 12:
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"BM"):
        return "bmp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[4:8] == b"ftyp" and _heif_brand(data):
        return "heif"
    return None


def _heif_brand(data: bytes) -> bool:
    size = int.from_bytes(data[:4], "big")
    ftyp = data[8 : min(len(data), max(16, size))]
    brands = {ftyp[i : i + 4] for i in range(0, len(ftyp) - 3, 4)}
    return bool(brands & BRANDS)
