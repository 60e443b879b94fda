"""PNG chunks: inventory and lossless strip.

PNG keeps metadata in ancillary chunks (text, eXIf, tIME, iCCP, private chunks)
and sometimes after IEND. Image data (IDAT) is copied unchanged, so the strip
is lossless; kept chunks are copied with their CRCs.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .exif import exif_items
from .icc import plain_icc
from .items import (
    EXIF,
    ICC,
    IPTC,
    PNG_CHUNK,
    PNG_TEXT,
    PNG_TIME,
    TRAILER,
    XMP,
    MetadataItem,
    unparsed,
)
from .trailer import trailer_label
from .xmp import xmp_tags

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks that describe pixels or colour (no free text), kept by the strip.
STRUCTURAL = frozenset(
    {
        b"IHDR",
        b"PLTE",
        b"IDAT",
        b"IEND",
        b"tRNS",
        b"gAMA",
        b"cHRM",
        b"sRGB",
        b"sBIT",
        b"pHYs",
        b"bKGD",
        b"hIST",
        b"cICP",
        b"mDCv",
        b"cLLi",
        b"acTL",
        b"fcTL",
        b"fdAT",
    }
)
_CRITICAL = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})
_TEXT = frozenset({b"tEXt", b"zTXt", b"iTXt"})
# Keywords reported by name; any other keyword is reported as "custom" because a
# keyword is free Latin-1 text and could itself be a name.
_KNOWN_KEYWORDS = frozenset(
    {
        "Title",
        "Author",
        "Description",
        "Copyright",
        "Creation Time",
        "Software",
        "Disclaimer",
        "Warning",
        "Source",
        "Comment",
        "XML:com.adobe.xmp",
        "Raw profile type exif",
        "Raw profile type APP1",
        "Raw profile type xmp",
        "Raw profile type iptc",
        "Raw profile type 8bim",
        "Raw profile type icc",
        "date:create",
        "date:modify",
        "date:timestamp",
        "parameters",
        "prompt",
        "workflow",
    }
)
_KNOWN_ANCILLARY = frozenset(
    {b"sPLT", b"oFFs", b"pCAL", b"sCAL", b"sTER", b"dSIG", b"caBX", b"gIFg", b"gIFx", b"iDOT"}
    | {b"vpAg", b"orNT", b"fRAc", b"cpIp", b"mkBF", b"mkTS", b"mkBS", b"mkBT", b"prVW"}
)
_MAX_INFLATE = 32 * 1024 * 1024
ICC_NAME = b"ICC Profile"


@dataclass(frozen=True, slots=True)
class Chunk:
    type: bytes
    start: int  # offset of the length field
    data_start: int
    data_end: int
    end: int  # after the CRC
    crc_ok: bool


def parse(data: bytes) -> tuple[list[Chunk], int | None, str | None]:
    """Chunks up to IEND, the offset after IEND (None if missing) and any problem."""
    chunks: list[Chunk] = []
    pos = len(SIGNATURE)
    while pos < len(data):
        if pos + 12 > len(data):
            return chunks, None, "truncated chunk"
        length, ctype = struct.unpack_from(">I4s", data, pos)
        data_end = pos + 8 + length
        if length > 0x7FFFFFFF or data_end + 4 > len(data) or not ctype.isalpha():
            return chunks, None, "chunk out of bounds"
        (crc,) = struct.unpack_from(">I", data, data_end)
        crc_ok = zlib.crc32(data[pos + 4 : data_end]) == crc
        chunks.append(Chunk(ctype, pos, pos + 8, data_end, data_end + 4, crc_ok))
        pos = data_end + 4
        if ctype == b"IEND":
            return chunks, pos, None
    return chunks, None, "missing IEND"


def _inflate(blob: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(blob, _MAX_INFLATE)
    if inflater.unconsumed_tail:
        raise ValueError("text chunk inflates beyond the limit")
    return out


def _keyword(raw: bytes) -> str:
    name = raw.decode("latin-1")
    return name if name in _KNOWN_KEYWORDS else "custom"


def _raw_profile(text: bytes) -> bytes:
    """Decode ImageMagick's 'Raw profile type' text: name, length, then hex digits."""
    parts = text.split(b"\n", 3)
    if len(parts) < 4:
        raise ValueError("bad raw profile")
    return bytes.fromhex(parts[3].decode("ascii").replace("\n", "").strip())


def _text_items(ctype: bytes, body: bytes, location: str) -> list[MetadataItem]:
    raw_key, _, rest = body.partition(b"\x00")
    key = raw_key.decode("latin-1")
    tag = _keyword(raw_key)
    text = b""
    try:
        if ctype == b"tEXt":
            text = rest
        elif ctype == b"zTXt":
            text = _inflate(rest[1:])
        else:
            compressed = rest[:1] == b"\x01"
            _lang, _, rest2 = rest[2:].partition(b"\x00")
            _translated, _, payload = rest2.partition(b"\x00")
            text = _inflate(payload) if compressed else payload
    except (ValueError, zlib.error):
        return [MetadataItem(PNG_TEXT, location, (tag,), len(body)), unparsed(location)]
    if key == "XML:com.adobe.xmp":
        return [MetadataItem(XMP, location, xmp_tags(text), len(body))]
    if key in ("Raw profile type exif", "Raw profile type APP1"):
        try:
            return exif_items(_raw_profile(text), location)
        except ValueError:
            return [MetadataItem(EXIF, location, (), len(body))]
    if key == "Raw profile type xmp":
        return [MetadataItem(XMP, location, (), len(body))]
    if key in ("Raw profile type iptc", "Raw profile type 8bim"):
        return [MetadataItem(IPTC, location, (), len(body))]
    if key == "Raw profile type icc":
        return [MetadataItem(ICC, location, (), len(body))]
    return [MetadataItem(PNG_TEXT, location, (tag,), len(body))]


def _iccp_profile(body: bytes) -> bytes:
    _name, _, rest = body.partition(b"\x00")
    return _inflate(rest[1:])


def _chunk_items(data: bytes, chunk: Chunk) -> list[MetadataItem]:
    body = data[chunk.data_start : chunk.data_end]
    name = chunk.type.decode("ascii")
    items: list[MetadataItem] = []
    if not chunk.crc_ok:
        items.append(unparsed(f"{name} (bad CRC)", len(body)))
    if chunk.type in STRUCTURAL:
        return items
    if chunk.type in _TEXT:
        return items + _text_items(chunk.type, body, name)
    if chunk.type == b"eXIf":
        return items + exif_items(body, "eXIf")
    if chunk.type == b"tIME":
        return [*items, MetadataItem(PNG_TIME, "tIME", (), len(body))]
    if chunk.type == b"iCCP":
        return [*items, MetadataItem(ICC, "iCCP", (), len(body))]
    if chunk.type[0:1].isupper():  # unknown critical chunk: a decoder cannot skip it
        return [*items, unparsed(f"critical chunk {name}", len(body))]
    # Chunk types are four free letters; only registered ones are named in reports.
    location = name if chunk.type in _KNOWN_ANCILLARY else "private chunk"
    return [*items, MetadataItem(PNG_CHUNK, location, (), len(body))]


def inventory(data: bytes) -> list[MetadataItem]:
    chunks, end, problem = parse(data)
    items: list[MetadataItem] = []
    for chunk in chunks:
        items += _chunk_items(data, chunk)
    if problem is not None:
        cut = chunks[-1].end if chunks else len(SIGNATURE)
        items.append(unparsed(f"PNG structure ({problem})", len(data) - cut))
    elif end is not None and end < len(data):
        rest = data[end:]
        items.append(MetadataItem(TRAILER, f"after IEND: {trailer_label(rest)}", (), len(rest)))
    return items


def _chunk(ctype: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(ctype + body)
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", crc)


def strip(data: bytes, *, keep_icc: bool) -> bytes | None:
    """Keep pixel and colour chunks byte-identical; None if the file is not sound."""
    chunks, end, problem = parse(data)
    if problem is not None or end is None:
        return None
    out = [SIGNATURE]
    for chunk in chunks:
        if not chunk.crc_ok:
            return None
        if chunk.type == b"fdAT":
            # Animation frame data that the decoder did not show the detectors (an acTL
            # that undercounts its frames): copying it would publish unchecked pixels.
            return None
        if chunk.type in STRUCTURAL:
            out.append(data[chunk.start : chunk.end])
        elif chunk.type == b"iCCP" and keep_icc:
            body = data[chunk.data_start : chunk.data_end]
            try:
                profile = _iccp_profile(body)
            except (ValueError, zlib.error):
                continue
            if plain_icc(profile):
                # The profile name is free text: replace it with a fixed one.
                compressed = body.partition(b"\x00")[2]
                out.append(_chunk(b"iCCP", ICC_NAME + b"\x00" + compressed))
        elif chunk.type[0:1].isupper():
            return None  # unknown critical chunk: dropping it would break decoding
    return b"".join(out)
