"""JPEG (and MPO) segment layout: inventory and lossless metadata strip.

A JPEG is a list of marker segments followed, after each SOS, by entropy-coded
scan data. Metadata lives only in APPn/COM segments and after the EOI marker
(MPF second images, vendor trailers), so a lossless strip keeps the segments a
decoder needs, copies every scan byte-for-byte and stops at the first EOI.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from .exif import EXIF_HEADER, exif_items, exif_orientation
from .icc import plain_icc
from .iptc import PHOTOSHOP_HEADER, photoshop_items
from .items import (
    APPN,
    COMMENT,
    ICC,
    MPF,
    PHOTOSHOP,
    THUMBNAIL,
    TRAILER,
    XMP,
    MetadataItem,
    unparsed,
)
from .tiffread import TiffReader
from .trailer import trailer_label
from .xmp import xmp_tags

SOI = 0xD8
EOI = 0xD9
SOS = 0xDA
APP0 = 0xE0
APP1 = 0xE1
APP2 = 0xE2
APP13 = 0xED
APP14 = 0xEE
COM = 0xFE

# Segments a decoder needs: tables, frame headers, restart interval, scans.
_DECODING = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
    | {0xC4, 0xCC, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, SOS}
)
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# Inside scan data a real marker is 0xFF followed by anything but a stuffed 0x00,
# a restart marker or another fill byte.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")

XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXTENSION_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
ICC_HEADER = b"ICC_PROFILE\x00"
MPF_HEADER = b"MPF\x00"
JFIF_HEADER = b"JFIF\x00"
JFXX_HEADER = b"JFXX\x00"
ADOBE_HEADER = b"Adobe"
ICC_CHUNK_PAYLOAD = 65535 - 2 - 14


@dataclass(frozen=True, slots=True)
class Segment:
    marker: int
    start: int  # offset of the 0xFF
    payload_start: int
    payload_end: int
    end: int  # for SOS: end of the entropy-coded data that follows


@dataclass
class Layout:
    segments: list[Segment] = field(default_factory=list)
    end: int | None = None  # offset just past EOI; None when the file is cut short
    problem: str | None = None


def parse(data: bytes, start: int = 0) -> Layout:
    """Segments of the JPEG whose SOI is at ``start``, up to and including its EOI."""
    layout = Layout()
    size = len(data)
    pos = start + 2
    while True:
        if pos + 2 > size:
            layout.problem = "truncated before EOI"
            return layout
        if data[pos] != 0xFF:
            layout.problem = "bytes between segments"
            return layout
        while pos + 2 < size and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        marker = data[pos + 1]
        if marker == EOI:
            layout.end = pos + 2
            return layout
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == SOI or pos + 4 > size:
            layout.problem = "unexpected marker"
            return layout
        length = struct.unpack_from(">H", data, pos + 2)[0]
        seg_end = pos + 2 + length
        if length < 2 or seg_end > size:
            layout.problem = "segment out of bounds"
            return layout
        end = seg_end
        if marker == SOS:
            match = _SCAN_END.search(data, seg_end)
            if match is None:
                layout.problem = "truncated scan data"
                return layout
            end = match.start()
        layout.segments.append(Segment(marker, pos, pos + 4, seg_end, end))
        pos = end


def _payload(data: bytes, seg: Segment) -> bytes:
    return data[seg.payload_start : seg.payload_end]


def _icc_chunks(data: bytes, layout: Layout) -> tuple[bytes | None, int]:
    """The reassembled ICC profile (None if chunks are inconsistent) and its byte count."""
    chunks: dict[int, bytes] = {}
    total = None
    nbytes = 0
    consistent = True
    for seg in layout.segments:
        payload = _payload(data, seg)
        if seg.marker != APP2 or not payload.startswith(ICC_HEADER) or len(payload) < 14:
            continue
        seq, count = payload[12], payload[13]
        nbytes += len(payload) - 14
        if total not in (None, count) or seq in chunks or not 1 <= seq <= count:
            consistent = False
        total = count
        chunks[seq] = payload[14:]
    if total is None:
        return None, 0
    if not consistent or sorted(chunks) != list(range(1, total + 1)):
        return None, nbytes
    return b"".join(chunks[i] for i in range(1, total + 1)), nbytes


def _jfif_is_clean(payload: bytes) -> bool:
    return len(payload) == 14 and payload[12] == 0 and payload[13] == 0


def _adobe_is_clean(payload: bytes) -> bool:
    return len(payload) == 12


def _mpf_tags(payload: bytes) -> tuple[str, ...]:
    names = {0xB000: "MPFVersion", 0xB001: "NumberOfImages", 0xB002: "MPEntry"}
    names |= {0xB003: "ImageUIDList", 0xB004: "TotalFrames"}
    reader = TiffReader(payload[4:])
    return tuple(
        names.get(e.tag, f"Tag0x{e.tag:04X}") for e in reader.ifd(reader.first_ifd).entries
    )


def _segment_items(data: bytes, seg: Segment) -> list[MetadataItem]:
    marker = seg.marker
    payload = _payload(data, seg)
    name = f"APP{marker - APP0}" if APP0 <= marker <= 0xEF else f"0xFF{marker:02X}"
    if marker == COM:
        return [MetadataItem(COMMENT, "COM", (), len(payload))]
    if marker == APP0:
        if payload.startswith(JFIF_HEADER):
            if _jfif_is_clean(payload):
                return []
            return [MetadataItem(THUMBNAIL, "APP0 JFIF", (), max(0, len(payload) - 14))]
        if payload.startswith(JFXX_HEADER):
            return [MetadataItem(THUMBNAIL, "APP0 JFXX", (), len(payload))]
    if marker == APP1:
        if payload.startswith(EXIF_HEADER):
            return exif_items(payload, "APP1 Exif")
        if payload.startswith(XMP_HEADER):
            return [MetadataItem(XMP, "APP1 XMP", xmp_tags(payload), len(payload))]
        if payload.startswith(XMP_EXTENSION_HEADER):
            return [MetadataItem(XMP, "APP1 XMP extension", xmp_tags(payload), len(payload))]
    if marker == APP2:
        if payload.startswith(ICC_HEADER):
            return []  # reported once for all chunks
        if payload.startswith(MPF_HEADER):
            try:
                tags = _mpf_tags(payload)
            except (ValueError, IndexError):
                return [MetadataItem(MPF, "APP2 MPF", (), len(payload)), unparsed("APP2 MPF")]
            return [MetadataItem(MPF, "APP2 MPF", tags, len(payload))]
    if marker == APP13 and payload.startswith(PHOTOSHOP_HEADER):
        items = photoshop_items(payload[len(PHOTOSHOP_HEADER) :], "APP13 Photoshop")
        return items or [MetadataItem(PHOTOSHOP, "APP13 Photoshop", (), len(payload))]
    if marker == APP14 and payload.startswith(ADOBE_HEADER):
        if _adobe_is_clean(payload):
            return []
        return [MetadataItem(APPN, "APP14 Adobe (extra data)", (), len(payload) - 12)]
    if APP0 <= marker <= 0xEF:
        return [MetadataItem(APPN, name, (), len(payload))]
    if marker in _DECODING:
        return []
    return [unparsed(f"segment {name}", len(payload))]


def _trailer_items(data: bytes, start: int, has_mpf: bool) -> list[MetadataItem]:
    """What follows EOI: MPF images / embedded JPEGs, then any other bytes."""
    items: list[MetadataItem] = []
    pos = start
    index = 2
    while pos < len(data):
        if data.startswith(b"\xff\xd8\xff", pos):
            sub = parse(data, pos)
            if sub.end is not None:
                category = MPF if has_mpf else TRAILER
                location = f"after EOI: JPEG image {index}"
                items.append(MetadataItem(category, location, (), sub.end - pos))
                pos = sub.end
                index += 1
                continue
        rest = data[pos:]
        items.append(MetadataItem(TRAILER, f"after EOI: {trailer_label(rest)}", (), len(rest)))
        break
    return items


def inventory(data: bytes) -> list[MetadataItem]:
    layout = parse(data)
    items: list[MetadataItem] = []
    for seg in layout.segments:
        items += _segment_items(data, seg)
    profile, icc_bytes = _icc_chunks(data, layout)
    if icc_bytes or profile is not None:
        items.append(MetadataItem(ICC, "APP2 ICC_PROFILE", (), icc_bytes))
        if profile is None:
            items.append(unparsed("APP2 ICC_PROFILE (inconsistent chunks)", icc_bytes))
    if layout.problem is not None:
        cut = layout.segments[-1].end if layout.segments else 2
        items.append(unparsed(f"JPEG structure ({layout.problem})", len(data) - cut))
    elif layout.end is not None and layout.end < len(data):
        has_mpf = any(i.category == MPF for i in items)
        items += _trailer_items(data, layout.end, has_mpf)
    return items


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _icc_segments(profile: bytes) -> list[bytes]:
    parts = [profile[i : i + ICC_CHUNK_PAYLOAD] for i in range(0, len(profile), ICC_CHUNK_PAYLOAD)]
    if len(parts) > 255:
        return []
    return [
        _segment(APP2, ICC_HEADER + bytes((i + 1, len(parts))) + part)
        for i, part in enumerate(parts)
    ]


def strip(data: bytes, *, keep_icc: bool) -> bytes | None:
    """Rewrite the segments keeping only what decoding needs; None if that is unsafe."""
    layout = parse(data)
    if layout.problem is not None or layout.end is None:
        return None
    if not any(seg.marker == SOS for seg in layout.segments):
        return None
    profile, _ = _icc_chunks(data, layout)
    keep_profile = keep_icc and profile is not None and plain_icc(profile)
    out = [b"\xff\xd8"]
    icc_written = False
    for seg in layout.segments:
        payload = _payload(data, seg)
        if seg.marker == APP1 and payload.startswith(EXIF_HEADER):
            # Dropping EXIF drops Orientation: only safe when the image is upright.
            if exif_orientation(payload) not in (None, 1):
                return None
        elif seg.marker in _DECODING:
            out.append(data[seg.start : seg.end])
        elif seg.marker == APP0 and payload.startswith(JFIF_HEADER) and len(payload) >= 14:
            # Keep version, units and density; drop any thumbnail.
            out.append(_segment(APP0, payload[:12] + b"\x00\x00"))
        elif seg.marker == APP14 and payload.startswith(ADOBE_HEADER) and len(payload) >= 12:
            # The transform flag tells the decoder whether the data is YCC or RGB/CMYK.
            out.append(_segment(APP14, payload[:12]))
        elif (
            seg.marker == APP2
            and payload.startswith(ICC_HEADER)
            and keep_profile
            and not icc_written
            and profile is not None
        ):
            out += _icc_segments(profile)
            icc_written = True
    out.append(b"\xff\xd9")
    return b"".join(out)
