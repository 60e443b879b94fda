"""Decoding: orientation, modes, and bad inputs, checked on real encoded files."""

from __future__ import annotations

import io

import numpy as np
import piexif
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

import deid
from deid.config import InputConfig, OutputConfig
from deid.errors import InputError
from deid.io import encode, load

CFG = InputConfig()


def _asymmetric(h: int = 60, w: int = 90) -> np.ndarray:
    rng = np.random.default_rng(7)
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    img[:10, :20] = (255, 0, 0)  # a marker that makes every flip/rotation distinguishable
    return img


def _jpeg(arr: np.ndarray, **save: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=100, **save)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_gives_upright_pixels(orientation: int) -> None:
    exif = piexif.dump({"0th": {piexif.ImageIFD.Orientation: orientation}})
    data = _jpeg(_asymmetric(), exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    loaded = load(data, CFG)
    assert loaded.source.orientation == orientation
    assert np.array_equal(loaded.frame.pixels, expected)
    assert not loaded.frame.pixels.flags.writeable


def test_grayscale_stays_grayscale() -> None:
    buf = io.BytesIO()
    Image.fromarray(_asymmetric()[:, :, 1]).save(buf, "PNG")
    loaded = load(buf.getvalue(), CFG)
    assert loaded.frame.mode == "L"
    px = loaded.frame.pixels
    assert np.array_equal(px[:, :, 0], px[:, :, 2])


def test_palette_with_transparency_keeps_alpha() -> None:
    img = Image.fromarray(_asymmetric()).convert("P", palette=Image.Palette.ADAPTIVE)
    img.info["transparency"] = 0
    buf = io.BytesIO()
    img.save(buf, "PNG", transparency=0)
    loaded = load(buf.getvalue(), CFG)
    assert loaded.frame.alpha is not None
    assert "palette_to_rgb" in loaded.source.conversions


def test_rgba_alpha_is_kept_aside() -> None:
    arr = np.dstack([_asymmetric(), np.full((60, 90), 128, np.uint8)])
    buf = io.BytesIO()
    Image.fromarray(arr, "RGBA").save(buf, "PNG")
    loaded = load(buf.getvalue(), CFG)
    assert loaded.frame.pixels.shape == (60, 90, 3)
    assert loaded.frame.alpha is not None and int(loaded.frame.alpha[0, 0]) == 128


def test_cmyk_jpeg_is_converted() -> None:
    buf = io.BytesIO()
    Image.fromarray(_asymmetric()).convert("CMYK").save(buf, "JPEG", quality=95)
    loaded = load(buf.getvalue(), CFG)
    assert loaded.source.mode == "CMYK" and "cmyk_to_rgb" in loaded.source.conversions
    assert loaded.frame.pixels.dtype == np.uint8


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    ramp = np.tile(np.linspace(0, 65535, 100, dtype=np.uint16), (20, 1))
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, "PNG")
    loaded = load(buf.getvalue(), CFG)
    gray = loaded.frame.pixels[:, :, 0]
    assert gray.min() == 0 and gray.max() == 255 and len(np.unique(gray)) > 90
    assert "depth_reduced_to_8bit" in loaded.source.conversions


@pytest.mark.parametrize("fmt", ["GIF", "TIFF"])
def test_multi_frame_inputs_are_refused_not_truncated(fmt: str) -> None:
    frames = [Image.fromarray(_asymmetric()), Image.fromarray(255 - _asymmetric())]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:])
    with pytest.raises(InputError) as err:
        load(buf.getvalue(), CFG)
    assert err.value.code == "multi_frame"


def test_avif_decodes() -> None:
    buf = io.BytesIO()
    Image.fromarray(_asymmetric(64, 96)).save(buf, "AVIF", quality=90)
    loaded = load(buf.getvalue(), CFG)
    assert loaded.source.format == "AVIF" and loaded.source.output_format == "AVIF"
    assert loaded.frame.pixels.shape == (64, 96, 3)


def test_heic_decodes() -> None:
    import pillow_heif

    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(_asymmetric(64, 96))).save(buf, quality=90)
    loaded = load(buf.getvalue(), CFG)
    assert loaded.source.format == "HEIF"
    assert loaded.frame.pixels.shape == (64, 96, 3)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"this is a text file, not a photo" * 10, "not_an_image"),
        (_jpeg(_asymmetric(400, 400))[:2000], "truncated"),
    ],
)
def test_bad_inputs_give_clear_codes(data: bytes, code: str) -> None:
    with pytest.raises(InputError) as err:
        load(data, CFG)
    assert err.value.code == code
    assert "Traceback" not in str(err.value)


def test_pixel_limit_refuses_decompression_bombs() -> None:
    buf = io.BytesIO()
    Image.new("L", (4000, 4000)).save(buf, "PNG")  # tiny file, 16 MP once decoded
    with pytest.raises(InputError) as err:
        load(buf.getvalue(), InputConfig(max_pixels=10_000_000))
    assert err.value.code == "too_many_pixels"


def test_arrays_of_any_depth_are_accepted() -> None:
    loaded = load(np.linspace(0, 1, 200, dtype=np.float32).reshape(10, 20), CFG)
    assert loaded.frame.mode == "L" and loaded.frame.pixels.max() == 255


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "BMP", "HEIF", "AVIF"])
def test_encode_round_trips_every_output_format(fmt: str) -> None:
    yy, xx = np.mgrid[0:64, 0:96]
    arr = np.dstack([xx * 2, yy * 3, (xx + yy)]).astype(np.uint8)
    data = encode(arr, alpha=None, mode="RGB", fmt=fmt, config=OutputConfig())
    back = load(data, CFG).frame.pixels
    assert back.shape == arr.shape
    assert np.abs(back.astype(int) - arr.astype(int)).mean() < 3


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_twelve_bit_xray_text_in_a_sixteen_bit_file_is_read_and_redacted(fmt: str) -> None:
    """X-ray sensors store 12 bits in 16-bit files; scaled by 65535 the caption was
    near-black, OCR saw nothing and the file went out "clean", name and all."""
    font = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 40)
    caption = Image.new("L", (900, 200), 0)
    ImageDraw.Draw(caption).text((40, 70), "姓名: 王小明  電話 0912-345-678", font=font, fill=255)
    twelve_bit = (np.asarray(caption).astype(np.uint32) * 4095 // 255).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(twelve_bit).save(buf, fmt)
    loaded = load(buf.getvalue(), CFG)
    assert loaded.frame.pixels.max() == 255  # full contrast, as a viewer windows it
    result = deid.Pipeline(deid.Config(stages=("metadata", "text"))).process(buf.getvalue())
    assert result.status == "redacted", result.report.reasons
    categories = {t["category"] for t in result.report.text}
    assert {"name", "phone"} <= categories, categories
    out = np.asarray(Image.open(io.BytesIO(result.encode())).convert("L"))
    assert out[60:140, 150:700].max() < 60  # the name and number are covered
