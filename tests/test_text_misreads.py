"""Values OCR reads imperfectly, and captions beside them, through the real pipeline.

Each case is rendered with real fonts (Noto Sans CJK, DejaVu) onto a plain card and
run through the text stage: every PHI value's ink must be covered and no longer
readable, every harmless line's ink untouched, the report masked and the image not
held back (``check`` in ``test_text_unboxed``).
"""

from __future__ import annotations

import numpy as np

import test_text_unboxed
from test_text_unboxed import MONO_BOLD, check, draw_block

# The same module-scoped fixtures (text-only pipeline, RapidOCR) as the unboxed tests.
pipe, engine = test_text_unboxed.pipe, test_text_unboxed.engine
SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _card(height: int, width: int = 1100) -> np.ndarray:
    return np.full((height, width, 3), (36, 40, 48), np.uint8)


def test_id_shaped_values_with_a_failing_checksum_are_redacted(pipe, engine) -> None:
    """Fail closed: an ID printed with a typo (its checksum fails), one spaced out in
    monospace, and one whose letter reads as a digit are identifiers all the same,
    with or without a label; unlabelled, the report says identifier."""
    lines = [
        [("A123456780", True)],  # the checksum digit is wrong
        [("Follow", False), ("#11", False)],
        [("ID:", None), ("Q2234 56781", True)],
        [("F23456 7891", True)],
    ]
    pixels, pieces = draw_block(_card(420), (60, 40), lines, 44, (250, 250, 90), latin=MONO_BOLD)
    result = check(pipe, engine, pixels, pieces)
    found = [f for f in result.report.text if f["action"] == "redacted"]
    assert "identifier" in {f["category"] for f in found}
    assert all(f["masked"].count("*") >= 6 for f in found)


def test_caption_under_a_label_whose_value_stands_beside_it(pipe, engine) -> None:
    """A label and its value far apart on one row (two proposals), a caption on the
    line below the label: the caption is not the label's value, the value goes."""
    lines = [
        [("身分證:", None), (" " * 14, None), ("F131104093", True)],
        [("Upper", False), ("Lower", False), ("3 months", False)],
        [("生日:", None), (" " * 16, None), ("1988/04/12", True)],
        [("正面照", False), ("咬合", False)],
    ]
    pixels, pieces = draw_block(_card(330), (40, 40), lines, 40, (255, 255, 255), latin=SANS)
    check(pipe, engine, pixels, pieces)


def test_labels_read_in_simplified_forms_lead_odd_values(pipe, engine) -> None:
    """Labels printed in simplified characters (as some templates and some OCR
    readings have them) still lead values no shape recogniser takes."""
    lines = [
        [("病历号:", None), ("K-77", True)],
        [("术后", False)],
        [("电话:", None), ("2345 678", True)],
    ]
    pixels, pieces = draw_block(_card(320, 900), (60, 40), lines, 44, (255, 255, 255), latin=SANS)
    check(pipe, engine, pixels, pieces)


def test_ids_with_look_alike_characters_are_filled(pipe, engine) -> None:
    """What a misread ID looks like on the photo (a 6 printed as G or b, a 0 as Q,
    the leading letter as a digit, wide gaps): each is filled whole as an identifier,
    the caption words between them kept."""
    lines = [
        [("C1Q34567B9", True)],
        [("8I23 456 789", True)],
        [("B2b3 4567 89", True)],
        [("Spacing", False), ("Night guard", False)],
    ]
    pixels, pieces = draw_block(_card(420), (60, 40), lines, 44, (250, 250, 90), latin=SANS)
    result = check(pipe, engine, pixels, pieces)
    found = [f for f in result.report.text if f["action"] == "redacted"]
    assert len(found) >= 3
    assert {f["category"] for f in found} == {"identifier"}
