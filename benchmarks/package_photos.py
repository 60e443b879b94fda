"""Photos that ship inside PyPI packages' source archives, fetched once into a cache.

scikit-image and matplotlib ship one face each. Three source archives on PyPI carry real
photos of the kinds the detector meets in clinics:

- insightface's: a group photo (six people at a card table: frontal, tilted and
  three-quarter faces in warm indoor light against a skin-coloured wall);
- face_recognition's test images: official portraits of two US presidents (public
  domain), one with dark skin, as a head-and-shoulders shot, two crops that cut
  through the face at the frame edge, and two full-length shots;
- scrfd's: the 1927 Solvay conference photo (public domain), 29 people in black and
  white, faces about 90 px wide in 3000x2171, some half hidden behind a neighbour.

Each archive and each photo is pinned by sha256, like the models. Only the dev set
uses them, so the tests never need the network.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

CACHE = Path(__file__).resolve().parent / "devset" / "cache"

ARCHIVES = {
    "insightface": {
        "requirement": "insightface==2.1",
        "file": "insightface-2.1.tar.gz",
        "sha256": "776cbd36b70f5f2ae1a026101cfb80387f0b2280a0dbaf073f8d3ed69f554e01",
    },
    "face_recognition": {
        "requirement": "face_recognition==1.3.0",
        "file": "face_recognition-1.3.0.tar.gz",
        "sha256": "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
    },
    "scrfd": {
        "requirement": "scrfd==0.3.0",
        "file": "scrfd-0.3.0.tar.gz",
        "sha256": "35855c664d565492aab0068f1c64b4957a15ca6cd106b9c8b1642d67cfeeb5fc",
    },
}
# name: (archive, member, sha256)
PHOTOS = {
    "group": ("insightface", "insightface-2.1/insightface/data/images/t1.jpg",
              "47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489"),
    "obama": ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama.jpg",
              "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6"),
    "biden": ("face_recognition", "face_recognition-1.3.0/tests/test_images/biden.jpg",
              "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c"),
    "obama3": ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama3.jpg",
               "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3"),
    "solvay": ("scrfd", "scrfd-0.3.0/images/solvay_conference_1927.jpg",
               "ae76a5be54f53cca50074a0d1ac8653187154d264fc58ed928e1b92c27e17e2a"),
    # Held-out sources (benchmarks/devset_faces.py never tunes on these): another
    # portrait of a speaker with an open mouth, two painted portraits, an aligned
    # 112 px face crop in grey, and face-free photos of surgical masks.
    "obama2": ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama2.jpg",
               "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6"),
    "gauss": ("scrfd", "scrfd-0.3.0/images/gauss.png",
              "0ecd92b4e17755deedabd46f416558c15abf06f6385d50be4486d45987c95f9e"),
    "newton": ("scrfd", "scrfd-0.3.0/images/newton.png",
               "91f24ec62161d131632ea78038f5fda8319abec1c78b82795be891f349e9c05a"),
    "hanks": ("insightface", "insightface-2.1/insightface/data/images/Tom_Hanks_54745.png",
              "8545da294e8c7c79911169c3915fed8528f1960cd0ed99b92453788ca4275083"),
    "mask_black": ("insightface", "insightface-2.1/insightface/data/images/mask_black.jpg",
                   "d81c40c77a0e38717dc7e1d4ca994e2bc58efa804465ff8d09d915daeddf2c83"),
    "mask_blue": ("insightface", "insightface-2.1/insightface/data/images/mask_blue.jpg",
                  "a55ec2b181de4143af27c441852ebb4bbd364fb0e0b9c46bb17631c59bc4c840"),
    "mask_green": ("insightface", "insightface-2.1/insightface/data/images/mask_green.jpg",
                   "79526b5a31ef75cb7fe51227abc69d589e4b7ba39dbbf51e79147da577a3f154"),
    "mask_white": ("insightface", "insightface-2.1/insightface/data/images/mask_white.jpg",
                   "3adee6ba6680d26197bbea95deb9d335252d01c2c51ead23e01af9784c310aa6"),
}  # fmt: skip


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fetch(archive: str, cache: Path) -> None:
    """Download the pinned archive with pip and store every photo taken from it."""
    spec = ARCHIVES[archive]
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        cmd = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary=:all:", "--dest", tmp, spec["requirement"],
        ]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True)
        path = Path(tmp) / spec["file"]
        if _sha256(path) != spec["sha256"]:
            raise RuntimeError(f"{spec['file']}: sha256 differs from the pinned one")
        with tarfile.open(path) as tar:
            for name, (source, member, digest) in PHOTOS.items():
                if source != archive:
                    continue
                data = tar.extractfile(member)
                if data is None:
                    raise RuntimeError(f"{member} missing from {spec['file']}")
                part = cache / f"{name}.part"
                part.write_bytes(data.read())
                if _sha256(part) != digest:
                    raise RuntimeError(f"{member}: sha256 differs from the pinned one")
                part.replace(_cached(name, cache))


def _cached(name: str, cache: Path) -> Path:
    return cache / f"{name}{Path(PHOTOS[name][1]).suffix}"


def photo(name: str, cache: Path = CACHE) -> np.ndarray:
    """One of ``PHOTOS`` as RGB, downloading its archive the first time."""
    archive, _, digest = PHOTOS[name]
    path = _cached(name, cache)
    if not path.exists() or _sha256(path) != digest:
        _fetch(archive, cache)
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))
