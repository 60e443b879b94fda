"""What each kind of finding is in law: HIPAA Safe Harbor and Taiwan's PDPA.

HIPAA's Safe Harbor method (45 CFR 164.514(b)(2)(i)) lists 18 kinds of identifier,
(A) to (R), that must be removed for health information to count as de-identified;
Taiwan's Personal Data Protection Act (art. 2 para. 1) lists the kinds of personal
data it protects, and art. 6 makes medical records, medical treatment and health
examination data sensitive. Each recogniser carries its own category (see
``deid.text.recognizers.base``); this module adds the metadata categories, faces and
file names, and renders the tables the README and ``docs/report.md`` show, so the
documentation is made from the code it describes (``python -m deid.regulation``).
"""

from __future__ import annotations

from .metadata import CATEGORIES
from .text.recognizers import REGISTRY
from .text.recognizers.base import DENY, ROSTER, TEXT

HIPAA_IDENTIFIERS = {
    "A": "names",
    "B": "geographic subdivisions smaller than a state",
    "C": "dates (except year) directly related to an individual",
    "D": "telephone numbers",
    "E": "fax numbers",
    "F": "e-mail addresses",
    "G": "social security numbers",
    "H": "medical record numbers",
    "I": "health plan beneficiary numbers",
    "J": "account numbers",
    "K": "certificate/license numbers",
    "L": "vehicle identifiers and serial numbers",
    "M": "device identifiers and serial numbers",
    "N": "web URLs",
    "O": "IP addresses",
    "P": "biometric identifiers",
    "Q": "full-face photographs and any comparable images",
    "R": "any other unique identifying number, characteristic, or code",
}

#: Metadata category -> (what it can hold, HIPAA identifiers, PDPA categories).
METADATA: dict[str, tuple[str, str, str]] = {
    "exif": ("camera make/model and serial, capture dates, artist, comments",
             "A, C, M, R", "name; other data that can identify a person indirectly"),
    "gps": ("where the photo was taken", "B", "other data that can identify a person "
            "indirectly (location)"),
    "makernote": ("vendor data: serial numbers, owner names, dates", "A, C, M",
                  "other data that can identify a person indirectly"),
    "thumbnail": ("an unredacted preview of the whole photo", "Q", "characteristics; "
                  "medical records"),
    "xmp": ("creator, dates, places, editing history, free text", "A, B, C, R",
            "name; other data that can identify a person"),
    "iptc": ("by-line, captions, city, dates", "A, B, C", "name; contact information"),
    "photoshop": ("IPTC inside image resources, previews", "A, B, C, Q",
                  "name; characteristics"),
    "comment": ("free text", "any (A-R)", "any"),
    "appn": ("application segments of unknown content", "any (A-R)", "any"),
    "mpf": ("second images and previews of the same shot", "Q", "characteristics; "
            "medical records"),
    "trailer": ("data after the image's end (vendor blobs, hidden images)", "any (A-R)", "any"),
    "png-text": ("free text (tEXt, iTXt, zTXt)", "any (A-R)", "any"),
    "png-time": ("last modification time", "C", "other data that can identify a person "
                 "indirectly"),
    "png-chunk": ("chunks of unknown content", "any (A-R)", "any"),
    "webp-chunk": ("EXIF and XMP inside WebP", "A, B, C, M", "name; other data"),
    "icc": ("colour profile (kept only when plain; descriptions can name a device)", "M",
            "none when plain"),
    "tiff-tags": ("artist, host computer, dates, serial numbers", "A, C, M",
                  "name; other data that can identify a person indirectly"),
    "heif-metadata": ("EXIF and XMP inside HEIF/AVIF", "A, B, C, M", "name; other data"),
    "heif-auxiliary": ("depth maps, alpha planes, thumbnails of the same shot", "Q, P",
                       "characteristics"),
    "heif-box": ("boxes of unknown content", "any (A-R)", "any"),
    "gif-extension": ("comments and application extensions", "any (A-R)", "any"),
    "bmp-profile-link": ("a file path to a colour profile (can hold a user name)", "A, R",
                         "name; other data"),
    "unparsed": ("structure that could not be parsed: treated as unsafe", "any (A-R)", "any"),
}  # fmt: skip

#: Pixels and names deid handles outside the recognisers and metadata.
OTHER: dict[str, tuple[str, str, str]] = {
    "faces": ("a face (obscured but for the oral region)", "Q, P",
              "characteristics (biometric features)"),
    "file names": ("names, IDs and dates in file and folder names", "A, C, H, R",
                   "name; national ID number; medical records"),
}  # fmt: skip

#: What deid does not remove. Stated in the README and in docs/report.md.
RESIDUAL_RISKS = (
    ("Distinctive dental work", "the teeth are what is published. Crowns, gaps, "
     "fractures, rare anomalies and restorations are compared with dental records to "
     "identify people; someone who knows the patient's smile may recognise it"),
    ("Tattoos, scars, moles and piercings", "on the lips, chin, neck or hands, outside "
     "the obscured head region or inside the kept oral region"),
    ("Jewellery and clothing", "earrings, necklaces, lip rings, uniforms with names"),
    ("Backgrounds", "the clinic's interior, other patients, screens showing records, "
     "mirrors and reflections (in glasses, intraoral mirrors, windows), name badges "
     "under about 12 px cap height, QR codes"),
    ("The patient's own posts", "a patient who re-posts the picture, or posts the "
     "same smile elsewhere, links it to their name; nothing in the file can prevent that"),
    ("Context", "the clinic's name, the treatment and the date of publishing can narrow "
     "a small clinic's patients down to one"),
    ("The pixels themselves", "a camera's sensor noise can link photos to one camera"),
)  # fmt: skip


def recogniser_rows() -> list[tuple[str, str, str, str]]:
    """(recogniser, report category, HIPAA, PDPA) for every PHI kind the text stage finds."""
    rows = []
    for name, cls in REGISTRY.items():
        c = cls.category
        if name == "labelled_value":  # a value after a label takes the label's category
            rows.append((name, "that of its label", "that of its label (A, C, D, H, ...)",
                         "that of its label"))  # fmt: skip
        else:
            rows.append((name, f"`{c.name}`", c.hipaa, c.pdpa))
    rows += [(c.name, f"`{c.name}`", c.hipaa, c.pdpa) for c in (ROSTER, DENY, TEXT)]
    return rows


def recogniser_table() -> str:
    lines = ["| recogniser | report category | HIPAA Safe Harbor | PDPA |", "|---|---|---|---|"]
    for name, category, hipaa, pdpa in recogniser_rows():
        lines.append(f"| `{name}` | {category} | {hipaa} | {pdpa} |")
    return "\n".join(lines)


def metadata_table() -> str:
    lines = ["| metadata category / other | what it can hold | HIPAA Safe Harbor | PDPA |",
             "|---|---|---|---|"]  # fmt: skip
    missing = sorted(CATEGORIES - set(METADATA))
    if missing:  # a new category must be mapped before the docs can be made
        raise ValueError(f"metadata categories without a mapping: {', '.join(missing)}")
    for name in sorted(METADATA):
        what, hipaa, pdpa = METADATA[name]
        lines.append(f"| `{name}` | {what} | {hipaa} | {pdpa} |")
    for name, (what, hipaa, pdpa) in OTHER.items():
        lines.append(f"| {name} | {what} | {hipaa} | {pdpa} |")
    return "\n".join(lines)


def residual_risks() -> str:
    return "\n".join(f"- **{title}:** {text}." for title, text in RESIDUAL_RISKS)


def main() -> None:
    """Print the three tables, for pasting into the README and docs/report.md."""
    print(recogniser_table(), metadata_table(), residual_risks(), sep="\n\n")  # noqa: T201


if __name__ == "__main__":
    main()


__all__ = ["HIPAA_IDENTIFIERS", "METADATA", "OTHER", "RESIDUAL_RISKS", "metadata_table",
           "recogniser_rows", "recogniser_table", "residual_risks"]  # fmt: skip
