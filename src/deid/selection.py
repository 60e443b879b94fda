"""Which files of an input folder a batch takes: include and exclude globs.

Clinics keep photos beside scans and exports in one folder tree, so a batch can be
narrowed without moving files. Patterns follow the familiar ignore-file rules, so
no one has to learn a new syntax: a pattern without ``/`` matches a file name in
any folder (``*.png``), one with ``/`` matches the path from the input folder
(``2024/**/*.jpg``); ``*`` and ``?`` stay within one folder, ``**`` crosses them.
Matching ignores case, because cameras write ``.JPG`` and people type ``*.jpg``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field


def _compile(pattern: str) -> re.Pattern[str]:
    """Translate one glob; everything but ``*``, ``**`` and ``?`` is literal."""
    parts, i = [], 0
    text = pattern.strip().lstrip("/")
    while i < len(text):
        if text.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif text.startswith("**", i):
            parts.append(".*")
            i += 2
        elif text[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif text[i] == "?":
            parts.append("[^/]")
            i += 1
        else:
            parts.append(re.escape(text[i]))
            i += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class _Glob:
    on_path: bool  # matched against the whole relative path, not only the file name
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, pattern: str) -> _Glob:
        return cls("/" in pattern.strip().lstrip("/"), _compile(pattern))

    def matches(self, relpath: str) -> bool:
        subject = relpath if self.on_path else relpath.rsplit("/", 1)[-1]
        return self.regex.fullmatch(subject) is not None


@dataclass(frozen=True)
class Selection:
    """Include and exclude globs; no include means every image, exclude wins."""

    include: tuple[_Glob, ...] = field(default=())
    exclude: tuple[_Glob, ...] = field(default=())

    @classmethod
    def from_globs(cls, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Selection:
        return cls(
            tuple(_Glob.parse(p) for p in include if p.strip()),
            tuple(_Glob.parse(p) for p in exclude if p.strip()),
        )

    def __call__(self, relpath: str) -> bool:
        """Whether the file at ``relpath`` (POSIX, relative to the input folder) is taken."""
        if self.include and not any(g.matches(relpath) for g in self.include):
            return False
        return not any(g.matches(relpath) for g in self.exclude)


__all__ = ["Selection"]
