"""Write the seed corpus for each harness: ``python fuzz/make_corpus.py OUT_DIR``.

Seeds are generated, never stored: the hostile-input corpus and the every-kind
metadata fixtures of the test suite (``tests/hostile_files.py``,
``tests/metadata_files.py``), sorted into one folder per container by their bytes,
plus the metadata blocks (EXIF, XMP, IPTC, ICC) cut out of them for the block
harnesses. Seeds over ``MAX_SEED`` bytes are left out (libFuzzer would cut them).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

MAX_SEED = 256_000


def seeds() -> dict[str, list[bytes]]:
    import metadata_files as mf
    from deid.metadata import sniff
    from hostile_files import corpus

    files = [c.data for c in corpus()]
    files += [mf.jpeg_everything(), mf.mpo_bytes(), mf.png_everything(), mf.webp_everything(),
              mf.webp_everything(lossless=True), mf.tiff_everything(), mf.heif_everything(),
              mf.heif_with_depth(), mf.bmp_with_trailer(), mf.gif_with_comment(),
              mf.jpeg_bytes(), mf.jpeg_bytes(progressive=True)]  # fmt: skip
    out: dict[str, list[bytes]] = {}
    for data in files:
        kind = sniff(data)
        if kind and 0 < len(data) <= MAX_SEED:
            out.setdefault(kind, []).append(data)
    exif = mf.exif_block()
    out["exif"] = [exif[6:] if exif.startswith(b"Exif") else exif, exif]
    out["xmp"] = [mf.xmp_packet()]
    out["iptc"] = [mf.iptc_block()]
    out["icc"] = [mf.srgb_profile(), mf.named_profile("Dr. Wang's calibration")]
    return out


def main(target: Path) -> int:
    total = 0
    for container, blobs in sorted(seeds().items()):
        folder = target / container
        folder.mkdir(parents=True, exist_ok=True)
        for blob in blobs:
            (folder / hashlib.sha1(blob).hexdigest()).write_bytes(blob)
            total += 1
    print(f"{total} seeds in {target}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
