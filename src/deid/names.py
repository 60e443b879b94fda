"""Which name an image is known by in outputs and reports.

File names leak as surely as pixels (``王小明_術前.jpg``), so the text recognisers
vet every name, whether or not the text stage runs on the pixels (a clinic that
turns OCR off for intraoral shots still names files after patients), and only a
PHI-free name is ever written.
"""

from __future__ import annotations

from collections.abc import Callable

from .config import Config

NamePolicy = Callable[[str], tuple[str, str | None]]
"""relative input path -> (PHI-free output path, masked original or None if it held no PHI)."""


def keep_name(relpath: str) -> tuple[str, str | None]:
    return relpath, None


def name_policy(config: Config) -> NamePolicy:
    from .text.filenames import safe_name

    text_config = config.text
    return lambda relpath: safe_name(relpath, config=text_config)


__all__ = ["NamePolicy", "keep_name", "name_policy"]
