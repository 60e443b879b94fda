"""EXIF blocks: which tags, GPS, maker notes and thumbnails they carry.

The same EXIF (TIFF-structured) block appears in JPEG APP1, PNG eXIf, WebP EXIF
and HEIF Exif items; this module turns one into report items. Tag names come
from numeric tag ids through piexif's tables, so no byte of a value can reach a
report.
"""

from __future__ import annotations

import piexif

from .items import EXIF, GPS, MAKERNOTE, THUMBNAIL, MetadataItem, unparsed
from .tiffread import Ifd, TiffReader

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
INTEROP_IFD = 0xA005
MAKER_NOTE = 0x927C
ORIENTATION = 0x0112
THUMB_OFFSET = 0x0201
THUMB_LENGTH = 0x0202
STRIP_BYTE_COUNTS = 0x0117

EXIF_HEADER = b"Exif\x00\x00"


def tag_name(group: str, tag: int) -> str:
    """A tag's name from its id; unknown ids become ``Tag0x1234`` (still no value)."""
    info = piexif.TAGS.get(group, {}).get(tag)
    if info is None and group == "1st":
        info = piexif.TAGS["Image"].get(tag)
    return str(info["name"]) if info else f"Tag0x{tag:04X}"


def tiff_payload(block: bytes | memoryview) -> memoryview:
    """The TIFF stream inside an EXIF block, with or without the ``Exif\\0\\0`` prefix."""
    view = memoryview(block)
    if bytes(view[:6]) == EXIF_HEADER:
        return view[6:]
    return view


def _names(group: str, ifd: Ifd) -> list[str]:
    return [tag_name(group, e.tag) for e in ifd.entries]


def _sub_ifd(reader: TiffReader, ifd: Ifd, tag: int) -> Ifd | None:
    entry = ifd.get(tag)
    if entry is None:
        return None
    return reader.ifd(reader.first_int(entry))


def _thumbnail_bytes(reader: TiffReader, ifd1: Ifd) -> int:
    length = ifd1.get(THUMB_LENGTH)
    if length is not None:
        return reader.first_int(length)
    strips = ifd1.get(STRIP_BYTE_COUNTS)
    if strips is not None:
        return sum(reader.ints(strips))
    return 0


def pointer_items(
    reader: TiffReader, ifd: Ifd, location: str
) -> tuple[list[str], int, list[MetadataItem]]:
    """Tag names and size of the Exif/Interop sub-IFDs of ``ifd``, plus gps/makernote items."""
    names: list[str] = []
    nbytes = 0
    items: list[MetadataItem] = []
    exif_ifd = _sub_ifd(reader, ifd, EXIF_IFD)
    if exif_ifd is not None:
        names += _names("Exif", exif_ifd)
        nbytes += sum(12 + e.size for e in exif_ifd.entries)
        note = exif_ifd.get(MAKER_NOTE)
        if note is not None:
            items.append(MetadataItem(MAKERNOTE, f"{location} MakerNote", (), note.size))
        interop = _sub_ifd(reader, exif_ifd, INTEROP_IFD)
        if interop is not None:
            names += _names("Interop", interop)
            nbytes += sum(12 + e.size for e in interop.entries)
    gps_ifd = _sub_ifd(reader, ifd, GPS_IFD)
    if gps_ifd is not None:
        size = sum(12 + e.size for e in gps_ifd.entries)
        items.append(MetadataItem(GPS, f"{location} GPS IFD", tuple(_names("GPS", gps_ifd)), size))
    return names, nbytes, items


def exif_items(block: bytes | memoryview, location: str) -> list[MetadataItem]:
    """Report items for one EXIF block: exif, and gps/makernote/thumbnail when present."""
    tiff = tiff_payload(block)
    primary: list[str] = []
    items: list[MetadataItem] = []
    try:
        reader = TiffReader(tiff)
        ifd0 = reader.ifd(reader.first_ifd)
        primary += _names("Image", ifd0)
        names, _, found = pointer_items(reader, ifd0, location)
        primary += names
        items += found
        if ifd0.next_offset:
            ifd1 = reader.ifd(ifd0.next_offset)
            items.append(
                MetadataItem(
                    THUMBNAIL,
                    f"{location} IFD1",
                    tuple(_names("1st", ifd1)),
                    _thumbnail_bytes(reader, ifd1),
                )
            )
    except (ValueError, IndexError):
        items.append(unparsed(f"{location} (corrupt IFD)", len(tiff)))
    return [MetadataItem(EXIF, location, tuple(primary), len(block)), *items]


def exif_orientation(block: bytes | memoryview) -> int | None:
    """The IFD0 Orientation value, or None when absent or unreadable."""
    try:
        reader = TiffReader(tiff_payload(block))
        entry = reader.ifd(reader.first_ifd).get(ORIENTATION)
        return None if entry is None else reader.first_int(entry)
    except (ValueError, IndexError):
        return None
