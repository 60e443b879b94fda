"""Which ICC profiles are plain enough to keep.

A colour profile keeps clinical colours right, but it is also a container: free
text tags (description, copyright, device model), calibration data and, in
principle, any bytes in unreferenced space. ``plain_icc`` accepts a profile only
when every one of these holds:

* well formed: ``acsp`` signature, declared size equals the data size, every tag
  inside the profile, and no non-zero byte outside the header, tag table and tag
  data (nothing can hide in gaps);
* small: at most 64 KiB (the ICC's own sRGB v4 preference profile is 60 KiB);
* a display, input or output device profile for RGB or gray with an XYZ or Lab
  connection space;
* only colourimetric tags (matrix/TRC, LUTs, white/black point, adaptation,
  chromaticity, measurement, viewing conditions) plus ``desc`` and ``cprt``;
  device make/model, calibration (``vcgt``), localized device names and any
  private tag make it non-plain;
* the ``desc`` and ``cprt`` text consists only of words from a fixed vocabulary
  of colour-space and vendor names (``sRGB IEC61966-2.1``, ``Display P3``,
  ``Copyright Apple Inc., 2017``, ``No copyright, use freely``...) and short
  numbers, so no person's name, chart number or phone number can pass.
"""

from __future__ import annotations

import re
import struct

MAX_PLAIN_BYTES = 64 * 1024
MAX_TAGS = 40
MAX_TEXT_CHARS = 120

_CLASSES = frozenset({b"mntr", b"scnr", b"prtr"})
_COLOUR_SPACES = frozenset({b"RGB ", b"GRAY"})
_PCS = frozenset({b"XYZ ", b"Lab "})
_TEXT_TAGS = frozenset({b"desc", b"cprt"})
_COLOURIMETRIC_TAGS = frozenset(
    {
        b"wtpt",
        b"bkpt",
        b"rXYZ",
        b"gXYZ",
        b"bXYZ",
        b"rTRC",
        b"gTRC",
        b"bTRC",
        b"kTRC",
        b"chad",
        b"chrm",
        b"lumi",
        b"meas",
        b"tech",
        b"view",
        b"cicp",
        b"A2B0",
        b"A2B1",
        b"A2B2",
        b"B2A0",
        b"B2A1",
        b"B2A2",
        b"gamt",
        b"rig0",
        b"ciis",
    }
)

_VOCABULARY = frozenset(
    [
        "srgb",
        "iec61966-2.1",
        "iec61966-2-1",
        "iec",
        "61966-2.1",
        "61966-2-1",
        "sgray",
        "scrgb",
        "linear",
        "gray",
        "grey",
        "gamma",
        "display",
        "p3",
        "dci-p3",
        "dci",
        "d65",
        "d50",
        "adobe",
        "rgb",
        "apple",
        "prophoto",
        "romm",
        "eci",
        "ecirgb",
        "generic",
        "colour",
        "color",
        "space",
        "profile",
        "built-in",
        "builtin",
        "v2",
        "v4",
        "icc",
        "preference",
        "perceptual",
        "intent",
        "beta",
        "reference",
        "viewing",
        "condition",
        "conditions",
        "in",
        "rec",
        "rec.",
        "itu-r",
        "itu",
        "bt.2020",
        "bt.709",
        "bt.2100",
        "bt2020",
        "bt709",
        "bt2100",
        "pq",
        "hlg",
        "dot",
        "gain",
        "wide",
        "gamut",
        "hdr",
        "sdr",
        "lstar",
        "l*",
        "cie",
        "xyz",
        "lab",
        "srgb-elle-v2-srgbtrc",
        "srgb-elle-v4-srgbtrc",
        "copyright",
        "(c)",
        "c",
        "©",
        "inc",
        "inc.",
        "incorporated",
        "systems",
        "corporation",
        "corp",
        "corp.",
        "company",
        "co.",
        "co",
        "ltd",
        "ltd.",
        "llc",
        "gmbh",
        "international",
        "consortium",
        "hewlett-packard",
        "hp",
        "microsoft",
        "google",
        "kodak",
        "eastman",
        "canon",
        "nikon",
        "sony",
        "fujifilm",
        "samsung",
        "lg",
        "dell",
        "eizo",
        "benq",
        "artifex",
        "graphicsmagick",
        "imagemagick",
        "little",
        "cms",
        "littlecms",
        "lcms",
        "openicc",
        "elle",
        "stone",
        "no",
        "use",
        "freely",
        "free",
        "public",
        "domain",
        "cc0",
        "cc-by-sa",
        "cc-by",
        "3.0",
        "4.0",
        "unported",
        "license",
        "licensed",
        "under",
        "creative",
        "commons",
        "attribution",
        "all",
        "rights",
        "reserved",
        "by",
        "the",
        "of",
        "and",
        "for",
        "a",
        "to",
        "is",
        "this",
        "www.color.org",
        "color.org",
        "http://www.color.org",
        "https://www.color.org",
        "icc.org",
        "www.iec.ch",
        "iec.ch",
    ]
)
_NUMBER = re.compile(r"^\(?\d{1,4}(\.\d{1,4})?[%)]?$")
_TOKEN_SPLIT = re.compile(r"[\s,;:/\"']+")


def _text_words_plain(text: str) -> bool:
    if len(text) > MAX_TEXT_CHARS:
        return False
    for token in _TOKEN_SPLIT.split(text.strip().rstrip(".")):
        word = token.strip().lower()
        if not word or word in _VOCABULARY or _NUMBER.match(word):
            continue
        if word.rstrip(".") in _VOCABULARY:
            continue
        return False
    return True


def _tag_texts(tag: bytes) -> list[str] | None:
    """Texts of a desc/cprt tag (textType, textDescriptionType or mluc), None if unreadable."""
    sig = tag[:4]
    try:
        if sig == b"text":
            return [tag[8:].split(b"\x00", 1)[0].decode("ascii")]
        if sig == b"desc":
            (n,) = struct.unpack_from(">I", tag, 8)
            if n > MAX_TEXT_CHARS + 1 or 12 + n > len(tag):
                return None
            ascii_text = tag[12 : 12 + n].split(b"\x00", 1)[0].decode("ascii")
            # The Unicode and ScriptCode parts of a v2 description must be empty
            # or repeat the ASCII text; anything else could hide other words.
            rest = tag[12 + n :]
            if len(rest) >= 8:
                (ucount,) = struct.unpack_from(">I", rest, 4)
                if ucount:
                    if 8 + 2 * ucount > len(rest):
                        return None
                    utext = rest[8 : 8 + 2 * ucount].decode("utf-16-be").rstrip("\x00")
                    return [ascii_text, utext]
            return [ascii_text]
        if sig == b"mluc":
            count, record_size = struct.unpack_from(">II", tag, 8)
            if count > 64 or record_size < 12:
                return None
            texts = []
            for i in range(count):
                _lang, length, offset = struct.unpack_from(">4sII", tag, 16 + i * record_size)
                if offset + length > len(tag) or length > 2 * MAX_TEXT_CHARS + 2:
                    return None
                texts.append(tag[offset : offset + length].decode("utf-16-be").rstrip("\x00"))
            return texts
    except (struct.error, UnicodeDecodeError):
        return None
    return None


def plain_icc(profile: bytes) -> bool:
    """True only for a plain RGB/gray colour profile that cannot carry identifying text."""
    try:
        return _plain(memoryview(profile).tobytes())
    except (struct.error, ValueError, IndexError):
        return False


def _plain(data: bytes) -> bool:
    size = len(data)
    if size < 132 or size > MAX_PLAIN_BYTES:
        return False
    if struct.unpack_from(">I", data, 0)[0] != size or data[36:40] != b"acsp":
        return False
    if data[12:16] not in _CLASSES or data[16:20] not in _COLOUR_SPACES or data[20:24] not in _PCS:
        return False
    if any(data[100:128]):  # reserved header bytes must be zero
        return False
    (count,) = struct.unpack_from(">I", data, 128)
    if count > MAX_TAGS:
        return False
    covered = bytearray(size)
    covered[: 132 + 12 * count] = b"\x01" * (132 + 12 * count)
    seen_text = False
    for i in range(count):
        sig, offset, length = struct.unpack_from(">4sII", data, 132 + 12 * i)
        if offset < 132 + 12 * count or offset + length > size or length < 8:
            return False
        tag = data[offset : offset + length]
        if sig in _TEXT_TAGS:
            texts = _tag_texts(tag)
            if texts is None or not all(_text_words_plain(t) for t in texts):
                return False
            seen_text = True
        elif sig not in _COLOURIMETRIC_TAGS:
            return False
        end = min(size, offset + length + (-length % 4))  # tags are 4-byte aligned
        covered[offset:end] = b"\x01" * (end - offset)
    if not seen_text:
        # Every real profile names itself; an anonymous one is unusual enough to drop.
        return False
    # Header fields that may hold text are 4-byte signatures; any stray non-zero
    # byte outside header, table and tags is unexplained payload.
    return all(covered[i] or not data[i] for i in range(size))
