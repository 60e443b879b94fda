"""inventory(): every metadata kind is found, by category, in real files of every format,
clean files inventory empty, garbage never raises, and reports carry no PHI."""

from __future__ import annotations

import io
import json
import struct
from importlib import resources

import jsonschema
import numpy as np
import pytest

from deid.metadata import MetadataItem, inventory, sniff
from metadata_files import (
    NAME_EN,
    PATIENT_ID,
    bmp_with_trailer,
    exif_block,
    exiftool_json,
    gif_with_comment,
    heif_everything,
    heif_rgba,
    heif_with_depth,
    jpeg_bytes,
    jpeg_everything,
    mpo_bytes,
    phi_hits,
    pil_image,
    png_everything,
    samsung_trailer,
    srgb_profile,
    tiff_clean_written,
    tiff_everything,
    webp_everything,
    xmp_packet,
)


def _categories(data: bytes) -> set[str]:
    return {item.category for item in inventory(data)}


def _by_category(data: bytes, category: str) -> list[MetadataItem]:
    return [item for item in inventory(data) if item.category == category]


def test_jpeg_every_kind_is_found() -> None:
    data = jpeg_everything()
    assert _categories(data) == {
        "exif",
        "gps",
        "makernote",
        "thumbnail",
        "xmp",
        "iptc",
        "photoshop",
        "comment",
        "appn",
        "trailer",
    }
    exif = _by_category(data, "exif")[0]
    assert {"Artist", "ImageDescription", "UserComment", "XPAuthor", "MakerNote"} <= set(exif.tags)
    assert {"GPSLatitude", "GPSLongitude"} <= set(_by_category(data, "gps")[0].tags)
    thumbnails = {item.location for item in _by_category(data, "thumbnail")}
    assert thumbnails == {"APP0 JFIF", "APP1 Exif IFD1", "APP13 Photoshop thumbnail"}
    assert {"By-line", "Caption-Abstract"} <= set(_by_category(data, "iptc")[0].tags)
    assert {"dc:creator", "dc:description"} <= set(_by_category(data, "xmp")[0].tags)
    assert {item.location for item in _by_category(data, "appn")} == {"APP5", "APP9", "APP15"}
    trailers = [item.location for item in _by_category(data, "trailer")]
    assert trailers == ["after EOI: JPEG image 2", "after EOI: Samsung SEFH/SEFT trailer"]


def test_jpeg_sizes_match_the_bytes_in_the_file() -> None:
    data = jpeg_everything()
    second, samsung = jpeg_bytes((80, 60)), samsung_trailer()
    assert data.endswith(second + samsung)
    [image2] = [i for i in inventory(data) if i.location == "after EOI: JPEG image 2"]
    [trailer] = [i for i in inventory(data) if "Samsung" in i.location]
    assert (image2.bytes, trailer.bytes) == (len(second), len(samsung))


def test_exiftool_agrees_the_fixture_carries_each_kind() -> None:
    """Guards the fixtures themselves: exiftool sees what we claim we put there."""
    tags = exiftool_json(jpeg_everything(), ".jpg")
    groups = {key.split(":")[0] for key in tags}
    assert {"IFD0", "ExifIFD", "GPS", "IFD1", "XMP-dc", "IPTC", "Photoshop"} <= groups
    assert tags["IFD0:Artist"] == NAME_EN
    assert {"File:Comment", "JFIF:ThumbnailTIFF", "Composite:GPSPosition"} <= set(tags)


def test_mpo_second_image_is_mpf() -> None:
    data = mpo_bytes()
    mpf = _by_category(data, "mpf")
    assert [item.location for item in mpf] == ["APP2 MPF", "after EOI: JPEG image 2"]
    assert "MPEntry" in mpf[0].tags
    assert mpf[1].bytes > 1000
    assert "MPImage2:MPImageStart" in exiftool_json(data, ".jpg")


def test_png_every_kind_is_found() -> None:
    data = png_everything()
    items = inventory(data)
    assert {i.category for i in items} == {
        "png-text",
        "xmp",
        "png-time",
        "png-chunk",
        "exif",
        "makernote",
        "gps",
        "trailer",
    }
    text_locations = sorted(i.location for i in items if i.category == "png-text")
    assert text_locations == ["iTXt", "tEXt", "tEXt", "zTXt"]
    keywords = {tag for i in items if i.category == "png-text" for tag in i.tags}
    # The keyword that is itself a name is reported as "custom", not by its text.
    assert keywords == {"Author", "Comment", "Description", "custom"}
    # A private chunk type is four free letters: reported without its name.
    assert [i.location for i in items if i.category == "png-chunk"] == ["private chunk"]


def test_webp_every_kind_is_found() -> None:
    data = webp_everything()
    assert _categories(data) == {"exif", "gps", "makernote", "thumbnail", "xmp", "trailer"}


def test_tiff_identifying_tags_and_blocks() -> None:
    data = tiff_everything()
    items = inventory(data)
    tiff_tags = [i for i in items if i.category == "tiff-tags"]
    assert set(tiff_tags[0].tags) == {
        "Artist",
        "Make",
        "DateTime",
        "ImageDescription",
        "HostComputer",
    }
    assert {i.category for i in items} == {
        "tiff-tags",
        "xmp",
        "iptc",
        "photoshop",
        "thumbnail",
        "exif",
        "gps",
    }
    assert _by_category(data, "photoshop")[0].tags == ("ResolutionInfo",)
    assert "UserComment" in _by_category(data, "exif")[0].tags


def test_heif_exif_xmp_thumbnail() -> None:
    data = heif_everything()
    cats = _categories(data)
    assert {"exif", "gps", "makernote", "xmp", "thumbnail"} <= cats
    assert [i.location for i in _by_category(data, "thumbnail")] == ["item 4 thumbnail"]


def test_avif_exif_xmp_and_profile() -> None:
    buf = io.BytesIO()
    pil_image().save(buf, "AVIF", exif=exif_block(), xmp=xmp_packet(), icc_profile=srgb_profile())
    assert _categories(buf.getvalue()) == {"exif", "gps", "makernote", "thumbnail", "xmp", "icc"}


def test_heif_depth_is_auxiliary_but_alpha_is_pixels() -> None:
    [depth] = inventory(heif_with_depth())
    assert (depth.category, depth.tags) == ("heif-auxiliary", ("depth",))
    assert inventory(heif_rgba()) == ()


def test_bmp_and_gif_trailers_and_comments() -> None:
    assert _categories(bmp_with_trailer()) == {"trailer"}
    assert _categories(gif_with_comment()) == {"comment", "trailer"}


CLEAN_CASES = [
    (fmt, mode)
    for fmt in ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF", "HEIF", "AVIF")
    for mode in ("RGB", "RGBA", "L")
    if not (mode == "RGBA" and fmt in ("JPEG", "BMP", "GIF"))  # formats without alpha
]


@pytest.mark.parametrize(("fmt", "mode"), CLEAN_CASES)
def test_clean_pillow_files_inventory_empty(fmt: str, mode: str) -> None:
    buf = io.BytesIO()
    pil_image().convert(mode).save(buf, fmt)
    assert inventory(buf.getvalue()) == ()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "HEIF", "AVIF"])
def test_profile_is_the_only_finding_of_a_profiled_file(fmt: str) -> None:
    buf = io.BytesIO()
    pil_image().save(buf, fmt, icc_profile=srgb_profile())
    assert [i.category for i in inventory(buf.getvalue())] == ["icc"]


def test_progressive_and_cmyk_jpegs_are_clean() -> None:
    assert inventory(jpeg_bytes(progressive=True)) == ()
    buf = io.BytesIO()
    pil_image().convert("CMYK").save(buf, "JPEG")  # carries Adobe APP14
    assert b"Adobe" in buf.getvalue()
    assert inventory(buf.getvalue()) == ()


def test_tiff_written_by_pillow_is_clean_also_compressed() -> None:
    assert inventory(tiff_clean_written()) == ()
    for compression in ("tiff_lzw", "tiff_adobe_deflate", "jpeg"):
        buf = io.BytesIO()
        pil_image().save(buf, "TIFF", compression=compression)
        assert inventory(buf.getvalue()) == (), compression


GARBAGE = [
    b"",
    b"hello, not an image",
    b"\xff\xd8\xff",
    b"\xff\xd8\xff\xe1\xff\xff" + b"Exif\x00\x00" + b"MM\x00*\x00\x00\x00\x08\xff\xff",
    b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR",
    b"RIFF\xff\xff\xff\xffWEBPVP8X",
    b"II*\x00\xff\xff\xff\xff",
    b"MM\x00*\x00\x00\x00\x08\x7f\xff",
    b"BM\x00",
    b"GIF89a\x10\x00\x10\x00\x80",
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\xff\xffmeta",
]


@pytest.mark.parametrize("data", GARBAGE)
def test_garbage_gives_unparsed_and_never_raises(data: bytes) -> None:
    items = inventory(data)
    assert items, "corrupt input must never inventory as clean"
    assert "unparsed" in {i.category for i in items}


def test_truncated_and_bit_flipped_real_files_never_raise() -> None:
    rng = np.random.default_rng(7)
    for data in (jpeg_everything(), png_everything(), webp_everything(), tiff_everything()):
        for cut in (len(data) // 3, len(data) // 2, len(data) - 5):
            inventory(data[:cut])
        for _ in range(25):
            flipped = bytearray(data)
            for pos in rng.integers(0, len(data), 8):
                flipped[pos] ^= 0xFF
            items = inventory(bytes(flipped))
            assert all(isinstance(i, MetadataItem) for i in items)


def test_exif_ifd_loop_is_reported_not_followed() -> None:
    # IFD0 at offset 8 whose next-IFD pointer points back to itself.
    tiff = b"II*\x00\x08\x00\x00\x00" + b"\x01\x00" + struct.pack("<HHII", 315, 2, 4, 0x41414141)
    tiff += struct.pack("<I", 8)
    segment = b"\xff\xe1" + struct.pack(">H", len(tiff) + 8) + b"Exif\x00\x00" + tiff
    data = jpeg_bytes()[:2] + segment + jpeg_bytes()[2:]
    cats = [i.category for i in inventory(data)]
    assert "exif" in cats and "unparsed" in cats


def test_container_is_sniffed_from_bytes_not_names() -> None:
    assert sniff(png_everything()) == "png"
    assert sniff(heif_everything()) == "heif"
    assert sniff(b"GIF89a" + bytes(20)) == "gif"
    assert sniff(b"\x00" * 32) is None


ALL_FIXTURES = [
    jpeg_everything,
    mpo_bytes,
    png_everything,
    webp_everything,
    tiff_everything,
    heif_everything,
    heif_with_depth,
    bmp_with_trailer,
    gif_with_comment,
]


@pytest.mark.parametrize("build", ALL_FIXTURES, ids=lambda f: f.__name__)
def test_reports_match_schema_and_hold_no_phi(build) -> None:  # type: ignore[no-untyped-def]
    schema = json.loads(resources.files("deid").joinpath("data/report.schema.json").read_text())
    item_schema = {**schema["$defs"]["metadata_item"], "$defs": schema["$defs"]}
    reports = [item.to_report() for item in inventory(build())]
    assert reports
    for report in reports:
        jsonschema.validate(report, item_schema)
        assert report["category"] in {
            "exif", "gps", "makernote", "thumbnail", "xmp", "iptc", "photoshop", "comment",
            "appn", "mpf", "trailer", "png-text", "png-time", "png-chunk", "icc", "tiff-tags",
            "heif-auxiliary",
        }  # fmt: skip
    for dump in (json.dumps(reports, ensure_ascii=False), json.dumps(reports)):
        assert phi_hits(dump.encode()) == []
        assert "Wang" not in dump and PATIENT_ID not in dump


def test_tiff_appended_bytes_are_a_trailer() -> None:
    clean = tiff_clean_written()
    assert inventory(clean) == ()
    [item] = inventory(clean + PATIENT_ID.encode())
    assert (item.category, item.bytes) == ("trailer", len(PATIENT_ID))


def test_heif_extra_boxes_and_trailing_bytes() -> None:
    clean = heif_rgba()
    uuid = struct.pack(">I4s", 8 + 16 + len(PATIENT_ID), b"uuid") + bytes(16) + PATIENT_ID.encode()
    assert [(i.category, i.location) for i in inventory(clean + uuid)] == [("heif-box", "box uuid")]
    private = struct.pack(">I4s", 8 + len(PATIENT_ID), b"Wang") + PATIENT_ID.encode()
    assert [(i.category, i.location) for i in inventory(clean + private)] == [
        ("heif-box", "private box")
    ]
    [trailer] = inventory(clean + b"\x01\x02" + PATIENT_ID.encode())
    assert trailer.category == "trailer"
