"""The text dev set split into a tuning part and a held-out part.

The two parts are built by the same code from disjoint pools: source photos, fonts
(Debian font packages: the tuning part uses Noto Sans CJK and DejaVu, the held-out
part Noto Serif CJK, WenQuanYi Zen Hei, AR PL UMing/UKai, Liberation and FreeFont),
caption colours, harmless caption words (none of them in the caption vocabulary) and
seeds. Card styles are the same kinds in both
(text straight on the photo, boxes, translucent bands, tilted cards), so the held-out
figures say how the stage does on photos, fonts and layouts it was never tuned on.

Families (each on both parts):

- ``block``: a caption block of five to seven lines printed straight onto the photo
  texture, in any colour, Chinese and Latin mixed on one line, labels (姓名, 病歷號碼,
  身分證, 電話, 生日, Name, MRN, DOB) beside their values, and values with no label;
- ``band``: one to three lines on a translucent band across the photo;
- ``box``: a solid box (card) of three to five lines on the photo;
- ``tilted``: the same card turned by 4-15 degrees;
- ``darkid``: a national ID in bold monospace (yellow or white) on a dark area, a
  mobile number ``09xx-xxx-xxx`` and a labelled Chinese name;
- ``overlay``, ``card``, ``xray``: the original dev set's kinds (two caption lines on
  a bar, outlined or plain; a rotated name card; white-on-black X-ray captions);
- ``gapped`` (tuning only): labels with their values far to the right, caption lines
  (Recall, 回診, 2 weeks, ...) between the rows.

The tuning part also includes the original 48-case dev set (``devset_text.build``).
Ground truth is the exact ink mask of every piece, as in ``devset_text``.

    .venv/bin/python benchmarks/devset_text_split.py [--split tuning|heldout]
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from faker import Faker
from PIL import Image, ImageDraw, ImageFilter, ImageFont

import devset_text
from devset_text import Identity, Piece, identity

ROOT = Path(__file__).parent / "devset"
_NOTO = "/usr/share/fonts/opentype/noto/"
_DEJAVU = "/usr/share/fonts/truetype/dejavu/"
_LIB = "/usr/share/fonts/truetype/liberation/"
_FREE = "/usr/share/fonts/truetype/freefont/"


@dataclass(frozen=True)
class Split:
    name: str
    seed: int
    cjk_fonts: tuple[tuple[str, int], ...]  # (path, face index)
    latin_fonts: tuple[str, ...]
    mono_bold: tuple[str, ...]
    photos: tuple[str, ...]
    dark_photos: tuple[str, ...]  # with a dark area (suit, night sky) for the darkid family
    colours: tuple[tuple[int, int, int], ...]
    harmless: tuple[str, ...]
    clinics: tuple[str, ...]
    # Tuning only: cases added after the first figures, each family from its own seed
    # so that the cases before them stay the same images.
    gapped: int = 0
    more_harmless: tuple[str, ...] = ()


# Caption words are split three ways so that the harmless figures measure captions the
# caption vocabulary (``deid.text.recognizers.vocabulary``) never saw: none of these
# words is listed there, and the tuning and held-out parts share none of them. Each
# tuple keeps its length: the cases draw from it by position, so the other pieces stay
# the same images when the words change.
_TUNING_HARMLESS = (
    "Spacing", "Alignment", "Sealants", "Tartar removal", "蛀牙", "齒縫變小", "白斑", "敏感改善",
)  # fmt: skip
# Caption words of the tuning part's later cases (``gapped``).
_MORE_HARMLESS = (
    "Recheck", "Wax trial", "Gingivitis", "Night guard", "黏著", "咬痕", "補綴", "牙菌斑", "Cavity",
    "Polishing",
)  # fmt: skip
_HELDOUT_HARMLESS = (
    "Healing", "Crowding", "Denture fit", "Plaque index", "牙結石", "齒列擁擠", "癒合良好",
    "義齒調整",
)  # fmt: skip

SPLITS = {
    "tuning": Split(
        name="tuning",
        seed=20260522,
        cjk_fonts=((_NOTO + "NotoSansCJK-Regular.ttc", 0), (_NOTO + "NotoSansCJK-Bold.ttc", 0)),
        latin_fonts=(
            _DEJAVU + "DejaVuSans.ttf",
            _DEJAVU + "DejaVuSans-Bold.ttf",
            _DEJAVU + "DejaVuSerif.ttf",
            _DEJAVU + "DejaVuSansMono.ttf",
        ),
        mono_bold=(_DEJAVU + "DejaVuSansMono-Bold.ttf",),
        photos=("astronaut", "coffee", "chelsea", "rocket", "hopper", "moon", "coins"),
        dark_photos=("astronaut", "hopper", "rocket"),
        colours=((255, 255, 0), (255, 255, 255), (230, 40, 40), (20, 20, 20), (120, 255, 120)),
        harmless=_TUNING_HARMLESS,
        clinics=devset_text.CLINICS,
        gapped=8,
        more_harmless=_MORE_HARMLESS,
    ),
    "heldout": Split(
        name="heldout",
        seed=4242,
        cjk_fonts=(
            (_NOTO + "NotoSerifCJK-Regular.ttc", 0),
            (_NOTO + "NotoSerifCJK-Bold.ttc", 0),
            ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
            ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
            ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
        ),
        latin_fonts=(
            _LIB + "LiberationSans-Regular.ttf",
            _LIB + "LiberationSans-Bold.ttf",
            _LIB + "LiberationSerif-Regular.ttf",
            _LIB + "LiberationSerif-Bold.ttf",
            _FREE + "FreeSans.ttf",
            _FREE + "FreeSerif.ttf",
            _LIB + "LiberationMono-Regular.ttf",
        ),
        mono_bold=(_LIB + "LiberationMono-Bold.ttf", _FREE + "FreeMonoBold.ttf"),
        photos=("motorcycle", "brick", "grass", "gravel", "ihc", "retina", "obama", "group"),
        dark_photos=("obama", "biden", "hubble"),
        colours=((255, 230, 0), (250, 250, 250), (255, 60, 60), (10, 10, 10), (255, 160, 0)),
        harmless=_HELDOUT_HARMLESS,
        clinics=("安心牙醫診所", "Sunrise Dental Care", "晨光牙醫", "Lakeside Family Dental"),
    ),
}


def photo(name: str) -> np.ndarray:
    """Photos shipped in packages (scikit-image, matplotlib, pinned source archives)."""
    from skimage import data

    if name == "hopper" or name in ("astronaut", "coffee", "chelsea", "rocket"):
        return devset_text.photos()[name]
    if name in ("obama", "biden", "group"):
        import package_photos

        return np.asarray(package_photos.photo(name))
    loaders = {
        "moon": data.moon, "coins": data.coins, "motorcycle": lambda: data.stereo_motorcycle()[0],
        "brick": data.brick, "grass": data.grass, "gravel": data.gravel,
        "ihc": data.immunohistochemistry, "retina": data.retina,
        "hubble": data.hubble_deep_field,
    }  # fmt: skip
    img = np.asarray(loaders[name]())
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return img[:, :, :3].astype(np.uint8)


def _fit(img: np.ndarray, width: int) -> np.ndarray:
    h, w = img.shape[:2]
    size = (width, round(h * width / w))
    return np.asarray(Image.fromarray(img).resize(size, Image.LANCZOS))


# -- rendering --------------------------------------------------------------------------


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= c <= "\u9fff" for c in text)


class Fonts:
    """Per piece, a CJK font for Chinese text and a Latin one otherwise (one pair per
    block, as a clinic's template would use)."""

    def __init__(self, split: Split, rng: random.Random, *, mono: bool = False) -> None:
        self.cjk = rng.choice(split.cjk_fonts)
        self.latin = rng.choice(split.mono_bold if mono else split.latin_fonts)

    def get(self, text: str, size: int) -> ImageFont.FreeTypeFont:
        if _has_cjk(text):
            return ImageFont.truetype(self.cjk[0], size, index=self.cjk[1])
        return ImageFont.truetype(self.latin, size)


Line = list[Piece]


def render_block(
    base: np.ndarray,
    origin: tuple[int, int],
    lines: list[Line],
    *,
    fonts: Fonts,
    size: int,
    colour: tuple[int, int, int],
    backdrop: str = "none",  # none | box | band
    backdrop_colour: tuple[int, int, int, int] = (20, 20, 20, 200),
    angle: float = 0.0,
    blur: float = 0.0,
    outline: bool = False,
    line_gap: float = 1.45,
) -> tuple[np.ndarray, list[dict]]:
    """Draw a block of lines at ``origin`` and return the image and per-piece ink."""
    h, w = base.shape[:2]
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    x0, y0 = origin
    widths = []
    for line in lines:
        total = 0.0
        for p in line:
            f = fonts.get(p.text, size)
            total += draw.textlength(p.text, font=f) + draw.textlength(" ", font=f)
        widths.append(total)
    block_w = max(widths) if widths else 0
    block_h = line_gap * size * len(lines)
    if backdrop == "box":
        draw.rectangle(
            (
                x0 - 0.6 * size,
                y0 - 0.5 * size,
                x0 + block_w + 0.4 * size,
                y0 + block_h + 0.2 * size,
            ),
            fill=backdrop_colour,
        )
    elif backdrop == "band":
        draw.rectangle((0, y0 - 0.5 * size, w, y0 + block_h + 0.2 * size), fill=backdrop_colour)
    masks: list[tuple[Piece, Image.Image]] = []
    for r, line in enumerate(lines):
        x, y = x0, y0 + r * line_gap * size
        for p in line:
            f = fonts.get(p.text, size)
            if p.text:
                mask = Image.new("L", (w, h), 0)
                ImageDraw.Draw(mask).text((x, y), p.text, font=f, fill=255)
                stroke = max(1, size // 14) if outline else 0
                draw.text(
                    (x, y), p.text, font=f, fill=(*colour, 255), stroke_width=stroke,
                    stroke_fill=(0, 0, 0, 255),
                )  # fmt: skip
                masks.append((p, mask))
            x += draw.textlength(p.text, font=f) + draw.textlength(" ", font=f)
    centre = (x0 + block_w / 2, y0 + block_h / 2)
    if angle:
        layer = layer.rotate(angle, resample=Image.BICUBIC, center=centre)
    if blur:
        layer = layer.filter(ImageFilter.GaussianBlur(blur))
    out = Image.fromarray(base).convert("RGBA")
    out.alpha_composite(layer)
    return np.array(out.convert("RGB")), devset_text.ink_items(masks, angle, centre)


# -- content ----------------------------------------------------------------------------


def phi_line(ident: Identity, rng: random.Random, kind: str, split: Split) -> Line:
    """One labelled (or bare) PHI value; labels vary between the parts only by chance."""
    lab = lambda *opts: Piece(rng.choice(opts), False, "label")  # noqa: E731
    if kind == "zh":
        return [
            lab("姓名:", "姓名", "病患姓名:", "患者:", "Name:", ""),
            Piece(ident.zh_name, True, "zh_name"),
        ]
    if kind == "zh_en":  # Chinese and English name on one line
        return [
            lab("姓名:", "姓名", ""), Piece(ident.zh_name, True, "zh_name"),
            Piece(ident.en_name, True, "en_name"),
        ]  # fmt: skip
    if kind == "en":
        return [lab("Name:", "Patient:", "Pt. Name:", ""), Piece(ident.en_name, True, "en_name")]
    if kind == "chart":
        return [
            lab("病歷號碼:", "病歷號碼", "病歷號:", "MRN:", "Chart No."),
            Piece(ident.chart, True, "chart"),
        ]
    if kind == "id":
        return [lab("身分證:", "身分證字號", "ID:", ""), Piece(ident.tw_id, True, "id")]
    if kind == "resident":
        return [lab("居留證:", ""), Piece(devset_text.taiwan_id(rng, "8"), True, "id")]
    if kind == "mobile":
        phone = f"09{rng.randint(10, 99)}-{rng.randint(100, 999)}-{rng.randint(100, 999)}"
        return [lab("手機:", "電話:", "Mobile:", "Tel", ""), Piece(phone, True, "phone")]
    if kind == "phone":
        return [lab("電話:", "Tel:", ""), Piece(ident.phone, True, "phone")]
    if kind == "roc":
        return [lab("生日:", "出生日期:", "生日", ""), Piece(ident.birth_roc, True, "date")]
    if kind == "date":
        return [lab("DOB:", "Birth:", "生日:", ""), Piece(ident.birth_iso, True, "date")]
    raise ValueError(kind)


def _light(split: Split) -> list[tuple[int, int, int]]:
    return [c for c in split.colours if sum(c) > 300]


def _bare(line: Line) -> Line:
    return [p for p in line if p.text]


def harmless_line(split: Split, rng: random.Random) -> Line:
    if rng.random() < 0.4:
        return [Piece(rng.choice(split.clinics), False, "harmless")]
    words = rng.sample(split.harmless, 2)
    return [Piece(w, False, "harmless") for w in words]


_BLOCK_KINDS = ("zh", "zh_en", "chart", "id", "mobile", "phone", "roc", "date", "en", "resident")


def _colour_for(split: Split, rng: random.Random, patch: np.ndarray) -> tuple[int, int, int]:
    """A readable colour for text straight on ``patch``: dark on light, else light."""
    mean = float(patch.mean())
    choices = [c for c in split.colours if abs(sum(c) / 3 - mean) > 70]
    return rng.choice(choices or split.colours)


@dataclass
class Built:
    name: str
    group: str
    image: np.ndarray
    items: list[dict]


def _cases(split: Split) -> list[Built]:
    rng = random.Random(split.seed)
    zh, en = Faker("zh_TW"), Faker("en_US")
    zh.seed_instance(split.seed)
    en.seed_instance(split.seed + 1)
    cache: dict[str, np.ndarray] = {}

    def base(name: str, width: int) -> np.ndarray:
        if name not in cache:
            cache[name] = photo(name)
        return _fit(cache[name], width)

    out: list[Built] = []
    # Caption blocks of five to seven lines straight on the photo texture.
    for i in range(14):
        ident = identity(rng, zh, en)
        img = base(split.photos[i % len(split.photos)], rng.choice((1600, 2000, 2400)))
        size = rng.choice((22, 26, 30, 36, 44))
        kinds = rng.sample(_BLOCK_KINDS, rng.randint(4, 6))
        lines = [_bare(phi_line(ident, rng, k, split)) for k in kinds]
        lines.insert(rng.randint(0, len(lines)), harmless_line(split, rng))
        x = rng.randint(20, img.shape[1] // 3)
        y = rng.randint(20, max(21, img.shape[0] - int(1.45 * size * (len(lines) + 1))))
        patch = img[y : y + int(1.45 * size * len(lines)), x : x + 12 * size]
        img, items = render_block(
            img, (x, y), lines, fonts=Fonts(split, rng, mono=rng.random() < 0.25), size=size,
            colour=_colour_for(split, rng, patch), blur=rng.choice((0, 0, 0.6)),
            outline=rng.random() < 0.2,
        )  # fmt: skip
        out.append(Built(f"{split.name}-block{i:02d}", "block", img, items))
    # Translucent bands.
    for i in range(6):
        ident = identity(rng, zh, en)
        img = base(split.photos[(i + 3) % len(split.photos)], 1800)
        size = rng.choice((24, 30, 36))
        kinds = rng.sample(_BLOCK_KINDS, rng.randint(1, 3))
        lines = [_bare(phi_line(ident, rng, k, split)) for k in kinds]
        lines.append(harmless_line(split, rng))
        y = rng.choice(
            (int(0.04 * img.shape[0]), img.shape[0] - int(1.5 * size * (len(lines) + 1)))
        )
        dark = rng.random() < 0.6
        img, items = render_block(
            img, (rng.randint(20, 200), y), lines, fonts=Fonts(split, rng), size=size,
            colour=rng.choice([c for c in split.colours if (sum(c) > 300) == dark]),
            backdrop="band",
            backdrop_colour=(0, 0, 0, rng.randint(90, 160)) if dark
            else (255, 255, 255, rng.randint(110, 170)),
        )  # fmt: skip
        out.append(Built(f"{split.name}-band{i:02d}", "band", img, items))
    # Boxed cards, upright and tilted.
    for i in range(12):
        tilted = i >= 6
        ident = identity(rng, zh, en)
        img = base(split.photos[(i + 1) % len(split.photos)], 1800)
        size = rng.choice((24, 28, 34, 40))
        kinds = rng.sample(_BLOCK_KINDS, rng.randint(3, 5))
        lines = [_bare(phi_line(ident, rng, k, split)) for k in kinds]
        lines.append(harmless_line(split, rng))
        light = rng.random() < 0.5
        img, items = render_block(
            img, (rng.randint(60, 500), rng.randint(60, max(61, img.shape[0] - 9 * size))),
            lines, fonts=Fonts(split, rng), size=size,
            colour=(20, 20, 20) if light else rng.choice(_light(split)),
            backdrop="box",
            backdrop_colour=(245, 242, 232, 255) if light else (25, 35, 60, rng.randint(190, 255)),
            angle=rng.choice((-1, 1)) * rng.uniform(4, 15) if tilted else 0.0,
            blur=rng.choice((0, 0.7)),
        )  # fmt: skip
        out.append(
            Built(f"{split.name}-{'tilted' if tilted else 'box'}{i:02d}", "card", img, items)
        )
    # A national ID in bold monospace on a dark area, a mobile number, a labelled name.
    for i in range(6):
        ident = identity(rng, zh, en)
        name = split.dark_photos[i % len(split.dark_photos)]
        img = base(name, 1600)
        size = rng.choice((26, 32, 38))
        lum = img.astype(np.float32).mean(axis=2)
        # The darkest window of the lower half: where the suit (or the sky) is.
        h, w = lum.shape
        ww, hh = 14 * size, 5 * size
        best, best_xy = 1e9, (20, h // 2)
        for yy in range(h // 2, max(h // 2 + 1, h - hh), max(1, hh // 2)):
            for xx in range(0, max(1, w - ww), max(1, ww // 3)):
                v = float(lum[yy : yy + hh, xx : xx + ww].mean())
                if v < best:
                    best, best_xy = v, (xx + 10, yy + 10)
        lines = [
            _bare(phi_line(ident, rng, "id", split)),
            _bare(phi_line(ident, rng, "mobile", split)),
            [Piece("姓名", False, "label"), Piece(ident.zh_name, True, "zh_name")],
        ]
        img, items = render_block(
            img, best_xy, lines, fonts=Fonts(split, rng, mono=True), size=size,
            colour=rng.choice(((255, 255, 0), split.colours[0], (255, 255, 255))),
        )  # fmt: skip
        out.append(Built(f"{split.name}-darkid{i:02d}", "darkid", img, items))
    # The original dev set's kinds, for the held-out part (tuning has the originals).
    if split.name != "tuning":
        out.extend(_classic(split, rng, zh, en, base))
    out.extend(_gapped(split, base))
    return out


_GAPPED_KINDS = ("zh", "chart", "id", "mobile", "roc", "date", "en")


def _gapped(split: Split, base) -> list[Built]:
    """Labels with their values far to the right (a form's columns), so that label
    and value are read as two proposals, and caption lines between the rows: a label
    alone on its proposal must not take the caption below it for its value."""
    rng = random.Random(split.seed + 1)
    zh, en = Faker("zh_TW"), Faker("en_US")
    zh.seed_instance(split.seed + 1)
    en.seed_instance(split.seed + 2)
    out: list[Built] = []
    for i in range(split.gapped):
        ident = identity(rng, zh, en)
        img = base(split.photos[(i + 2) % len(split.photos)], rng.choice((1600, 2000)))
        size = rng.choice((26, 30, 36, 40))
        lines: list[Line] = []
        for kind in rng.sample(_GAPPED_KINDS, 3):
            label, value = phi_line(ident, rng, kind, split)
            gap = Piece(" " * rng.randint(8, 16), False, "label")
            lines.append([label, gap, value] if label.text else [value])
            words = rng.sample(split.more_harmless, 2)
            lines.append([Piece(w, False, "harmless") for w in words])
        x = rng.randint(20, img.shape[1] // 4)
        y = rng.randint(20, max(21, img.shape[0] - int(1.45 * size * (len(lines) + 1))))
        patch = img[y : y + int(1.45 * size * len(lines)), x : x + 16 * size]
        img, items = render_block(
            img, (x, y), lines, fonts=Fonts(split, rng), size=size,
            colour=_colour_for(split, rng, patch), outline=rng.random() < 0.3,
        )  # fmt: skip
        out.append(Built(f"{split.name}-gapped{i:02d}", "gapped", img, items))
    return out


def _classic(split: Split, rng: random.Random, zh: Faker, en: Faker, base) -> list[Built]:
    out: list[Built] = []
    kinds = ("zh", "chart", "id", "phone", "roc", "date", "en", "zh")
    for i in range(8):
        ident = identity(rng, zh, en)
        img = base(split.photos[i % len(split.photos)], 1600)
        size = rng.choice((18, 22, 26, 32, 40))
        lines = [
            _bare(phi_line(ident, rng, kinds[i], split)),
            _bare(phi_line(ident, rng, kinds[(i * 3 + 1) % len(kinds)], split)),
        ]
        style = ("bar", "outline", "plain", "bar")[i % 4]
        patch = img[: img.shape[0] // 5, : img.shape[1] // 3]
        img, items = render_block(
            img, (int(0.04 * img.shape[1]), int(0.04 * img.shape[0])), lines,
            fonts=Fonts(split, rng), size=size,
            colour=_colour_for(split, rng, patch) if style == "plain"
            else rng.choice([c for c in split.colours if sum(c) > 300]),
            backdrop="box" if style == "bar" else "none", outline=style == "outline",
            angle=rng.uniform(-4, 4) if i % 3 == 0 else 0.0, blur=rng.choice((0, 0, 0.6, 1.0)),
        )  # fmt: skip
        img, more = render_block(
            img, (int(0.7 * img.shape[1]), int(0.9 * img.shape[0])), [harmless_line(split, rng)],
            fonts=Fonts(split, rng), size=size, colour=(255, 255, 255), backdrop="box",
        )  # fmt: skip
        out.append(Built(f"{split.name}-overlay{i:02d}", "overlay", img, items + more))
    for i in range(4):
        ident = identity(rng, zh, en)
        img = devset_text.xray_base(rng)
        size = rng.choice((16, 20, 24))
        lines = [
            _bare(phi_line(ident, rng, "en" if i % 2 else "zh", split)),
            _bare(phi_line(ident, rng, "date", split)),
            _bare(phi_line(ident, rng, "chart", split)),
        ]
        img, items = render_block(
            img, (30, 25), lines, fonts=Fonts(split, rng), size=size, colour=(255, 255, 255),
            line_gap=1.6, blur=rng.choice((0, 0.5)),
        )  # fmt: skip
        img, more = render_block(
            img, (1250, 25), [[Piece(rng.choice(split.clinics), False, "harmless")]],
            fonts=Fonts(split, rng), size=size, colour=(255, 255, 255),
        )  # fmt: skip
        out.append(Built(f"{split.name}-xray{i:02d}", "xray", img, items + more))
    return out


def out_dir(split: str) -> Path:
    return ROOT / f"text-{split}"


def build(split: str) -> Path:
    """Write the split's cases (and, for tuning, the original dev set) and return the folder."""
    spec = SPLITS[split]
    folder = out_dir(split)
    folder.mkdir(parents=True, exist_ok=True)
    if split == "tuning":
        devset_text.build(folder, devset_text.SEED)
    for case in _cases(spec):
        Image.fromarray(case.image).save(folder / f"{case.name}.png")
        meta = {"name": case.name, "group": case.group, "items": case.items, "keep_regions": []}
        (folder / f"{case.name}.json").write_text(json.dumps(meta, ensure_ascii=False))
    allow = "\n".join((*devset_text.CLINICS, *devset_text.DOCTORS, *spec.clinics)) + "\n"
    (folder / "allow.txt").write_text(allow, encoding="utf-8")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(SPLITS), action="append")
    args = parser.parse_args()
    for split in args.split or sorted(SPLITS):
        folder = build(split)
        print(f"{split}: {len(list(folder.glob('*.json')))} cases in {folder}")


if __name__ == "__main__":
    main()
