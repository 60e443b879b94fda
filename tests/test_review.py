"""The review page's content, from a real batch: order, links, boxes, no PHI, originals.

The page's behaviour in a browser is tested in tests/test_review_browser.py.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from deid.cli import main
from deid.review import write_review
from deid.review.page import script_json
from review_batch import CARD_NAME, PHI, ReviewBatch, review_batch


@pytest.fixture()
def batch(tmp_path_factory: pytest.TempPathFactory) -> ReviewBatch:
    return review_batch(tmp_path_factory)


def _data(page: Path) -> dict:
    text = page.read_text("utf-8")
    match = re.search(r'<script type="application/json" id="deid-data">(.*?)</script>', text, re.S)
    assert match, "the page embeds its entries as JSON"
    return json.loads(match.group(1))


def _items(batch: ReviewBatch) -> list[dict[str, object]]:
    return [vars(i) for i in batch.summary.items]


def test_every_image_is_listed_failed_first_with_its_output_linked(batch: ReviewBatch) -> None:
    entries = _data(batch.page)["entries"]
    assert len(entries) == len(batch.summary.items) == 3
    assert [e["status"] for e in entries] == ["failed", "redacted", "redacted"]
    failed = entries[0]
    assert failed["name"] == "cut.jpg" and failed["image"] is None and failed["sha256"] is None
    assert failed["reasons"] == ["truncated"]
    for entry in entries[1:]:
        # Linked by relative path to the batch's own output, never copied or embedded.
        report = json.loads((batch.out / entry["report"]).read_text("utf-8"))
        assert entry["image"] == report["output"]["path"]
        assert (batch.out / entry["image"]).is_file()
        assert entry["sha256"] == report["output"]["sha256"]
        with Image.open(batch.out / entry["image"]) as img:
            assert tuple(entry["size"]) == img.size
    assert "data:image" not in batch.page.read_text("utf-8")
    pages = sorted(p.name for p in batch.out.iterdir() if p.suffix == ".html")
    assert pages == ["review.html"]


def test_overlays_are_the_reports_boxes_and_categories(batch: ReviewBatch) -> None:
    entries = {e["name"]: e for e in _data(batch.page)["entries"]}
    portrait = entries["portrait.jpg"]
    report = batch.report("portrait")
    assert len(portrait["faces"]) == len(report["faces"]) == 1
    face, found = portrait["faces"][0], report["faces"][0]
    assert face["box"] == found["box"] and face["eyes"] == found["eye_boxes"]
    assert face["action"] == "obscured_except_oral"
    assert face["oral"] == [[round(x), round(y)] for x, y in found["oral_region"]]
    assert portrait["categories"] == ["face"]

    card = next(e for e in entries.values() if e["text"])
    text = batch.report(card["name"])["text"]
    assert sorted(card["categories"]) == ["name", "national_id", "phone"]
    assert [(t["box"], t["category"], t["masked"]) for t in card["text"]] == [
        (t["box"], t["category"], t["masked"]) for t in text
    ]
    assert card["timings"]["text"] > 0 and "exif" in portrait["metadata"]


def test_page_holds_no_phi(batch: ReviewBatch) -> None:
    page = batch.page.read_text("utf-8")
    for value in [*PHI.values(), CARD_NAME, CARD_NAME.rsplit(".", 1)[0]]:
        assert value not in page
    # Reason messages stay in the reports: a decoder's message may quote a path.
    failed = batch.report("cut.jpg")
    assert failed["reasons"][0]["message"] not in page
    assert str(batch.src) not in page and str(batch.out) not in page


def test_page_is_self_contained_and_offline(batch: ReviewBatch) -> None:
    page = batch.page.read_text("utf-8")
    assert "@@" not in page  # every placeholder filled
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+[^\s\"'<>)]*", page))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls  # the SVG namespace, never fetched
    assert not re.search(r"<link[^>]+stylesheet|<script[^>]+src=|@import|url\(", page)


def test_originals_are_embedded_only_on_request_and_the_page_says_so(
    batch: ReviewBatch, tmp_path: Path
) -> None:
    plain = batch.page.read_text("utf-8")
    assert _title(plain) == "deid review" and 'id="originals-warning"' not in plain

    copy = batch.copy(tmp_path / "out")
    items = _items(copy)
    originals = {str(i["report"]): copy.src / str(i["input"]) for i in items if i["input"] in
                 ("portrait.jpg", "cut.jpg")}  # fmt: skip
    write_review(copy.out, items, originals=originals)
    page = copy.page.read_text("utf-8")
    title = _title(page)
    header = re.search(r"<header>(.*?)</header>", page, re.S).group(1)
    assert "ORIGINALS EMBEDDED" in title and "ORIGINALS EMBEDDED" in header
    assert 'id="originals-warning"' in header and "contain PHI" in header

    entries = {e["name"]: e for e in _data(copy.page)["entries"]}
    assert _data(copy.page)["originals"] is True
    uri = entries["portrait.jpg"]["original"]
    assert uri.startswith("data:image/jpeg;base64,")
    preview = _pixels(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    output = _pixels(Image.open(copy.out / entries["portrait.jpg"]["image"]))
    original = _pixels(ImageOps.exif_transpose(Image.open(copy.src / "portrait.jpg")))
    assert preview.shape == output.shape  # upright like the output, small: not downscaled
    # The original's pixels, not the output's: inside the obscured face they differ.
    left, top, right, bottom = entries["portrait.jpg"]["faces"][0]["box"]
    face = np.s_[top:bottom, left:right]
    assert np.abs(preview[face] - original[face]).mean() < 4
    assert np.abs(preview[face] - output[face]).mean() > 20
    assert entries["cut.jpg"]["original"] is None  # unreadable: not shown, page still written
    card = next(e for e in entries.values() if e["text"])
    assert card["original"] is None  # only the originals asked for


def test_a_missing_or_damaged_report_still_lists_the_image(
    batch: ReviewBatch, tmp_path: Path
) -> None:
    copy = batch.copy(tmp_path / "out")
    items = _items(copy)
    (copy.out / "reports" / "portrait.jpg.json").unlink()
    (copy.out / "reports" / "cut.jpg.json").write_text('{"faces": [[1, 2]], "text": 5')
    write_review(copy.out, items)
    entries = {e["name"]: e for e in _data(copy.page)["entries"]}
    assert set(entries) == {_name(i) for i in items}
    assert entries["portrait.jpg"]["summary"] == "" and entries["portrait.jpg"]["faces"] == []
    assert entries["portrait.jpg"]["size"] is None  # laid out when the image loads
    assert entries["cut.jpg"]["status"] == "failed"


def test_embedded_json_cannot_end_the_script_element() -> None:
    hostile = {"name": "</script><script>alert(1)</script><!-- \u2028 & >"}
    text = script_json(hostile)
    assert "</" not in text and "<!--" not in text and "\u2028" not in text
    assert json.loads(text) == hostile


def _title(page: str) -> str:
    match = re.search(r"<title>(.*?)</title>", page)
    assert match
    return match.group(1)


def _pixels(img: Image.Image) -> np.ndarray:
    with img:
        return np.asarray(img.convert("RGB"), dtype=np.float32)


def _name(item: dict[str, object]) -> str:
    return str(item["report"]).removeprefix("reports/").removesuffix(".json")


def test_cli_embeds_originals_only_with_review_originals(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (90, 60), (200, 40, 40)).save(src / "a.jpg", "JPEG", quality=90)
    (src / "cut.jpg").write_bytes((src / "a.jpg").read_bytes()[:300])
    common = ["batch", "--workers", "1", "--stages", "metadata", "--quiet"]
    assert main([*common, str(src), str(tmp_path / "plain")]) == 2  # one image failed
    assert main([*common, "--review-originals", str(src), str(tmp_path / "orig")]) == 2
    plain, orig = (tmp_path / "plain" / "review.html", tmp_path / "orig" / "review.html")
    assert _title(plain.read_text("utf-8")) == "deid review"
    assert not any(e["original"] for e in _data(plain)["entries"])
    assert "ORIGINALS EMBEDDED" in _title(orig.read_text("utf-8"))
    entries = {e["name"]: e for e in _data(orig)["entries"]}
    assert entries["a.jpg"]["original"].startswith("data:image/jpeg;base64,")
    assert entries["cut.jpg"]["original"] is None and entries["cut.jpg"]["status"] == "failed"
