"""The value beside a PHI label, whatever its shape.

A label such as 姓名, 病歷號碼, 身分證, 電話, 生日, Name, MRN or DOB says what follows
is PHI. The value's own recogniser may be unsure of it (a name in a rare surname, a
chart number of an unusual length, a phone number OCR read with one wrong digit), so
the label alone is enough: everything after it on the line, up to the next label, is
redacted. A label standing alone at the end of the line before (or of the line to the
left, read from another proposal) makes the start of this line its value.
"""

from __future__ import annotations

import re

from .base import (
    ADDRESS,
    DATE,
    EMAIL,
    MEDICAL_RECORD_NUMBER,
    NAME,
    NATIONAL_ID,
    PHONE,
    Category,
    Match,
    Recognizer,
)
from .vocabulary import is_caption

# Longest labels first: 病歷號碼 before 病歷, Patient Name before Patient.
LABELS: tuple[tuple[Category, tuple[str, ...]], ...] = (
    (NAME, ("病患姓名", "患者姓名", "病人姓名", "姓名", "病患", "患者", "病人", "受檢者")),
    (MEDICAL_RECORD_NUMBER, ("病歷號碼", "病歷編號", "病歷號", "病歷", "病人ID", "病患編號")),
    (NATIONAL_ID, ("身分證字號", "身份證字號", "身分證號", "身分證", "身份證", "統一證號",
                   "居留證號", "居留證")),
    (PHONE, ("行動電話", "聯絡電話", "電話號碼", "手機號碼", "電話", "手機")),
    (DATE, ("出生日期", "出生年月日", "生日", "出生")),
    (ADDRESS, ("地址", "住址")),
)  # fmt: skip
LATIN_LABELS: tuple[tuple[Category, tuple[str, ...]], ...] = (
    (NAME, (r"Patient\s*Name", r"Pt\.?\s*Name", r"Full\s*Name", r"Name", r"Patient")),
    (MEDICAL_RECORD_NUMBER, (r"Chart\s*(?:No\.?|Number|#)", r"MRN", r"Medical\s*Record\s*No\.?",
                             r"Patient\s*ID", r"Chart")),
    (NATIONAL_ID, (r"ID\s*No\.?", r"ID")),
    (PHONE, (r"Tel\.?", r"Phone", r"Mobile", r"Cell")),
    # Any date of a patient's care is PHI (HIPAA C), so "Date:" leads one too.
    (DATE, (r"Date\s*of\s*Birth", r"DOB", r"D\.O\.B\.?", r"Birth\s*Date", r"Birthday", r"Birth",
            r"Date")),
    (ADDRESS, (r"Address", r"Addr\.?")),
    (EMAIL, (r"E-?mail",)),
)  # fmt: skip


def _one_misread(word: str) -> list[str]:
    """A label of three or more characters with any one of them read as another CJK
    character (病歷號碣, 身分讚): the others still say which label it is."""
    if len(word) < 3:
        return []
    return [re.escape(word[:i]) + _ANY_CJK + re.escape(word[i + 1 :]) for i in range(len(word))]


_ANY_CJK = r"[\u4e00-\u9fff]"
_CJK_WORDS = [w for _, words in LABELS for w in words]
# Longest first (regex alternation takes the first that matches, not the longest):
# 病歷號碣 is 病歷號碼 misread, not 病歷號 followed by 碣. Exact before misread.
_CJK_ALT = "|".join(
    alt
    for _, _, alt in sorted(
        [(len(w), 0, re.escape(w)) for w in _CJK_WORDS]
        + [(len(w), 1, alt) for w in _CJK_WORDS for alt in _one_misread(w)],
        key=lambda t: (-t[0], t[1]),
    )
)
_LATIN_ALT = "|".join(w for _, words in LATIN_LABELS for w in words)
# Latin labels stand as words and, being common English, need their colon unless
# they are one of the unmistakable abbreviations (MRN, DOB, Tel).
_LABEL = re.compile(
    rf"(?P<cjk>{_CJK_ALT})\s*[:：#]?"
    rf"|(?<![A-Za-z])(?P<latin>{_LATIN_ALT})(?![A-Za-z])\s*(?P<colon>[:：#.])?",
    re.IGNORECASE,
)
_BARE_OK = re.compile(r"^(?:MRN|DOB|D\.O\.B\.?|Tel\.?|Chart\s*No\.?|ID\s*No\.?)$", re.IGNORECASE)
_MAX_VALUE = 40


def _category(label: str) -> Category:
    for category, words in LABELS:
        if label in words:
            return category
    for category, words in LABELS:
        if any(re.fullmatch("|".join(_one_misread(w)), label) for w in words if len(w) >= 3):
            return category
    for category, words in LATIN_LABELS:
        if any(re.fullmatch(w, label, re.IGNORECASE) for w in words):
            return category
    return NAME


def labels(text: str) -> list[tuple[int, int, Category]]:
    """(start, end, category) of every PHI label in ``text``, colon included."""
    out = []
    for m in _LABEL.finditer(text):
        word = m.group("cjk") or m.group("latin")
        if m.group("latin") and not m.group("colon") and not _BARE_OK.match(word.strip()):
            continue
        out.append((m.start(), m.end(), _category(word)))
    return out


def ends_with_label(text: str) -> Category | None:
    found = labels(text)
    if found and not text[found[-1][1] :].strip():
        return found[-1][2]
    return None


class LabelledValue(Recognizer):
    """Whatever follows a PHI label, up to the next label or the end of the line."""

    name = "labelled_value"
    category = NAME  # per match: the label's category

    def find(self, text: str, before: str = "") -> list[Match]:
        found: list[Match] = []
        marks = labels(text)
        starts = [s for s, _, _ in marks] + [len(text)]
        lead = ends_with_label(before)
        # A label on another line leads this one only if it reads like a value: that
        # label's value may have been read beside it, and this line be a caption.
        if lead is not None and not is_caption(text[: starts[0]]):
            found.extend(self._value(text, 0, starts[0], lead, 0.75))
        for i, (_, end, category) in enumerate(marks):
            found.extend(self._value(text, end, starts[i + 1], category, 0.8))
        return found

    def _value(
        self, text: str, start: int, end: int, category: Category, score: float
    ) -> list[Match]:
        segment = text[start:end]
        stripped = segment.strip(" :：#.-")
        if sum(c.isalnum() for c in stripped) < 2:
            return []
        lo = start + segment.index(stripped)
        hi = min(lo + len(stripped), lo + _MAX_VALUE)
        return [Match(lo, hi, self.name, category, score)]
