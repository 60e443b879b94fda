"""The explicit recogniser registry: one entry per PHI kind, in report order.

Adding a kind means writing one small class (a ``PatternRecognizer`` declaring its
regular expressions, when that is all it takes) and adding one line here; nothing is
discovered implicitly, so what runs is always what this file says.
"""

from __future__ import annotations

from .base import Category, Match, Recognizer, traditional_forms
from .contact import Email, TaiwanAddress, TaiwanLandline, TaiwanMobile, UsAddress, UsPhone
from .dates import GregorianDate, RocDate
from .ids import (
    ChartNumber,
    LongIdentifier,
    NhiCardNumber,
    TaiwanNationalId,
    TaiwanResidentCertificate,
    UsSsn,
)
from .labels import LabelledValue
from .names import ChineseName, EnglishName

REGISTRY: dict[str, type[Recognizer]] = {
    TaiwanNationalId.name: TaiwanNationalId,
    TaiwanResidentCertificate.name: TaiwanResidentCertificate,
    NhiCardNumber.name: NhiCardNumber,
    ChartNumber.name: ChartNumber,
    UsSsn.name: UsSsn,
    TaiwanMobile.name: TaiwanMobile,
    TaiwanLandline.name: TaiwanLandline,
    UsPhone.name: UsPhone,
    GregorianDate.name: GregorianDate,
    RocDate.name: RocDate,
    Email.name: Email,
    TaiwanAddress.name: TaiwanAddress,
    UsAddress.name: UsAddress,
    ChineseName.name: ChineseName,
    EnglishName.name: EnglishName,
    LongIdentifier.name: LongIdentifier,
    LabelledValue.name: LabelledValue,
}


def all_recognizers() -> list[Recognizer]:
    return [cls() for cls in REGISTRY.values()]


def find_all(
    text: str, before: str = "", recognizers: list[Recognizer] | None = None
) -> list[Match]:
    """Every recogniser's matches on one line, overlapping ones merged (best score wins)."""
    text, before = traditional_forms(text), traditional_forms(before)
    matches: list[Match] = []
    for recognizer in recognizers if recognizers is not None else all_recognizers():
        matches.extend(m for m in recognizer.find(text, before) if m.end > m.start)
    return merge_overlapping(matches)


def merge_overlapping(matches: list[Match]) -> list[Match]:
    """Overlapping spans become one span covering both, labelled by the best match."""
    merged: list[Match] = []
    for m in sorted(matches, key=lambda m: (m.start, -m.end)):
        if merged and m.start < merged[-1].end:
            last = merged[-1]
            best = last if last.score >= m.score else m
            merged[-1] = Match(
                last.start, max(last.end, m.end), best.recognizer, best.category, best.score
            )
        else:
            merged.append(m)
    return merged


__all__ = ["REGISTRY", "Category", "Match", "Recognizer", "all_recognizers", "find_all"]
