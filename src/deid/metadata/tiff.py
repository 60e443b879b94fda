"""TIFF files: identifying tags, embedded EXIF/GPS/XMP/IPTC blocks, thumbnails.

In a TIFF the metadata are tags of the image directories themselves. Tags that
only describe the pixels (size, compression, strips, colour) are structural;
every other tag, known or private, is reported. Further pages are frames (the
I/O layer decides about them), except reduced-resolution directories, which
are thumbnails. There is no lossless strip: TIFF outputs are re-encoded.
"""

from __future__ import annotations

from .exif import EXIF_IFD, GPS_IFD, INTEROP_IFD, pointer_items, tag_name
from .iptc import iptc_tags, photoshop_items
from .items import (
    EXIF,
    ICC,
    IPTC,
    PHOTOSHOP,
    THUMBNAIL,
    TIFF_TAGS,
    TRAILER,
    XMP,
    MetadataItem,
    unparsed,
)
from .tiffread import Entry, Ifd, TiffReader
from .xmp import xmp_tags

NEW_SUBFILE_TYPE = 254
SUB_IFDS = 330
XMP_TAG = 700
IPTC_TAG = 33723
PHOTOSHOP_TAG = 34377
ICC_TAG = 34675

STRUCTURAL = frozenset(
    {
        254, 255, 256, 257, 258, 259, 262, 263, 264, 265, 266, 273, 274, 277, 278, 279,
        280, 281, 282, 283, 284, 286, 287, 290, 291, 292, 293, 296, 297, 301, 317, 318,
        319, 320, 321, 322, 323, 324, 325, 332, 334, 336, 338, 339, 340, 341, 347, 512,
        513, 514, 515, 517, 518, 519, 520, 521, 529, 530, 531, 532,
    }
)  # fmt: skip


def _ifd_items(reader: TiffReader, ifd: Ifd, location: str) -> list[MetadataItem]:
    items: list[MetadataItem] = []
    identifying: list[str] = []
    identifying_bytes = 0
    for entry in ifd.entries:
        tag = entry.tag
        if tag in STRUCTURAL:
            continue
        value = _value(reader, entry)
        if tag in (EXIF_IFD, GPS_IFD):
            continue  # reported below, once for both pointers
        elif tag == XMP_TAG:
            items.append(MetadataItem(XMP, f"{location} XMP", xmp_tags(value), entry.size))
        elif tag == IPTC_TAG:
            try:
                tags = iptc_tags(value)
            except ValueError:
                tags = ()
            items.append(MetadataItem(IPTC, f"{location} IPTC", tags, entry.size))
        elif tag == PHOTOSHOP_TAG:
            found = photoshop_items(value, f"{location} Photoshop")
            items += found or [MetadataItem(PHOTOSHOP, f"{location} Photoshop", (), entry.size)]
        elif tag == ICC_TAG:
            items.append(MetadataItem(ICC, f"{location} ICC", (), entry.size))
        else:
            identifying.append(tag_name("Image", tag))
            identifying_bytes += entry.size
    if ifd.get(EXIF_IFD) is not None or ifd.get(GPS_IFD) is not None:
        items += _embedded_exif(reader, ifd, location)
    if identifying:
        items.insert(0, MetadataItem(TIFF_TAGS, location, tuple(identifying), identifying_bytes))
    return items


def _value(reader: TiffReader, entry: Entry) -> bytes:
    if not reader.in_bounds(entry):
        raise ValueError("tag value out of bounds")
    return bytes(reader.data[entry.offset : entry.offset + entry.size])


def _embedded_exif(reader: TiffReader, ifd: Ifd, location: str) -> list[MetadataItem]:
    try:
        names, nbytes, items = pointer_items(reader, ifd, f"{location} EXIF")
    except (ValueError, IndexError):
        return [unparsed(f"{location} EXIF (corrupt IFD)")]
    exif = [MetadataItem(EXIF, f"{location} EXIF IFD", tuple(names), nbytes)] if names else []
    return exif + items


def inventory(data: bytes) -> list[MetadataItem]:
    try:
        reader = TiffReader(data)
    except ValueError:
        return [unparsed("TIFF header", len(data))]
    items: list[MetadataItem] = []
    end = 0
    try:
        for index, ifd in enumerate(reader.chain(reader.first_ifd)):
            location = f"IFD{index}"
            subfile = ifd.get(NEW_SUBFILE_TYPE)
            if index and subfile is not None and reader.first_int(subfile) & 1:
                items.append(MetadataItem(THUMBNAIL, location, (), _image_bytes(reader, ifd)))
            items += _ifd_items(reader, ifd, location)
            sub = ifd.get(SUB_IFDS)
            if sub is not None:
                items.append(MetadataItem(THUMBNAIL, f"{location} SubIFDs", (), sub.size))
            end = max(end, _extent(reader, ifd), _sub_extent(data, ifd))
    except (ValueError, IndexError):
        items.append(unparsed("TIFF structure (corrupt IFD)", len(data)))
        return items
    if end and end < len(data) and any(data[end:]):
        rest = len(data) - end
        items.append(MetadataItem(TRAILER, "after last image data", (), rest))
    return items


def _sub_extent(data: bytes, ifd: Ifd) -> int:
    """Highest offset used by the EXIF, GPS, Interop and SubIFD directories of ``ifd``.

    They may sit after the pixel data, so they count when looking for appended bytes.
    A fresh reader is used because the main one refuses to revisit directories.
    """
    reader = TiffReader(data)
    pending = []
    for tag in (EXIF_IFD, GPS_IFD, SUB_IFDS):
        entry = ifd.get(tag)
        if entry is not None:
            pending += reader.ints(entry, 64)
    end = 0
    while pending:
        sub = reader.ifd(pending.pop())
        end = max(end, _extent(reader, sub))
        interop = sub.get(INTEROP_IFD)
        if interop is not None:
            pending.append(reader.first_int(interop))
    return end


def _image_bytes(reader: TiffReader, ifd: Ifd) -> int:
    total = 0
    for tag in (279, 325):  # StripByteCounts, TileByteCounts
        entry = ifd.get(tag)
        if entry is not None:
            total += sum(reader.ints(entry, 1 << 20))
    return total


def _extent(reader: TiffReader, ifd: Ifd) -> int:
    """Highest byte offset referenced by the directory (used to spot appended data)."""
    end = ifd.offset + (
        8 + 20 * len(ifd.entries) + 8 if reader.big else 2 + 12 * len(ifd.entries) + 4
    )
    for entry in ifd.entries:
        end = max(end, entry.offset + entry.size)
    for offsets_tag, counts_tag in ((273, 279), (324, 325), (513, 514)):
        offsets, counts = ifd.get(offsets_tag), ifd.get(counts_tag)
        if offsets is not None and counts is not None:
            pairs = zip(reader.ints(offsets, 1 << 20), reader.ints(counts, 1 << 20), strict=False)
            end = max([end, *(o + c for o, c in pairs)])
    return end
