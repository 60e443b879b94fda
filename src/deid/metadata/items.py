"""The one value type of the metadata layer: what was found, where, never what it said.

Reports and logs are built from these, so an item holds only a category, a
container location, tag *names* and a size. Values (names, dates, GPS
coordinates) never enter this type, which is what keeps PHI out of reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# Categories an inventory can produce. Only "icc" is ever kept (and only a plain
# profile); everything else is removed from outputs.
EXIF = "exif"
GPS = "gps"
MAKERNOTE = "makernote"
THUMBNAIL = "thumbnail"
XMP = "xmp"
IPTC = "iptc"
PHOTOSHOP = "photoshop"
COMMENT = "comment"
APPN = "appn"
MPF = "mpf"
TRAILER = "trailer"
PNG_TEXT = "png-text"
PNG_TIME = "png-time"
PNG_CHUNK = "png-chunk"
WEBP_CHUNK = "webp-chunk"
ICC = "icc"
TIFF_TAGS = "tiff-tags"
HEIF_METADATA = "heif-metadata"
HEIF_AUXILIARY = "heif-auxiliary"
HEIF_BOX = "heif-box"
GIF_EXTENSION = "gif-extension"
BMP_PROFILE_LINK = "bmp-profile-link"
UNPARSED = "unparsed"

CATEGORIES = frozenset(
    {
        EXIF,
        GPS,
        MAKERNOTE,
        THUMBNAIL,
        XMP,
        IPTC,
        PHOTOSHOP,
        COMMENT,
        APPN,
        MPF,
        TRAILER,
        PNG_TEXT,
        PNG_TIME,
        PNG_CHUNK,
        WEBP_CHUNK,
        ICC,
        TIFF_TAGS,
        HEIF_METADATA,
        HEIF_AUXILIARY,
        HEIF_BOX,
        GIF_EXTENSION,
        BMP_PROFILE_LINK,
        UNPARSED,
    }
)


@dataclass(frozen=True, slots=True)
class MetadataItem:
    """One piece of non-pixel content found in a file.

    ``tags`` are names of tags/keys (``"Artist"``, ``"GPSLatitude"``), never their
    values; ``bytes`` is the payload size, so a reader can tell a 40-byte comment
    from a 2 MB second image.
    """

    category: str
    location: str
    tags: tuple[str, ...] = ()
    bytes: int = 0
    kind: Literal["metadata"] = "metadata"

    def to_report(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "location": self.location,
            "tags": list(self.tags),
            "bytes": int(self.bytes),
        }


def unparsed(location: str, size: int = 0) -> MetadataItem:
    """Structure we could not read: reported (and so removed) rather than trusted."""
    return MetadataItem(UNPARSED, location, (), max(0, size))
