"""XMP packets: which properties they set, by qualified name only.

XML element names may be any Unicode word, so a crafted packet could spell a
person's name as a property name. Only ASCII names in well-known namespace
prefixes are reported verbatim; anything else is counted as ``custom``.
"""

from __future__ import annotations

import re

_KNOWN_PREFIXES = frozenset(
    {
        "aux",
        "Camera",
        "crd",
        "crs",
        "dc",
        "exif",
        "exifEX",
        "GCamera",
        "GDepth",
        "GImage",
        "GPano",
        "hdrgm",
        "Iptc4xmpCore",
        "Iptc4xmpExt",
        "lr",
        "MicrosoftPhoto",
        "mwg-kw",
        "mwg-rs",
        "pdf",
        "photoshop",
        "plus",
        "stDim",
        "stEvt",
        "stRef",
        "tiff",
        "xmp",
        "xmpBJ",
        "xmpDM",
        "xmpGImg",
        "xmpMM",
        "xmpNote",
        "xmpRights",
        "xmpTPg",
    }
)
_STRUCTURAL_PREFIXES = frozenset({"rdf", "x", "xmlns", "xml"})
_NAME = re.compile(rb"[<\s/]([A-Za-z][\w-]{0,31}):([A-Za-z][\w-]{0,47})(?=[\s=>/])")
CUSTOM = "custom"
MAX_TAGS = 200


def xmp_tags(packet: bytes | memoryview) -> tuple[str, ...]:
    """Sorted, de-duplicated property names set in an XMP packet."""
    names: set[str] = set()
    custom = False
    for match in _NAME.finditer(bytes(packet)):
        prefix = match.group(1).decode("ascii")
        if prefix in _STRUCTURAL_PREFIXES:
            continue
        if prefix in _KNOWN_PREFIXES:
            names.add(f"{prefix}:{match.group(2).decode('ascii')}")
        else:
            custom = True
        if len(names) >= MAX_TAGS:
            break
    return (*sorted(names), *((CUSTOM,) if custom else ()))
