"""Names for bytes found after a container's logical end.

Only a fixed label is returned (never any of the trailing bytes), so a report
can say *what kind* of trailer was there.
"""

from __future__ import annotations

_SIGNATURES = (
    (b"SEFT", "Samsung SEFH/SEFT trailer"),
    (b"SEFH", "Samsung SEFH/SEFT trailer"),
)


def trailer_label(rest: bytes) -> str:
    tail = rest[-8:]
    for sig, label in _SIGNATURES:
        if sig in tail:
            return label
    if rest.startswith(b"\xff\xd8"):
        return "embedded JPEG (incomplete)"
    if rest[4:8] == b"ftyp":
        return "embedded ISO media (video)"
    if not rest.strip(b"\x00\xff"):
        return "padding"
    return "unknown data"
