"""Rebuild text lines from OCR words, keeping a way back from characters to pixels.

Tesseract's chi_tra model reports most Chinese characters as separate "words";
matched word by word, 王 小 明 is never a name. Lines are rebuilt with no space
between CJK characters (a space between Latin words), and every character keeps
the word it came from so that a match on the line maps back to exact boxes.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ..types import Box
from .ocr.base import OcrWord


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x2FFFF
    )


def _is_cjk_side(ch: str) -> bool:
    """CJK characters and full-width punctuation join without a space."""
    return is_cjk(ch) or 0x3000 <= ord(ch) <= 0x303F or 0xFF00 <= ord(ch) <= 0xFFEF


def normalise_char(ch: str) -> str:
    """Full-width forms to ASCII where that keeps one character (offsets stay aligned)."""
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


@dataclass(frozen=True, eq=False)
class TextLine:
    """One line of text with a per-character map back to its words.

    ``origin[i]`` is the index in ``words`` of character ``i`` (None for the
    spaces inserted between words).
    """

    text: str
    words: tuple[OcrWord, ...]
    origin: tuple[int | None, ...]

    @property
    def confidence(self) -> float:
        return min((w.confidence for w in self.words), default=0.0)

    def word_indices(self, start: int, end: int) -> list[int]:
        seen: list[int] = []
        for idx in self.origin[start:end]:
            if idx is not None and idx not in seen:
                seen.append(idx)
        return seen

    def span_box(self, start: int, end: int) -> Box | None:
        """Box of the characters ``[start, end)``; partial words are cut proportionally
        for CJK words only (Latin tokens are always covered whole)."""
        boxes: list[Box] = []
        for idx in self.word_indices(start, end):
            word = self.words[idx]
            first = self.origin.index(idx)
            n = len(word.text)
            lo = max(start, first) - first
            hi = min(end, first + n) - first
            box = word.box
            if n > 1 and (lo > 0 or hi < n) and all(is_cjk(c) for c in word.text[lo:hi]):
                step = box.width / n
                box = Box(
                    box.left + int(step * lo), box.top,
                    box.left + round(step * hi), box.bottom,
                )  # fmt: skip
            boxes.append(box)
        if not boxes:
            return None
        left, right = min(b.left for b in boxes), max(b.right for b in boxes)
        # LSTM character boxes are approximate (often a third of a glyph short), so
        # a span reaches out towards its neighbours, by at most 0.6 line heights.
        indices = self.word_indices(start, end)
        reach = 0.6 * max(w.box.height for w in self.words)
        if indices[0] > 0:
            left = min(left, max(self.words[indices[0] - 1].box.right, int(left - reach)))
        else:
            left = int(left - reach / 2)
        if indices[-1] < len(self.words) - 1:
            right = max(right, min(self.words[indices[-1] + 1].box.left, int(right + reach)))
        else:
            right = int(right + reach / 2)
        return Box(left, min(b.top for b in boxes), right, max(b.bottom for b in boxes))

    def span_confidence(self, start: int, end: int) -> float:
        confs = [self.words[i].confidence for i in self.word_indices(start, end)]
        return sum(confs) / len(confs) if confs else 0.0


def build_lines(words: Sequence[OcrWord]) -> list[TextLine]:
    """Group words by the engine's line number, order left to right, join them."""
    groups: dict[int, list[OcrWord]] = defaultdict(list)
    for word in words:
        groups[word.line].append(word)
    lines = [_join(sorted(g, key=lambda w: w.box.left)) for g in groups.values()]
    lines.sort(key=lambda ln: (ln.words[0].box.top, ln.words[0].box.left))
    return lines


def _join(words: list[OcrWord]) -> TextLine:
    chars: list[str] = []
    origin: list[int | None] = []
    for i, word in enumerate(words):
        text = "".join(normalise_char(c) for c in word.text)
        if chars and (
            _wide_gap(words[i - 1], word) or not (_is_cjk_side(chars[-1]) and _is_cjk_side(text[0]))
        ):
            chars.append(" ")
            origin.append(None)
        chars.extend(text)
        origin.extend([i] * len(text))
    normalised = tuple(
        OcrWord("".join(normalise_char(c) for c in w.text), w.box, w.confidence, w.line)
        for w in words
    )
    return TextLine("".join(chars), normalised, tuple(origin))


def _wide_gap(left: OcrWord, right: OcrWord) -> bool:
    """A gap wider than most of a character separates tokens even between CJK."""
    height = max(left.box.height, right.box.height, 1)
    return right.box.left - left.box.right > 0.6 * height
