"""Rebuild the word and name lists behind the English-name evidence
(``src/deid/text/recognizers/data/``) from their public sources.

    .venv/bin/python scripts/build_name_lexicon.py NAMES_DIR WORDS_FILE

- ``NAMES_DIR``: the ``names/`` folder of the ``names`` 0.3.0 sdist on PyPI (MIT), which
  ships the US Census Bureau's 1990 "Frequently Occurring Names" files
  (``dist.male.first``, ``dist.female.first``, ``dist.all.last``; a work of the US
  government, public domain). Every given name is kept, and the 20,000 most frequent
  surnames (78 % of the population the census counted).
- ``WORDS_FILE``: ``/usr/share/dict/american-english`` from Debian's ``wamerican``
  (SCOWL size 50, Copyright 2000-2011 Kevin Atkinson, permissive licence, notice kept in
  ``data/LICENSES.txt``). Only lower-case ASCII words are kept: the list spells proper
  nouns (people's names among them) with a capital, so what is left are common words.

Each output is one lower-case word a line, gzip-compressed with a fixed timestamp so
that a rebuild from the same sources gives the same bytes.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src/deid/text/recognizers/data"
SURNAMES = 20_000


def _names(path: Path) -> list[str]:
    return [line.split()[0].lower() for line in path.read_text().splitlines() if line.strip()]


def _write(name: str, words: list[str]) -> None:
    data = ("\n".join(words) + "\n").encode("ascii")
    with (OUT / name).open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(data)
    sys.stdout.write(f"{name}: {len(words)} words\n")


def main() -> None:
    names_dir, words_file = Path(sys.argv[1]), Path(sys.argv[2])
    given = sorted(
        set(_names(names_dir / "dist.male.first")) | set(_names(names_dir / "dist.female.first"))
    )
    surnames = sorted(set(_names(names_dir / "dist.all.last")[:SURNAMES]))
    words = sorted(
        {
            w
            for w in (line.strip() for line in words_file.read_text().splitlines())
            if w.isascii() and w.isalpha() and w.islower()
        }
    )
    OUT.mkdir(parents=True, exist_ok=True)
    _write("given_names.txt.gz", given)
    _write("surnames.txt.gz", surnames)
    _write("english_words.txt.gz", words)


if __name__ == "__main__":
    main()
