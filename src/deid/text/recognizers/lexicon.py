"""Whether a capitalised run with no label is a person's name or a caption's words.

A title-case caption the caption vocabulary never saw ("Cavity Polishing", "Tartar
Removal") has the shape of an English name. What tells them apart is the words
themselves: a caption is made of common English words, a name of given names and
surnames. Three lists decide (``data/``, built by ``scripts/build_name_lexicon.py``;
sources and licences in ``data/LICENSES.txt``):

- given names and the 20,000 most frequent surnames of the US census (1990, public
  domain), with the common romanised Taiwanese surnames below;
- English words: the lower-case words of the SCOWL size-50 list (Debian ``wamerican``);
  the list spells names with a capital, so these are common words.

Each word of a run is then *strong* (a name and not a common word: Jennifer, Chen),
*ambiguous* (both: Grace, Hopper, Black), a plain *word* (Cavity, Polishing) or
*unknown* (neither: a rare name, a romanised given name such as Wei-Ling, or a word OCR
misread). A run is a name when it has a strong word, or when it has no plain word and
either an unknown one or a given name first (Grace Hopper). A name missed is worse
than a caption filled: only a plain common word with no name beside it keeps a run.
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from pathlib import Path

_DATA = Path(__file__).with_name("data")

# Romanised Taiwanese surnames (Wade-Giles as on Taiwanese passports, with the Hanyu
# and Tongyong spellings seen beside them), for those the US census does not list.
_TAIWANESE_TEXT = """
    chen lin huang chang li lee wang wu liu tsai yang hsu cheng hsieh hung kuo chiu tseng
    liao lai chou yeh su chuang lu chiang ho hsiao lo kao pan chien chu chung yu peng chan
    hu shih shen liang chao yen ko weng wei sun tai fan fang sung teng tu hou fu tsao hsueh
    juan ting cho ma tung wen tang lan chi yao lien feng ou tsou kung han yuan chin hsia
    shao ni tan hsiung jen kan ku mao kuan lei jao pai mai pao tso tsui hua lung kang
    chai chuo tsay jhang jheng syu sie siao jhou jhuang jiang zhang zhou zheng xu xie qiu
    zeng zhuang xiao gao jian zhu zhong shi zhao xue cao guo cai jhu jhong
"""
TAIWANESE_SURNAMES = frozenset(_TAIWANESE_TEXT.split())

# One syllable of a romanised Chinese name: Wade-Giles as Taiwanese passports spell it
# (no apostrophes or umlauts), with the pinyin initials beside it. A hyphenated word of
# such syllables (Wei-Ling, Chin-Fa, I-Chun) is a given name even when its pieces are
# English words too (Wen-Pin).
_SYLLABLE = re.compile(
    r"(?:ch|hs|sh|ts|tz|ss|sz|zh|[bcdfghjklmnpqrstwxyz])?"
    r"(?:iang|iung|uang|yung|yueh|yuan|ieh|ien|iao|uai|ueh|uan|ang|eng|ung|ong|ing|erh"
    r"|ai|ei|ao|ou|an|en|ih|ia|iu|in|ua|uo|ui|un|eh|ie|ue|yu|yi|a|o|e|i|u)"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*(?:-[A-Za-z][A-Za-z'’]*)*")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@cache
def _load(name: str) -> frozenset[str]:
    with gzip.open(_DATA / name, "rt", encoding="ascii") as f:
        return frozenset(f.read().split())


def given_names() -> frozenset[str]:
    return _load("given_names.txt.gz")


@cache
def surnames() -> frozenset[str]:
    return _load("surnames.txt.gz") | TAIWANESE_SURNAMES


def english_words() -> frozenset[str]:
    return _load("english_words.txt.gz")


STRONG, AMBIGUOUS, WORD, UNKNOWN = "strong", "ambiguous", "word", "unknown"


def _kind_of_piece(piece: str) -> str:
    name = piece in given_names() or piece in surnames()
    word = piece in english_words()
    if name:
        return AMBIGUOUS if word else STRONG
    return WORD if word else UNKNOWN


def kind(word: str) -> str:
    """What one word of a run is: strong, ambiguous, word or unknown (see above).

    A hyphenated word is its pieces together: Mary-Rose is a name by Mary, Follow-Up a
    word by both of its pieces; Wei-Ling, as a whole, is unknown."""
    plain = re.sub(r"['’]", "", word).lower()
    whole = _kind_of_piece(plain.replace("-", ""))
    if "-" not in plain or whole != UNKNOWN:
        return whole
    pieces = [p for p in plain.split("-") if p]
    if all(_SYLLABLE.fullmatch(p) for p in pieces):
        return STRONG
    kinds = [_kind_of_piece(p) for p in pieces]
    if STRONG in kinds:
        return STRONG
    if UNKNOWN in kinds:
        return UNKNOWN
    return WORD if WORD in kinds else AMBIGUOUS


@cache
def _kind_of_tail(piece: str) -> str:
    """What the lower-case end of a word cut at the line's start is ("ep" of Sleep,
    "ames" of James): the end of a given name makes it a possible name, else the end of
    a common word makes it a word."""
    piece = piece.lower()
    if any(n.endswith(piece) for n in given_names()):
        return UNKNOWN
    return WORD if any(w.endswith(piece) for w in english_words()) else UNKNOWN


def looks_like_name(run: str, *, cut_start: bool = False) -> bool:
    """Whether a capitalised run read with no label is a person's name (see above).
    Initials and one-letter pieces say nothing and are left out. With ``cut_start``
    the first word is the end of a word the proposal cut ("ep Apnea")."""
    words = [w for w in _WORD.findall(_CAMEL.sub(" ", run)) if len(w.strip("'’-")) > 1]
    if not words:
        return True
    kinds = [kind(w) for w in words]
    if cut_start and kinds[0] == UNKNOWN:
        kinds[0] = _kind_of_tail(words[0])
    if STRONG in kinds:
        return True
    if WORD in kinds:
        return False
    if UNKNOWN in kinds:
        return True
    first = re.sub(r"['’]", "", words[0]).lower()
    return first in given_names() or first in TAIWANESE_SURNAMES
