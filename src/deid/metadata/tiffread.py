"""Bounds-checked reader for TIFF-structured data (TIFF files, EXIF, MPF index).

EXIF blocks, TIFF files and the MPF index all use TIFF image file directories.
Every offset is checked against the buffer and every directory is visited at
most once, so corrupt or hostile input raises ``ValueError`` instead of looping
or reading out of bounds.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Byte size of one value of each TIFF field type; unknown types count as bytes.
_TYPE_SIZES = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
    16: 8,
    17: 8,
    18: 8,
}
_INT_FORMATS = {1: "B", 3: "H", 4: "I", 13: "I", 16: "Q", 18: "Q", 6: "b", 8: "h", 9: "i", 17: "q"}

MAX_ENTRIES = 4096
MAX_IFDS = 64


@dataclass(frozen=True, slots=True)
class Entry:
    tag: int
    type: int
    count: int
    offset: int  # where the value bytes start, relative to the TIFF header
    size: int  # value size in bytes (count * type size)


@dataclass(frozen=True, slots=True)
class Ifd:
    offset: int
    entries: tuple[Entry, ...]
    next_offset: int

    def get(self, tag: int) -> Entry | None:
        for entry in self.entries:
            if entry.tag == tag:
                return entry
        return None


class TiffReader:
    """Reads directories and integer values from a TIFF header at ``data[0]``."""

    def __init__(self, data: bytes | memoryview) -> None:
        self.data = memoryview(data)
        if len(self.data) < 8:
            raise ValueError("TIFF header too short")
        order = bytes(self.data[:2])
        if order == b"II":
            self.endian = "<"
        elif order == b"MM":
            self.endian = ">"
        else:
            raise ValueError("bad TIFF byte order")
        magic = self._unpack("H", 2)
        if magic == 42:
            self.big = False
            self.first_ifd = self._unpack("I", 4)
        elif magic == 43:
            self.big = True
            if len(self.data) < 16:
                raise ValueError("BigTIFF header too short")
            self.first_ifd = self._unpack("Q", 8)
        else:
            raise ValueError("bad TIFF magic")
        self._seen: set[int] = set()

    def _unpack(self, fmt: str, offset: int) -> int:
        size = struct.calcsize(fmt)
        if offset < 0 or offset + size > len(self.data):
            raise ValueError("offset out of bounds")
        return int(struct.unpack_from(self.endian + fmt, self.data, offset)[0])

    def ifd(self, offset: int) -> Ifd:
        if offset in self._seen:
            raise ValueError("IFD loop")
        if len(self._seen) >= MAX_IFDS:
            raise ValueError("too many IFDs")
        self._seen.add(offset)
        count_fmt, entry_size, inline = ("Q", 20, 8) if self.big else ("H", 12, 4)
        count = self._unpack(count_fmt, offset)
        if count > MAX_ENTRIES:
            raise ValueError("implausible IFD entry count")
        start = offset + struct.calcsize(count_fmt)
        entries = []
        for i in range(count):
            pos = start + i * entry_size
            tag = self._unpack("H", pos)
            typ = self._unpack("H", pos + 2)
            n = self._unpack("Q", pos + 4) if self.big else self._unpack("I", pos + 4)
            value_pos = pos + (12 if self.big else 8)
            size = n * _TYPE_SIZES.get(typ, 1)
            if size <= inline:
                value_offset = value_pos
            else:
                value_offset = (
                    self._unpack("Q", value_pos) if self.big else self._unpack("I", value_pos)
                )
            entries.append(Entry(tag, typ, n, value_offset, size))
        end = start + count * entry_size
        next_fmt = "Q" if self.big else "I"
        next_offset = self._unpack(next_fmt, end) if end + 4 <= len(self.data) else 0
        return Ifd(offset, tuple(entries), next_offset)

    def in_bounds(self, entry: Entry) -> bool:
        return entry.offset >= 0 and entry.offset + entry.size <= len(self.data)

    def ints(self, entry: Entry, limit: int = 4096) -> list[int]:
        """Integer values of a SHORT/LONG/IFD-typed entry (at most ``limit``)."""
        fmt = _INT_FORMATS.get(entry.type)
        if fmt is None:
            raise ValueError("not an integer field")
        if not self.in_bounds(entry):
            raise ValueError("value out of bounds")
        step = struct.calcsize(fmt)
        n = min(entry.count, limit)
        return [self._unpack(fmt, entry.offset + i * step) for i in range(n)]

    def first_int(self, entry: Entry) -> int:
        values = self.ints(entry, 1)
        if not values:
            raise ValueError("empty field")
        return values[0]

    def chain(self, offset: int) -> list[Ifd]:
        """The IFD at ``offset`` and every IFD linked after it."""
        ifds = []
        while offset:
            ifds.append(self.ifd(offset))
            offset = ifds[-1].next_offset
        return ifds
