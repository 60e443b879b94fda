"""plain_icc(): the one piece of metadata outputs may keep must not be able to carry PHI."""

from __future__ import annotations

import struct

import pytest
from PIL import ImageCms

from deid.metadata import plain_icc
from metadata_files import named_profile, srgb_profile


def _set_header(profile: bytes, offset: int, value: bytes) -> bytes:
    out = bytearray(profile)
    out[offset : offset + len(value)] = value
    return bytes(out)


def _rename_tag(profile: bytes, old: bytes, new: bytes) -> bytes:
    out = bytearray(profile)
    (count,) = struct.unpack_from(">I", out, 128)
    for i in range(count):
        if out[132 + 12 * i : 136 + 12 * i] == old:
            out[132 + 12 * i : 136 + 12 * i] = new
            return bytes(out)
    raise AssertionError(f"profile has no {old!r} tag")


def _appended(profile: bytes, extra: bytes) -> bytes:
    out = bytearray(profile + extra)
    struct.pack_into(">I", out, 0, len(out))
    return bytes(out)


def test_standard_profiles_are_plain() -> None:
    assert plain_icc(srgb_profile())
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    assert not plain_icc(lab)  # abstract Lab profile: not a display/input/output RGB/gray profile


@pytest.mark.parametrize(
    "description",
    ["sRGB IEC61966-2.1", "Display P3", "Adobe RGB (1998)", "Generic Gray Gamma 2.2 Profile"],
)
def test_recognised_descriptions_are_plain(description: str) -> None:
    assert plain_icc(named_profile(description))


@pytest.mark.parametrize(
    "description",
    ["Dr Wang Hsiao-Ming monitor", "王小明", "A123456789", "sRGB 0912345678", "sRGB Wang"],
)
def test_free_text_descriptions_are_not_plain(description: str) -> None:
    assert not plain_icc(named_profile(description))


def test_device_and_calibration_tags_are_not_plain() -> None:
    for tag in (b"dmnd", b"dmdd", b"vcgt", b"mmod", b"ZZZZ"):
        assert not plain_icc(_rename_tag(srgb_profile(), b"chrm", tag)), tag


def test_hidden_bytes_make_a_profile_not_plain() -> None:
    assert plain_icc(_appended(srgb_profile(), bytes(16)))  # zero padding is harmless
    assert not plain_icc(_appended(srgb_profile(), b"A123456789\x00\x00"))
    assert not plain_icc(_set_header(srgb_profile(), 100, b"Wang"))  # reserved header bytes


def test_wrong_class_colour_space_or_size_is_not_plain() -> None:
    profile = srgb_profile()
    assert not plain_icc(_set_header(profile, 12, b"link"))
    assert not plain_icc(_set_header(profile, 16, b"CMYK"))
    assert not plain_icc(_set_header(profile, 36, b"xxxx"))
    assert not plain_icc(profile[:-8])  # size field no longer matches
    assert not plain_icc(_appended(profile, bytes(70_000)))  # over the size bound
    assert not plain_icc(b"")
    assert not plain_icc(b"\x00" * 200)
