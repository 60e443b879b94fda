"""Generate the text-stage development set: images with burned-in fake PHI.

Every case is rendered by code with real fonts onto real photos (scikit-image and
matplotlib sample images), plain name cards, and X-ray-like grayscale frames with
white-on-black corner captions. Identities come from Faker (zh_TW, en_US) plus
Taiwan IDs with valid checksums, chart numbers, phones and ROC/Gregorian dates.
Each case stores, per rendered string, its text, whether it is PHI or harmless,
and the exact ink mask (after rotation and blur) as a bounding box plus a packed
mask, so the scorer can tell whether the ink was covered.

    .venv/bin/python benchmarks/devset_text.py            # writes benchmarks/devset/text/
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from faker import Faker
from PIL import Image, ImageDraw, ImageFilter, ImageFont

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
OUT = Path(__file__).parent / "devset" / "text"
SEED = 20260522

CLINICS = ("微笑牙醫診所", "晴光牙醫診所", "Bright Smile Dental", "Harbor Dental Studio")
DOCTORS = ("蔡醫師", "Dr. Chen")
HARMLESS = (
    "Before",
    "After",
    "術前",
    "術後",
    "治療前",
    "治療後",
    "#11",
    "#21",
    "36",
    "46",
    "R",
    "L",
)
_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def taiwan_id(rng: random.Random, second: str | None = None) -> str:
    """A national ID (second digit 1/2) with a valid checksum."""
    letter = rng.choice(_LETTERS)
    code = 10 + _LETTERS.index(letter)
    digits = [int(second) if second else rng.choice((1, 2))] + [rng.randint(0, 9) for _ in range(7)]
    weights = (8, 7, 6, 5, 4, 3, 2, 1)
    total = code // 10 + (code % 10) * 9 + sum(d * w for d, w in zip(digits, weights, strict=True))
    check = (10 - total % 10) % 10
    return letter + "".join(map(str, digits)) + str(check)


@dataclass
class Identity:
    zh_name: str
    en_name: str
    tw_id: str
    chart: str
    phone: str
    birth_roc: str
    birth_iso: str
    address: str
    email: str
    ssn: str


def identity(rng: random.Random, zh: Faker, en: Faker) -> Identity:
    birth = en.date_of_birth(minimum_age=5, maximum_age=90)
    roc_year = birth.year - 1911
    roc_forms = (
        f"民國{roc_year}年{birth.month}月{birth.day}日",
        f"{roc_year:03d}/{birth.month:02d}/{birth.day:02d}",
        f"{roc_year}.{birth.month:02d}.{birth.day:02d}",
    )
    iso_forms = (
        birth.isoformat(),
        f"{birth.year}/{birth.month:02d}/{birth.day:02d}",
        f"{birth.month:02d}/{birth.day:02d}/{birth.year}",
    )
    phone_forms = (
        f"09{rng.randint(10, 99)}-{rng.randint(100, 999)}-{rng.randint(100, 999)}",
        f"09{rng.randint(10000000, 99999999)}",
        f"(02) {rng.randint(2000, 2999)}-{rng.randint(1000, 9999)}",
        f"0{rng.randint(3, 8)}-{rng.randint(200, 899)}-{rng.randint(1000, 9999)}",
    )
    return Identity(
        zh_name=zh.name(),
        en_name=en.name(),
        tw_id=taiwan_id(rng),
        chart=f"{rng.randint(0, 9999999):07d}",
        phone=rng.choice(phone_forms),
        birth_roc=rng.choice(roc_forms),
        birth_iso=rng.choice(iso_forms),
        address=zh.address().replace("\n", " "),
        email=en.email(),
        ssn=f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
    )


@dataclass
class Piece:
    text: str
    phi: bool
    category: str  # zh_name, en_name, id, chart, phone, date, address, email, ssn, harmless


@dataclass
class Case:
    name: str
    image: np.ndarray
    pieces: list[dict] = field(default_factory=list)
    keep_regions: list[list[list[float]]] = field(default_factory=list)
    group: str = ""


# -- rendering --------------------------------------------------------------------------


def _font(size: int, cjk: bool = True) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(CJK_FONT if cjk else LATIN_FONT, size)


def render(
    base: np.ndarray,
    lines: list[tuple[float, float, list[Piece]]],
    *,
    size: int,
    colour: tuple[int, int, int],
    style: str,
    angle: float,
    blur: float,
    latin_font: bool = False,
) -> tuple[np.ndarray, list[dict]]:
    """Draw ``lines`` (x, y as fractions of the image, pieces) and return ink masks.

    Each piece is drawn on its own layer so its ink mask is exact after the whole
    text layer is rotated about the image centre and blurred like the caption.
    """
    h, w = base.shape[:2]
    font = _font(size, cjk=not latin_font)
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    masks: list[tuple[Piece, Image.Image]] = []
    space = draw.textlength(" ", font=font)
    for fx, fy, pieces in lines:
        x, y = fx * w, fy * h
        total = sum(draw.textlength(p.text, font=font) for p in pieces) + space * len(pieces)
        if style == "bar":
            draw.rectangle(
                (x - size * 0.4, y - size * 0.25, x + total + size * 0.2, y + size * 1.35),
                fill=(20, 20, 20, 200),
            )
        for piece in pieces:
            mask = Image.new("L", (w, h), 0)
            ImageDraw.Draw(mask).text((x, y), piece.text, font=font, fill=255)
            stroke = max(1, size // 14) if style == "outline" else 0
            draw.text(
                (x, y), piece.text, font=font, fill=(*colour, 255),
                stroke_width=stroke, stroke_fill=(0, 0, 0, 255),
            )  # fmt: skip
            masks.append((piece, mask))
            x += draw.textlength(piece.text, font=font) + space
    if angle:
        layer = layer.rotate(angle, resample=Image.BICUBIC, center=(w / 2, h / 2))
    if blur:
        layer = layer.filter(ImageFilter.GaussianBlur(blur))
    out = Image.fromarray(base).convert("RGBA")
    out.alpha_composite(layer)
    return np.array(out.convert("RGB")), ink_items(masks, angle, (w / 2, h / 2))


def ink_items(
    masks: list[tuple[Piece, Image.Image]], angle: float, centre: tuple[float, float]
) -> list[dict]:
    """Ground truth per piece: the exact ink (turned like the text layer) as box + packed mask."""
    items = []
    for piece, mask in masks:
        if angle:
            mask = mask.rotate(angle, resample=Image.BILINEAR, center=centre)
        ink = np.array(mask) > 96
        ys, xs = np.nonzero(ink)
        if len(xs) == 0:
            continue
        box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
        sub = ink[box[1] : box[3], box[0] : box[2]]
        items.append(
            {
                "text": piece.text,
                "phi": piece.phi,
                "category": piece.category,
                "box": box,
                "mask": np.packbits(sub).tobytes().hex(),
                "mask_shape": list(sub.shape),
            }
        )
    return items


# -- bases ------------------------------------------------------------------------------


def photos() -> dict[str, np.ndarray]:
    import matplotlib.cbook as cbook
    from skimage import data

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = np.array(Image.open(fh).convert("RGB"))
    return {
        "astronaut": data.astronaut(),
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "rocket": data.rocket(),
        "hopper": hopper,
    }


def _resize(img: np.ndarray, width: int) -> np.ndarray:
    h, w = img.shape[:2]
    return np.array(Image.fromarray(img).resize((width, round(h * width / w)), Image.LANCZOS))


def xray_base(rng: random.Random, w: int = 1600, h: int = 900) -> np.ndarray:
    """Dark panoramic-like frame: a bright arch of 'teeth' on noisy black."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    arch = np.exp(-(((yy - h * 0.5 - ((xx - w / 2) / (w / 2)) ** 2 * h * 0.18) / (h * 0.12)) ** 2))
    teeth = 0.5 + 0.5 * np.cos(xx / w * 2 * np.pi * 16) ** 8
    img = 30 + 150 * arch * (0.6 + 0.4 * teeth)
    img += np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    return np.stack([img] * 3, axis=-1)


def intraoral_base(rng: random.Random, w: int = 1400, h: int = 900) -> tuple[np.ndarray, list]:
    """Gums, two rows of teeth with dark interdental gaps, grey retractor bands."""
    img = Image.new("RGB", (w, h), (170, 60, 70))
    draw = ImageDraw.Draw(img)
    cx, cy = w / 2, h / 2
    draw.ellipse((cx - 520, cy - 300, cx + 520, cy + 300), fill=(120, 30, 40))
    for y0 in (cy - 170, cy + 20):
        x = cx - 460
        while x < cx + 440:
            tw = rng.randint(70, 110)
            shade = rng.randint(215, 250)
            draw.rounded_rectangle(
                (x, y0, x + tw, y0 + 150), radius=25, fill=(shade, shade - 8, shade - 30)
            )
            x += tw + rng.randint(4, 10)
    for side in (-1, 1):
        x0 = cx + side * 560
        draw.arc((x0 - 120, cy - 330, x0 + 120, cy + 330), 0, 360, fill=(190, 190, 200), width=22)
    polygon = [
        [cx - 540, cy - 320], [cx + 540, cy - 320], [cx + 540, cy + 320], [cx - 540, cy + 320]
    ]  # fmt: skip
    blurred = img.filter(ImageFilter.GaussianBlur(1.2))
    return np.array(blurred), polygon


# -- cases ------------------------------------------------------------------------------


def _phi_line(ident: Identity, rng: random.Random, kind: str) -> list[Piece]:
    if kind == "zh":
        label = rng.choice(("姓名:", "病患:", "患者", ""))
        pieces = [Piece(label, False, "label")] if label else []
        return [*pieces, Piece(ident.zh_name, True, "zh_name")]
    if kind == "chart":
        return [Piece(rng.choice(("病歷號", "病歷號碼:", "Chart No.", "MRN:")), False, "label"),
                Piece(ident.chart, True, "chart")]  # fmt: skip
    if kind == "id":
        return [
            Piece(rng.choice(("身分證:", "ID:", "")), False, "label"),
            Piece(ident.tw_id, True, "id"),
        ]
    if kind == "phone":
        return [
            Piece(rng.choice(("電話:", "Tel:", "")), False, "label"),
            Piece(ident.phone, True, "phone"),
        ]
    if kind == "roc":
        return [Piece(rng.choice(("生日:", "出生日期", "")), False, "label"),
                Piece(ident.birth_roc, True, "date")]  # fmt: skip
    if kind == "date":
        return [Piece(rng.choice(("DOB:", "Date:", "")), False, "label"),
                Piece(ident.birth_iso, True, "date")]  # fmt: skip
    if kind == "en":
        return [Piece(rng.choice(("Patient:", "Name:", "")), False, "label"),
                Piece(ident.en_name, True, "en_name")]  # fmt: skip
    if kind == "address":
        return [Piece(ident.address, True, "address")]
    if kind == "email":
        return [Piece(ident.email, True, "email")]
    if kind == "ssn":
        return [Piece("SSN", False, "label"), Piece(ident.ssn, True, "ssn")]
    raise ValueError(kind)


def _caption_colour(rng: random.Random, base: np.ndarray, style: str) -> tuple[int, int, int]:
    """Captions are made to be read: light on bars and outlines, else by background."""
    light = ((255, 255, 255), (255, 255, 0), (255, 110, 110), (120, 255, 120))
    if style != "plain":
        return rng.choice(light)
    corner = base[: base.shape[0] // 5, : base.shape[1] // 3].mean()
    return (10, 10, 10) if corner > 140 else rng.choice(light)


def _strip_labels(
    lines: list[tuple[float, float, list[Piece]]],
) -> list[tuple[float, float, list[Piece]]]:
    return [(x, y, [p for p in ps if p.text]) for x, y, ps in lines]


def build(out: Path = OUT, seed: int = SEED) -> list[Path]:
    rng = random.Random(seed)
    zh = Faker("zh_TW")
    en = Faker("en_US")
    zh.seed_instance(seed)
    en.seed_instance(seed + 1)
    out.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    bases = photos()
    names = list(bases)

    # Photo overlays at about 2 MP (upscaled samples: what a clinic exports).
    styles = ("bar", "outline", "plain", "bar", "outline")
    kinds = ("zh", "chart", "id", "phone", "roc", "date", "en", "zh", "zh", "zh")
    for i in range(20):
        ident = identity(rng, zh, en)
        base = _resize(bases[names[i % len(names)]], 1600)
        size = rng.choice((18, 22, 26, 32, 40))
        k1, k2 = kinds[i % len(kinds)], kinds[(i * 3 + 1) % len(kinds)]
        harmless = Piece(rng.choice(HARMLESS[:6]), False, "harmless")
        lines = [
            (0.04, 0.04, _phi_line(ident, rng, k1)),
            (0.04, 0.04 + 2.2 * size / base.shape[0], _phi_line(ident, rng, k2)),
            (0.70, 0.90, [harmless]),
        ]
        if i % 4 == 0:
            lines.append((0.05, 0.92, [Piece(rng.choice(CLINICS), False, "harmless")]))
        style = styles[i % len(styles)]
        img, items = render(
            base, _strip_labels(lines), size=size,
            colour=_caption_colour(rng, base, style),
            style=style, angle=rng.uniform(-4, 4) if i % 3 == 0 else 0.0,
            blur=rng.choice((0, 0, 0.6, 1.0)),
        )  # fmt: skip
        cases.append(Case(f"photo{i:02d}", img, items, group="photo"))

    # Name cards held in frame: rotated up to 15 degrees, slightly blurred.
    for i in range(10):
        ident = identity(rng, zh, en)
        card = np.full((700, 1100, 3), (245, 242, 235), dtype=np.uint8)
        size = rng.choice((30, 36, 44))
        rows = ["zh", "roc", "phone", "id", "address" if i % 2 else "chart"]
        lines = [(0.06, 0.08 + 0.16 * r, _phi_line(ident, rng, k)) for r, k in enumerate(rows)]
        lines.append((0.62, 0.86, [Piece(rng.choice(CLINICS[:2]), False, "harmless")]))
        img, items = render(
            card, _strip_labels(lines), size=size, colour=(20, 20, 20), style="plain",
            angle=rng.uniform(-15, 15), blur=rng.choice((0, 0.8)),
        )  # fmt: skip
        cases.append(Case(f"card{i:02d}", img, items, group="card"))

    # X-ray exports: white on black corner captions, English and Chinese.
    for i in range(10):
        ident = identity(rng, zh, en)
        base = xray_base(rng)
        size = rng.choice((16, 20, 24))
        left = [
            (0.02, 0.03, _phi_line(ident, rng, "en" if i % 2 else "zh")),
            (0.02, 0.03 + 1.6 * size / 900, _phi_line(ident, rng, "date")),
            (0.02, 0.03 + 3.2 * size / 900, _phi_line(ident, rng, "chart")),
        ]
        right = [(0.80, 0.03, [Piece(rng.choice(CLINICS), False, "harmless")])]
        bottom = [
            (0.03, 0.93, [Piece("R", False, "harmless")]),
            (0.95, 0.93, [Piece("L", False, "harmless")]),
        ]
        if i % 3 == 0:
            bottom.append((0.40, 0.93, [*_phi_line(ident, rng, "ssn" if i % 2 else "id")]))
        img, items = render(
            base, _strip_labels(left + right + bottom), size=size, colour=(255, 255, 255),
            style="plain", angle=0.0, blur=rng.choice((0, 0.5)), latin_font=bool(i % 2),
        )  # fmt: skip
        cases.append(Case(f"xray{i:02d}", img, items, group="xray"))

    # Oral keep region: a smiling face with a caption elsewhere; no PHI in the mouth.
    mouth = {"astronaut": [[196, 184], [252, 180], [262, 196], [226, 214], [192, 198]]}
    for i in range(4):
        ident = identity(rng, zh, en)
        base = bases["astronaut"]
        lines = [
            (0.03, 0.88, _phi_line(ident, rng, "zh")),
            (0.6, 0.02, [Piece("術前", False, "harmless")]),
        ]
        img, items = render(
            base, lines, size=20, colour=(255, 255, 255), style="bar", angle=0.0, blur=0.0
        )
        cases.append(Case(f"oral{i:02d}", img, items, mouth["astronaut"], group="oral"))

    # Intraoral-like frames: rows of teeth (white blocks, dark gaps) and retractors, the
    # whole mouth a keep region. Only the caption (and, in one case, a date printed
    # inside the mouth region) may be redacted; noise read on teeth must not be.
    for i in range(4):
        ident = identity(rng, zh, en)
        base, polygon = intraoral_base(rng)
        lines = [
            (0.03, 0.04, _phi_line(ident, rng, "zh")),
            (0.75, 0.04, [Piece("術後", False, "harmless")]),
        ]
        if i == 0:
            lines.append((0.40, 0.50, _phi_line(ident, rng, "date")))
        img, items = render(
            base, _strip_labels(lines), size=28, colour=(255, 255, 255), style="bar", angle=0.0,
            blur=0.0,
        )  # fmt: skip
        cases.append(Case(f"intraoral{i:02d}", img, items, [polygon], group="oral"))

    written = []
    for case in cases:
        Image.fromarray(case.image).save(out / f"{case.name}.png")
        meta = {"name": case.name, "group": case.group, "items": case.pieces,
                "keep_regions": case.keep_regions}  # fmt: skip
        (out / f"{case.name}.json").write_text(json.dumps(meta, ensure_ascii=False))
        written.append(out / f"{case.name}.png")
    allow = "\n".join((*CLINICS, *DOCTORS)) + "\n"
    (out / "allow.txt").write_text(allow, encoding="utf-8")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    written = build(args.out)
    print(f"{len(written)} cases written to {args.out}")


if __name__ == "__main__":
    main()
