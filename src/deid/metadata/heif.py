"""HEIF/HEIC/AVIF (ISO base media) files: metadata items, thumbnails, auxiliary images.

HEIF stores everything as *items* described in the ``meta`` box: the primary
image (possibly a grid of tiles), Exif and XMP items, thumbnails (``thmb``
references), auxiliary images such as depth maps (``auxl``) and colour
profiles as ``colr`` properties. Extra top-level images are frames, left to the
I/O layer. An alpha plane of the primary image is part of its pixels and is not
reported. There is no lossless strip: HEIF outputs are re-encoded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .exif import exif_items
from .items import (
    HEIF_AUXILIARY,
    HEIF_BOX,
    HEIF_METADATA,
    ICC,
    THUMBNAIL,
    TRAILER,
    XMP,
    MetadataItem,
    unparsed,
)
from .trailer import trailer_label
from .xmp import xmp_tags

BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
    | {b"mif2", b"miaf", b"avif", b"avis", b"avio"}
)
_STRUCTURAL_TOP = frozenset({b"ftyp", b"meta", b"mdat", b"idat"})
_IMAGE_TYPES = frozenset(
    {b"hvc1", b"av01", b"grid", b"iden", b"iovl", b"jpeg", b"unci", b"tmap", b"vvc1", b"j2k1"}
)
_ALPHA_URNS = frozenset(
    {b"urn:mpeg:hevc:2015:auxid:1", b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha"}
)
_AUX_NAMES = {
    b"urn:com:apple:photo:2018:aux:hdrgainmap": "hdrgainmap",
    b"urn:com:apple:photo:2020:aux:hdrgainmap": "hdrgainmap",
    b"urn:mpeg:hevc:2015:auxid:2": "depth",
    b"urn:mpeg:mpegB:cicp:systems:auxiliary:depth": "depth",
    b"urn:com:apple:photo:2018:aux:portraiteffectsmatte": "portraitmatte",
}
_KNOWN_BOXES = frozenset(
    {b"free", b"skip", b"uuid", b"moov", b"moof", b"mfra", b"pdin", b"styp", b"sidx", b"meco"}
    | {b"wide", b"junk", b"pnot", b"prft", b"emsg"}
)
_XMP_MIME = b"application/rdf+xml"
MAX_BOXES = 10_000


@dataclass(frozen=True, slots=True)
class Box:
    type: bytes
    start: int
    body: int  # offset of the payload (after size/type/largesize)
    end: int


@dataclass
class Meta:
    primary: int | None = None
    item_types: dict[int, bytes] = field(default_factory=dict)
    mime: dict[int, bytes] = field(default_factory=dict)
    refs: list[tuple[bytes, int, tuple[int, ...]]] = field(default_factory=list)
    properties: list[Box] = field(default_factory=list)
    associations: dict[int, list[int]] = field(default_factory=dict)
    locations: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)
    idat: Box | None = None


def box_at(data: bytes, pos: int, end: int) -> Box | None:
    """The box starting at ``pos`` if its header and size fit before ``end``."""
    if pos + 8 > end:
        return None
    size, btype = struct.unpack_from(">I4s", data, pos)
    body = pos + 8
    if size == 1:
        if pos + 16 > end:
            return None
        (size,) = struct.unpack_from(">Q", data, pos + 8)
        body = pos + 16
    elif size == 0:
        size = end - pos
    if size < body - pos or pos + size > end:
        return None
    return Box(btype, pos, body, pos + size)


def boxes(data: bytes, start: int, end: int) -> list[Box]:
    out: list[Box] = []
    pos = start
    while pos < end:
        box = box_at(data, pos, end)
        if box is None or len(out) >= MAX_BOXES:
            raise ValueError("box out of bounds")
        out.append(box)
        pos = box.end
    return out


def _uint(data: bytes, pos: int, size: int) -> int:
    if size == 0:
        return 0
    if pos + size > len(data):
        raise ValueError("field out of bounds")
    return int.from_bytes(data[pos : pos + size], "big")


def _parse_iinf(data: bytes, box: Box, meta: Meta) -> None:
    version = data[box.body]
    start = box.body + 4 + (2 if version == 0 else 4)
    for infe in boxes(data, start, box.end):
        if infe.type != b"infe":
            continue
        v = data[infe.body]
        if v < 2:
            continue  # versions 0/1 describe plain files, not image items
        pos = infe.body + 4
        item_id = _uint(data, pos, 2 if v == 2 else 4)
        pos += (2 if v == 2 else 4) + 2
        item_type = data[pos : pos + 4]
        meta.item_types[item_id] = item_type
        if item_type == b"mime":
            name_end = data.index(b"\x00", pos + 4, infe.end)
            type_end = data.find(b"\x00", name_end + 1, infe.end)
            meta.mime[item_id] = data[name_end + 1 : type_end if type_end >= 0 else infe.end]


def _parse_iref(data: bytes, box: Box, meta: Meta) -> None:
    id_size = 2 if data[box.body] == 0 else 4
    for ref in boxes(data, box.body + 4, box.end):
        pos = ref.body
        source = _uint(data, pos, id_size)
        count = _uint(data, pos + id_size, 2)
        pos += id_size + 2
        targets = tuple(_uint(data, pos + i * id_size, id_size) for i in range(count))
        meta.refs.append((ref.type, source, targets))


def _parse_iprp(data: bytes, box: Box, meta: Meta) -> None:
    for child in boxes(data, box.body, box.end):
        if child.type == b"ipco":
            meta.properties = boxes(data, child.body, child.end)
        elif child.type == b"ipma":
            version, flags = data[child.body], _uint(data, child.body + 1, 3)
            pos = child.body + 4
            count = _uint(data, pos, 4)
            pos += 4
            for _ in range(count):
                item_id = _uint(data, pos, 2 if version < 1 else 4)
                pos += 2 if version < 1 else 4
                n = data[pos]
                pos += 1
                indices = []
                for _ in range(n):
                    if flags & 1:
                        indices.append(_uint(data, pos, 2) & 0x7FFF)
                        pos += 2
                    else:
                        indices.append(data[pos] & 0x7F)
                        pos += 1
                meta.associations.setdefault(item_id, []).extend(indices)


def _parse_iloc(data: bytes, box: Box, meta: Meta) -> None:
    version = data[box.body]
    pos = box.body + 4
    sizes = _uint(data, pos, 2)
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 15
    base_size, index_size = (sizes >> 4) & 15, sizes & 15 if version in (1, 2) else 0
    pos += 2
    count_size = 2 if version < 2 else 4
    count = _uint(data, pos, count_size)
    pos += count_size
    for _ in range(count):
        item_id = _uint(data, pos, count_size)
        pos += count_size
        method = 0
        if version in (1, 2):
            method = _uint(data, pos, 2) & 15
            pos += 2
        pos += 2  # data_reference_index
        base = _uint(data, pos, base_size)
        pos += base_size
        extents = _uint(data, pos, 2)
        pos += 2
        # Every extent must take room in the box: with all field sizes 0, 65,535 empty
        # extents per item took no bytes at all, and a 16 KB box held 2,700 such items
        # (177 million entries: a hang, then memory).
        width = index_size + offset_size + length_size
        if extents and (width == 0 or pos + extents * width > box.end):
            raise ValueError("iloc extents out of bounds")
        for _ in range(extents):
            pos += index_size
            offset = _uint(data, pos, offset_size)
            length = _uint(data, pos + offset_size, length_size)
            pos += offset_size + length_size
            meta.locations.setdefault(item_id, []).append((method, base + offset, length))


def parse_meta(data: bytes, meta_box: Box) -> Meta:
    meta = Meta()
    for child in boxes(data, meta_box.body + 4, meta_box.end):
        if child.type == b"pitm":
            meta.primary = _uint(data, child.body + 4, 2 if data[child.body] == 0 else 4)
        elif child.type == b"iinf":
            _parse_iinf(data, child, meta)
        elif child.type == b"iref":
            _parse_iref(data, child, meta)
        elif child.type == b"iprp":
            _parse_iprp(data, child, meta)
        elif child.type == b"iloc":
            _parse_iloc(data, child, meta)
        elif child.type == b"idat":
            meta.idat = child
    return meta


def _item_bytes(meta: Meta, item_id: int) -> int:
    return sum(length for _, _, length in meta.locations.get(item_id, []))


def _item_data(data: bytes, meta: Meta, item_id: int, limit: int = 16 << 20) -> bytes:
    parts = []
    for method, offset, length in meta.locations.get(item_id, []):
        if method == 0:
            start = offset
        elif method == 1 and meta.idat is not None:
            start = meta.idat.body + offset
        else:
            raise ValueError("unsupported item construction")
        if length > limit or start + length > len(data):
            raise ValueError("item out of bounds")
        parts.append(data[start : start + length])
    return b"".join(parts)


def _aux_name(data: bytes, meta: Meta, item_id: int) -> str:
    for index in meta.associations.get(item_id, []):
        if 1 <= index <= len(meta.properties) and meta.properties[index - 1].type == b"auxC":
            prop = meta.properties[index - 1]
            urn = data[prop.body + 4 : prop.end].split(b"\x00", 1)[0]
            if urn in _ALPHA_URNS:
                return "alpha"
            return _AUX_NAMES.get(urn, "other")
    return "other"


def _item_items(data: bytes, meta: Meta) -> list[MetadataItem]:
    items: list[MetadataItem] = []
    thumbs = {src for kind, src, _ in meta.refs if kind == b"thmb"}
    aux = {src: dst for kind, src, dst in meta.refs if kind == b"auxl"}
    for item_id, item_type in sorted(meta.item_types.items()):
        location = f"item {item_id}"
        size = _item_bytes(meta, item_id)
        if item_type == b"Exif":
            try:
                block = _item_data(data, meta, item_id)
                (skip,) = struct.unpack_from(">I", block, 0)
                items += exif_items(block[4 + skip :], f"{location} Exif")
            except (ValueError, struct.error):
                items += [MetadataItem("exif", f"{location} Exif", (), size)]
                items.append(unparsed(f"{location} Exif (unreadable)", size))
        elif item_type == b"mime" and meta.mime.get(item_id) == _XMP_MIME:
            try:
                tags = xmp_tags(_item_data(data, meta, item_id))
            except ValueError:
                tags = ()
            items.append(MetadataItem(XMP, f"{location} XMP", tags, size))
        elif item_type in (b"mime", b"uri "):
            items.append(MetadataItem(HEIF_METADATA, f"{location} {item_type.decode()}", (), size))
        elif item_id in thumbs:
            items.append(MetadataItem(THUMBNAIL, f"{location} thumbnail", (), size))
        elif item_id in aux:
            name = _aux_name(data, meta, item_id)
            main_is_primary = meta.primary in aux[item_id]
            if name != "alpha" or not main_is_primary:
                items.append(MetadataItem(HEIF_AUXILIARY, f"{location} auxiliary", (name,), size))
        elif item_type not in _IMAGE_TYPES:
            items.append(MetadataItem(HEIF_METADATA, f"{location} item", (), size))
    return items


def _icc_items(data: bytes, meta: Meta) -> list[MetadataItem]:
    items = []
    for index, prop in enumerate(meta.properties, start=1):
        if prop.type == b"colr" and data[prop.body : prop.body + 4] in (b"prof", b"rICC"):
            size = prop.end - prop.body - 4
            items.append(MetadataItem(ICC, f"colr property {index}", (), size))
    return items


def icc_profiles(data: bytes) -> list[bytes]:
    """Embedded ICC profiles (for the plain check); empty if none or unreadable."""
    try:
        top = boxes(data, 0, len(data))
        meta_box = next(b for b in top if b.type == b"meta")
        meta = parse_meta(data, meta_box)
    except (ValueError, StopIteration, IndexError):
        return []
    return [
        data[p.body + 4 : p.end]
        for p in meta.properties
        if p.type == b"colr" and data[p.body : p.body + 4] in (b"prof", b"rICC")
    ]


def _top_level(data: bytes) -> tuple[list[Box], int]:
    """Top-level boxes and where they end: bytes that do not form a box are a trailer."""
    top: list[Box] = []
    pos = 0
    while pos < len(data) and len(top) < MAX_BOXES:
        box = box_at(data, pos, len(data))
        if box is None or not all(0x20 <= c < 0x7F for c in box.type):
            break
        top.append(box)
        pos = box.end
    return top, pos


def inventory(data: bytes) -> list[MetadataItem]:
    items: list[MetadataItem] = []
    top, end = _top_level(data)
    if end < len(data):
        rest = data[end:]
        items.append(MetadataItem(TRAILER, f"after last box: {trailer_label(rest)}", (), len(rest)))
    metas = [b for b in top if b.type == b"meta"]
    if len(metas) != 1:
        items.append(unparsed("HEIF meta box missing or repeated"))
    for box in top:
        if box.type in _STRUCTURAL_TOP:
            continue
        if box.type in (b"free", b"skip") and not any(data[box.body : box.end]):
            continue
        # Box types are four free letters; only known ones are named in reports.
        name = f"box {box.type.decode('ascii')}" if box.type in _KNOWN_BOXES else "private box"
        items.append(MetadataItem(HEIF_BOX, name, (), box.end - box.body))
    for meta_box in metas[:1]:
        try:
            meta = parse_meta(data, meta_box)
            items += _item_items(data, meta)
            items += _icc_items(data, meta)
        except (ValueError, IndexError, struct.error):
            items.append(unparsed("HEIF meta box", meta_box.end - meta_box.start))
    return items
