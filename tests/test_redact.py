"""The one place pixels change: each method, masks, and input immutability."""

from __future__ import annotations

import numpy as np

from deid.redact import apply, apply_in_place, apply_within
from deid.types import Box, Edit


def _image() -> np.ndarray:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 255, (100, 120, 3), dtype=np.uint8)
    img.setflags(write=False)
    return img


def test_fill_changes_only_the_box_and_not_the_input() -> None:
    img = _image()
    out = apply(img, [Edit(Box(10, 20, 40, 50), "fill", color=(0, 0, 0))])
    assert (out[20:50, 10:40] == 0).all()
    assert np.array_equal(out[:20], img[:20]) and np.array_equal(out[:, 40:], img[:, 40:])
    assert out is not img and not np.shares_memory(out, img)


def test_pixelate_makes_uniform_cells() -> None:
    out = apply(_image(), [Edit(Box(0, 0, 80, 80), "pixelate", size=16)])
    cell = out[16:32, 32:48]
    assert (cell == cell[0, 0]).all()


def test_blur_reduces_detail() -> None:
    img = _image()
    out = apply(img, [Edit(Box(0, 0, 120, 100), "blur", size=6)])
    assert out.astype(float).std() < img.astype(float).std() / 3


def test_soft_mask_keeps_unmasked_pixels_exactly() -> None:
    img = _image()
    mask = np.ones((60, 60), np.float32)
    mask[20:40, 20:40] = 0.0  # a kept hole, like the oral region
    out = apply(img, [Edit(Box(30, 30, 90, 90), "fill", mask=mask)])
    assert np.array_equal(out[50:70, 50:70], img[50:70, 50:70])
    assert (out[30:50, 30:90] == 0).all()


def test_boxes_outside_the_image_are_clipped() -> None:
    mask = np.ones((40, 40), np.float32)
    out = apply(_image(), [Edit(Box(-20, -20, 20, 20), "fill", mask=mask)])
    assert (out[:20, :20] == 0).all()


def test_a_region_alone_gets_exactly_the_pixels_of_the_whole_redaction() -> None:
    """Re-reads redact only the region they read; blur and mosaic reaching into it
    from outside, and edits stacked on each other, must give the same bytes there."""
    img = _image()
    soft = np.linspace(0, 1, 30 * 40, dtype=np.float32).reshape(30, 40)
    edits = [
        Edit(Box(5, 5, 45, 35), "blur", size=5),
        Edit(Box(30, 20, 70, 50), "pixelate", size=7),
        Edit(Box(60, 40, 100, 70), "fill", mask=soft, color=(9, 200, 30)),
        Edit(Box(-10, 80, 30, 130), "fill", color=(255, 0, 0)),
    ]
    whole = apply(img, edits)
    for region in (Box(40, 30, 80, 60), Box(0, 0, 20, 20), Box(0, 70, 120, 100),
                   Box(100, 0, 120, 10), Box(0, 0, 120, 100)):  # fmt: skip
        part = apply_within(img, edits, region)
        assert np.array_equal(part, whole[region.slices()]), region
    assert np.array_equal(img, _image())  # the input is untouched


def test_a_head_mask_fill_blends_its_soft_band_and_sets_the_rest_outright() -> None:
    """A head's mask: whole inside, a soft ramp down to a kept mouth, out-of-range
    values clipped. Whole pixels take the colour, kept ones stay, and the ramp is the
    weighted mean of the two (within rounding) wherever it lies in the box."""
    img = _image()
    mask = np.ones((80, 90), np.float32)
    mask[50:70, 20:60] = 0.0  # the kept mouth
    ramp = np.linspace(0.0, 1.0, 10, dtype=np.float32)
    mask[40:50, 20:60] = ramp[::-1, None]  # above it
    mask[0, 0], mask[0, 1] = 1.7, -0.4  # outside [0, 1]: treated as 1 and 0
    color = (250, 10, 120)
    out = apply(img, [Edit(Box(10, 10, 100, 90), "fill", mask=mask, color=color)])
    box = out[10:90, 10:100].astype(float)
    src = img[10:90, 10:100].astype(float)
    weight = np.clip(mask, 0.0, 1.0)[..., None]
    expected = weight * np.asarray(color, float) + (1.0 - weight) * src
    assert np.abs(box - expected).max() <= 1.0
    whole = weight[..., 0] == 1.0
    assert (box[whole] == color).all()
    assert np.array_equal(box[weight[..., 0] == 0.0], src[weight[..., 0] == 0.0])
    assert np.array_equal(out[:10], img[:10]) and np.array_equal(out[:, :10], img[:, :10])


def test_edits_applied_in_place_match_a_copy_with_them_applied() -> None:
    img = _image()
    soft = np.linspace(0, 1, 30 * 40, dtype=np.float32).reshape(30, 40)
    first = [Edit(Box(5, 5, 45, 35), "blur", size=5)]
    then = [Edit(Box(30, 20, 70, 50), "fill", mask=soft, color=(9, 200, 30)),
            Edit(Box(60, 40, 100, 70), "pixelate", size=7)]  # fmt: skip
    own = apply(img, first)
    apply_in_place(own, then)
    assert np.array_equal(own, apply(img, first + then))
    assert np.array_equal(img, _image())
