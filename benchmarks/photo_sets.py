"""Camera-like benchmark photos: the kinds a dental clinic exports, at any size.

The speed benchmark needs inputs that cost what clinic photos cost: full-size JPEGs at
quality 95 with sensor grain (flat synthetic fills compress and decode faster than real
photos), EXIF from a camera (make, model, body serial, date, GPS) for the metadata
stage to strip, and the content each stage works hardest on. Faces come from package
photos (scikit-image's astronaut and cameraman, matplotlib's Grace Hopper) and captions
are rendered with real fonts holding fake PHI, so no real patient is ever involved.

Kinds: ``portrait`` (one face filling the frame; every other one stored sideways with
EXIF orientation 6, as cameras held upright write them), ``composite`` (before/after
pair side by side with harmless labels), ``group`` (six faces against a wall),
``caption`` (a photo with a block of PHI lines burned in), ``xray`` (grayscale
radiograph-like frame with a white-on-black corner caption), ``facefree`` (intra-oral
stand-ins: no face, no text). Output is deterministic per ``seed``.

    .venv/bin/python benchmarks/photo_sets.py /tmp/set 12 12   # 12 photos at 12 MP
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import piexif
from matplotlib import cbook
from PIL import Image, ImageDraw, ImageFont
from skimage import data

KINDS = ("portrait", "composite", "group", "caption", "xray", "facefree")
CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
QUALITY = 95
GRAIN_SIGMA = 3.0

SURNAMES = ("陳", "林", "黃", "張", "李", "王", "吳", "劉", "蔡", "楊")
GIVEN = ("怡君", "志明", "淑芬", "家豪", "雅婷", "俊傑", "美玲", "冠宇", "佳穎", "建宏")
EN_FIRST = ("Alice", "Brian", "Chloe", "Daniel", "Emily", "Frank", "Grace", "Henry")
EN_LAST = ("Chen", "Lin", "Huang", "Chang", "Lee", "Wang", "Wu", "Liu")
_ID_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


@dataclass(frozen=True)
class Patient:
    """One fake identity: every field is shaped like the PHI the text stage redacts."""

    zh_name: str
    en_name: str
    tw_id: str
    chart: str
    phone: str
    roc_date: str
    roc_short: str

    def lines(self) -> list[str]:
        return [
            f"姓名：{self.zh_name}  {self.en_name}",
            f"身分證字號 {self.tw_id}",
            f"病歷號 {self.chart}",
            f"電話 {self.phone}",
            f"生日 {self.roc_date}",
        ]


def taiwan_id(rng: np.random.Generator) -> str:
    """A national ID with a valid checksum, so recognisers that check it must fire."""
    letter = _ID_LETTERS[int(rng.integers(len(_ID_LETTERS)))]
    code = 10 + _ID_LETTERS.index(letter)
    digits = [int(rng.integers(1, 3))] + [int(d) for d in rng.integers(0, 10, 7)]
    weights = (8, 7, 6, 5, 4, 3, 2, 1)
    total = code // 10 + (code % 10) * 9 + sum(d * w for d, w in zip(digits, weights, strict=True))
    return letter + "".join(map(str, digits)) + str((10 - total % 10) % 10)


def patient(rng: np.random.Generator) -> Patient:
    def pick(options: Sequence[str]) -> str:
        return options[int(rng.integers(len(options)))]

    year, month, day = (
        int(rng.integers(20, 105)),
        int(rng.integers(1, 13)),
        int(rng.integers(1, 29)),
    )
    return Patient(
        zh_name=pick(SURNAMES) + pick(GIVEN),
        en_name=f"{pick(EN_FIRST)} {pick(EN_LAST)}",
        tw_id=taiwan_id(rng),
        chart=f"{int(rng.integers(10**7)):08d}",
        phone=f"09{int(rng.integers(100)):02d}-{int(rng.integers(1000)):03d}-"
        f"{int(rng.integers(1000)):03d}",
        roc_date=f"民國{year}年{month}月{day}日",
        roc_short=f"{year:03d}/{month:02d}/{day:02d}",
    )


def frame_size(megapixels: float) -> tuple[int, int]:
    """(width, height) at 4:3, multiples of 8 as sensors deliver (12 MP: 4000x3000)."""
    width = math.sqrt(megapixels * 1e6 * 4 / 3)
    return int(round(width / 8) * 8), int(round(width * 3 / 4 / 8) * 8)


def _faces() -> list[np.ndarray]:
    with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as im:
        hopper = np.asarray(im.convert("RGB"))
    camera = np.repeat(data.camera()[..., None], 3, axis=2)
    return [data.astronaut(), hopper, camera]


def _scenes() -> list[np.ndarray]:
    return [data.coffee(), data.rocket(), data.chelsea(), data.immunohistochemistry()]


def _fill(source: np.ndarray, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Crop ``source`` to the frame's aspect (jittered) and scale it up to fill it."""
    sh, sw = source.shape[:2]
    scale = max(width / sw, height / sh) * float(rng.uniform(1.0, 1.15))
    cw, ch = min(sw, round(width / scale)), min(sh, round(height / scale))
    x = int(rng.integers(0, sw - cw + 1))
    y = int(rng.integers(0, sh - ch + 1))
    crop = source[y : y + ch, x : x + cw]
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_CUBIC)


def _wall(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth lit wall: the low-texture background studio portraits are shot against."""
    base = rng.uniform(150, 215, 3)
    yy, xx = np.mgrid[0:height:8, 0:width:8].astype(np.float32)
    light = 1.0 - 0.25 * ((xx / width - 0.4) ** 2 + (yy / height - 0.3) ** 2)
    small = (light[..., None] * base).clip(0, 255).astype(np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _text_block(
    image: Image.Image, lines: Sequence[str], xy: tuple[int, int], size: int, dark: bool
) -> None:
    """Burn ``lines`` in at ``xy`` on a plate, as clinic software and X-ray units do."""
    draw = ImageDraw.Draw(image)
    font = _font(CJK_FONT, size)
    step = int(size * 1.35)
    width = max(int(draw.textlength(line, font=font)) for line in lines)
    x, y = xy
    pad = size // 2
    plate, ink = ((0, 0, 0), (255, 255, 255)) if dark else ((250, 250, 245), (20, 20, 30))
    if image.mode == "L":
        plate, ink = (plate[0],), (ink[0],)
    draw.rectangle((x - pad, y - pad, x + width + pad, y + step * len(lines) + pad), fill=plate)
    for i, line in enumerate(lines):
        draw.text((x, y + i * step), line, font=font, fill=ink)


def portrait(width: int, height: int, rng: np.random.Generator, index: int) -> np.ndarray:
    faces = _faces()
    return _fill(faces[index % len(faces)], width, height, rng)


def composite(width: int, height: int, rng: np.random.Generator, index: int) -> np.ndarray:
    faces = _faces()
    half = width // 2
    left = _fill(faces[index % len(faces)], half, height, rng)
    right = _fill(faces[index % len(faces)], width - half, height, rng)
    right = cv2.convertScaleAbs(right, alpha=1.05, beta=8)  # the "after" is brighter
    canvas = Image.fromarray(np.hstack([left, right]))
    draw = ImageDraw.Draw(canvas)
    font = _font(CJK_FONT, max(16, height // 18))
    for x, label in ((height // 30, "術前 Before"), (half + height // 30, "術後 After")):
        draw.text((x, height // 30), label, font=font, fill=(255, 255, 255))
    return np.asarray(canvas)


def group(width: int, height: int, rng: np.random.Generator, index: int) -> np.ndarray:
    """Two rows of three faces, each about a fifth of the frame high."""
    canvas = _wall(width, height, rng)
    faces = _faces()
    cell_w, cell_h = width // 3, height // 2
    side = int(min(cell_w, cell_h) * 0.8)
    for k in range(6):
        face = faces[(index + k) % len(faces)]
        face = face[:, ::-1] if k % 2 else face
        tile = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
        x = (k % 3) * cell_w + int(rng.integers(0, cell_w - side + 1))
        y = (k // 3) * cell_h + int(rng.integers(0, cell_h - side + 1))
        canvas[y : y + side, x : x + side] = tile
    return canvas


def caption(width: int, height: int, rng: np.random.Generator, index: int) -> np.ndarray:
    sources = _faces() + _scenes()
    canvas = Image.fromarray(_fill(sources[index % len(sources)], width, height, rng))
    size = max(14, height // 40)
    _text_block(canvas, patient(rng).lines(), (size * 2, height - size * 10), size, dark=False)
    return np.asarray(canvas)


def xray(width: int, height: int, rng: np.random.Generator, index: int) -> np.ndarray:
    """Bright blurred tooth-like ellipses on a dark field with a corner caption."""
    small_w, small_h = width // 4, height // 4
    field = np.full((small_h, small_w), 25, np.uint8)
    for k in range(16):
        cx = int(small_w * (0.15 + 0.7 * k / 15))
        cy = int(small_h * (0.35 if k % 2 else 0.65) + rng.integers(-small_h // 20, small_h // 20))
        axes = (small_w // 40, small_h // 6)
        cv2.ellipse(field, (cx, cy), axes, float(rng.uniform(-10, 10)), 0, 360, 200, -1)
    field = cv2.GaussianBlur(field, (0, 0), small_w / 300)
    big = cv2.resize(field, (width, height), interpolation=cv2.INTER_CUBIC)
    canvas = Image.fromarray(big, "L")
    who = patient(rng)
    size = max(12, height // 50)
    lines = [who.en_name, who.tw_id, who.roc_short]
    _text_block(canvas, lines, (size, size), size, dark=True)
    return np.asarray(canvas)


def facefree(width: int, height: int, rng: np.random.Generator, index: int) -> np.ndarray:
    scenes = _scenes()
    return _fill(scenes[index % len(scenes)], width, height, rng)


BUILDERS: dict[str, Callable[[int, int, np.random.Generator, int], np.ndarray]] = {
    "portrait": portrait,
    "composite": composite,
    "group": group,
    "caption": caption,
    "xray": xray,
    "facefree": facefree,
}


def grain(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise: what makes a real photo cost more to code than a flat render."""
    noise = rng.standard_normal(pixels.shape, dtype=np.float32) * GRAIN_SIGMA
    return (pixels.astype(np.float32) + noise).clip(0, 255).astype(np.uint8)


def camera_exif(rng: np.random.Generator, orientation: int) -> bytes:
    """EXIF a clinic camera writes: the identifying fields the metadata stage must drop."""
    stamp = f"2025:{int(rng.integers(1, 13)):02d}:{int(rng.integers(1, 29)):02d} 10:15:30"
    serial = f"{int(rng.integers(10**11)):012d}"

    def dms(value: float) -> tuple[tuple[int, int], ...]:
        deg = int(value)
        minutes = int((value - deg) * 60)
        seconds = round(((value - deg) * 60 - minutes) * 60 * 100)
        return ((deg, 1), (minutes, 1), (seconds, 100))

    exif = {
        "0th": {
            piexif.ImageIFD.Make: b"Canon",
            piexif.ImageIFD.Model: b"Canon EOS 90D",
            piexif.ImageIFD.Orientation: orientation,
            piexif.ImageIFD.DateTime: stamp.encode(),
            piexif.ImageIFD.Artist: b"Dental Clinic",
        },
        "Exif": {
            piexif.ExifIFD.DateTimeOriginal: stamp.encode(),
            piexif.ExifIFD.BodySerialNumber: serial.encode(),
            piexif.ExifIFD.LensModel: b"EF100mm f/2.8L Macro IS USM",
        },
        "GPS": {
            piexif.GPSIFD.GPSLatitudeRef: b"N",
            piexif.GPSIFD.GPSLatitude: dms(float(rng.uniform(22.0, 25.3))),
            piexif.GPSIFD.GPSLongitudeRef: b"E",
            piexif.GPSIFD.GPSLongitude: dms(float(rng.uniform(120.1, 121.9))),
        },
    }
    return piexif.dump(exif)


def make_photo(
    path: Path, kind: str, size: tuple[int, int], seed: int, index: int, sideways: bool = False
) -> Path:
    """Write one photo of ``kind``; the same arguments always give the same bytes."""
    width, height = size
    rng = np.random.default_rng([seed, index])
    if sideways:  # shown upright (portrait shape), stored rotated as the sensor saw it
        pixels = np.rot90(BUILDERS[kind](height, width, rng, index), k=1)
    else:
        pixels = BUILDERS[kind](width, height, rng, index)
    image = Image.fromarray(grain(np.ascontiguousarray(pixels), rng))
    exif = camera_exif(rng, orientation=6 if sideways else 1)
    part = path.with_suffix(".part")
    image.save(part, "JPEG", quality=QUALITY, exif=exif)
    part.replace(path)
    return path


def make_set(
    folder: Path,
    n: int,
    megapixels: float,
    seed: int = 0,
    kinds: Sequence[str] | None = None,
) -> list[Path]:
    """Write ``n`` photos cycling through ``kinds`` (all by default); return their paths.

    Files already present with the expected name are kept, so a benchmark can reuse a
    set between runs; the name carries size, seed and index, so any change makes new ones.
    """
    chosen = tuple(kinds) if kinds else KINDS
    unknown = set(chosen) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; choose from {KINDS}")
    folder.mkdir(parents=True, exist_ok=True)
    width, height = frame_size(megapixels)
    paths = []
    for index in range(n):
        kind = chosen[index % len(chosen)]
        sideways = kind == "portrait" and (index // len(chosen)) % 2 == 1
        turn = "_o6" if sideways else ""
        path = folder / f"{kind}_{width}x{height}_s{seed}_{index:03d}{turn}.jpg"
        if not path.exists():
            make_photo(path, kind, (width, height), seed, index, sideways)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("n", type=int)
    parser.add_argument("megapixels", type=float)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", nargs="+", choices=KINDS)
    args = parser.parse_args()
    for path in make_set(args.folder, args.n, args.megapixels, args.seed, args.kinds):
        print(path)


if __name__ == "__main__":
    main()
