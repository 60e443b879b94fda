"""Caption words the caption vocabulary never lists are kept, and names are not.

A clinic writes captions in its own words, so keeping them cannot rest on the
vocabulary: title-case captions made of common words (by their endings, or followed
by a lower-case word) are not name shapes, and a bare two-character Chinese word
beside other words is not a name, while names with no label (alone on their line,
with a capital inside, or of two characters on a line of their own) are still
redacted. Every case runs through the real pipeline (``check`` in
``test_text_unboxed``); the recogniser cases say why on text alone.
"""

from __future__ import annotations

import numpy as np
import pytest

import test_text_unboxed
from deid.text.recognizers import find_all
from deid.text.recognizers.vocabulary import CHINESE, ENGLISH, is_caption
from test_text_unboxed import _photo, check, draw_block

pipe, engine = test_text_unboxed.pipe, test_text_unboxed.engine
SANS = "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"

# None of these words is in the caption vocabulary (asserted below).
CAPTIONS = (
    "Bracket Placement",
    "Porcelain Aesthetics",
    "Splint Wear check",
    "Enamel Fluorosis Evaluation",
    "白點 改善",
    "黃垢 清除",
)
NAMES = ("Sean O'Brien", "Cody McCarthy", "Maria D'Arcy", "Jordan Ellis", "郭美玲", "李安")


def test_caption_words_are_unseen() -> None:
    for caption in CAPTIONS:
        words = caption.lower().split()
        assert not any(w in ENGLISH or w in CHINESE for w in words), caption
        assert not is_caption(caption)


@pytest.mark.parametrize("caption", CAPTIONS)
def test_unseen_caption_has_no_name(caption: str) -> None:
    assert find_all(caption) == []


@pytest.mark.parametrize("name", NAMES)
def test_bare_name_found_whole(name: str) -> None:
    found = find_all(name)
    assert [(m.start, m.end, m.category.name) for m in found] == [(0, len(name), "name")]


@pytest.mark.parametrize(
    ("line", "name"),
    [("白斑 Bracket", None), ("白斑", "白斑"), ("姓名: 白斑", "白斑"), ("王明先生", "王明")],
)
def test_two_character_name_needs_its_own_line_or_context(line: str, name: str | None) -> None:
    """A two-character run starting with a surname is a name alone on its line or
    after a label or before a title, not beside another word."""
    spans = [line[m.start : m.end] for m in find_all(line) if m.category.name == "name"]
    assert spans == ([name] if name else [])


def test_unseen_captions_kept_and_bare_names_filled(pipe, engine) -> None:
    """Captions in words no list holds, between names with no label, on photo
    texture: each caption's ink untouched, each name's covered and unreadable."""
    lines: list[list[tuple[str, bool | None]]] = [
        [("Bracket Placement", False)],
        [("Sean O'Brien", True)],
        [("白點", False), ("改善", False)],
        [("郭美玲", True)],
        [("Porcelain Aesthetics", False)],
        [("Name:", None), ("Cody McCarthy", True)],
        [("Splint Wear check", False)],
        [("李安", True)],
    ]
    pixels = _photo("coffee", 1400)
    dark = np.full((560, 900, 3), (30, 34, 40), np.uint8)
    pixels[40:600, 40:940] = (0.3 * pixels[40:600, 40:940] + 0.7 * dark).astype(np.uint8)
    pixels, pieces = draw_block(pixels, (70, 60), lines, 38, (255, 255, 255), latin=SANS)
    check(pipe, engine, pixels, pieces)
