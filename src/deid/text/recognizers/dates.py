"""Dates: Gregorian (ISO, US, month names), ROC (民國 113 年, 113/05/01) and 年月日.

HIPAA treats every date element tied to a person other than the year as an
identifier; a photo date or a birth date are equally removed.
"""

from __future__ import annotations

import re

from .base import DATE, Match, Recognizer, digits_fixed

# OCR sometimes loses thin slashes; a single space then separates the parts.
_SEP = r"(?:\s?[-/.]\s?|\s)"
_ISO = re.compile(rf"(?<!\d)((?:19|20)\d{{2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})(?!\d)")
_US = re.compile(rf"(?<!\d)(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}((?:19|20)\d{{2}})(?!\d)")
# ROC forms keep explicit separators: "11 21 36" is a row of tooth numbers.
_ROC_SEP = r"\s?[-/.]\s?"
_ROC = re.compile(rf"(?<![\d/.-])(\d{{2,3}}){_ROC_SEP}(\d{{1,2}}){_ROC_SEP}(\d{{1,2}})(?![\d/.-])")
_CJK = re.compile(r"(?:民國|民国)?\s*(\d{2,4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*[日号號]?)?")
_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_NAMED = re.compile(
    rf"\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b|\b\d{{1,2}}\s+{_MONTHS},?\s+\d{{4}}\b",
    re.IGNORECASE,
)


def _valid(month: str, day: str | None, *, truncated: bool = False) -> bool:
    """Month and day in range; a day cut short by the end of the line ("107.02.0",
    OCR dropped the last digit) still makes a date."""
    m = int(month)
    if day is None:
        return 1 <= m <= 12
    return 1 <= m <= 12 and (0 if truncated else 1) <= int(day) <= 31


def _at_end(text: str, end: int) -> bool:
    return not text[end:].strip()


class GregorianDate(Recognizer):
    name = "date_gregorian"
    category = DATE

    def find(self, text: str, before: str = "") -> list[Match]:
        fixed = digits_fixed(text)
        found = [
            self._match(m.start(), m.end(), 0.9)
            for m in _ISO.finditer(fixed)
            if _valid(m.group(2), m.group(3), truncated=_at_end(fixed, m.end()))
        ]
        found += [
            self._match(m.start(), m.end(), 0.85)
            for m in _US.finditer(fixed)
            if _valid(m.group(1), m.group(2)) or _valid(m.group(2), m.group(1))
        ]
        found += self._regex(_NAMED, fixed, 0.9)
        return found


class RocDate(Recognizer):
    """民國 dates: the year counts from 1912, so 80/05/01 is 1991-05-01."""

    name = "date_roc"
    category = DATE

    def find(self, text: str, before: str = "") -> list[Match]:
        fixed = digits_fixed(text)
        found = [
            self._match(m.start(), m.end(), 0.8)
            for m in _ROC.finditer(fixed)
            if 1 <= int(m.group(1)) <= 150
            and _valid(m.group(2), m.group(3), truncated=_at_end(fixed, m.end()))
        ]
        found += [
            self._match(m.start(), m.end(), 0.9)
            for m in _CJK.finditer(fixed)
            if _valid(m.group(2), m.group(3))
        ]
        return found
