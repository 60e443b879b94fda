"""Masked values for reports: enough to recognise the kind of thing that was removed
(王**, A12*******, 0912-***-***), never enough to recover it."""

from __future__ import annotations

from .lines import is_cjk

_KEEP_PREFIX = {
    "national_id": 3,
    "resident_id": 3,
    "health_plan_id": 2,
    "medical_record_number": 2,
    "identifier": 2,
    "ssn": 0,
    "phone": 4,
    "date": 0,
    "email": 1,
    "address": 3,
}


def mask(value: str, category: str) -> str:
    value = value.strip()
    if not value:
        return ""
    if category in ("name", "roster", "deny_list", "text"):
        return _mask_words(value)
    if category == "email":
        return _mask_email(value)
    if category == "address":
        return _mask_prefix(value, 3, keep_separators=False)
    return _mask_prefix(value, _KEEP_PREFIX.get(category, 1), keep_separators=True)


def _mask_words(value: str) -> str:
    """First character of each word (王**, J*** S****): the surname stays readable,
    which is what the issue's examples show and what a reviewer needs."""
    if any(is_cjk(c) for c in value):
        return value[0] + "*" * (len(value) - 1)
    return " ".join(w[0] + "*" * (len(w) - 1) for w in value.split())


def _mask_prefix(value: str, keep: int, *, keep_separators: bool) -> str:
    out: list[str] = []
    kept = 0
    for ch in value:
        if ch.isalnum() or is_cjk(ch):
            if kept < keep:
                out.append(ch)
                kept += 1
            else:
                out.append("*")
        elif keep_separators or ch.isspace():
            out.append(ch)
        else:
            out.append("*")
    return "".join(out)


def _mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
    masked_domain = "*" * max(1, len(domain) - len(tld) - 1) + ("." + tld if tld else "")
    return (local[:1] + "*" * (len(local) - 1)) + "@" + masked_domain
