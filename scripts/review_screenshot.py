"""Screenshots of a batch's review page in headless Chromium, for the README.

    .venv/bin/python scripts/review_screenshot.py [OUT_DIR] [--png docs/review.png]

OUT_DIR defaults to the demo's output (``make demo`` first). The page is rebuilt from
OUT_DIR/summary.json with the installed deid, so the picture shows the current page.
Writes the grid to --png and the large view of the first image next to it
(``-viewer`` added to the name).

Uses Debian's Chromium (/usr/bin/chromium) through Playwright, never a downloaded
browser, and refuses every request that is not a local file: the page must work
offline. The suite (tests/test_review_browser.py) drives the page with the same
helpers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
#: Every browser wait is bounded: a page that never settles fails, it does not hang.
WAIT_MS = 20_000
LOCAL_SCHEMES = ("file:", "data:", "blob:")


@dataclass
class PageLog:
    """What the page did that a test must see: console errors and outside requests."""

    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@contextmanager
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright; raises FileNotFoundError when it is missing."""
    if not CHROMIUM.is_file():
        raise FileNotFoundError(f"{CHROMIUM} not found (scripts/system-packages.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=WAIT_MS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(chromium: Any, page_path: Path, *, width: int = 1280, height: int = 800) -> Any:
    """Open a review page in a fresh context (empty localStorage) with offline guards.

    Returns the Playwright page; its ``deid_log`` attribute is a ``PageLog``.
    """
    context = chromium.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    context.set_default_timeout(WAIT_MS)
    log = PageLog()

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            log.refused.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: log.errors.append(str(exc)))
    page.deid_log = log
    page.goto(page_path.resolve().as_uri(), wait_until="load")
    return page


def wait_for_thumbnails(page: Any) -> None:
    """Until every card on screen that has an output shows it loaded (or failed)."""
    page.wait_for_function(
        """() => [...document.querySelectorAll('#grid .card[data-image="1"]')]
            .filter(c => { const r = c.getBoundingClientRect();
                           return r.bottom > 0 && r.top < innerHeight; })
            .every(c => c.querySelector('img[data-state]'))""",
        timeout=WAIT_MS,
    )


def rebuild_page(out_dir: Path) -> Path:
    """The review page for OUT_DIR from its summary, as the batch writes it."""
    from deid.review import write_review

    items = json.loads((out_dir / "summary.json").read_text("utf-8"))["items"]
    return write_review(out_dir, items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=Path("examples/output"))
    parser.add_argument("--png", type=Path, default=Path("docs/review.png"))
    args = parser.parse_args(argv)
    if not (args.out_dir / "summary.json").is_file():
        sys.stderr.write(f"no summary.json in {args.out_dir}: run `make demo` first\n")
        return 1
    page_path = rebuild_page(args.out_dir)
    viewer_png = args.png.with_name(f"{args.png.stem}-viewer{args.png.suffix}")
    with browser() as chromium:
        page = open_page(chromium, page_path)
        wait_for_thumbnails(page)
        page.screenshot(path=str(args.png))
        page.locator("#grid .card").first.click()
        page.wait_for_function(
            "() => document.querySelector('#viewer-images img')?.getAttribute('data-state')",
            timeout=WAIT_MS,
        )
        page.screenshot(path=str(viewer_png))
        log: PageLog = page.deid_log
    if log.errors or log.refused:
        sys.stderr.write(f"page errors: {log.errors}; refused requests: {log.refused}\n")
        return 1
    sys.stdout.write(f"wrote {args.png} and {viewer_png}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
