"""The fast JPEG paths of deid.io: OpenCV decode and encode, and the chroma policy.

An RGB or grey JPEG is decoded by OpenCV instead of Pillow and written by OpenCV; these
tests hold the promises that make that safe: the same pixels as Pillow for every kind
of JPEG a camera or an editor writes, the same errors for broken files, no metadata in
what is written, and chroma never finer than the source's (the measured-better choice).
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import piexif
import pytest
from PIL import Image, ImageOps
from skimage import data

from deid.config import Config, InputConfig, OutputConfig
from deid.errors import InputError
from deid.io import encode, load
from deid.metadata import inventory
from deid.pipeline import Pipeline

CFG = InputConfig()


def _photo(width: int = 1001, height: int = 777) -> np.ndarray:
    """A real face photo at an odd size (partial MCUs) with sensor-like grain."""
    rng = np.random.default_rng(3)
    base = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    return (base + rng.normal(0, 4, base.shape)).clip(0, 255).astype(np.uint8)


def _jpeg(image: Image.Image, **save: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", **save)
    return buf.getvalue()


def _sampling(jpeg: bytes) -> list[tuple[int, int]]:
    with Image.open(io.BytesIO(jpeg)) as img:
        return [layer[1:3] for layer in img.layer]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse)


VARIANTS = {
    "4:2:0": {"quality": 95},
    "4:2:2": {"quality": 95, "subsampling": 1},
    "4:4:4": {"quality": 95, "subsampling": 0},
    "progressive": {"quality": 90, "progressive": True},
    "optimized": {"quality": 80, "optimize": True},
    "restart markers": {"quality": 95, "restart_marker_blocks": 4},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("grey", [False, True])
def test_decode_gives_pillows_pixels(variant: str, grey: bool) -> None:
    image = Image.fromarray(_photo())
    if grey:
        image = image.convert("L")
    jpeg = _jpeg(image, **VARIANTS[variant])
    with Image.open(io.BytesIO(jpeg)) as img:
        expected = np.asarray(img.convert("RGB"))
    loaded = load(jpeg, CFG)
    assert loaded.frame.mode == ("L" if grey else "RGB")
    assert np.array_equal(loaded.frame.pixels, expected)
    assert not loaded.frame.pixels.flags.writeable
    assert loaded.frame.pixels.flags.c_contiguous


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_is_an_exact_transpose_of_the_decode(orientation: int) -> None:
    exif = piexif.dump({"0th": {piexif.ImageIFD.Orientation: orientation}})
    jpeg = _jpeg(Image.fromarray(_photo(333, 201)), quality=95, exif=exif)
    with Image.open(io.BytesIO(jpeg)) as img:
        expected = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    loaded = load(jpeg, CFG)
    assert loaded.frame.pixels.shape == expected.shape
    assert np.array_equal(loaded.frame.pixels, expected)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
def test_truncated_jpeg_still_fails_as_truncated(keep: float) -> None:
    jpeg = _jpeg(Image.fromarray(_photo()), quality=95)
    with pytest.raises(InputError) as err:
        load(jpeg[: int(len(jpeg) * keep)], CFG)
    assert err.value.code == "truncated"


def test_caller_arrays_are_copied_decoded_ones_are_not_shared() -> None:
    source = _photo(64, 48)
    loaded = load(source, CFG)
    source[:] = 0
    assert loaded.frame.pixels.any()  # the caller's later writes do not reach the frame


@pytest.mark.parametrize("source_sampling", [0, 1, 2])
def test_jpeg_output_never_has_finer_chroma_than_its_source(source_sampling: int) -> None:
    jpeg = _jpeg(Image.fromarray(_photo()), quality=95, subsampling=source_sampling)
    loaded = load(jpeg, CFG)
    assert loaded.source.jpeg_sampling == source_sampling
    pixels, mode = loaded.frame.pixels, loaded.frame.mode
    out = encode(pixels, alpha=None, mode=mode, fmt="JPEG", config=OutputConfig(),
                 source_sampling=loaded.source.jpeg_sampling)  # fmt: skip
    assert _sampling(out) == _sampling(jpeg)
    assert inventory(out) == ()  # OpenCV's writer adds nothing identifying either
    # A coarser setting than the source's is honoured.
    coarse = OutputConfig(jpeg_subsampling="4:2:0")
    out = encode(pixels, alpha=None, mode=mode, fmt="JPEG", config=coarse,
                 source_sampling=loaded.source.jpeg_sampling)  # fmt: skip
    assert _sampling(out) == [(2, 2), (1, 1), (1, 1)]


def test_matching_a_420_source_is_closer_to_it_than_444() -> None:
    """The measurement behind the policy, on a real photo: 4:4:4 of a 4:2:0 source is
    larger and further from the decoded input than re-encoding at 4:2:0."""
    jpeg = _jpeg(Image.fromarray(_photo(1600, 1200)), quality=95)
    loaded = load(jpeg, CFG)
    decoded = loaded.frame.pixels
    matched = encode(decoded, alpha=None, mode="RGB", fmt="JPEG", config=OutputConfig(),
                     source_sampling=loaded.source.jpeg_sampling)  # fmt: skip
    full = encode(decoded, alpha=None, mode="RGB", fmt="JPEG", config=OutputConfig())
    assert _sampling(full) == [(1, 1)] * 3
    assert len(matched) < len(full)
    assert _psnr(load(matched, CFG).frame.pixels, decoded) > _psnr(
        load(full, CFG).frame.pixels, decoded
    )


def test_grey_jpeg_is_written_as_one_channel() -> None:
    jpeg = _jpeg(Image.fromarray(_photo()).convert("L"), quality=95)
    loaded = load(jpeg, CFG)
    out = encode(loaded.frame.pixels, alpha=None, mode="L", fmt="JPEG", config=OutputConfig())
    with Image.open(io.BytesIO(out)) as img:
        assert img.mode == "L"
        assert np.abs(np.asarray(img, np.int16) - loaded.frame.pixels[:, :, 0]).mean() < 1.5


def test_pipeline_writes_a_rotated_photo_upright_with_its_sampling_and_nothing_else() -> None:
    exif = piexif.dump(
        {
            "0th": {piexif.ImageIFD.Orientation: 6, piexif.ImageIFD.Make: b"Canon"},
            "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N"},
        }
    )
    photo = _photo(640, 480)
    jpeg = _jpeg(Image.fromarray(photo), quality=95, exif=exif)
    config = Config().replace(faces={"enabled": False}, text={"enabled": False})
    with Pipeline(config) as pipe:
        result = pipe.process(jpeg)
    assert result.status == "redacted"
    assert result.report.output is not None
    assert result.report.output.encoding == "re-encoded"
    out = result.encode()
    assert inventory(out) == ()
    assert _sampling(out) == [(2, 2), (1, 1), (1, 1)]
    with Image.open(io.BytesIO(out)) as img:
        shown = np.asarray(img.convert("RGB"), np.int16)
    assert shown.shape == (640, 480, 3)
    assert np.abs(shown - np.rot90(photo, k=-1)).mean() < 4
