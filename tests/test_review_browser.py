"""The review page in real headless Chromium (Debian's, driven by Playwright), opened
from file:// as a reviewer would: it loads offline without console errors, filters,
overlays, the large view, keyboard navigation, marks that survive a reload, the
sign-off export, and a page with originals. Every wait is bounded (WAIT_MS)."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from deid.review import write_review
from review_batch import ReviewBatch, review_batch

ROOT = Path(__file__).resolve().parents[1]


# The browser helpers live with the screenshot script (scripts/ is no package).
sys.path.insert(0, str(ROOT / "scripts"))
import review_screenshot as shots  # noqa: E402


def _no_browser(reason: str) -> None:
    """Skip where Chromium is missing on a developer's machine; fail in CI, whose
    system packages include it (scripts/system-packages.sh)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the review page's browser tests")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    try:
        with shots.browser() as browser:
            yield browser
    except (FileNotFoundError, ImportError) as exc:
        _no_browser(str(exc))


@pytest.fixture()
def batch(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> ReviewBatch:
    return review_batch(tmp_path_factory).copy(tmp_path / "out")


@pytest.fixture()
def page(chromium: Any, batch: ReviewBatch) -> Iterator[Any]:
    page = shots.open_page(chromium, batch.page)
    shots.wait_for_thumbnails(page)
    yield page
    log = page.deid_log
    page.context.close()
    assert log.errors == [], "the page logged errors"
    assert log.refused == [], "the page asked for something that is not a local file"


def _cards(page: Any) -> list[str]:
    # Text content, not rendered text: off-screen cards skip rendering (content-visibility).
    return page.locator("#grid .card .name").all_text_contents()


def _card_name(batch: ReviewBatch, category: str) -> str:
    for item in batch.summary.items:
        text = json.loads((batch.out / item.report).read_text("utf-8"))["text"]
        if any(t["category"] == category for t in text):
            return item.report.removeprefix("reports/").removesuffix(".json")
    raise AssertionError(f"the batch found no {category} text: {batch.summary.to_dict()}")


def test_loads_offline_shows_outputs_and_saves_a_screenshot(
    page: Any, batch: ReviewBatch, tmp_path: Path
) -> None:
    assert page.title() == "deid review"
    assert _cards(page)[0] == "cut.jpg"  # failed before redacted
    states = page.eval_on_selector_all(
        "#grid .frame img", "els => els.map(e => e.getAttribute('data-state'))"
    )
    assert states == ["loaded", "loaded"]  # both written outputs, from their relative links
    assert page.locator("#grid .card").first.locator(".placeholder").text_content() == "not written"
    shot = tmp_path / "review.png"
    page.screenshot(path=str(shot))
    with Image.open(shot) as img:
        assert img.size == (1280, 800)
        pixels = np.asarray(img.convert("RGB"))
    # The thumbnails are real pictures, not empty frames: the grid area varies widely.
    assert pixels[260:460].std() > 30


def test_filters_by_status_category_and_mark(page: Any, batch: ReviewBatch) -> None:
    card = _card_name(batch, "national_id")
    assert sorted(_cards(page)) == sorted(["cut.jpg", card, "portrait.jpg"])
    page.locator("#status-filter input[value=redacted]").uncheck()
    assert _cards(page) == ["cut.jpg"]
    page.locator("#status-filter input[value=redacted]").check()
    page.select_option("#category-filter", "national_id")
    assert _cards(page) == [card]
    page.select_option("#category-filter", "face")
    assert _cards(page) == ["portrait.jpg"]
    page.select_option("#category-filter", "(none)")
    assert _cards(page) == ["cut.jpg"]
    page.select_option("#category-filter", "")
    page.locator("#grid .card", has_text="portrait.jpg").focus()
    page.keyboard.press("r")
    page.select_option("#mark-filter", "rejected")
    assert _cards(page) == ["portrait.jpg"]
    page.select_option("#mark-filter", "unmarked")
    assert sorted(_cards(page)) == sorted(["cut.jpg", card])
    page.locator("#status-filter input[value=failed]").uncheck()
    assert _cards(page) == [card]


def test_a_mark_survives_a_reload_and_is_exported(page: Any, batch: ReviewBatch) -> None:
    card = _card_name(batch, "national_id")
    page.locator("#grid .card", has_text=card).focus()
    page.keyboard.press("a")
    page.locator("#grid .card", has_text="cut.jpg").focus()
    page.keyboard.press("a")  # nothing was written: there is nothing to approve
    assert page.locator("#grid .card.mark-approved").count() == 1
    page.keyboard.press("r")
    page.reload(wait_until="load")
    shots.wait_for_thumbnails(page)
    approved = page.locator("#grid .card.mark-approved .name").all_text_contents()
    rejected = page.locator("#grid .card.mark-rejected .name").all_text_contents()
    assert approved == [card] and rejected == ["cut.jpg"]
    assert page.locator("#progress").inner_text() == "1 approved, 1 rejected, 1 unmarked"

    page.fill("#reviewer", "Dr. Reviewer")
    with page.expect_download(timeout=shots.WAIT_MS) as download:
        page.click("#export")
    signoff = json.loads(Path(download.value.path()).read_text("utf-8"))
    assert signoff["format"] == "deid-signoff" and signoff["reviewer"] == "Dr. Reviewer"
    assert signoff["counts"] == {"approved": 1, "rejected": 1, "unmarked": 1}
    marks = {i["name"]: i for i in signoff["items"]}
    report = batch.report(card)
    assert marks[card]["mark"] == "approved"
    assert marks[card]["output_sha256"] == report["output"]["sha256"]
    assert marks[card]["output"] == report["output"]["path"]
    assert marks["cut.jpg"]["mark"] == "rejected" and marks["cut.jpg"]["output"] is None
    assert marks["portrait.jpg"]["mark"] is None


def test_a_changed_output_loses_its_mark(chromium: Any, batch: ReviewBatch) -> None:
    page = shots.open_page(chromium, batch.page)
    page.locator("#grid .card", has_text="portrait.jpg").focus()
    page.keyboard.press("a")
    # A rerun wrote different pixels: the approval was for the earlier ones.
    items = [vars(i) for i in batch.summary.items]
    report_path = batch.out / "reports" / "portrait.jpg.json"
    report = json.loads(report_path.read_text("utf-8"))
    report["output"]["sha256"] = "0" * 64
    report_path.write_text(json.dumps(report), "utf-8")
    write_review(batch.out, items)
    page.reload(wait_until="load")
    assert page.locator("#grid .card.mark-approved").count() == 0
    assert page.deid_log.errors == []
    page.context.close()


def test_keyboard_opens_the_large_view_with_aligned_overlays(page: Any, batch: ReviewBatch) -> None:
    page.keyboard.press("ArrowRight")  # nothing focused yet: the first card
    assert page.evaluate("document.activeElement.querySelector('.name').textContent") == "cut.jpg"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    assert page.locator("#viewer").get_attribute("open") is not None
    assert page.locator("#viewer-name").inner_text() == "portrait.jpg"
    assert "face(s) obscured" in page.locator("#viewer-report").inner_text()
    page.wait_for_function(
        "() => document.querySelector('#viewer-images img')?.getAttribute('data-state')",
        timeout=shots.WAIT_MS,
    )
    _assert_overlays_on_their_pixels(page, batch)
    page.keyboard.press("ArrowLeft")
    assert page.locator("#viewer-name").inner_text() == _card_name(batch, "national_id")
    page.wait_for_function(
        "() => document.querySelector('#viewer-images img')?.getAttribute('data-state')",
        timeout=shots.WAIT_MS,
    )
    _assert_overlays_on_their_pixels(page, batch)
    page.keyboard.press("a")
    assert page.locator("#viewer-mark").inner_text() == "approved"
    page.keyboard.press("Escape")
    assert page.locator("#viewer").get_attribute("open") is None
    # Back on the card last viewed (the dialog's close event runs after the key).
    page.wait_for_function(
        "(name) => document.activeElement.querySelector('.name')?.textContent === name",
        arg=_card_name(batch, "national_id"),
        timeout=shots.WAIT_MS,
    )


def test_overlays_toggle_on_thumbnails(page: Any) -> None:
    def shown(selector: str) -> list[str]:
        return page.eval_on_selector_all(
            f"#grid {selector}", "els => els.map(e => getComputedStyle(e).display)"
        )

    assert shown("rect.ov-text") == ["inline"] * 3 and shown("polygon.ov-oral") == ["inline"]
    assert shown("rect.ov-verify") == []  # nothing was found only by verification
    colours = page.eval_on_selector_all(
        "#grid rect.ov-text", "els => els.map(e => e.getAttribute('stroke'))"
    )
    assert len(set(colours)) == 3  # one colour per category
    page.keyboard.press("t")
    assert shown("rect.ov-text") == ["none"] * 3 and not page.is_checked("#show-text")
    page.uncheck("#show-oral")
    assert shown("polygon.ov-oral") == ["none"] and shown("rect.ov-obscured")[0] == "inline"
    page.keyboard.press("f")
    assert set(shown("rect.ov-obscured")) == {"none"}
    page.keyboard.press("t")
    assert shown("rect.ov-text") == ["inline"] * 3


def test_what_only_verification_found_is_drawn_heavier_and_named(
    chromium: Any, batch: ReviewBatch
) -> None:
    # The reports as a run would write them where the verification pass found a face
    # still visible and a PHI line the first pass left (tests/test_verify_regions.py
    # makes such runs); the page is rebuilt from them as the batch does.
    items = [vars(i) for i in batch.summary.items]
    for item in items:
        path = batch.out / item["report"]
        report = json.loads(path.read_text("utf-8"))
        for face in report["faces"]:
            face["verification"] = "escalated"
        for text in report["text"][:1]:
            text["action"] = "redacted_on_verify"
        path.write_text(json.dumps(report), "utf-8")
    write_review(batch.out, items)
    page = shots.open_page(chromium, batch.page)
    shots.wait_for_thumbnails(page)
    heavy = page.eval_on_selector_all(
        "#grid rect.ov-verify", "els => els.map(e => getComputedStyle(e).strokeWidth)"
    )
    assert len(heavy) == 2 and set(heavy) == {"5px"}
    page.locator("#grid .card", has_text=_card_name(batch, "national_id")).click()
    note = page.locator("#viewer-report .verify-note").inner_text()
    assert note.startswith("Found only by verification: 1 region(s)")
    assert page.locator("#viewer-images rect.ov-verify").count() == 1
    assert page.deid_log.errors == [] and page.deid_log.refused == []
    page.context.close()


def test_page_with_originals_says_so_and_shows_them(chromium: Any, batch: ReviewBatch) -> None:
    items = [vars(i) for i in batch.summary.items]
    write_review(
        batch.out, items, originals={"reports/portrait.jpg.json": batch.src / "portrait.jpg"}
    )
    page = shots.open_page(chromium, batch.page)
    assert "ORIGINALS EMBEDDED" in page.title()
    assert "ORIGINALS EMBEDDED" in page.locator("#heading").inner_text()
    assert page.locator("#originals-warning").is_visible()
    page.locator("#grid .card", has_text="portrait.jpg").click()
    captions = page.locator("#viewer-images figcaption").all_text_contents()
    assert captions == ["de-identified output", "ORIGINAL (contains PHI)"]
    page.wait_for_function(
        """() => [...document.querySelectorAll('#viewer-images img')]
                 .every(i => i.getAttribute('data-state') === 'loaded')""",
        timeout=shots.WAIT_MS,
    )
    output, original = (_grey(page.locator("#viewer-images img").nth(i).screenshot())
                        for i in (0, 1))  # fmt: skip
    # Side by side: the same picture except where the face was obscured.
    changed = np.abs(output - original) > 30
    assert 0.02 < changed.mean() < 0.5
    assert page.deid_log.errors == [] and page.deid_log.refused == []
    page.context.close()


def _grey(png: bytes) -> np.ndarray:
    """At one size, as the two panes may differ by a pixel of layout."""
    with Image.open(io.BytesIO(png)) as img:
        return np.asarray(img.convert("L").resize((256, 256)), dtype=np.float32)


def _assert_overlays_on_their_pixels(page: Any, batch: ReviewBatch) -> None:
    """Each box of the large view lies on the pixels the report means: the screen under
    its centre and just below it looks like the output file at those two points (a
    redaction box and the paper under it, an obscured face and what is below it)."""
    name = page.locator("#viewer-name").inner_text()
    boxes = page.eval_on_selector_all(
        "#viewer-images figure:first-child rect",
        """els => els.map(r => ({box: ['x', 'y', 'width', 'height']
                                    .map(a => +r.getAttribute(a)),
                                 screen: r.getBoundingClientRect().toJSON()}))""",
    )
    assert boxes, "the large view draws the report's boxes"
    for key in "oft":  # overlays off: the screenshot shows the image alone
        page.keyboard.press(key)
    shot = _grey_array(page.screenshot())
    for key in "oft":
        page.keyboard.press(key)
    with Image.open(batch.out / "images" / name) as img:
        output = np.asarray(img.convert("L"), dtype=np.float32)
    contrast = []
    for drawn in boxes:
        (x, y, w, h), screen = drawn["box"], drawn["screen"]
        sx, sy = screen["width"] / w, screen["height"] / h
        below = min(y + h * 1.6, output.shape[0] - 3)
        seen = []
        for px, py in ((x + w / 2, y + h / 2), (x + w / 2, below)):
            on_screen = _patch(
                shot, screen["left"] + (px - x) * sx, screen["top"] + (py - y) * sy, 2
            )
            in_file = _patch(output, px, py, max(1, round(2 / sx)))
            assert abs(on_screen - in_file) < 35, (name, drawn, px, py, on_screen, in_file)
            seen.append(in_file)
        contrast.append(abs(seen[0] - seen[1]))
    assert max(contrast) > 60  # the two points differ, so a shifted box would show


def _grey_array(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as img:
        return np.asarray(img.convert("L"), dtype=np.float32)


def _patch(pixels: np.ndarray, x: float, y: float, r: int) -> float:
    cx, cy = round(x), round(y)
    return float(pixels[max(0, cy - r) : cy + r + 1, max(0, cx - r) : cx + r + 1].mean())
