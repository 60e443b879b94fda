"""GIF files: comment, plain-text and application extensions, and trailing bytes.

Comments and application extensions (XMP is stored as one) are metadata;
graphic control and the NETSCAPE/ANIMEXTS looping extensions only drive
animation and are structural. There is no lossless strip: GIF outputs are
re-encoded.
"""

from __future__ import annotations

from .items import COMMENT, GIF_EXTENSION, ICC, TRAILER, XMP, MetadataItem, unparsed
from .trailer import trailer_label

_LOOPING = frozenset({b"NETSCAPE2.0", b"ANIMEXTS1.0"})


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    while True:
        if pos >= len(data):
            raise ValueError("truncated sub-blocks")
        size = data[pos]
        pos += 1
        if size == 0:
            return pos
        pos += size


def inventory(data: bytes) -> list[MetadataItem]:
    items: list[MetadataItem] = []
    try:
        if len(data) < 13:
            raise ValueError("short header")
        flags = data[10]
        pos = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
        while True:
            if pos >= len(data):
                raise ValueError("missing trailer")
            block = data[pos]
            if block == 0x3B:
                pos += 1
                break
            if block == 0x2C:
                if pos + 10 > len(data):
                    raise ValueError("truncated image descriptor")
                local = data[pos + 9]
                pos += 10 + (3 * (2 << (local & 7)) if local & 0x80 else 0)
                pos = _skip_sub_blocks(data, pos + 1)  # after the LZW minimum code size
            elif block == 0x21:
                if pos + 2 > len(data):
                    raise ValueError("truncated extension")
                label = data[pos + 1]
                start = pos + 2
                end = _skip_sub_blocks(data, start)
                size = end - start
                if label == 0xFE:
                    items.append(MetadataItem(COMMENT, "comment extension", (), size))
                elif label == 0x01:
                    items.append(MetadataItem(GIF_EXTENSION, "plain text extension", (), size))
                elif label == 0xFF:
                    ident = data[start + 1 : start + 12] if start < len(data) else b""
                    if ident == b"XMP DataXMP":
                        items.append(MetadataItem(XMP, "application extension XMP", (), size))
                    elif ident == b"ICCRGBG1012":
                        items.append(MetadataItem(ICC, "application extension ICC", (), size))
                    elif ident not in _LOOPING:
                        items.append(MetadataItem(GIF_EXTENSION, "application extension", (), size))
                elif label != 0xF9:
                    items.append(MetadataItem(GIF_EXTENSION, f"extension 0x{label:02X}", (), size))
                pos = end
            else:
                raise ValueError("unknown block")
    except ValueError as exc:
        return [*items, unparsed(f"GIF structure ({exc})", len(data))]
    if pos < len(data):
        rest = data[pos:]
        items.append(MetadataItem(TRAILER, f"after trailer: {trailer_label(rest)}", (), len(rest)))
    return items
