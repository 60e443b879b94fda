"""WebP (RIFF) chunks: inventory and lossless strip.

Metadata sits in EXIF, ``XMP `` and ICCP chunks announced by flags in VP8X.
The strip drops those chunks, clears their flags and fixes the RIFF size; the
VP8/VP8L/ALPH bitstreams are copied unchanged. A file with an ANMF frame is never
stripped (re-encoded instead): only single images get this far, so such a frame
holds pixels the detectors did not see.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .exif import exif_items
from .icc import plain_icc
from .items import ICC, TRAILER, WEBP_CHUNK, XMP, MetadataItem, unparsed
from .trailer import trailer_label
from .xmp import xmp_tags

STRUCTURAL = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"})
FLAG_ICC = 0x20
FLAG_EXIF = 0x08
FLAG_XMP = 0x04


@dataclass(frozen=True, slots=True)
class Chunk:
    fourcc: bytes
    start: int
    data_start: int
    data_end: int
    end: int  # including the pad byte


def parse(data: bytes) -> tuple[list[Chunk], int, str | None]:
    """Chunks inside the RIFF, the RIFF end offset, and any problem."""
    (riff_size,) = struct.unpack_from("<I", data, 4)
    riff_end = 8 + riff_size
    if riff_end > len(data):
        return [], len(data), "RIFF size beyond the file"
    chunks: list[Chunk] = []
    pos = 12
    while pos < riff_end:
        if pos + 8 > riff_end:
            return chunks, riff_end, "truncated chunk header"
        fourcc, size = struct.unpack_from("<4sI", data, pos)
        data_end = pos + 8 + size
        if data_end > riff_end:
            return chunks, riff_end, "chunk out of bounds"
        end = min(riff_end, data_end + (size & 1))
        chunks.append(Chunk(fourcc, pos, pos + 8, data_end, end))
        pos = end
    return chunks, riff_end, None


# Chunk ids are four free bytes; only known ones are named in reports.
_KNOWN = frozenset({b"FRGM", b"IDAT", b"C2PA", b"JUMB", b"caBX"})


def _name(fourcc: bytes) -> str:
    return fourcc.decode("ascii").strip() if fourcc in _KNOWN else "private chunk"


def inventory(data: bytes) -> list[MetadataItem]:
    chunks, riff_end, problem = parse(data)
    items: list[MetadataItem] = []
    for chunk in chunks:
        body = data[chunk.data_start : chunk.data_end]
        if chunk.fourcc in STRUCTURAL:
            continue
        if chunk.fourcc == b"EXIF":
            items += exif_items(body, "EXIF")
        elif chunk.fourcc == b"XMP ":
            items.append(MetadataItem(XMP, "XMP", xmp_tags(body), len(body)))
        elif chunk.fourcc == b"ICCP":
            items.append(MetadataItem(ICC, "ICCP", (), len(body)))
        else:
            items.append(MetadataItem(WEBP_CHUNK, _name(chunk.fourcc), (), len(body)))
    if problem is not None:
        items.append(unparsed(f"WebP structure ({problem})", len(data) - riff_end))
    elif riff_end < len(data):
        rest = data[riff_end:]
        items.append(MetadataItem(TRAILER, f"after RIFF: {trailer_label(rest)}", (), len(rest)))
    return items


def strip(data: bytes, *, keep_icc: bool) -> bytes | None:
    chunks, _, problem = parse(data)
    if problem is not None or not chunks:
        return None
    kept: list[bytes] = []
    icc_kept = False
    for chunk in chunks:
        body = data[chunk.data_start : chunk.data_end]
        if chunk.fourcc == b"ANMF":
            # Multi-frame inputs are refused before this, so an animation frame here is
            # one the decoder did not show the detectors: never copy it unchecked.
            return None
        if chunk.fourcc in STRUCTURAL:
            kept.append(data[chunk.start : chunk.end])
        elif chunk.fourcc == b"ICCP" and keep_icc and plain_icc(body):
            kept.append(data[chunk.start : chunk.end])
            icc_kept = True
    if kept and kept[0][:4] == b"VP8X":
        header = bytearray(kept[0])
        flags = header[8] & ~(FLAG_ICC | FLAG_EXIF | FLAG_XMP)
        header[8] = flags | (FLAG_ICC if icc_kept else 0)
        kept[0] = bytes(header)
    elif icc_kept:
        return None  # an ICCP chunk needs VP8X; the input was malformed
    body = b"WEBP" + b"".join(kept)
    return b"RIFF" + struct.pack("<I", len(body)) + body
