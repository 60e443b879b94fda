"""Failure modes of caption layouts nobody tuned on, each generated with real fonts.

Every case runs through the real pipeline: each PHI value's ink must be covered and
no longer readable, each harmless line's ink untouched, the report masked, and the
image not held back (``check`` in ``test_text_unboxed``).
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import test_text_unboxed
from test_text_unboxed import CJK_BOLD, SERIF, _photo, check, draw_block, taiwan_id

# The same module-scoped fixtures (text-only pipeline, RapidOCR) as the unboxed tests.
pipe, engine = test_text_unboxed.pipe, test_text_unboxed.engine
SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def test_unlabelled_names_with_titles_and_rare_surnames(pipe, engine) -> None:
    """No label anywhere: an English name with its honorific, one with its suffix, a
    surname that is also a caption word, a Chinese name with a less common surname,
    and harmless caption words between them."""
    lines = [
        [("Dr. Amy Hansen", True)],
        [("Before", False), ("#11", False)],
        [("Bradley Morgan Jr.", True)],
        [("Catherine White", True)],
        [("術後", False)],
        [("郝淑慧", True)],
    ]
    img = np.full((620, 1000, 3), (40, 44, 52), np.uint8)
    pixels, pieces = draw_block(img, (60, 40), lines, 40, (250, 250, 250), latin=SANS)
    check(pipe, engine, pixels, pieces)


def _row(
    pixels: np.ndarray, xy: tuple[int, int], parts: list[tuple[str, float]], size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one row of text parts, each followed by a gap of ``gap`` line heights;
    return the image and the ink mask of the whole row."""
    img = Image.fromarray(pixels)
    draw = ImageDraw.Draw(img)
    mask = Image.new("L", img.size, 0)
    x, y = xy
    for text, gap in parts:
        cjk = any("\u3400" <= c <= "\u9fff" for c in text)
        font = ImageFont.truetype(CJK_BOLD if cjk else SERIF, size)
        draw.text((x, y), text, font=font, fill=(255, 255, 0))
        ImageDraw.Draw(mask).text((x, y), text, font=font, fill=255)
        x += draw.textlength(text, font=font) + gap * size
    return np.array(img), np.array(mask) > 96


def test_value_split_between_two_proposals_of_one_row(pipe, engine) -> None:
    """A name and an ID each broken in two by a wide gap (where photo detail stops a
    proposal): each half alone is no PHI, the row joined is, and both halves go."""
    rng = random.Random(21)
    tw_id = taiwan_id(rng)
    pixels = _photo("coffee", 1400)
    pixels, name_ink = _row(pixels, (80, 120), [("Tam", 2.6), ("i Peterson", 0)], 40)
    pixels, id_ink = _row(pixels, (80, 260), [(tw_id[:5], 2.6), (tw_id[5:], 0)], 40)
    pixels, keep = draw_block(pixels, (80, 400), [[("Before", False)]], 40, (255, 255, 0))
    pieces = [("Tami Peterson", True, name_ink), (tw_id, True, id_ink), *keep]
    check(pipe, engine, pixels, pieces)


def test_label_with_its_value_far_right_does_not_lead_the_caption_below(pipe, engine) -> None:
    """A form's columns on photo texture: each label far from its value (two
    proposals of one row) and a caption in words no list holds under each label. The
    label has its value beside it, so the caption below is not taken as its value."""
    lines = [
        [("姓名:", None), (" " * 12, None), ("郭美玲", True)],
        [("黃垢", False), ("清除", False)],
        [("Name:", None), (" " * 14, None), ("Jordan Ellis", True)],
        [("Enamel", False), ("check", False)],
        [("病歷號碼:", None), (" " * 10, None), ("K-5521", True)],
        [("Wear", False), ("pattern", False)],
    ]
    pixels = _photo("coffee", 1400)
    pixels, pieces = draw_block(pixels, (60, 40), lines, 36, (255, 255, 0), latin=SANS)
    check(pipe, engine, pixels, pieces)
