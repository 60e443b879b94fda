"""Photos that ship inside PyPI packages, fetched once into the dev set's cache.

scikit-image and matplotlib ship one face each. insightface's source archive carries a
real group photo (six people at a card table: frontal, tilted and three-quarter faces
in warm indoor light against a skin-coloured wall), which is what the detector meets
in clinic group and staff photos. The archive is pinned by sha256, like the models;
only the dev set uses it, so tests never need it.
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

GROUP_SDIST = {
    "requirement": "insightface==2.1",
    "file": "insightface-2.1.tar.gz",
    "sha256": "776cbd36b70f5f2ae1a026101cfb80387f0b2280a0dbaf073f8d3ed69f554e01",
    "member": "insightface-2.1/insightface/data/images/t1.jpg",
    "member_sha256": "47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def group_photo(cache: Path = CACHE) -> np.ndarray:
    """The insightface group photo (1280x886 RGB), downloading the pinned sdist once."""
    spec = GROUP_SDIST
    photo = cache / "insightface_t1.jpg"
    if not photo.exists() or _sha256(photo) != spec["member_sha256"]:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            cmd = [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--no-binary=:all:", "--dest", tmp, spec["requirement"],
            ]  # fmt: skip
            subprocess.run(cmd, check=True, capture_output=True)
            archive = Path(tmp) / spec["file"]
            if _sha256(archive) != spec["sha256"]:
                raise RuntimeError(f"{spec['file']}: sha256 differs from the pinned one")
            with tarfile.open(archive) as tar:
                member = tar.extractfile(spec["member"])
                if member is None:
                    raise RuntimeError(f"{spec['member']} missing from {spec['file']}")
                part = photo.with_suffix(".part")
                part.write_bytes(member.read())
            if _sha256(part) != spec["member_sha256"]:
                raise RuntimeError(f"{spec['member']}: sha256 differs from the pinned one")
            part.replace(photo)
    with Image.open(photo) as im:
        return np.asarray(im.convert("RGB"))
