"""BMP files: embedded or linked colour profiles and bytes past the declared size.

BMP has no metadata tags, but a V5 header can embed an ICC profile or *link*
one by file path (a path can name a person or clinic), and files are easily
padded past their declared size. There is no lossless strip: BMP outputs are
re-encoded.
"""

from __future__ import annotations

import struct

from .items import BMP_PROFILE_LINK, ICC, TRAILER, MetadataItem, unparsed
from .trailer import trailer_label

_V5_HEADER = 124
_EMBEDDED = b"MBED"[::-1]
_LINKED = b"LINK"[::-1]


def inventory(data: bytes) -> list[MetadataItem]:
    if len(data) < 18:
        return [unparsed("BMP header", len(data))]
    declared, header_size = (
        struct.unpack_from("<I", data, 2)[0],
        struct.unpack_from("<I", data, 14)[0],
    )
    items: list[MetadataItem] = []
    if header_size >= _V5_HEADER and len(data) >= 14 + _V5_HEADER:
        cs_type = data[14 + 56 : 14 + 60]
        _offset, size = struct.unpack_from("<II", data, 14 + 112)
        if cs_type == _EMBEDDED:
            items.append(MetadataItem(ICC, "V5 header profile", (), size))
        elif cs_type == _LINKED:
            items.append(MetadataItem(BMP_PROFILE_LINK, "V5 header profile link", (), size))
    if 14 + header_size <= declared < len(data):  # some writers leave the size 0: no claim
        rest = data[declared:]
        label = trailer_label(rest)
        items.append(MetadataItem(TRAILER, f"after declared size: {label}", (), len(rest)))
    elif declared > len(data) and header_size:
        items.append(unparsed("BMP structure (shorter than declared)", len(data)))
    return items
