"""Text nobody boxed: caption blocks printed straight onto photo texture.

Each failure mode seen on unseen layouts is generated here with real fonts on a real
photo (scikit-image's samples) and run through the real pipeline: every PHI value's
ink must be covered over its whole line height and no longer readable, harmless
lines kept, the report masked, and the image not held back.
"""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import deid
from deid.config import Config
from deid.text.detect import read_lines
from deid.text.lists import normalise
from deid.text.ocr import build_engine
from deid.types import Box

NOTO = "/usr/share/fonts/opentype/noto/"
DEJAVU = "/usr/share/fonts/truetype/dejavu/"
CJK_BOLD = NOTO + "NotoSansCJK-Bold.ttc"
CJK = NOTO + "NotoSansCJK-Regular.ttc"
MONO_BOLD = DEJAVU + "DejaVuSansMono-Bold.ttf"
SERIF = DEJAVU + "DejaVuSerif.ttf"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def taiwan_id(rng: random.Random, second: int | None = None) -> str:
    code = 10 + _LETTERS.index(letter := rng.choice(_LETTERS))
    digits = [second or rng.choice((1, 2))] + [rng.randint(0, 9) for _ in range(7)]
    total = (
        code // 10
        + (code % 10) * 9
        + sum(d * w for d, w in zip(digits, range(8, 0, -1), strict=True))
    )
    return letter + "".join(map(str, digits)) + str((10 - total % 10) % 10)


def _photo(name: str, width: int) -> np.ndarray:
    from skimage import data

    img = Image.fromarray(getattr(data, name)())
    return np.array(img.resize((width, round(img.height * width / img.width)), Image.LANCZOS))


def _font(text: str, size: int, latin: str) -> ImageFont.FreeTypeFont:
    cjk = any("\u3400" <= c <= "\u9fff" for c in text)
    return ImageFont.truetype(CJK_BOLD if cjk else latin, size)


def draw_block(
    pixels: np.ndarray,
    xy: tuple[int, int],
    lines: list[list[tuple[str, bool | None]]],
    size: int,
    colour: tuple[int, int, int],
    latin: str = SERIF,
    gap: float = 1.45,
) -> tuple[np.ndarray, list[tuple[str, bool | None, np.ndarray]]]:
    """Draw lines of (text, is_phi) pieces (None: a label); return the image and each
    piece's ink mask."""
    img = Image.fromarray(pixels)
    draw = ImageDraw.Draw(img)
    pieces = []
    for r, line in enumerate(lines):
        x, y = xy[0], xy[1] + r * gap * size
        for text, phi in line:
            font = _font(text, size, latin)
            mask = Image.new("L", img.size, 0)
            ImageDraw.Draw(mask).text((x, y), text, font=font, fill=255)
            draw.text((x, y), text, font=font, fill=colour)
            pieces.append((text, phi, np.array(mask) > 96))
            x += draw.textlength(text + " ", font=font)
    return np.array(img), pieces


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def pipe():
    with deid.Pipeline(Config(stages=("metadata", "text"))) as p:
        yield p


@pytest.fixture(scope="module")
def engine():
    return build_engine("rapidocr")


def _edit_mask(result, shape) -> np.ndarray:
    """Pixels the pipeline filled: compare output and input (fills are solid black)."""
    out = np.array(Image.open(io.BytesIO(result.encode())).convert("RGB"))
    return out, out.max(axis=2) < 8


def check(pipe, engine, pixels, pieces) -> deid.pipeline.Result:
    result = pipe.process(_png(pixels), name="photo.png")
    assert result.status == "redacted", result.report.reasons
    out, filled = _edit_mask(result, pixels.shape)
    # Pixels that were already black in the input do not count as filled.
    filled &= ~(pixels.max(axis=2) < 8)
    for text, phi, ink in pieces:
        ys, xs = np.nonzero(ink)
        if phi is None:  # a label: it may be touched by its value's redaction
            continue
        if phi:
            # The whole line height of the value is covered, not the top or bottom half.
            assert filled[ink].mean() >= 0.98, f"PHI ink not covered: {len(text)} chars"
            box = Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
            h = box.height
            region = Box(box.left - 2 * h, box.top - h, box.right + 2 * h, box.bottom + h)
            read = [
                normalise(pl.line.text).replace(" ", "") for pl in read_lines(out, engine, region)
            ]
            assert not any(normalise(text).replace(" ", "") in r for r in read)
        else:
            assert filled[ink].mean() < 0.05, f"harmless text redacted: {text}"
    report = result.report.to_json()
    for text, phi, _ in pieces:
        if phi:
            assert text not in report
    return result


def test_caption_block_on_texture_mixed_lines(pipe, engine) -> None:
    """Six lines straight on the photo, Chinese and Latin mixed, labels beside values."""
    rng = random.Random(3)
    tw_id = taiwan_id(rng)
    lines = [
        [("姓名", None), ("陳怡君", True), ("Emily Chen", True)],
        [("病歷號碼", None), ("0048213", True)],
        [("身分證", None), (tw_id, True)],
        [("0912-345-678", True)],
        [("術後", False), ("Before", False)],
        [("生日", None), ("080/05/01", True)],
    ]
    pixels, pieces = draw_block(_photo("coffee", 1600), (90, 80), lines, 34, (255, 255, 0))
    result = check(pipe, engine, pixels, pieces)
    masked = {t["masked"] for t in result.report.to_dict()["text"]}
    assert tw_id[:3] + "*" * 7 in masked


def test_bold_yellow_monospace_id_on_dark_area(pipe, engine) -> None:
    rng = random.Random(11)
    pixels = _photo("astronaut", 1600)
    lines = [[(taiwan_id(rng), True)], [("0987-654-321", True)], [("姓名", None), ("林志明", True)]]
    # The astronaut's helmet and the dark backdrop at the lower right.
    pixels, pieces = draw_block(pixels, (1030, 1260), lines, 36, (255, 255, 0), latin=MONO_BOLD)
    check(pipe, engine, pixels, pieces)


def test_labelled_values_of_any_shape(pipe, engine) -> None:
    """A label redacts its value even when the value's own recogniser would not."""
    img = np.full((420, 1100, 3), (236, 230, 220), np.uint8)
    lines = [
        [("病歷號碼:", None), ("K-77", True)],
        [("姓名:", None), ("艾小米", True)],
        [("MRN:", None), ("X9-4", True)],
        [("Harbor Dental Studio", False)],
    ]
    pixels, pieces = draw_block(img, (40, 30), lines, 40, (30, 30, 30))
    check(pipe, engine, pixels, pieces)


def test_tilted_translucent_band(pipe, engine) -> None:
    rng = random.Random(5)
    base = Image.fromarray(_photo("chelsea", 1600)).convert("RGBA")
    band = Image.new("RGBA", base.size, (0, 0, 0, 0))
    ImageDraw.Draw(band).rectangle((0, 760, base.width, 930), fill=(0, 0, 0, 130))
    base.alpha_composite(band)
    lines = [[("Name:", None), ("Laura Smith", True)], [("ID:", None), (taiwan_id(rng), True)]]
    pixels, pieces = draw_block(
        np.array(base.convert("RGB")), (120, 780), lines, 36, (255, 255, 255)
    )
    check(pipe, engine, pixels, pieces)


def test_review_summary_points_at_text_found_only_on_verification() -> None:
    from deid.report import ImageReport, InputInfo, summarise
    from deid.types import Reason

    report = ImageReport(status="needs_review", input=InputInfo(path="x.png"))
    report.text = [
        {"box": [10, 20, 110, 50], "action": "redacted", "category": "name"},
        {"box": [10, 60, 210, 90], "action": "redacted_on_verify", "category": "phone"},
    ]
    report.reasons = [Reason("text_phi_after_redaction", "1 PHI text region", "text")]
    assert "check the text at x=10-210 y=60-90" in summarise(report)
