"""Consent gate: an image is published only with the patient's written consent.

Opt-in (``--consent consent.csv --purpose website``). The manifest is exported from
the practice system, one row per signed form:

=============  =============================================================
column         meaning
=============  =============================================================
``patient``    the patient's key: a roster id (or any cell of their roster row:
               name, chart number, national ID)
``scope``      what the form allows, e.g. ``website; social; education``
``given``      date signed (YYYY-MM-DD or YYYY/MM/DD)
``expires``    optional: last day it is valid
``withdrawn``  optional: date the patient withdrew it
``reference``  the signed form's reference (recorded in reports)
``path``       optional: input paths (or file names) this form covers,
               separated by ``;`` (for photos whose name and pixels carry no name)
=============  =============================================================

An image is matched to patients through the roster (``--roster``): a roster entry
found in the file name, one the text stage read in the image (the same tolerant
match that redacts it), or a ``path`` mapping. With the gate on, an image is written
to ``images/`` only when every patient it shows has a form for the purpose that is
given, not expired and not withdrawn today; otherwise its status is
``needs_review`` with ``no_consent``, ``consent_scope``, ``consent_expired`` or
``consent_withdrawn``. Reports record the form references and how the patient was
matched, never the patient's name or roster entry.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import ConfigError
from .text import lists
from .text.lists import _within_one_edit, normalise
from .types import Reason

PURPOSES = ("website", "social", "education", "print", "case_report")
_KEY_COLUMNS = ("patient", "patient_id", "roster_id", "id", "patient_key", "key")
_SPLIT = re.compile(r"[;,|\s]+")
_SEPARATORS = re.compile(r"[_\-.\s]+")
STAGE = "consent"


@dataclass(frozen=True)
class ConsentRecord:
    patient: str
    scopes: frozenset[str]
    given: dt.date | None
    expires: dt.date | None
    withdrawn: dt.date | None
    reference: str
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The gate's verdict for one image (PHI-free: references and codes only)."""

    purpose: str
    status: str  # granted | no_consent | consent_scope | consent_expired | consent_withdrawn
    references: tuple[str, ...] = ()
    matched_by: tuple[str, ...] = ()
    patients: int = 0
    valid_until: dt.date | None = None
    digest: str = ""

    @property
    def granted(self) -> bool:
        return self.status == "granted"

    def reason(self) -> Reason | None:
        if self.granted:
            return None
        messages = {
            "no_consent": "no signed consent on file for the patient in this image"
            + ("" if self.patients else " (no roster patient recognised)"),
            "consent_scope": "the patient's consent does not cover this use",
            "consent_expired": "the patient's consent has expired",
            "consent_withdrawn": "the patient has withdrawn consent",
        }
        return Reason(self.status, f"{messages[self.status]} (purpose: {self.purpose}); "
                      "not released for publishing", STAGE)  # fmt: skip

    def to_report(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "status": self.status,
            "references": list(self.references),
            "matched_by": list(self.matched_by),
            "patients": self.patients,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "manifest": self.digest,
        }


@dataclass(frozen=True, eq=False)
class ConsentGate:
    """Decides, per image, whether consent covers ``purpose`` on ``today``.

    ``roster`` rows are the patients (each a tuple of identifiers: id, name, chart
    number...); ``validity_days`` (optional) ends a form that many days after it
    was given when it has no ``expires`` date.
    """

    records: tuple[ConsentRecord, ...]
    purpose: str
    roster: tuple[tuple[str, ...], ...] = ()
    today: dt.date | None = None
    validity_days: int | None = None
    digest: str = ""
    _patients: dict[int, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.purpose or not re.fullmatch(r"[a-z][a-z0-9_-]*", self.purpose):
            raise ConfigError("consent purpose must be a word such as website or social")
        # Every record's patient is a roster row; a key no row holds is its own patient.
        patients: dict[int, tuple[str, ...]] = {}
        for i, row in enumerate(self.roster):
            patients[i] = tuple(k for k in (_key(c) for c in row) if len(k) >= 2)
        object.__setattr__(self, "_patients", patients)

    @classmethod
    def from_files(
        cls,
        manifest: str | Path,
        purpose: str,
        *,
        roster: str | Path = "",
        today: dt.date | None = None,
        validity_days: int | None = None,
    ) -> ConsentGate:
        path = Path(manifest)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"consent file cannot be read: {type(exc).__name__}") from exc
        records = parse_manifest(raw)
        rows = read_roster_rows(str(roster)) if roster else ()
        digest = "sha256:" + hashlib.sha256(raw + purpose.encode()).hexdigest()[:16]
        return cls(records, purpose, rows, today, validity_days, digest)

    # -- matching -------------------------------------------------------------------------

    def _row_of(self, key: str) -> tuple[str, ...]:
        k = _key(key)
        for cells in self._patients.values():
            if k in cells:
                return cells
        return (k,)

    def patients_in(
        self, names: Iterable[str], read: Iterable[str]
    ) -> dict[tuple[str, ...], set[str]]:
        """Patients (their identifier tuples) found, with how: ``filename`` or ``text``."""
        rows = {self._row_of(r.patient) for r in self.records if len(_key(r.patient)) >= 2}
        rows |= set(self._patients.values())
        found: dict[tuple[str, ...], set[str]] = {}
        texts = [_key(n) for n in names if n]
        reads = [_key(r) for r in read if r]
        for row in rows:
            for cell in row:
                if len(cell) < 2:
                    continue
                if any(cell in t for t in texts):
                    found.setdefault(row, set()).add("filename")
                if any(cell in t or (_tolerant(cell) and _within_one_edit(t, cell))
                       for t in reads):  # fmt: skip
                    found.setdefault(row, set()).add("text")
        return found

    def _mapped(self, names: Iterable[str]) -> list[ConsentRecord]:
        paths = [PurePosixPath(n.replace("\\", "/")) for n in names if n]
        hits = []
        for record in self.records:
            for mapped in record.paths:
                want = PurePosixPath(mapped.replace("\\", "/"))
                if any(p == want or p.parts[-len(want.parts) :] == want.parts for p in paths):
                    hits.append(record)
                    break
        return hits

    # -- the decision ---------------------------------------------------------------------

    def decide(self, names: Iterable[str], read: Iterable[str] = ()) -> Decision:
        """``names``: the image's original file name and path; ``read``: roster entries
        the text stage read in the image. Neither leaves this call."""
        names = [n for n in names if n]
        today = self.today or dt.date.today()
        found = self.patients_in(names, read)
        mapped = self._mapped(names)
        how = sorted({h for hs in found.values() for h in hs} | ({"path"} if mapped else set()))
        groups: list[list[ConsentRecord]] = [
            [r for r in self.records if self._row_of(r.patient) == row] for row in found
        ]
        if mapped:
            keys = {self._row_of(r.patient) for r in mapped}
            groups = [g for g in groups if not g or self._row_of(g[0].patient) not in keys]
            groups.append(mapped)
        if not groups:
            return Decision(self.purpose, "no_consent", digest=self.digest)
        refs: list[str] = []
        until: list[dt.date] = []
        worst = "granted"
        for records in groups:
            status, record = self._status(records, today)
            if record is not None and status == "granted":
                refs.append(record.reference)
                end = self._end(record)
                if end is not None:
                    until.append(end)
            worst = _worse(worst, status)
        return Decision(
            self.purpose, worst, tuple(refs) if worst == "granted" else (), tuple(how),
            len(groups), min(until) if until and worst == "granted" else None, self.digest,
        )  # fmt: skip

    def _end(self, record: ConsentRecord) -> dt.date | None:
        if record.expires is not None:
            return record.expires
        if self.validity_days is not None and record.given is not None:
            return record.given + dt.timedelta(days=self.validity_days)
        return None

    def _status(
        self, records: list[ConsentRecord], today: dt.date
    ) -> tuple[str, ConsentRecord | None]:
        """The best a patient's forms give for the purpose today."""
        if not records:
            return "no_consent", None
        scoped = [r for r in records if self.purpose in r.scopes or "all" in r.scopes]
        if not scoped:
            return "consent_scope", None
        best = "consent_withdrawn"
        for r in sorted(scoped, key=lambda r: r.given or dt.date.min, reverse=True):
            if r.withdrawn is not None and r.withdrawn <= today:
                continue
            if r.given is None or r.given > today:
                best = _better(best, "no_consent")
                continue
            end = self._end(r)
            if end is not None and end < today:
                best = _better(best, "consent_expired")
                continue
            return "granted", r
        return best, None


def read_roster_rows(path: str) -> tuple[tuple[str, ...], ...]:
    """The roster CSV as patients: one row each (its id, name, chart number...)."""
    rows = lists.read_roster_rows(path)
    return tuple(tuple(c.strip() for c in row if c.strip()) for row in rows if any(row))


_ORDER = ("granted", "consent_expired", "consent_scope", "no_consent", "consent_withdrawn")


def _worse(a: str, b: str) -> str:
    return max(a, b, key=_ORDER.index)


def _better(a: str, b: str) -> str:
    return min(a, b, key=_ORDER.index)


def _key(text: str) -> str:
    """Compared without case, width, spaces or separators: A-1001 is a1001 in a1001.jpg."""
    return normalise(_SEPARATORS.sub("", text))


def _tolerant(cell: str) -> bool:
    return len(cell) >= (6 if cell.isdigit() else 3)


def _date(text: str, column: str, line: int) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text)
    try:
        if m is None:
            raise ValueError
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ConfigError(f"consent file line {line}: {column} is not a date "
                          "(YYYY-MM-DD)") from None  # fmt: skip


def parse_manifest(raw: bytes) -> tuple[ConsentRecord, ...]:
    """Rows of the consent CSV; a row that cannot be read stops the run (never skipped:
    a withdrawal that is silently ignored would publish a photo against the patient's
    wishes). Errors name the line and column, never a value."""
    try:
        text = raw.decode("utf-8-sig")
        rows = list(csv.DictReader(text.splitlines()))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError("consent file is not a UTF-8 CSV") from exc
    if not rows:
        raise ConfigError("consent file has no records")
    columns = {c.strip().lower(): c for c in rows[0] if c}
    key = next((columns[c] for c in _KEY_COLUMNS if c in columns), None)
    missing = [c for c in ("scope", "given", "reference") if c not in columns]
    if key is None or missing:
        raise ConfigError("consent file needs the columns patient, scope, given and reference "
                          "(optional: expires, withdrawn, path)")  # fmt: skip
    records = []
    for n, row in enumerate(rows, start=2):

        def cell(name: str, row: dict[str, Any] = row) -> str:
            col = columns.get(name)
            return (row.get(col) or "").strip() if col else ""

        patient = (row.get(key) or "").strip()
        reference = cell("reference")
        if not patient and not cell("path"):
            raise ConfigError(f"consent file line {n}: no patient")
        if not reference:
            raise ConfigError(f"consent file line {n}: no reference to the signed form")
        scopes = frozenset(s.lower() for s in _SPLIT.split(cell("scope")) if s)
        records.append(ConsentRecord(
            patient=patient, scopes=scopes, given=_date(cell("given"), "given", n),
            expires=_date(cell("expires"), "expires", n),
            withdrawn=_date(cell("withdrawn"), "withdrawn", n), reference=reference,
            paths=tuple(p.strip() for p in cell("path").split(";") if p.strip()),
        ))  # fmt: skip
    return tuple(records)


__all__ = ["PURPOSES", "ConsentGate", "ConsentRecord", "Decision", "parse_manifest"]
