"""Lossless metadata strip vs re-encoding, on generated 12-megapixel camera-like JPEGs.

The files are built from scikit-image's astronaut photo, tiled to 4000x3000 with
sensor-like noise (so they compress like real photos, about 3-5 MB), and carry
EXIF with a thumbnail and GPS, XMP, an MPF second image and a vendor trailer,
as phone JPEGs do. All three paths are measured in the same run on the same
files, so the ratios do not depend on the machine:

* lossless: ``deid.metadata.strip_lossless`` (segments rewritten, scan data copied);
* re-encode: Pillow decode + encode at quality 95 with 4:4:4 chroma (deid's
  re-encode settings);
* pillow: plain Pillow decode + encode with its defaults (quality 75, 4:2:0).

Run: ``.venv/bin/python benchmarks/bench_metadata.py``
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import numpy as np
import piexif
from PIL import Image
from skimage import data as skdata

from deid.metadata import inventory, strip_lossless

WIDTH, HEIGHT = 4000, 3000


def make_photo(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    tile = Image.fromarray(skdata.astronaut()).resize((1000, 750), Image.Resampling.LANCZOS)
    tiles = np.asarray(tile).astype(np.int16)
    rows = []
    for r in range(4):
        row = [np.roll(tiles, int(rng.integers(0, 200)), axis=1 - (r + c) % 2) for c in range(4)]
        rows.append(np.concatenate(row, axis=1))
    pixels = np.concatenate(rows, axis=0)
    pixels += rng.normal(0, 4, pixels.shape).astype(np.int16)  # sensor noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def make_jpeg(seed: int) -> bytes:
    photo = make_photo(seed)
    thumb = io.BytesIO()
    photo.resize((160, 120)).save(thumb, "JPEG", quality=80)
    exif = piexif.dump(
        {
            "0th": {piexif.ImageIFD.Make: b"Phone", piexif.ImageIFD.Artist: b"Someone"},
            "Exif": {piexif.ExifIFD.UserComment: b"ASCII\x00\x00\x00chart 000000"},
            "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N"},
            "1st": {piexif.ImageIFD.Compression: 6},
            "thumbnail": thumb.getvalue(),
        }
    )
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    buf = io.BytesIO()
    preview = photo.resize((1920, 1440))
    photo.save(buf, "MPO", quality=92, save_all=True, append_images=[preview], exif=exif, xmp=xmp)
    trailer = b"\x00" * 64 + b"Image_UTC_Data1714557600000" + b"SEFH" + bytes(12) + b"SEFT"
    return buf.getvalue() + trailer


def lossless(data: bytes) -> bytes:
    out = strip_lossless(data, keep_icc=True)
    assert out is not None
    return out


def reencode(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        buf = io.BytesIO()
        img.convert("RGB").save(buf, "JPEG", quality=95, subsampling=0)
    return buf.getvalue()


def pillow_default(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        buf = io.BytesIO()
        img.convert("RGB").save(buf, "JPEG")
    return buf.getvalue()


def images_per_second(fn: Callable[[bytes], bytes], files: list[bytes], repeats: int) -> float:
    fn(files[0])  # warm-up: imports, allocator
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for data in files:
            fn(data)
        times.append(time.perf_counter() - start)
    return len(files) / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=3, help="number of generated JPEGs")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes (median is used)")
    args = parser.parse_args()

    files = [make_jpeg(seed) for seed in range(args.images)]
    stripped = strip_lossless(files[0], keep_icc=True)
    assert stripped is not None and inventory(stripped) == ()
    mean_mb = sum(map(len, files)) / len(files) / 1e6
    print(f"inputs: {len(files)} JPEGs {WIDTH}x{HEIGHT} (12 MP), mean {mean_mb:.1f} MB each")
    print(f"metadata found per input: {sorted({i.category for i in inventory(files[0])})}")

    fast = images_per_second(lossless, files, args.repeats * 10)
    slow = images_per_second(reencode, files, args.repeats)
    plain = images_per_second(pillow_default, files, args.repeats)
    print(f"lossless strip: {fast:.1f} images/s")
    print(f"re-encode (decode + encode q95 4:4:4): {slow:.2f} images/s")
    print(f"plain Pillow decode+encode (q75 4:2:0): {plain:.2f} images/s")
    print(f"lossless vs re-encode: {fast / slow:.0f}x faster")
    print(f"lossless vs plain Pillow decode+encode: {fast / plain:.0f}x faster (target >= 20x)")


if __name__ == "__main__":
    main()
