"""English-name recall and title-case caption keeping of the name recogniser, on text.

    .venv/bin/python benchmarks/name_evidence.py [--no-lexicon]

Names with no label, "Given Surname" from Faker's person lists of several English
locales (US, GB, IE, NZ, IN, KE) and romanised Taiwanese names (zh_TW, both orders),
also with one OCR-like misread letter; captions: title-case pairs of Faker's common
English words (lorem list) and of dental words the caption vocabulary does not list.
A name counts as found when the recognisers return a name match over it; a caption as
kept when they return nothing. ``--no-lexicon`` turns the word evidence off (every
capitalised run of a name's shape is a name), for the figures before it.
"""

from __future__ import annotations

import argparse
import random

from faker import Faker

from deid.text.recognizers import find_all
from deid.text.recognizers import names as names_module

_MISREADS = (("l", "I"), ("i", "l"), ("m", "rn"), ("e", "c"), ("o", "0"), ("n", "h"), ("a", "o"))
_DENTAL_TEXT = (
    "Abutment Amalgam Apicoectomy Bleaching Bonding Bruxism Calculus Cavity Denture "
    "Diastema Enamel Erosion Fluoride Fracture Graft Gingivitis Halitosis Inlay Onlay "
    "Plaque Polishing Pontic Porcelain Recession Removal Repair Scaling Sealant "
    "Sensitivity Splint Stain Suture Swelling Tartar Varnish Wisdom Zirconia"
)
_DENTAL = _DENTAL_TEXT.split()


def _misread(rng: random.Random, text: str) -> str:
    spots = [
        (i, a, b)
        for i in range(1, len(text))
        for a, b in _MISREADS
        if text.startswith(a, i) and text[i - 1] != " "
    ]
    if not spots:
        return text
    i, a, b = rng.choice(spots)
    return text[:i] + b + text[i + len(a) :]


def _found(text: str) -> bool:
    return any(m.category.name == "name" for m in find_all(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-lexicon", action="store_true")
    args = parser.parse_args()
    if args.no_lexicon:
        names_module.looks_like_name = lambda run, **_: True  # type: ignore[assignment]
    rng = random.Random(5)
    names: dict[str, list[str]] = {}
    for locale in ("en_US", "en_GB", "en_IE", "en_NZ", "en_IN", "en_KE"):
        fake = Faker(locale)
        fake.seed_instance(1)
        names[locale] = [f"{fake.first_name()} {fake.last_name()}" for _ in range(400)]
    zh = Faker("zh_TW")
    zh.seed_instance(2)
    taiwanese = []
    for _ in range(400):
        surname, given = zh.last_romanized_name().title(), zh.first_romanized_name().title()
        taiwanese.append(f"{given} {surname}" if rng.random() < 0.5 else f"{surname} {given}")
    names["zh_TW romanised"] = taiwanese
    names["en_US, one letter misread"] = [_misread(rng, n) for n in names["en_US"]]
    names["zh_TW, one letter misread"] = [_misread(rng, n) for n in taiwanese]
    lorem = [w for w in Faker("en_US").provider("faker.providers.lorem").word_list if len(w) > 2]
    captions = {
        "common words (Faker lorem)": [
            " ".join(w.title() for w in rng.sample(lorem, 2)) for _ in range(600)
        ],
        "dental words": [" ".join(rng.sample(_DENTAL, 2)) for _ in range(600)],
    }
    captions["common words, one letter misread"] = [
        _misread(rng, c) for c in captions["common words (Faker lorem)"]
    ]
    print("names found (recall):")
    for label, items in names.items():
        print(f"  {label:34s} {sum(map(_found, items)) / len(items):6.1%}  ({len(items)})")
    print("captions kept:")
    for label, items in captions.items():
        kept = sum(not _found(c) for c in items)
        print(f"  {label:34s} {kept / len(items):6.1%}  ({len(items)})")


if __name__ == "__main__":
    main()
