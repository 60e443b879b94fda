"""A capitalised run with no label is a name by its words, not by its shape alone.

Title-case captions the caption vocabulary never saw ("Stain Removal", "Fluoride
Varnish") have the shape of an English name; common English words with no given name
or surname among them keep such a run a caption, while given names, surnames, romanised
Taiwanese names, words no list holds (a rare name, a misread one) and a label before
the run still make it a name. Rendered with Debian fonts on a photo and run through the
real pipeline (``check`` in ``test_text_unboxed``); the lexicon cases say why on text.
"""

from __future__ import annotations

import numpy as np
import pytest

import test_text_unboxed
from deid.config import TextConfig
from deid.text.filenames import safe_name
from deid.text.recognizers import find_all
from deid.text.recognizers.lexicon import (
    AMBIGUOUS,
    STRONG,
    UNKNOWN,
    WORD,
    kind,
    looks_like_name,
)
from deid.text.recognizers.vocabulary import ENGLISH, is_caption
from test_text_unboxed import _photo, check, draw_block

pipe, engine = test_text_unboxed.pipe, test_text_unboxed.engine
SANS = "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"
SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"

# Title-case captions of common words the caption vocabulary does not list (asserted).
CAPTIONS = (
    "Stain Removal",
    "Fluoride Varnish",
    "Night Splint",
    "Bone Graft",
    "Sleep Apnea",
    "Enamel Erosion",
)
# Names with no label: a listed given name and surname; a given name and a surname that
# are common words too; parts no list holds; romanised Taiwanese names.
NAMES = (
    "Jordan Whitfield",
    "Grace Hopper",
    "Priya Raghunathan",
    "Chen Wei-Ling",
    "Hsin-I Wang",
    "Mei-Hua Lin",
)


def test_captions_are_unseen() -> None:
    for caption in CAPTIONS:
        assert not any(w.lower() in ENGLISH for w in caption.split()), caption
        assert not is_caption(caption)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Jennifer", STRONG),
        ("Chen", STRONG),
        ("Wei-Ling", STRONG),
        ("Wen-Pin", STRONG),  # both syllables are English words too
        ("Grace", AMBIGUOUS),
        ("Hopper", AMBIGUOUS),
        ("Varnish", WORD),
        ("Follow-Up", WORD),
        ("Raghunathan", UNKNOWN),
        ("Jennlfer", UNKNOWN),  # a name misread stays a possible name
    ],
)
def test_word_kinds(word: str, expected: str) -> None:
    assert kind(word) == expected


@pytest.mark.parametrize("caption", CAPTIONS)
def test_caption_of_common_words_is_no_name(caption: str) -> None:
    assert not looks_like_name(caption)
    assert find_all(caption) == []


@pytest.mark.parametrize(
    "name", [*NAMES, "Summer Black", "Jennifer Polishing", "Priya Sharma", "Jennlfer Smlth"]
)
def test_name_evidence(name: str) -> None:
    """A strong name part wins over a word beside it; ambiguous words are a name when
    a given name comes first; unknown words are a name unless a common word stands
    beside them."""
    assert looks_like_name(name)
    assert [(m.start, m.end) for m in find_all(name)] == [(0, len(name))]


@pytest.mark.parametrize(
    ("text", "name"),
    [("OIivia Yang", "OIivia Yang"), ("Tyler CoIe", "Tyler CoIe"), ("R0bert Lz", "R0bert Lz")],
)
def test_letters_misread_inside_a_name(text: str, name: str) -> None:
    """l read as I and o read as 0 inside a word leave a name's shape intact."""
    assert [text[m.start : m.end] for m in find_all(text)] == [name]


@pytest.mark.parametrize("line", ["Patient: Carol Foot", "Name: Bone Graft", "Mr. Night Splint"])
def test_label_or_title_makes_any_run_a_name(line: str) -> None:
    """Common words after a label or a title are still its value."""
    value = line.split(" ", 1)[1]
    spans = [line[m.start : m.end] for m in find_all(line) if m.category.name == "name"]
    assert any(value.split()[-1] in s for s in spans), spans


def test_file_names_keep_captions_and_mask_names() -> None:
    cfg = TextConfig(filename_key="test-key")
    assert safe_name("Fluoride_Varnish_after.jpg", config=cfg) == (
        "Fluoride_Varnish_after.jpg",
        None,
    )
    out, masked = safe_name("Chen_Wei-Ling_after.jpg", config=cfg)
    assert out.startswith("patient-") and out.endswith("_after.jpg")
    assert masked is not None and "Wei-Ling" not in out + masked


def _block(lines, photo: str, latin: str) -> tuple[np.ndarray, list]:
    pixels = _photo(photo, 1400)
    dark = np.full((620, 900, 3), (30, 34, 40), np.uint8)
    pixels[40:660, 40:940] = (0.3 * pixels[40:660, 40:940] + 0.7 * dark).astype(np.uint8)
    return draw_block(pixels, (70, 60), lines, 36, (255, 255, 255), latin=latin)


def test_unseen_title_case_captions_kept_between_bare_names(pipe, engine) -> None:
    """Captions of common words kept whole; names with no label beside them (listed,
    common words, unlisted, romanised Taiwanese) covered and no longer readable."""
    lines = [[(text, False)] for text in CAPTIONS[:3]] + [[(n, True)] for n in NAMES[:3]]
    order = [0, 3, 1, 4, 2, 5]
    pixels, pieces = _block([lines[i] for i in order], "coffee", SANS)
    check(pipe, engine, pixels, pieces)


def test_romanised_names_filled_and_captions_kept(pipe, engine) -> None:
    lines = [[(text, False)] for text in CAPTIONS[3:]] + [[(n, True)] for n in NAMES[3:]]
    order = [3, 0, 4, 1, 5, 2]
    pixels, pieces = _block([lines[i] for i in order], "astronaut", SERIF)
    check(pipe, engine, pixels, pieces)


def test_label_value_of_common_words_filled(pipe, engine) -> None:
    """A label vouches for its value whatever its words: "Carol Foot" after Patient:
    is filled, the same kind of run with no label ("Stain Removal") is kept."""
    lines = [
        [("Patient:", None), ("Carol Foot", True)],
        [("Stain Removal", False)],
        [("Name:", None), ("Bone Graft", True)],
    ]
    pixels, pieces = _block(lines, "chelsea", SANS)
    check(pipe, engine, pixels, pieces)


def _form(photo: str, size: int, judge_first_caption: bool = True) -> tuple[np.ndarray, list]:
    """A form's rows: labels at the left, values far to the right on the photo texture
    (read as proposals of their own), caption lines between the rows."""
    first = False if judge_first_caption else None
    lines = [
        [("生日", None), (" " * 12, None), ("080/05/01", True)],
        [("Polishing", first), ("牙菌斑", first)],
        [("Patient:", None), (" " * 12, None), ("Jerry Campbell", True)],
        [("咬痕", False), ("補綴", False)],
        [("病歷號碼", None), (" " * 10, None), ("9964607", True)],
    ]
    pixels = _photo(photo, 1600)
    return draw_block(pixels, (400, 300), lines, size, (255, 255, 0), latin=DEJAVU_SANS)


DEJAVU_SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def test_label_with_its_value_grown_tall_beside_it_does_not_lead_the_caption(pipe, engine) -> None:
    """The name's proposal grows over the cat's fur to nearly twice its letters'
    height; it still stands on the label's row, so the label has its value and the
    Chinese caption below it is kept. (The caption under the date is not judged here:
    the date's fill may touch the top of its letters.)"""
    pixels, pieces = _form("chelsea", 40, judge_first_caption=False)
    check(pipe, engine, pixels, pieces)


def test_name_read_with_a_space_inside_its_last_word_filled_whole(pipe, engine) -> None:
    """OCR reads the name as "Jerry Cam pbell": the lower-case piece is no word, so it
    is the rest of the name, not the start of a caption phrase."""
    pixels, pieces = _form("chelsea", 36)
    check(pipe, engine, pixels, pieces)


def test_mobile_number_cut_by_the_photo_edge_filled(pipe, engine) -> None:
    """A caption running off the photo's right edge leaves "0986-799-1" of a mobile
    number: seven digits starting 09 at the end of the line are a phone number, and
    what is left of it is covered."""
    lines = [[("術後", False)], [("0986-799-116", True)], [("Upper", False)]]
    pixels, pieces = _block(lines, "coffee", DEJAVU_SANS)
    ink = pieces[1][2]
    cols = np.nonzero(ink.any(axis=0))[0]
    cut = int(cols.min() + 0.86 * (cols.max() - cols.min()))  # inside the second-last digit
    pixels = np.ascontiguousarray(pixels[:, :cut])
    pieces = [(text, phi, mask[:, :cut]) for text, phi, mask in pieces]
    check(pipe, engine, pixels, [(t, p, m) for t, p, m in pieces if m.any()])


def test_mobile_number_whose_start_the_photo_edge_cut_filled(pipe, engine) -> None:
    """The photo's left edge cuts "09" off a mobile number: "35-526-278" at the start
    of a line is still a phone number, covered back to the edge."""
    from PIL import ImageFont

    pixels, pieces = _block([[("0935-526-278", True)]], "coffee", DEJAVU_SANS)
    pixels, more = draw_block(pixels, (420, 60), [[("術後", False)], [("Upper", False)]], 36,
                              (255, 255, 255), latin=DEJAVU_SANS)  # fmt: skip
    cut = 70 + round(ImageFont.truetype(DEJAVU_SANS, 36).getlength("09")) + 1
    pixels = np.ascontiguousarray(pixels[:, cut:])
    pieces = [(text, phi, mask[:, cut:]) for text, phi, mask in pieces + more]
    check(pipe, engine, pixels, [("35-526-278", True, pieces[0][2]), *pieces[1:]])


def test_line_cut_at_the_left_edge_caption_kept_name_filled(pipe, engine) -> None:
    """The photo's left edge cuts the first letters off: "ep Apnea" (of Sleep Apnea) is
    the end of a common word and a word no list holds, a caption kept; "ennifer Lopez"
    (of Jennifer Lopez) ends like a given name, a name filled."""
    from PIL import ImageFont

    font = ImageFont.truetype(DEJAVU_SANS, 36)
    cut = 70 + round(max(font.getlength("Sle"), font.getlength("J"))) + 1
    lines = [[("Sleep Apnea", False)], [("Jennifer Lopez", True)], [("術後", False)]]
    pixels, pieces = _block(lines, "coffee", DEJAVU_SANS)
    pixels = np.ascontiguousarray(pixels[:, cut:])
    pieces = [(text, phi, mask[:, cut:]) for text, phi, mask in pieces]
    visible = ("ep Apnea", "ennifer Lopez", "術後")
    check(pipe, engine, pixels, [(v, p, m) for v, (_, p, m) in zip(visible, pieces, strict=True)])


def test_fill_of_a_value_starting_its_proposal_reaches_a_line_height_before_it(
    pipe, engine
) -> None:
    """A proposal that starts late loses the value's first characters on photo
    texture, so the fill of a value with nothing before it on its proposal starts one
    line height before what was read (as it ends one line height past the crop); the
    label further left, which the proposal did not grow over, stays readable."""
    size = 36
    lines = [[("手機", None), (" " * 8, None), ("0935-526-278", True)], [("Upper", False)]]
    pixels, pieces = _block(lines, "coffee", DEJAVU_SANS)
    result = check(pipe, engine, pixels, pieces)
    value = pieces[2][2]
    rows = np.nonzero(value.any(axis=1))[0]
    left = int(np.nonzero(value.any(axis=0))[0].min())
    _, filled = test_text_unboxed._edit_mask(result, pixels.shape)
    band = filled[rows.min() : rows.max() + 1]
    assert band[:, left - int(0.8 * size) : left].all(axis=1).mean() > 0.9
    label = pieces[0][2]
    assert filled[label].mean() < 0.05


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("35-526-278", "35-526-278"),  # the start lost
        ("0986-799 -1", "0986-799 -1"),  # the rest read by another proposal
        ("0986-799-1:", "0986-799-1:"),  # the last digit cut in half
        ("0986799", "0986799"),
        ("0986-799-1 Before", None),  # not at the line's end: something else
        ("2024-0912-345", None),  # inside a longer number
        ("0912-34", None),  # six digits
    ],
)
def test_mobile_number_cut_at_the_line_end(text: str, phone: str | None) -> None:
    spans = [text[m.start : m.end] for m in find_all(text) if m.category.name == "phone"]
    assert spans == ([phone] if phone else [])
