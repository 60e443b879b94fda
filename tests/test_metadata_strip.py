"""strip_lossless(): outputs carry no metadata (per exiftool and byte parsing), no second
image or trailer, no PHI in any encoding, and the compressed image data is untouched."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import deid
from deid.metadata import inventory, jpeg, strip_lossless
from metadata_files import (
    exiftool_identifying,
    heif_everything,
    jpeg_bytes,
    jpeg_everything,
    jpeg_scan_bytes,
    mpo_bytes,
    named_profile,
    phi_hits,
    pil_image,
    png_chunks,
    png_end,
    png_everything,
    srgb_profile,
    tiff_everything,
    webp_chunks,
    webp_everything,
)


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGBA"))


def _markers(data: bytes) -> list[int]:
    return [seg.marker for seg in jpeg.parse(data).segments]


@pytest.mark.parametrize("build", [jpeg_everything, mpo_bytes], ids=["jpeg", "mpo"])
def test_jpeg_strip_removes_everything(build) -> None:  # type: ignore[no-untyped-def]
    data = build()
    assert phi_hits(data)  # the fixture really carries PHI
    out = strip_lossless(data, keep_icc=True)
    assert out is not None
    assert inventory(out) == ()
    assert exiftool_identifying(out, ".jpg") == []
    assert phi_hits(out) == []
    # Nothing after EOI: no MPF image, no second JPEG, no vendor trailer.
    layout = jpeg.parse(out)
    assert layout.end == len(out)
    assert out.count(b"\xff\xd8\xff") == 1
    # Only decoding segments plus a thumbnail-free JFIF APP0 remain.
    assert set(_markers(out)) <= {0xE0, 0xDB, 0xC0, 0xC4, 0xDA}
    assert b"MPF\x00" not in out and b"Exif\x00\x00" not in out


@pytest.mark.parametrize(
    "data",
    [jpeg_everything(), mpo_bytes(), jpeg_bytes(progressive=True), jpeg_bytes((333, 257))],
    ids=["everything", "mpo", "progressive", "odd-size"],
)
def test_jpeg_scan_data_is_byte_identical(data: bytes) -> None:
    out = strip_lossless(data, keep_icc=True)
    assert out is not None
    assert jpeg_scan_bytes(out) == jpeg_scan_bytes(data)
    assert np.array_equal(_pixels(out), _pixels(data))


def test_jpeg_restart_markers_and_cmyk_survive() -> None:
    buf = io.BytesIO()
    pil_image().convert("CMYK").save(buf, "JPEG", quality=90)
    cmyk = buf.getvalue()
    out = strip_lossless(cmyk, keep_icc=True)
    assert out is not None and b"Adobe" in out  # APP14 carries the colour transform
    assert np.array_equal(_pixels(out), _pixels(cmyk))
    buf = io.BytesIO()
    pil_image().save(buf, "JPEG", quality=90, restart_marker_rows=1)
    restarts = buf.getvalue()
    assert b"\xff\xd0" in restarts
    out = strip_lossless(restarts, keep_icc=True)
    assert out is not None and jpeg_scan_bytes(out) == jpeg_scan_bytes(restarts)


def test_jpeg_jfif_thumbnail_is_dropped_but_density_kept() -> None:
    data = jpeg_everything()
    out = strip_lossless(data, keep_icc=True)
    assert out is not None
    app0 = out[2 : 2 + 2 + struct.unpack_from(">H", out, 4)[0]]
    assert app0[4:9] == b"JFIF\x00" and len(app0) == 18 and app0[-2:] == b"\x00\x00"
    assert app0[9:16] == data[11:18]  # version, units, density


def test_plain_icc_kept_and_personal_profile_dropped() -> None:
    plain = jpeg_everything(icc=srgb_profile())
    out = strip_lossless(plain, keep_icc=True)
    assert out is not None
    assert [i.category for i in inventory(out)] == ["icc"]
    with Image.open(io.BytesIO(out)) as img:
        assert img.info["icc_profile"] == srgb_profile()
    assert exiftool_identifying(out, ".jpg", icc_allowed=True) == []
    dropped = strip_lossless(plain, keep_icc=False)
    assert dropped is not None and inventory(dropped) == ()
    personal = jpeg_everything(icc=named_profile("Dr Wang Hsiao-Ming monitor"))
    out = strip_lossless(personal, keep_icc=True)
    assert out is not None and inventory(out) == ()
    assert phi_hits(out) == [] and b"Wang" not in out


def test_large_icc_profile_is_rechunked() -> None:
    profile = srgb_profile()
    data = jpeg_bytes(icc=profile)
    out = strip_lossless(data, keep_icc=True)
    assert out is not None
    with Image.open(io.BytesIO(out)) as img:
        assert img.info["icc_profile"] == profile


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_rotated_jpeg_is_not_stripped_losslessly(orientation: int) -> None:
    """Dropping EXIF would drop Orientation and show the image sideways: re-encode instead."""
    assert strip_lossless(jpeg_everything(orientation=orientation), keep_icc=True) is None


def test_orientation_one_strips() -> None:
    assert strip_lossless(jpeg_everything(orientation=1), keep_icc=True) is not None


def test_png_strip_removes_everything_and_keeps_idat() -> None:
    data = png_everything()
    assert phi_hits(data)
    out = strip_lossless(data, keep_icc=True)
    assert out is not None
    assert inventory(out) == ()
    assert exiftool_identifying(out, ".png") == []
    assert phi_hits(out) == []
    chunks = png_chunks(out)
    assert [t for t, _ in chunks if t not in (b"IDAT",)] == [b"IHDR", b"IEND"]
    idat = [body for t, body in png_chunks(data) if t == b"IDAT"]
    assert [body for t, body in chunks if t == b"IDAT"] == idat
    assert png_end(out) == len(out)  # nothing after IEND
    assert np.array_equal(_pixels(out), _pixels(data))


def test_png_plain_iccp_kept_with_a_fixed_name() -> None:
    data = png_everything(icc=srgb_profile())
    out = strip_lossless(data, keep_icc=True)
    assert out is not None
    assert [i.category for i in inventory(out)] == ["icc"]
    [iccp] = [body for t, body in png_chunks(out) if t == b"iCCP"]
    assert iccp.startswith(b"ICC Profile\x00")
    with Image.open(io.BytesIO(out)) as img:
        assert img.info["icc_profile"] == srgb_profile()
    assert exiftool_identifying(out, ".png", icc_allowed=True) == []


def test_png_transparency_and_palette_survive() -> None:
    buf = io.BytesIO()
    pil_image().convert("P").save(buf, "PNG", transparency=0)
    data = buf.getvalue() + b"trailer"
    out = strip_lossless(data, keep_icc=True)
    assert out is not None and inventory(out) == ()
    assert np.array_equal(_pixels(out), _pixels(data))


@pytest.mark.parametrize("lossless", [False, True], ids=["vp8", "vp8l"])
def test_webp_strip_removes_everything_and_keeps_bitstream(lossless: bool) -> None:
    data = webp_everything(lossless=lossless)
    out = strip_lossless(data, keep_icc=True)
    assert out is not None
    assert inventory(out) == ()
    assert exiftool_identifying(out, ".webp") == []
    assert phi_hits(out) == []
    kinds = [fourcc for fourcc, _ in webp_chunks(out)]
    assert b"EXIF" not in kinds and b"XMP " not in kinds
    flags = dict(webp_chunks(out)).get(b"VP8X", b"\x00")[0]
    assert flags & 0x2C == 0  # no ICC/EXIF/XMP flags left
    bitstream = {b"VP8 ", b"VP8L", b"ALPH"}
    assert [c for c in webp_chunks(out) if c[0] in bitstream] == [
        c for c in webp_chunks(data) if c[0] in bitstream
    ]
    assert 8 + struct.unpack_from("<I", out, 4)[0] == len(out)
    assert np.array_equal(_pixels(out), _pixels(data))


def test_webp_plain_icc_kept_with_flag() -> None:
    data = webp_everything(icc=srgb_profile())
    out = strip_lossless(data, keep_icc=True)
    assert out is not None
    assert [i.category for i in inventory(out)] == ["icc"]
    assert dict(webp_chunks(out))[b"VP8X"][0] & 0x20
    with Image.open(io.BytesIO(out)) as img:
        assert img.info["icc_profile"] == srgb_profile()


@pytest.mark.parametrize("build", [tiff_everything, heif_everything], ids=["tiff", "heif"])
def test_containers_without_lossless_path_return_none(build) -> None:  # type: ignore[no-untyped-def]
    assert strip_lossless(build(), keep_icc=True) is None


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xd8\xff\xe0\x00\x10JFIF", jpeg_bytes()[:-200], png_everything()[:300]],
    ids=["empty", "header-only", "truncated-jpeg", "truncated-png"],
)
def test_unsound_files_are_not_stripped(data: bytes) -> None:
    assert strip_lossless(data, keep_icc=True) is None


def test_png_with_bad_crc_is_not_stripped() -> None:
    data = bytearray(png_everything())
    idat = data.find(b"IDAT")
    data[idat + 10] ^= 0xFF
    assert strip_lossless(bytes(data), keep_icc=True) is None


def test_png_frame_the_decoder_never_showed_is_not_copied() -> None:
    """An acTL that undercounts its frames hides a second frame from Pillow (and so from
    the face and text stages); the output must be re-encoded from what was checked."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 200, 200)).save(
        buf, "PNG", save_all=True, append_images=[Image.new("RGB", (64, 48), (10, 20, 30))]
    )
    data = buf.getvalue()
    acTL = data.index(b"acTL") - 4
    body = struct.pack(">II", 1, 0)  # "one frame", although two follow
    crc = struct.pack(">I", zlib.crc32(b"acTL" + body))
    forged = data[:acTL] + struct.pack(">I", 8) + b"acTL" + body + crc + data[acTL + 20 :]
    assert Image.open(io.BytesIO(forged)).n_frames == 1  # hidden from the decoder
    assert strip_lossless(forged, keep_icc=True) is None
    result = deid.Pipeline(deid.Config(stages=("metadata",))).process(forged)
    assert result.ok and b"fdAT" not in result.encode()
    assert result.report.output is not None and result.report.output.encoding == "re-encoded"
    assert (_pixels(result.encode())[:, :, :3] == 200).all()


def test_webp_frame_the_decoder_never_showed_is_not_copied() -> None:
    """A still WebP with an animation frame appended decodes as the still only."""
    anim = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 200, 200)).save(
        anim, "WEBP", save_all=True, lossless=True,
        append_images=[Image.new("RGB", (64, 48), (10, 20, 30))],
    )  # fmt: skip
    animated = anim.getvalue()
    hidden = animated[animated.index(b"ANMF", animated.index(b"ANMF") + 4) :]
    still = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 200, 200)).save(still, "WEBP", lossless=True)
    body = still.getvalue()[12:] + hidden
    forged = b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body
    assert getattr(Image.open(io.BytesIO(forged)), "n_frames", 1) == 1
    assert strip_lossless(forged, keep_icc=True) is None
    result = deid.Pipeline(deid.Config(stages=("metadata",))).process(forged)
    assert result.ok and b"ANMF" not in result.encode()
    assert (_pixels(result.encode())[:, :, :3] == 200).all()
