"""PHI in file and folder names: 王小明_術前.jpg becomes patient-1a2b3c4d_術前.jpg.

The same recognisers and lists as for image text run on each path component.
Every PHI span is replaced by ``patient-<hash>``, where the hash is a keyed HMAC
of the PHI found in that component: the same patient gets the same name across
files in a batch, but the name cannot be reversed by hashing a list of common
names (the key is ``TextConfig.filename_key``, or random per process).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from functools import lru_cache
from pathlib import PurePosixPath

from ..config import TextConfig
from .lists import load_lists
from .masking import mask
from .recognizers import all_recognizers, find_all, merge_overlapping
from .recognizers.base import Match
from .recognizers.names import EnglishName

_PROCESS_KEY = secrets.token_bytes(32)
_SEPARATORS = re.compile(r"[_\-.\s]+")


def safe_name(relpath: str, *, config: TextConfig) -> tuple[str, str | None]:
    """Output relative path and, if any component carried PHI, the masked original."""
    path = PurePosixPath(relpath.replace("\\", "/"))
    parts = list(path.parts)
    if not parts:
        return relpath, None
    key = config.filename_key.encode() or _PROCESS_KEY
    out_parts: list[str] = []
    masked_parts: list[str] = []
    changed = False
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        stem, suffix = (
            (PurePosixPath(part).stem, PurePosixPath(part).suffix) if last else (part, "")
        )
        spans = _phi_spans(stem, config)
        if not spans:
            out_parts.append(part)
            masked_parts.append(part)
            continue
        changed = True
        out_parts.append(_replace(stem, spans, key) + suffix)
        masked_parts.append(_mask(stem, spans) + suffix)
    if not changed:
        return relpath, None
    return "/".join(out_parts), "/".join(masked_parts)


def _phi_spans(stem: str, config: TextConfig) -> list[Match]:
    files = (config.allow_list, config.deny_list, config.roster)
    lists = _lists(config.allow, *files, _versions(files))
    # Separators in names stand for spaces; recognisers see "王小明 術前".
    text = _SEPARATORS.sub(" ", stem)
    matches = find_all(text, "", _recognizers())
    matches += lists.roster_matches(text) + lists.deny_matches(text)
    allowed = lists.allowed_spans(text)
    return [
        m
        for m in merge_overlapping(matches)
        if m.category.name in ("roster", "deny_list")
        or not any(s <= m.start and m.end <= e for s, e in allowed)
    ]


def _replace(stem: str, spans: list[Match], key: bytes) -> str:
    phi = "|".join(stem[m.start : m.end] for m in spans)
    digest = hmac.new(key, phi.encode(), hashlib.sha256).hexdigest()[:8]
    token = f"patient-{digest}"
    out: list[str] = []
    pos = 0
    for m in spans:
        between = stem[pos : m.start]
        if out and out[-1] == token and not _SEPARATORS.sub("", between):
            pos = m.end  # adjacent PHI pieces collapse into one token
            continue
        out.append(between)
        out.append(token)
        pos = m.end
    out.append(stem[pos:])
    return "".join(out)


def _mask(stem: str, spans: list[Match]) -> str:
    out: list[str] = []
    pos = 0
    for m in spans:
        out.append(stem[pos : m.start])
        out.append(mask(stem[m.start : m.end], m.category.name))
        pos = m.end
    out.append(stem[pos:])
    return "".join(out)


def _versions(paths: tuple[str, ...]) -> tuple[tuple[int, int] | None, ...]:
    """Which version of each list file is on disk, so an updated roster is read again
    (a patient added this morning must not keep their name in this afternoon's files)."""
    versions: list[tuple[int, int] | None] = []
    for path in paths:
        try:
            st = os.stat(path) if path else None
        except OSError:
            st = None  # load_lists reports the unreadable file
        versions.append((st.st_mtime_ns, st.st_size) if st else None)
    return tuple(versions)


@lru_cache(maxsize=8)
def _lists(allow: tuple[str, ...], allow_file: str, deny_file: str, roster_file: str,
           _versions: tuple[tuple[int, int] | None, ...]):  # type: ignore[no-untyped-def]  # fmt: skip
    return load_lists(allow, allow_file, deny_file, roster_file)


@lru_cache(maxsize=1)
def _recognizers():  # type: ignore[no-untyped-def]
    return [
        EnglishName(words_may_follow=True) if isinstance(r, EnglishName) else r
        for r in all_recognizers()
    ]
