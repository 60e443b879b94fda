"""RapidOCR crops read on several threads give exactly what one thread gives.

Rendered lines (real fonts) are read with OpenCV allowed one thread and then two,
at the engine and through the whole pipeline: the words, the redacted pixels and the
report must not depend on the thread count, and the threads must end with the engine.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import deid
from deid.config import Config
from deid.text.ocr.rapidocr import RapidOcrEngine, reading_threads

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINES = [
    ("病歷號 0012345", CJK_FONT),
    ("身分證 A123456789", CJK_FONT),
    ("電話 0912-345-678", CJK_FONT),
    ("Patient: Mary Collins", LATIN_FONT),
    ("Follow-up 3 months", LATIN_FONT),
    ("姓名: 王小明", CJK_FONT),
]


def _line(text: str, font: str, size: int = 36) -> np.ndarray:
    face = ImageFont.truetype(font, size)
    width = int(ImageDraw.Draw(Image.new("L", (1, 1))).textlength(text, font=face)) + 24
    img = Image.new("L", (width, size + 24), 255)
    ImageDraw.Draw(img).text((12, 8), text, font=face, fill=0)
    return np.array(img)


@pytest.fixture
def opencv_threads() -> Iterator[None]:
    """Restores OpenCV's process-wide thread setting that a test changes."""
    before = cv2.getNumThreads()
    yield
    cv2.setNumThreads(before)


def _ocr_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("deid-ocr")]


def test_reading_threads_follow_opencv(opencv_threads) -> None:
    cv2.setNumThreads(1)
    assert reading_threads() == 1
    cv2.setNumThreads(2)
    assert reading_threads() == min(2, len(os.sched_getaffinity(0)))


def test_crops_read_on_two_threads_as_on_one(opencv_threads) -> None:
    crops = [_line(text, font) for text, font in LINES]
    engine = RapidOcrEngine()
    try:
        cv2.setNumThreads(1)
        alone = engine.read(crops)
        assert not _ocr_threads()  # one thread: read where it was called
        cv2.setNumThreads(2)
        spread = engine.read(crops)
        if reading_threads() > 1:
            assert _ocr_threads()
    finally:
        engine.close()
    assert not _ocr_threads()
    assert spread == alone  # same words, boxes and confidences, in crop order
    read = ["".join(w.text for w in words) for words in spread]
    assert "0012345" in read[0] and "A123456789" in read[1]
    assert "0912-345-678" in read[2] and "Collins" in read[3]


def _card() -> bytes:
    img = Image.new("RGB", (900, 420), (246, 244, 238))
    draw = ImageDraw.Draw(img)
    for i, (text, font) in enumerate(LINES):
        draw.text((40, 24 + 64 * i), text, font=ImageFont.truetype(font, 34), fill=(20, 20, 20))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_pipeline_output_does_not_depend_on_reading_threads(opencv_threads) -> None:
    source = _card()
    cfg = Config.from_mapping({"stages": ["metadata", "text"]})
    results = []
    for threads in (1, 2):
        cv2.setNumThreads(threads)
        with deid.Pipeline(cfg) as pipe:
            result = pipe.process(source, name="card.png")
        results.append(result)
    assert not _ocr_threads()
    one, two = results
    assert one.status == two.status == "redacted"
    assert one.encode() == two.encode()
    texts = [json.dumps(r.report.to_dict()["text"], sort_keys=True) for r in results]
    assert texts[0] == texts[1]
    assert len(one.report.to_dict()["text"]) >= 4  # the ID, phone, chart number, name
