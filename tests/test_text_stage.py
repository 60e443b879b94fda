"""Text stage end to end on rendered images: pixels, report, and no PHI anywhere."""

from __future__ import annotations

import io
import json
import logging
import random

import numpy as np
import pytest
from faker import Faker
from PIL import Image, ImageDraw, ImageFont

import deid
from deid.config import Config
from deid.report import validate
from deid.stages.base import Context
from deid.stages.text import TextStage
from deid.types import Frame, StageResult

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def _taiwan_id(rng: random.Random) -> str:
    code = 10 + _LETTERS.index(letter := rng.choice(_LETTERS))
    digits = [rng.choice((1, 2))] + [rng.randint(0, 9) for _ in range(7)]
    total = (
        code // 10
        + (code % 10) * 9
        + sum(d * w for d, w in zip(digits, range(8, 0, -1), strict=True))
    )
    return letter + "".join(map(str, digits)) + str((10 - total % 10) % 10)


@pytest.fixture(scope="module")
def identity() -> dict[str, str]:
    rng = random.Random(7)
    zh, en = Faker("zh_TW"), Faker("en_US")
    zh.seed_instance(7)
    en.seed_instance(7)
    surname_first = next(n for n in (zh.name() for _ in range(50)) if n[0] in "陳林黃張李王吳劉")
    return {
        "zh_name": surname_first,
        "en_name": en.name(),
        "tw_id": _taiwan_id(rng),
        "phone": f"09{rng.randint(10, 99)}-{rng.randint(100, 999)}-{rng.randint(100, 999)}",
        "chart": f"{rng.randint(0, 9999999):07d}",
        "dob": f"{rng.randint(1950, 2010)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
    }


def _draw(
    img: Image.Image, xy: tuple[int, int], pieces: list[str], size: int, fill, font=CJK_FONT
) -> list[tuple[str, tuple[int, int, int, int]]]:
    """Draw pieces on one line; return each piece's ink box."""
    draw = ImageDraw.Draw(img)
    f = ImageFont.truetype(font, size)
    x, y = xy
    boxes = []
    for piece in pieces:
        boxes.append((piece, tuple(int(v) for v in draw.textbbox((x, y), piece, font=f))))
        draw.text((x, y), piece, font=f, fill=fill)
        x += draw.textlength(piece + " ", font=f)
    return boxes


def _card(identity: dict[str, str]) -> tuple[np.ndarray, dict[str, tuple], dict[str, tuple]]:
    img = Image.new("RGB", (1000, 520), (246, 244, 238))
    phi: dict[str, tuple] = {}
    harmless: dict[str, tuple] = {}
    rows = [
        ["姓名:", identity["zh_name"]],
        ["身分證", identity["tw_id"]],
        ["電話", identity["phone"]],
        ["Patient:", identity["en_name"]],
        ["病歷號", identity["chart"]],
    ]
    for i, row in enumerate(rows):
        (_, _), (value, box) = _draw(img, (40, 30 + 80 * i), row, 36, (20, 20, 20))
        phi[value] = box
    for text, xy in (("術前", (760, 430)), ("Before", (560, 430))):
        harmless[text] = _draw(img, xy, [text], 36, (20, 20, 20))[0][1]
    return np.array(img), phi, harmless


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module", params=["rapidocr", "tesseract"])
def pipeline(request):
    cfg = Config.from_mapping({"stages": ["metadata", "text"], "text": {"engine": request.param}})
    with deid.Pipeline(cfg) as pipe:
        yield pipe


@pytest.fixture(scope="module")
def card(identity):
    return _card(identity)


@pytest.fixture(scope="module")
def processed(pipeline, card):
    pixels, _, _ = card
    return pipeline.process(_png(pixels), name="card.png")


def _decode(result) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(result.encode())).convert("RGB"))


def test_card_phi_filled_and_harmless_pixels_unchanged(card, processed) -> None:
    pixels, phi, harmless = card
    assert processed.status == "redacted"
    out = _decode(processed)
    for box in phi.values():
        region = out[box[1] : box[3], box[0] : box[2]]
        assert (region.max(axis=2) < 30).mean() > 0.97  # solid fill over the whole value
    for box in harmless.values():
        left, top, right, bottom = box
        assert np.array_equal(out[top:bottom, left:right], pixels[top:bottom, left:right])


def test_report_has_masked_values_only(identity, processed) -> None:
    report = processed.report.to_dict()
    assert validate(report) == []
    text = report["text"]
    categories = {item["category"] for item in text}
    assert {"name", "national_id", "phone", "medical_record_number"} <= categories
    masked = {item["masked"] for item in text}
    assert identity["tw_id"][:3] + "*" * 7 in masked
    assert identity["zh_name"][0] + "*" * (len(identity["zh_name"]) - 1) in masked
    for item in text:
        assert item["action"] == "redacted" and item["hipaa"] and item["pdpa"]


def test_no_phi_in_report_logs_or_errors(identity, card, caplog) -> None:
    pixels, _, _ = card
    raw = [v for v in identity.values()] + [identity["en_name"].split()[-1]]
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    with deid.Pipeline(Config(stages=("metadata", "text"))) as pipe:
        result = pipe.process(_png(pixels), name=f"{identity['zh_name']}_術前.png")
    artifacts = [result.report.to_json(), *(r.getMessage() for r in caplog.records)]
    # An engine that cannot start fails the image; its error must not carry PHI either.
    broken = TextStage(Config.from_mapping({"text": {"engine": "tesseract"}}).text)
    broken.engine.languages = "no_such_language"  # the process fallback then fails
    broken.engine._api = None
    with deid.Pipeline(Config(stages=("metadata", "text")), stages=[broken]) as pipe:
        failed = pipe.process(_png(pixels), name=f"{identity['tw_id']}.png")
    assert failed.status == "failed" and failed.report.reasons
    try:
        failed.encode()
    except deid.DeidError as exc:
        messages.append(str(exc))
    artifacts += [failed.report.to_json(), *messages, *(r.getMessage() for r in caplog.records)]
    assert result.report.to_dict()["input"]["path"].endswith("_術前.png")
    blob = "\n".join(artifacts)
    for value in raw:
        assert value not in blob, "raw PHI leaked into an artifact"
    assert json.loads(result.report.to_json())["text"]


def _stage_run(stage: TextStage, pixels: np.ndarray, keep=()) -> StageResult:
    frame = Frame(pixels)
    ctx = Context(config=Config(), source=None, frame=frame, keep_regions=keep)  # type: ignore[arg-type]
    return stage.run(pixels, ctx)


@pytest.fixture(scope="module")
def stage():
    s = TextStage(Config().text)
    yield s
    s.close()


def test_white_on_black_rotated_caption_is_redacted(stage, identity) -> None:
    layer = Image.new("L", (900, 400), 0)
    _draw(layer, (80, 160), ["ID:", identity["tw_id"]], 34, 255, LATIN_FONT)
    rotated = np.array(layer.rotate(12, resample=Image.BICUBIC))
    pixels = np.dstack([rotated] * 3)
    result = _stage_run(stage, pixels)
    assert any(f.category == "national_id" for f in result.findings)
    ys, xs = np.nonzero(rotated > 128)
    covered = np.zeros(rotated.shape, bool)
    for e in result.edits:
        covered[e.box.slices()] = True
    # The ID is the right part of the line; its ink must be inside the redactions.
    right = xs > xs.min() + 0.3 * (xs.max() - xs.min())
    assert covered[ys[right], xs[right]].mean() > 0.97


def test_oral_region_only_high_confidence_phi(stage) -> None:
    img = Image.new("RGB", (900, 300), (250, 250, 250))
    ((_, weak),) = _draw(img, (60, 60), ["林明"], 40, (10, 10, 10))  # name shape only: score 0.6
    ((_, strong),) = _draw(img, (520, 60), ["0912-345-678"], 40, (10, 10, 10))
    pixels = np.array(img)
    outside = _stage_run(stage, pixels)
    assert len(outside.edits) == 2
    pad = 30
    keep = tuple(
        np.array(
            [
                [x0 - pad, y0 - pad],
                [x1 + pad, y0 - pad],
                [x1 + pad, y1 + pad],
                [x0 - pad, y1 + pad],
            ],
            float,
        )
        for x0, y0, x1, y1 in (weak, strong)
    )
    inside = _stage_run(stage, pixels, keep)
    assert len(inside.edits) == 1  # the phone number, read with high confidence
    kept = [f for f in inside.findings if f.action == "kept_in_oral_region"]
    assert kept and kept[0].category == "name"


def test_all_text_policy_keeps_only_allowed(identity) -> None:
    img = Image.new("RGB", (900, 200), (250, 250, 250))
    ((_, hello),) = _draw(img, (40, 40), ["Greetings"], 40, (10, 10, 10), LATIN_FONT)
    ((_, before),) = _draw(img, (500, 40), ["Before"], 40, (10, 10, 10), LATIN_FONT)
    pixels = np.array(img)
    phi_stage = TextStage(Config().text)
    assert _stage_run(phi_stage, pixels).edits == ()
    all_stage = TextStage(Config.from_mapping({"text": {"redact": "all_text"}}).text)
    edits = _stage_run(all_stage, pixels).edits
    assert len(edits) == 1 and edits[0].box.intersection(_box(hello)).area > 0
    assert edits[0].box.intersection(_box(before)).area == 0


def _box(b):
    from deid.types import Box

    return Box(*b)


def test_roster_and_deny_list_from_files(tmp_path) -> None:
    img = Image.new("RGB", (900, 200), (250, 250, 250))
    _draw(img, (40, 40), ["Molar Project"], 40, (10, 10, 10), LATIN_FONT)
    _draw(img, (40, 120), ["Zyxwv"], 40, (10, 10, 10), LATIN_FONT)
    pixels = np.array(img)
    deny = tmp_path / "deny.txt"
    deny.write_text("Molar Project\n", encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text("name\nZyxwv\n", encoding="utf-8")
    cfg = Config.from_mapping({"text": {"deny_list": str(deny), "roster": str(roster)}})
    result = _stage_run(TextStage(cfg.text), pixels)
    assert {f.category for f in result.findings} == {"deny_list", "roster"}
    assert {f.masked for f in result.findings} == {"M**** P******", "Z****"}


def test_verify_escalates_when_phi_is_still_readable(stage, card) -> None:
    pixels, _, _ = card
    first = _stage_run(stage, pixels)
    # One redaction is left out: that PHI line, between two redacted ones, is readable.
    order = sorted(range(len(first.edits)), key=lambda i: first.edits[i].box.top)
    dropped = order[1]
    partial = StageResult(
        findings=tuple(f for i, f in enumerate(first.findings) if i != dropped),
        edits=tuple(e for i, e in enumerate(first.edits) if i != dropped),
    )
    from deid import redact

    redacted = redact.apply(pixels, partial.edits)
    ctx = Context(config=Config(), source=None, frame=Frame(redacted))  # type: ignore[arg-type]
    checked = stage.verify(redacted, ctx, partial)
    assert checked.review and checked.review[0].code == "text_phi_after_redaction"
    assert checked.edits
    # Fully redacted: verification finds nothing more.
    done = redact.apply(pixels, first.edits)
    assert stage.verify(done, ctx, first).review == ()


def test_verify_reads_again_only_what_the_first_pass_did_not_read(card) -> None:
    """The first pass's last clean re-read is not repeated on identical pixels, and
    any change around a redaction is read again and caught."""
    from deid import redact

    stage = TextStage(Config().text)
    calls: list[int] = []
    read = stage.engine.read
    stage.engine.read = lambda crops: calls.append(len(crops)) or read(crops)  # type: ignore[method-assign]
    try:
        pixels, _, _ = card
        first = _stage_run(stage, pixels)
        done = redact.apply(pixels, first.edits)
        ctx = Context(config=Config(), source=None, frame=Frame(done))  # type: ignore[arg-type]
        before = len(calls)
        clean = stage.verify(done, ctx, first)
        assert clean.edits == () and clean.review == ()
        assert len(calls) == before
        # Pixels changed beside a redaction after the first pass (a number drawn
        # there): verification reads again, and finds it.
        box = min(first.edits, key=lambda e: e.box.right).box
        changed = Image.fromarray(done)
        _draw(changed, (box.right + 40, box.top), ["0912-345-678"], 30, (20, 20, 20), LATIN_FONT)
        checked = stage.verify(np.array(changed), ctx, first)
        assert len(calls) > before
        assert checked.review and checked.review[0].code == "text_phi_after_redaction"
        # The new fill covers the number (it may reach back a line height over the old
        # one: a value starting its proposal is filled from a line height before it).
        assert any(e.box.right > box.right + 40 + 100 for e in checked.edits)
    finally:
        stage.close()


def test_tesseract_reads_crops_with_and_without_the_library() -> None:
    from deid.text.ocr.tesseract import TesseractEngine

    img = Image.new("L", (420, 70), 255)
    _draw(img, (10, 10), ["病歷號 0012345"], 36, 0)
    crop = np.array(img)
    engine = TesseractEngine()
    library = engine.read([crop])[0]
    engine.close()  # no library: one tesseract process per crop, same reading
    process = engine.read([crop])[0]
    for words in (library, process):
        text = "".join(w.text for w in words)
        assert "0012345" in text and "病歷" in text
        assert all(0 <= w.box.left < w.box.right <= crop.shape[1] for w in words)


def test_rapidocr_models_are_pinned() -> None:
    from deid.text.ocr.rapidocr import _verified_models

    paths = _verified_models()
    assert set(paths) == {"Det", "Rec", "Cls"}
