"""Allow list, deny list and patient roster.

The roster (names and IDs exported from the practice system) is the strongest
signal there is: a listed patient is redacted wherever OCR reads them, allowing
one OCR error for entries of three or more characters (six for digit-only IDs,
where one edit would match too many ordinary numbers).
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .recognizers.base import DENY, ROSTER, Match

_ROSTER_HEADERS = frozenset(
    ("name", "names", "id", "ids", "patient", "chart", "mrn", "姓名", "病歷號", "病歷號碼",
     "身分證", "身分證字號", "身份證", "英文姓名", "first", "last", "first_name", "last_name",
     "full_name", "patient_id", "chart_no")
)  # fmt: skip


def normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", c) for c in text if not c.isspace()).casefold()


def _index_map(text: str) -> tuple[str, list[int]]:
    """Normalised text (no spaces, folded) and, per normalised char, its source offset."""
    chars: list[str] = []
    where: list[int] = []
    for i, c in enumerate(text):
        if c.isspace():
            continue
        folded = unicodedata.normalize("NFKC", c).casefold()
        chars.append(folded)
        where.extend([i] * len(folded))
    return "".join(chars), where


@dataclass(frozen=True)
class TextLists:
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    roster: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        index: dict[str, set[str]] = {}
        for entry in (normalise(e) for e in self.roster):
            if _tolerant(entry):
                for variant in _deletions(entry) | {entry}:
                    index.setdefault(variant, set()).add(entry)
        object.__setattr__(self, "_fuzzy", index)
        lengths = [len(normalise(e)) for e in self.roster if _tolerant(normalise(e))]
        object.__setattr__(
            self, "_fuzzy_lengths", (min(lengths), max(lengths)) if lengths else None
        )

    # -- matching -------------------------------------------------------------------

    def roster_matches(self, text: str) -> list[Match]:
        norm, where = _index_map(text)
        found = _exact(norm, where, [normalise(e) for e in self.roster], "roster", 0.99)
        fuzzy = [
            f
            for f in self._fuzzy_matches(norm, where)
            if not any(f[0] < e[1] and e[0] < f[1] for e in found)
        ]
        # Of overlapping windows keep the most plausible edit: a substituted character
        # (same length) before an inserted one, before a dropped one.
        found += [
            (s, e, score)
            for s, e, score, rank in fuzzy
            if not any(r < rank and s < e2 and s2 < e for s2, e2, _, r in fuzzy)
        ]
        return [Match(s, e, "roster", ROSTER, score) for s, e, score in found]

    def deny_matches(self, text: str) -> list[Match]:
        norm, where = _index_map(text)
        found = _exact(norm, where, [normalise(e) for e in self.deny], "deny", 1.0)
        return [Match(s, e, "deny_list", DENY, score) for s, e, score in found]

    def allowed_spans(self, text: str) -> list[tuple[int, int]]:
        norm, where = _index_map(text)
        return [
            (s, e) for s, e, _ in _exact(norm, where, [normalise(a) for a in self.allow], "", 1)
        ]

    def is_allowed(self, text: str, start: int, end: int) -> bool:
        """A match lying wholly inside an allowed string is kept; partial overlap is not."""
        return any(s <= start and end <= e for s, e in self.allowed_spans(text))

    def _fuzzy_matches(self, norm: str, where: list[int]) -> list[tuple[int, int, float, int]]:
        bounds = self._fuzzy_lengths  # type: ignore[attr-defined]
        if bounds is None:
            return []
        index: dict[str, set[str]] = self._fuzzy  # type: ignore[attr-defined]
        lo, hi = bounds
        found: list[tuple[int, int, float, int]] = []
        for size in range(max(1, lo - 1), hi + 2):
            for i in range(0, len(norm) - size + 1):
                window = norm[i : i + size]
                keys = _deletions(window) | {window}
                hits = set().union(*(index.get(k, set()) for k in keys))
                ranks = [
                    (0, 1, 2)[len(window) - len(entry)]
                    for entry in hits
                    if _within_one_edit(window, entry)
                ]
                if ranks:
                    found.append((where[i], where[i + size - 1] + 1, 0.9, min(ranks)))
        return found


def _exact(
    norm: str, where: list[int], entries: list[str], _kind: str, score: float
) -> list[tuple[int, int, float]]:
    found: list[tuple[int, int, float]] = []
    for entry in entries:
        if not entry:
            continue
        start = norm.find(entry)
        while start >= 0:
            found.append((where[start], where[start + len(entry) - 1] + 1, float(score)))
            start = norm.find(entry, start + 1)
    return found


def _tolerant(entry: str) -> bool:
    return len(entry) >= (6 if entry.isdigit() else 3)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _within_one_edit(a: str, b: str) -> bool:
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


# -- loading ----------------------------------------------------------------------------


def read_list(path: str, what: str) -> tuple[str, ...]:
    """One entry per line; blank lines and lines starting with # are ignored."""
    if not path:
        return ()
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{what} file cannot be read: {type(exc).__name__}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} file is not UTF-8 text") from exc
    return tuple(s for s in (ln.strip() for ln in text.splitlines()) if s and not s.startswith("#"))


def read_roster_rows(path: str) -> list[list[str]]:
    """The roster CSV's rows, without a header row of labels."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise ConfigError(f"roster file cannot be read: {type(exc).__name__}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError("roster file is not a UTF-8 CSV") from exc
    if rows and all(normalise(c) in _ROSTER_HEADERS for c in rows[0] if c.strip()):
        rows = rows[1:]
    return rows


def read_roster(path: str) -> tuple[str, ...]:
    """Every non-empty cell of the CSV is an entry; a header row of labels is skipped."""
    if not path:
        return ()
    entries: list[str] = []
    for row in read_roster_rows(path):
        entries.extend(c.strip() for c in row if len(normalise(c)) >= 2)
    return tuple(dict.fromkeys(entries))


def load_lists(
    allow: tuple[str, ...], allow_file: str, deny_file: str, roster_file: str
) -> TextLists:
    return TextLists(
        allow=tuple(allow) + read_list(allow_file, "allow list"),
        deny=read_list(deny_file, "deny list"),
        roster=read_roster(roster_file),
    )
