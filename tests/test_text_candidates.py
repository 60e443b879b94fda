"""Text proposals and crops on rendered pixels: rotation, polarity, colour, small text."""

from __future__ import annotations

import matplotlib.cbook
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from deid.text.candidates import Candidate, _grow, find_candidates, make_crop
from deid.text.ocr.rapidocr import RapidOcrEngine

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
_HOPPER = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine()


def _render(size, text, font_px, xy, fg, bg, angle=0.0) -> tuple[np.ndarray, tuple]:
    img = Image.new("RGB", size, bg)
    layer = Image.new("L", size, 0)
    ImageDraw.Draw(layer).text(xy, text, font=ImageFont.truetype(FONT, font_px), fill=255)
    if angle:
        layer = layer.rotate(angle, resample=Image.BICUBIC, center=xy)
    img.paste(Image.new("RGB", size, fg), mask=layer)
    ys, xs = np.nonzero(np.array(layer) > 128)
    return np.array(img), (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def _best(cands, ink):
    left, top, right, bottom = ink
    return max(
        cands,
        key=lambda c: c.bbox().intersection(type(c.bbox())(left, top, right, bottom)).area,
    )


@pytest.mark.parametrize("angle", [-14.0, -6.0, 0.0, 8.0, 15.0])
def test_rotated_line_is_proposed_and_read_upright(engine, angle: float) -> None:
    pixels, ink = _render(
        (900, 500), "MRN 20240517", 40, (200, 220), (0, 0, 0), (255, 255, 255), angle
    )
    cand = _best(find_candidates(pixels), ink)
    # PIL turns counter-clockwise; in image coordinates the baseline angle is negative.
    assert abs(cand.angle + angle) < 3.0
    crop = make_crop(pixels, cand)
    words = engine.read([crop.pixels])[0]
    assert "20240517" in "".join(w.text for w in words)
    box = crop.box_to_image(words[-1].box, 900, 500)
    assert box.intersection(type(box)(*ink)).area > 0.3 * box.area


@pytest.mark.parametrize(
    ("fg", "bg"),
    [((255, 255, 255), (0, 0, 0)), ((255, 255, 0), (230, 200, 190)), ((220, 40, 40), (60, 60, 60))],
)
def test_polarity_and_colour_give_dark_text_on_light(engine, fg, bg) -> None:
    pixels, ink = _render((700, 200), "Chart 778812", 36, (40, 70), fg, bg)
    crop = make_crop(pixels, _best(find_candidates(pixels), ink))
    assert np.median(crop.pixels) > 128  # background light
    assert "778812" in "".join(w.text for w in engine.read([crop.pixels])[0])


def test_twelve_pixel_caption_on_a_12_megapixel_frame(engine) -> None:
    # DejaVu capitals are 0.73 of the font size: 17 px gives a 12 px cap height.
    pixels, ink = _render(
        (4000, 3000), "DOB 1985-03-12", 17, (120, 2900), (255, 255, 255), (30, 30, 30)
    )
    assert ink[3] - ink[1] <= 16
    crop = make_crop(pixels, _best(find_candidates(pixels), ink))
    assert "1985-03-12" in "".join(w.text for w in engine.read([crop.pixels])[0])


def test_blank_image_has_no_candidates() -> None:
    assert find_candidates(np.full((600, 800, 3), 128, np.uint8)) == []


def test_glyphs_fused_with_photo_detail_do_not_stretch_the_line_band() -> None:
    """Digits touching a dark object below them form one blob far taller than the
    characters; the line's band (what a fill covers) stays the characters' height."""
    from deid.text.candidates import Candidate, make_crops

    size = 36
    img = Image.new("RGB", (900, 260), (226, 222, 214))
    draw = ImageDraw.Draw(img)
    cjk = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", size)
    serif = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", size)
    draw.text((60, 90), "身分證", font=cjk, fill=(24, 24, 24))
    x = 60 + draw.textlength("身分證 ", font=cjk)
    draw.text((x, 90), "A214432915", font=serif, fill=(24, 24, 24))
    box = draw.textbbox((x, 90), "A214432915", font=serif)
    # A dark object right under the digits, touching every one of them.
    draw.rectangle((box[0], box[3] - 2, box[2], box[3] + size), fill=(40, 36, 30))
    ink = np.array(img.convert("L")) < 100
    rows = np.flatnonzero(ink[:, 60 : int(x) - 10].any(axis=1))
    top, bottom = rows[0], rows[-1] + 1  # the CJK glyphs: the line's own height
    cand = Candidate((60 + box[2]) / 2, (top + bottom) / 2, box[2] - 60, bottom - top, 0.0)
    for crop in make_crops(np.array(img), cand):
        assert crop.band is not None
        band_px = (crop.band[1] - crop.band[0]) * abs(crop.to_image[1, 1])
        assert band_px <= 1.3 * (bottom - top)


def test_contrast_stretch_is_the_percentile_stretch_per_pixel() -> None:
    """The lookup-table stretch gives the bytes of np.percentile and float arithmetic."""
    from deid.text.candidates import _stretch

    rng = np.random.default_rng(5)
    crops = [
        rng.normal(120, 30, (61, 400)).clip(0, 255).astype(np.uint8),
        rng.integers(0, 256, (7, 3), dtype=np.uint8),
        np.array(Image.open(_HOPPER).convert("L"))[100:300, 50:500],
    ]
    for crop in crops:
        lo, hi = np.percentile(crop, (1, 99))
        expected = np.clip((crop.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255)
        assert np.array_equal(_stretch(crop), expected.astype(np.uint8))
    flat = np.full((20, 30), 77, np.uint8)
    assert np.array_equal(_stretch(flat), flat)


def test_proposals_from_a_given_reduced_frame_equal_those_made_here() -> None:
    """The stage hands over the shared pyramid's reduced frame; the proposals on a
    12 MP frame are then exactly those of reducing it here."""
    from deid.pyramid import Pyramid
    from deid.text.candidates import WORK_SIDE

    frame = np.array(Image.open(_HOPPER).convert("RGB").resize((4000, 3000)))
    draw = Image.fromarray(frame)
    ImageDraw.Draw(draw).text((200, 2700), "Chart 0012345  2024/03/05", fill=(250, 250, 250),
                              font=ImageFont.truetype(FONT, 60))  # fmt: skip
    frame = np.array(draw)
    work, _ = Pyramid(frame).fit(WORK_SIDE)
    given = find_candidates(frame, work)
    assert given and given == find_candidates(frame)
    # A reduced frame of another size is not taken for the work image.
    assert find_candidates(frame, work[:-2]) == given


@pytest.mark.parametrize("angle", [0.0, -7.0])
def test_tall_line_is_cut_small_and_maps_back_onto_its_ink(engine, angle: float) -> None:
    """A line hundreds of pixels tall is cropped from a reduced copy: the crop is the
    OCR's size, reads the same, and its words land on the line's ink in the frame."""
    from deid.text.candidates import _REDUCE_ABOVE, TARGET_LINE_HEIGHT

    pixels, ink = _render(
        (3000, 1400), "0912-345-678", 260, (150, 500), (20, 20, 20), (240, 240, 240), angle
    )
    cand = _best(find_candidates(pixels), ink)
    assert cand.height > _REDUCE_ABOVE
    crop = make_crop(pixels, cand)
    assert crop.pixels.shape[0] < 4 * TARGET_LINE_HEIGHT
    words = engine.read([crop.pixels])[0]
    assert "0912-345-678" in "".join(w.text for w in words)
    ink_box = type(cand.bbox())(*ink)
    whole = crop.box_to_image(type(ink_box)(0, 0, *crop.pixels.shape[::-1]), 3000, 1400)
    assert whole.intersection(ink_box).area > 0.97 * ink_box.area
    assert 0.5 * cand.height < crop.text_height < 1.5 * cand.height
    first = crop.box_to_image(words[0].box, 3000, 1400)
    assert first.left < ink_box.left + 0.2 * ink_box.width


@pytest.mark.parametrize(("gap", "reached"), [(1.3, True), (1.7, False)])
def test_proposal_grows_left_over_a_wider_gap_than_right(gap: float, reached: bool) -> None:
    """Where photo texture ate the strokes between a value's first character and the
    rest, the gap before it is wider than a line height: a proposal grows left over
    up to one and a half line heights of empty columns (a label stands further off)."""
    strokes = np.zeros((100, 1000), np.uint8)
    strokes[40:70, 500:800] = 255  # the proposal's line, 30 px high
    first = round(500 - gap * 30) - 12
    strokes[42:68, first : first + 12] = 255  # its first character, on its own
    grown = _grow(strokes, Candidate(650.0, 55.0, 300.0, 30.0, 0.0))
    assert (grown.bbox().left <= first + 1) is reached
    assert grown.bbox().right <= 801
