"""What a recogniser is and what it returns.

A recogniser looks at one line of OCR text (plus the line above it, where labels
such as 姓名 or Name: often sit on their own) and returns character spans. Each
class covers one kind of PHI and names the legal category it falls under, so a
report can say why something was removed without quoting it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

# Digits and letters OCR engines confuse inside numbers.
DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1",
                                   "|": "1", "i": "1", "S": "5", "s": "5", "B": "8",
                                   "Z": "2", "z": "2", "g": "9", "q": "9"})  # fmt: skip

# OCR models trained on mixed corpora read the traditional characters of a label in
# their simplified (or Japanese) form: 病历号码, 身份证, 电话, 手机, 病歴. Recognisers
# match one set of labels; the line they see has these characters in the traditional
# form, one for one, so every span still points at the same characters.
_TRADITIONAL_FORMS = str.maketrans(
    "历歴号码编证証电话机动联络统检齢龄",
    "歷歷號碼編證證電話機動聯絡統檢齡齡",
)


def traditional_forms(text: str) -> str:
    """Same-length copy of ``text`` with the label characters above made traditional."""
    return text.translate(_TRADITIONAL_FORMS)


@dataclass(frozen=True, slots=True)
class Category:
    """Short name used in reports plus the PDPA (Taiwan) and HIPAA (US) basis."""

    name: str
    pdpa: str
    hipaa: str


@dataclass(frozen=True, slots=True)
class Match:
    """A PHI span ``[start, end)`` of a line. ``value`` never leaves memory unmasked."""

    start: int
    end: int
    recognizer: str
    category: Category
    score: float

    def value(self, text: str) -> str:
        return text[self.start : self.end]


class Recognizer(ABC):
    """Base class: subclasses set ``name``/``category`` and implement ``find``."""

    name: ClassVar[str]
    category: ClassVar[Category]

    @abstractmethod
    def find(self, text: str, before: str = "") -> list[Match]:
        """PHI spans in ``text``; ``before`` is the line above, for label context."""

    def _match(self, start: int, end: int, score: float) -> Match:
        return Match(start, end, self.name, self.category, score)

    def _regex(
        self, pattern: re.Pattern[str], text: str, score: float, group: int = 0
    ) -> list[Match]:
        return [self._match(m.start(group), m.end(group), score) for m in pattern.finditer(text)]


@dataclass(frozen=True, slots=True)
class Pattern:
    """One regular expression of a ``PatternRecognizer``: its matches (or ``group``)
    are PHI with ``score``."""

    regex: re.Pattern[str]
    score: float
    group: int = 0


class PatternRecognizer(Recognizer):
    """A recogniser that is only regular expressions, declared as data.

    ``find`` returns each pattern's matches in order. With ``fix_digits`` the line is
    read with look-alike letters next to digits turned into digits (OCR reads a phone
    number's 0 as O); spans keep their positions, since the copy has the same length.
    """

    patterns: ClassVar[tuple[Pattern, ...]]
    fix_digits: ClassVar[bool] = False

    def find(self, text: str, before: str = "") -> list[Match]:
        line = digits_fixed(text) if self.fix_digits else text
        return [m for p in self.patterns for m in self._regex(p.regex, line, p.score, p.group)]


def digits_fixed(text: str) -> str:
    """Same-length copy where look-alike letters next to digits become digits.

    Only characters preceded by a digit are changed, so the leading letter of a
    national ID (S, B, O, I, Z are all valid) is never touched.
    """
    out = list(text)
    for i in range(1, len(out)):
        if out[i - 1].isdigit() and out[i] in "OoDIl|iSsBZzgq":
            nxt = out[i + 1] if i + 1 < len(out) else ""
            # A lone letter after digits that ends a token is kept ("12B" stays).
            if nxt.isdigit() or out[i] in "Oo|lI":
                out[i] = out[i].translate(DIGIT_LOOKALIKES)
    return "".join(out)


# PDPA: Personal Data Protection Act (Taiwan) art. 2; HIPAA: 45 CFR 164.514(b)(2)(i).
NAME = Category("name", "name", "A names")
NATIONAL_ID = Category(
    "national_id", "national identification card number", "R other unique identifying number"
)
RESIDENT_ID = Category(
    "resident_id",
    "national identification card number (resident certificate)",
    "R other unique identifying number",
)
HEALTH_PLAN_ID = Category(
    "health_plan_id", "medical records (NHI card number)", "I health plan beneficiary number"
)
MEDICAL_RECORD_NUMBER = Category(
    "medical_record_number", "medical records", "H medical record number"
)
IDENTIFIER = Category(
    "identifier", "other data that can identify a person", "R other unique identifying number"
)
PHONE = Category("phone", "contact information", "D telephone number")
DATE = Category("date", "date of birth", "C dates")
EMAIL = Category("email", "contact information", "F e-mail address")
ADDRESS = Category(
    "address", "contact information", "B geographic subdivision smaller than a state"
)
SSN = Category("ssn", "other data that can identify a person", "G social security number")
ROSTER = Category(
    "roster", "name or identification number", "A names / R other unique identifying number"
)
DENY = Category("deny_list", "as configured by the clinic", "as configured by the clinic")
TEXT = Category("text", "any readable text (redact = all_text)", "any readable text")
