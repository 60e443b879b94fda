"""Every crash the fuzzers found (``fuzz/fuzz_containers.py``), rebuilt by code.

Each input here reproduces one crash: the bytes are generated, the fuzzer's file is
not kept. Before the fix each made ``io.load`` raise something other than
``InputError`` (the pipeline's last-resort handler still failed the image, with a
vaguer reason); now each is a clear ``InputError`` with a reason code, and the image
fails with that code.
"""

from __future__ import annotations

import io
import struct

import pillow_heif
import pytest
from PIL import Image

import deid
from deid.config import InputConfig
from deid.errors import InputError
from deid.io import load


def tiff_second_page_without_size() -> bytes:
    """A valid one-page TIFF whose next-IFD pointer leads to a directory with no
    ImageWidth/ImageLength: counting pages raised ``TypeError: Missing dimensions``."""
    buf = io.BytesIO()
    Image.new("L", (8, 8), 5).save(buf, "TIFF")
    data = bytearray(buf.getvalue())
    first = struct.unpack_from("<I", data, 4)[0]
    entries = struct.unpack_from("<H", data, first)[0]
    next_pointer = first + 2 + 12 * entries
    data += b"\0" * (len(data) % 2)
    page2 = len(data)
    data += struct.pack("<H", 1) + struct.pack("<HHII", 259, 3, 1, 1) + struct.pack("<I", 0)
    struct.pack_into("<I", data, next_pointer, page2)
    return bytes(data)


def gif_cut_inside_an_extension() -> bytes:
    """A GIF whose trailer is replaced by an extension introducer and nothing after it:
    counting frames raised ``IndexError`` reading the missing label byte."""
    buf = io.BytesIO()
    Image.new("P", (8, 8), 1).save(buf, "GIF")
    data = buf.getvalue()
    assert data.endswith(b";")
    return data[:-1] + b"!"


def heif_meta_box_version_one() -> bytes:
    """A HEIC whose ``meta`` box claims version 1: libheif's refusal surfaced as
    ``SyntaxError``, which the HEIF path did not expect."""
    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (16, 16), "red")).save(buf, quality=80)
    data = bytearray(buf.getvalue())
    data[data.index(b"meta") + 4] = 1
    return bytes(data)


CRASHES = [
    (tiff_second_page_without_size, "corrupt", TypeError),
    (gif_cut_inside_an_extension, "corrupt", IndexError),
    (heif_meta_box_version_one, "truncated", SyntaxError),
]


@pytest.mark.parametrize(("build", "code", "raw"), CRASHES, ids=lambda x: getattr(x, "__name__", x))
def test_the_input_still_triggers_the_library_error(build, code, raw) -> None:  # type: ignore[no-untyped-def]
    """The generated input really is the crash (the library underneath still raises)."""
    data = build()
    with pytest.raises(raw):
        if build is heif_meta_box_version_one:
            pillow_heif.open_heif(io.BytesIO(data))
        else:
            _ = Image.open(io.BytesIO(data)).n_frames


@pytest.mark.parametrize(("build", "code", "raw"), CRASHES, ids=lambda x: getattr(x, "__name__", x))
def test_load_gives_a_clear_input_error(build, code, raw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as err:
        load(build(), InputConfig())
    assert err.value.code == code


@pytest.mark.parametrize(("build", "code", "raw"), CRASHES, ids=lambda x: getattr(x, "__name__", x))
def test_the_image_fails_with_that_code(build, code, raw) -> None:  # type: ignore[no-untyped-def]
    with deid.Pipeline(deid.Config(stages=("metadata",))) as pipe:
        result = pipe.process(build(), name="x")
    assert result.status == "failed" and result.data is None
    assert [r.code for r in result.report.reasons] == [code]


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def heif_iloc_with_empty_extents(items: int = 60) -> bytes:
    """A HEIF ``iloc`` box whose offset, length, base and index fields are all 0 bytes
    wide, each item claiming 65,535 extents: the extents took no room, so 60 items
    (600 bytes) made the parser list 3.9 million locations (a hang and memory blow-up
    in the fuzzer with 2,700 items)."""
    entries = b"".join(struct.pack(">IHHH", n + 1, 0, 0, 0xFFFF) for n in range(items))
    iloc = _box(b"iloc", bytes((2, 0, 0, 0)) + b"\x00\x00" + struct.pack(">I", items) + entries)
    ftyp = _box(b"ftyp", b"heic" + b"\0\0\0\0" + b"mif1heic")
    return ftyp + _box(b"meta", b"\0\0\0\0" + iloc)


def test_heif_iloc_with_empty_extents_is_refused_at_once() -> None:
    import time

    from deid import metadata

    data = heif_iloc_with_empty_extents()
    assert metadata.sniff(data) == "heif"
    started = time.perf_counter()
    items = metadata.inventory(data)
    assert time.perf_counter() - started < 0.5
    assert [i.category for i in items] == ["unparsed"]
    with deid.Pipeline(deid.Config(stages=("metadata",))) as pipe:
        result = pipe.process(data, name="x.heic")
    assert result.status == "failed" and result.data is None
