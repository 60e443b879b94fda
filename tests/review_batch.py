"""A real batch for the review page's tests: a face photo, a card of PHI text rendered
with a real font, and a truncated JPEG that fails, run through the full pipeline once
per test session and shared by tests/test_review*.py."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import piexif
import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data as skdata

from deid.batch import BatchSummary, run_batch

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
#: PHI on the card and in its file name; none of it may reach the review page.
PHI = {"name": "陳怡君", "national_id": "A123456789", "phone": "0912-345-678"}
CARD_NAME = f"{PHI['name']}_{PHI['national_id']}.png"


@dataclass(frozen=True)
class ReviewBatch:
    src: Path
    out: Path
    summary: BatchSummary

    @property
    def page(self) -> Path:
        return self.out / "review.html"

    def report(self, name: str) -> dict:
        """The report of the item whose output name starts with ``name``."""
        item = next(i for i in self.summary.items if _output_name(i.report).startswith(name))
        return json.loads((self.out / item.report).read_text("utf-8"))

    def copy(self, dst: Path) -> ReviewBatch:
        """A private copy (tests that rewrite the page must not disturb the others)."""
        shutil.copytree(self.out, dst)
        return ReviewBatch(self.src, dst, self.summary)


_CACHE: dict[str, ReviewBatch] = {}


def review_batch(tmp_path_factory: pytest.TempPathFactory) -> ReviewBatch:
    if "batch" not in _CACHE:
        root = tmp_path_factory.mktemp("review-batch")
        src, out = root / "in", root / "out"
        src.mkdir()
        _write_inputs(src)
        summary = run_batch(src, out, workers=1)
        # The tests' premise, stated once: each of them reads the page of this batch.
        statuses = sorted((i.input.rsplit(".", 1)[-1], i.status) for i in summary.items)
        assert statuses == [("jpg", "failed"), ("jpg", "redacted"), ("png", "redacted")], (
            f"the review tests need a face photo, a text card and a failure: {statuses}"
        )
        _CACHE["batch"] = ReviewBatch(src, out, summary)
    return _CACHE["batch"]


def _write_inputs(src: Path) -> None:
    # Stored on its side with EXIF orientation 6, as phones do: the page must place the
    # upright output and its boxes, not the stored pixels.
    exif = piexif.dump({"0th": {piexif.ImageIFD.Artist: PHI["name"].encode("utf-8"),
                                piexif.ImageIFD.Orientation: 6}})  # fmt: skip
    upright = Image.fromarray(skdata.astronaut()[:, :440])
    upright.transpose(Image.Transpose.ROTATE_90).save(
        src / "portrait.jpg", "JPEG", quality=92, exif=exif
    )
    _card().save(src / CARD_NAME, "PNG")
    whole = io.BytesIO()
    Image.fromarray(skdata.coffee()).save(whole, "JPEG", quality=90)
    (src / "cut.jpg").write_bytes(whole.getvalue()[:700])  # truncated: the batch fails it


def _card() -> Image.Image:
    img = Image.new("RGB", (900, 420), (250, 249, 244))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(CJK_FONT, 44)
    lines = [f"姓名: {PHI['name']}", f"身分證: {PHI['national_id']}", f"電話: {PHI['phone']}"]
    for row, line in enumerate(lines):
        draw.text((60, 60 + row * 110), line, font=font, fill=(20, 20, 20))
    return img


def _output_name(report_rel: str) -> str:
    return report_rel.removeprefix("reports/").removesuffix(".json")
