"""Identification numbers: Taiwan national ID and resident certificate, NHI card,
chart numbers, US SSN, and a catch-all for long numbers OCR may have misread."""

from __future__ import annotations

import re

from .base import (
    DIGIT_LOOKALIKES,
    HEALTH_PLAN_ID,
    IDENTIFIER,
    MEDICAL_RECORD_NUMBER,
    NATIONAL_ID,
    RESIDENT_ID,
    SSN,
    Match,
    Pattern,
    PatternRecognizer,
    Recognizer,
    digits_fixed,
)

# Letter values of the Taiwan ID checksum (the county the number was issued in).
_LETTER = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36), strict=True))
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1)


def taiwan_id_checksum_ok(value: str) -> bool:
    """Checksum shared by national IDs and both resident certificate formats."""
    value = value.upper()
    if len(value) != 10 or value[0] not in _LETTER or not value[2:].isdigit():
        return False
    if value[1].isdigit():
        second = int(value[1])
    elif value[1] in "ABCD":
        second = _LETTER[value[1]] % 10
    else:
        return False
    code = _LETTER[value[0]]
    digits = [second] + [int(c) for c in value[2:9]]
    total = code // 10 + (code % 10) * 9 + sum(d * w for d, w in zip(digits, _WEIGHTS, strict=True))
    return (total + int(value[9])) % 10 == 0


# OCR splits a widely spaced ID (monospace, letter-spaced captions) with a space or
# two; the checksum still decides, on the characters without the spaces.
_ID_SHAPE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z] ?[A-Da-d0-9](?: ?\d){8})(?![A-Za-z0-9])")


# Inside an ID every character after the leading letter is a digit (or, on the old
# resident certificates, the second is A-D), so there a look-alike letter is a
# misread digit wherever it stands: "Al23456789" is A123456789 read with an l, and
# inside an ID OCR also reads 6 as G or b and 0 as Q. It may read a wide gap as a
# space or a dash, and the leading letter itself as a digit (O as 0, I as 1, S as 5,
# B as 8, Z as 2, G as 6).
_ID_LOOKALIKES = {**DIGIT_LOOKALIKES, ord("G"): "6", ord("b"): "6", ord("Q"): "0"}
_IN_ID = "0-9OoDQIl|iSsBbZzgqG"
_ID_LOOSE = re.compile(
    rf"(?<![A-Za-z0-9-])([A-Za-z]|[012568](?=(?:[ -]?[{_IN_ID}]){{9}}(?![A-Za-z0-9])))"
    rf"((?:[ -]?[{_IN_ID}]){{7,10}})(?![A-Za-z0-9]|-\d)"
)
_SECOND = frozenset("12ABCDabcd89")


def _id_shapes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, value without spaces) of every ID-shaped token, look-alike
    letters after digits read as digits."""
    out = []
    for m in _ID_SHAPE.finditer(digits_fixed(text)):
        if m.group(1).count(" ") <= 2:
            out.append((m.start(1), m.end(1), m.group(1).replace(" ", "")))
    for start, end, value in _loose_ids(text):
        if len(value) == 10 and value[0].isalpha() and not any(s == start for s, _, _ in out):
            out.append((start, end, value))
    return out


def _loose_ids(text: str) -> list[tuple[int, int, str]]:
    """(start, end, value) of tokens an ID misread by OCR would give: a letter (or a
    digit it was read as, then exactly nine more), then eight to ten characters that
    are digits or their look-alikes (at least six real digits in all, at most three
    spaces or dashes), the look-alikes turned into digits."""
    out = []
    for m in _ID_LOOSE.finditer(text):
        lead, token = m.group(1), m.group(2)
        rest = token.replace(" ", "").replace("-", "")
        gaps = token.count(" ") + token.count("-")
        if gaps > 3 or sum(c.isdigit() for c in lead + rest) < 6:
            continue
        second = rest[0] if rest[0] in _SECOND else rest[0].translate(_ID_LOOKALIKES)
        value = lead.upper() + second.upper() + rest[1:].translate(_ID_LOOKALIKES)
        if value[2:].isdigit():
            out.append((m.start(1), m.end(2), value))
    return out


class TaiwanNationalId(Recognizer):
    name = "tw_national_id"
    category = NATIONAL_ID

    def find(self, text: str, before: str = "") -> list[Match]:
        return [
            self._match(start, end, 0.97)
            for start, end, value in _id_shapes(text)
            if value[1] in "12" and taiwan_id_checksum_ok(value)
        ]


class TaiwanResidentCertificate(Recognizer):
    """居留證統一證號: old format (second letter A-D) and the 2021 format (8 or 9)."""

    name = "tw_resident_certificate"
    category = RESIDENT_ID

    def find(self, text: str, before: str = "") -> list[Match]:
        return [
            self._match(start, end, 0.95)
            for start, end, value in _id_shapes(text)
            if value[1].upper() in "ABCD89" and taiwan_id_checksum_ok(value)
        ]


_NHI_LABEL = re.compile(
    r"(?:健保卡號|健保卡|健保號碼|NHI(?:\s*(?:card|no\.?|number))?)\s*[:：#.]?\s*"
    r"(\d{4}[\s-]?\d{4}[\s-]?\d{4})(?!\d)",
    re.IGNORECASE,
)
_NHI_GROUPED = re.compile(r"(?<!\d)(\d{4}[\s-]\d{4}[\s-]\d{4})(?![\d-])")


class NhiCardNumber(PatternRecognizer):
    """全民健保卡號: twelve digits, printed in groups of four on the card."""

    name = "tw_nhi_card"
    category = HEALTH_PLAN_ID
    patterns = (Pattern(_NHI_LABEL, 0.95, group=1), Pattern(_NHI_GROUPED, 0.7, group=1))
    fix_digits = True


_CHART_LABEL = (
    r"(?:病歷號碼|病歷編號|病歷號|病歷|病人ID|病患編號|Chart\s*(?:No\.?|Number|#)?|MRN|"
    r"Medical\s*Record\s*(?:No\.?|Number)?|Patient\s*ID|Pt\.?\s*ID|ID\s*(?:No\.?)?)"
)
_CHART_LED = re.compile(
    _CHART_LABEL + r"\s*[:：#.]?\s*([A-Za-z]{0,3}[-]?\d[\d-]{2,}[A-Za-z]?)", re.IGNORECASE
)
_LABEL_ONLY = re.compile(_CHART_LABEL + r"\s*[:：#.]?\s*$", re.IGNORECASE)
_FIRST_NUMBER = re.compile(r"^\s*([A-Za-z]{0,3}[-]?\d[\d-]{3,}[A-Za-z]?)")


class ChartNumber(Recognizer):
    """Medical record numbers are clinic-specific; the label is what identifies them."""

    name = "chart_number"
    category = MEDICAL_RECORD_NUMBER

    def find(self, text: str, before: str = "") -> list[Match]:
        fixed = digits_fixed(text)
        found = self._regex(_CHART_LED, fixed, 0.9, group=1)
        if _LABEL_ONLY.search(before.strip()):
            found += self._regex(_FIRST_NUMBER, fixed, 0.8, group=1)
        return found


_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)(\d{3})([-\s])(?!00)\d{2}\2(?!0000)\d{4}(?![\d-])")


class UsSsn(PatternRecognizer):
    name = "us_ssn"
    category = SSN
    patterns = (Pattern(_SSN, 0.9),)
    fix_digits = True


_LONG_DIGITS = re.compile(r"(?<![\d])(\d{7,})(?!\d)")
_LETTERS_DIGITS = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,2}\d{6,})(?![A-Za-z0-9])")
# A number OCR split once (a wide gap in a monospace caption): both parts of three or
# more digits, seven or more in all. Tooth-number rows ("11 21 36") have two-digit parts.
_SPLIT_DIGITS = re.compile(r"(?<![\d\s/.:-])(\d{3,} \d{3,})(?![\d/.:-])")
# A national ID whose leading letter OCR read as a digit (O as 0, I as 1, S as 5,
# B as 8, Z as 2, G as 6): ten digits, the second 1 or 2 (or 8, 9 for a resident).
_DIGIT_LED_ID = re.compile(r"(?<![A-Za-z0-9])([012568][1289]\d{8})(?![A-Za-z0-9])")


class LongIdentifier(PatternRecognizer):
    """Long digit runs and letter+digit codes with no label, and ID-shaped tokens.

    A national ID with one misread digit fails its checksum; it is still an
    identifier, and so is an unlabelled chart number. Nothing harmless on a
    clinical photo is seven digits long (tooth numbers have two). A token shaped
    like an ID (a letter, then nine digits or their look-alikes, spaced out or not)
    is redacted even when its checksum fails, with a score that needs no OCR
    confidence: one misread digit must not leave an ID readable. Its report entry
    says ``long_identifier`` (category ``identifier``), not ``tw_national_id``,
    which is kept for values whose checksum holds.
    """

    name = "long_identifier"
    category = IDENTIFIER
    patterns = (Pattern(_LONG_DIGITS, 0.6, group=1), Pattern(_LETTERS_DIGITS, 0.6, group=1))
    fix_digits = True

    def find(self, text: str, before: str = "") -> list[Match]:
        found = super().find(text, before)
        fixed = digits_fixed(text)
        found += [
            self._match(m.start(1), m.end(1), 0.6)
            for m in _SPLIT_DIGITS.finditer(fixed)
            if sum(c.isdigit() for c in m.group(1)) >= 7
        ]
        found += self._regex(_DIGIT_LED_ID, fixed, 0.8, group=1)
        for start, end, value in _loose_ids(text):
            if value[1] in _SECOND and 9 <= len(value) <= 11:
                found.append(self._match(start, end, 0.8 if len(value) == 10 else 0.75))
        return found
