"""Photoshop image resource blocks (JPEG APP13, TIFF tag 34377) and the IPTC inside.

A clinic's DAM software writes patient names into IPTC By-line/Caption and
Photoshop keeps a JPEG thumbnail here, so both are reported separately.
"""

from __future__ import annotations

import struct

from .items import ICC, IPTC, PHOTOSHOP, THUMBNAIL, XMP, MetadataItem, unparsed

PHOTOSHOP_HEADER = b"Photoshop 3.0\x00"
_IPTC_RESOURCE = 0x0404
_THUMBNAIL_RESOURCES = {0x0409, 0x040C}
_RESOURCE_CATEGORY = {0x0422: "exif", 0x0423: "exif", 0x0424: XMP, 0x040F: ICC}
_RESOURCE_NAMES = {
    0x03ED: "ResolutionInfo",
    0x03F3: "PrintFlags",
    0x0406: "JPEGQuality",
    0x0408: "GridGuides",
    0x040A: "CopyrightFlag",
    0x040B: "URL",
    0x040D: "GlobalAngle",
    0x0414: "DocumentID",
    0x0419: "GlobalAltitude",
    0x041A: "Slices",
    0x041E: "URLList",
    0x0421: "VersionInfo",
    0x0425: "IPTCDigest",
    0x0426: "PrintScale",
    0x043A: "PrintInfo",
}
_DATASET_NAMES = {
    (1, 90): "CodedCharacterSet",
    (2, 0): "ApplicationRecordVersion",
    (2, 5): "ObjectName",
    (2, 15): "Category",
    (2, 20): "SupplementalCategories",
    (2, 25): "Keywords",
    (2, 40): "SpecialInstructions",
    (2, 55): "DateCreated",
    (2, 60): "TimeCreated",
    (2, 62): "DigitalCreationDate",
    (2, 63): "DigitalCreationTime",
    (2, 80): "By-line",
    (2, 85): "By-lineTitle",
    (2, 90): "City",
    (2, 92): "Sub-location",
    (2, 95): "Province-State",
    (2, 100): "Country-PrimaryLocationCode",
    (2, 101): "Country-PrimaryLocationName",
    (2, 103): "OriginalTransmissionReference",
    (2, 105): "Headline",
    (2, 110): "Credit",
    (2, 115): "Source",
    (2, 116): "CopyrightNotice",
    (2, 118): "Contact",
    (2, 120): "Caption-Abstract",
    (2, 122): "Writer-Editor",
}


def iptc_tags(data: bytes | memoryview) -> tuple[str, ...]:
    """Dataset names present in an IPTC-IIM stream (raises ValueError if corrupt)."""
    view = memoryview(data)
    names: list[str] = []
    pos = 0
    while pos + 5 <= len(view):
        if view[pos] != 0x1C:
            if any(view[pos:]):
                raise ValueError("bad IPTC dataset marker")
            break  # zero padding
        record, dataset = view[pos + 1], view[pos + 2]
        size = struct.unpack_from(">H", view, pos + 3)[0]
        pos += 5
        if size & 0x8000:  # extended dataset: the length is stored in the next n bytes
            n = size & 0x7FFF
            if n > 4 or pos + n > len(view):
                raise ValueError("bad IPTC extended length")
            size = int.from_bytes(view[pos : pos + n], "big")
            pos += n
        if pos + size > len(view):
            raise ValueError("IPTC dataset out of bounds")
        name = _DATASET_NAMES.get((record, dataset), f"IPTC{record}:{dataset}")
        if name not in names:
            names.append(name)
        pos += size
    return tuple(names)


def photoshop_items(block: bytes | memoryview, location: str) -> list[MetadataItem]:
    """Items for a Photoshop IRB stream (``block`` without the ``Photoshop 3.0`` header)."""
    view = memoryview(block)
    items: list[MetadataItem] = []
    other: list[str] = []
    other_bytes = 0
    pos = 0
    try:
        while pos + 12 <= len(view):
            if bytes(view[pos : pos + 4]) not in (b"8BIM", b"PHUT", b"DCSR", b"AgHg"):
                if any(view[pos:]):
                    raise ValueError("bad resource signature")
                break
            rid = struct.unpack_from(">H", view, pos + 4)[0]
            name_len = view[pos + 6]
            name_field = 1 + name_len + ((1 + name_len) % 2)  # Pascal string padded to even
            size_pos = pos + 6 + name_field
            if size_pos + 4 > len(view):
                raise ValueError("resource header out of bounds")
            size = struct.unpack_from(">I", view, size_pos)[0]
            start = size_pos + 4
            if start + size > len(view):
                raise ValueError("resource out of bounds")
            payload = view[start : start + size]
            if rid == _IPTC_RESOURCE:
                items.append(MetadataItem(IPTC, f"{location} IPTC", iptc_tags(payload), size))
            elif rid in _THUMBNAIL_RESOURCES:
                items.append(MetadataItem(THUMBNAIL, f"{location} thumbnail", (), size))
            elif rid in _RESOURCE_CATEGORY:
                items.append(
                    MetadataItem(_RESOURCE_CATEGORY[rid], f"{location} 0x{rid:04X}", (), size)
                )
            else:
                other.append(_RESOURCE_NAMES.get(rid, f"Resource0x{rid:04X}"))
                other_bytes += size
            pos = start + size + (size % 2)
    except ValueError:
        items.append(unparsed(f"{location} (corrupt resource block)", len(view) - pos))
    if other:
        items.insert(0, MetadataItem(PHOTOSHOP, location, tuple(other), other_bytes))
    return items
