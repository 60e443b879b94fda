"""How the review page scales: a batch of thousands of images against the same batch's
own page, measured in the same run (the machine is shared, so only ratios count).

    .venv/bin/python benchmarks/review_page_scale.py [OUT_DIR] [--images 3000] [--megapixels 12]

OUT_DIR is a finished batch (default: the demo's, ``make demo``). Its reports are
copied N times under new names into a scratch folder, with the outputs linked, not
copied; the page is written with ``write_review`` and opened in headless Chromium
(scripts/review_screenshot.py). Printed per page: the time to write it, its size, the
time until the first screen of thumbnails is decoded and painted, the time to apply a
filter and show the result, the time to scroll to the last image and show it, and the
DOM's element count.

--megapixels also measures the big page with every output re-encoded at that size
(camera-sized outputs): whether linking the outputs themselves as thumbnails, rather
than embedding small ones, keeps the page quick.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from deid.review import write_review

ROOT = Path(__file__).resolve().parents[1]


def _shots() -> Any:
    """The browser helpers of the screenshot script (scripts/ is no package)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import review_screenshot

    return review_screenshot


@dataclass
class Measure:
    images: int
    write_s: float
    page_kb: float
    first_screen_s: float
    filter_s: float
    last_image_s: float
    elements: int


def replicate(
    src: Path, dst: Path, n: int, megapixels: float | None = None
) -> list[dict[str, object]]:
    """N items over the batch's real reports and outputs (outputs as symlinks)."""
    items = json.loads((src / "summary.json").read_text("utf-8"))["items"]
    if megapixels:
        src = _resized_outputs(src, items, dst / ".resized", megapixels)
    made = []
    for k in range(n):
        item = dict(items[k % len(items)])
        stem = f"{k:05d}-" + str(item["report"]).removeprefix("reports/")
        report = json.loads((src / str(item["report"])).read_text("utf-8"))
        if item.get("output"):
            out_rel = f"images/{k:05d}-" + Path(str(item["output"])).name
            (dst / out_rel).parent.mkdir(parents=True, exist_ok=True)
            (dst / out_rel).symlink_to((src / str(item["output"])).resolve())
            report["output"]["path"] = item["output"] = out_rel
        item["report"] = f"reports/{stem}"
        (dst / "reports").mkdir(parents=True, exist_ok=True)
        (dst / str(item["report"])).write_text(json.dumps(report), "utf-8")
        made.append(item)
    return made


def _resized_outputs(src: Path, items: list[dict], folder: Path, megapixels: float) -> Path:
    """A copy of the batch's outputs at ``megapixels`` (reports copied as they are)."""
    for item in items:
        (folder / str(item["report"])).parent.mkdir(parents=True, exist_ok=True)
        (folder / str(item["report"])).write_bytes((src / str(item["report"])).read_bytes())
        if item.get("output"):
            with Image.open(src / str(item["output"])) as img:
                scale = (megapixels * 1e6 / (img.width * img.height)) ** 0.5
                size = (round(img.width * scale), round(img.height * scale))
                big = img.convert("RGB").resize(size, Image.Resampling.BICUBIC)
            (folder / str(item["output"])).parent.mkdir(parents=True, exist_ok=True)
            big.save(folder / str(item["output"]), "JPEG", quality=90)
    return folder


def settle(page: Any, shots: Any) -> None:
    """Until the thumbnails on screen are loaded, decoded and painted: the load event
    alone fires before an asynchronously decoded image is ready to show."""
    shots.wait_for_thumbnails(page)
    page.evaluate(
        """async () => {
            const shown = [...document.querySelectorAll('#grid .frame img')].filter(i => {
                const r = i.getBoundingClientRect();
                return r.bottom > 0 && r.top < innerHeight;
            });
            await Promise.all(shown.map(i => i.decode().catch(() => null)));
            await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
        }"""
    )


def measure(
    chromium: Any, shots: Any, src: Path, n: int, megapixels: float | None = None
) -> Measure:
    with tempfile.TemporaryDirectory(prefix="review-scale-") as tmp:
        dst = Path(tmp)
        items = replicate(src, dst, n, megapixels)
        start = time.perf_counter()
        page_path = write_review(dst, items)
        write_s = time.perf_counter() - start
        start = time.perf_counter()
        page = shots.open_page(chromium, page_path)
        settle(page, shots)
        first_screen_s = time.perf_counter() - start
        start = time.perf_counter()
        page.locator("#status-filter input").first.uncheck()
        page.locator("#status-filter input").first.check()
        settle(page, shots)
        filter_s = time.perf_counter() - start
        start = time.perf_counter()
        page.locator("#grid .card").last.scroll_into_view_if_needed()
        settle(page, shots)
        last_image_s = time.perf_counter() - start
        elements = page.evaluate("document.getElementsByTagName('*').length")
        errors = page.deid_log.errors + page.deid_log.refused
        page.context.close()
        if errors:
            raise SystemExit(f"page errors: {errors[:3]}")
        return Measure(n, write_s, page_path.stat().st_size / 1024, first_screen_s, filter_s,
                       last_image_s, elements)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=ROOT / "examples" / "output")
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3, help="median of this many runs")
    parser.add_argument("--megapixels", type=float, help="also with outputs of this size")
    args = parser.parse_args(argv)
    shots = _shots()
    base_n = len(json.loads((args.out_dir / "summary.json").read_text("utf-8"))["items"])
    pages: dict[str, tuple[int, float | None]] = {"base": (base_n, None),
                                                   "big": (args.images, None)}  # fmt: skip
    if args.megapixels:
        pages["big_mp"] = (args.images, args.megapixels)
    runs: dict[str, list[Measure]] = {name: [] for name in pages}
    with shots.browser() as chromium:
        for _ in range(args.repeat):
            for name, (n, mp) in pages.items():  # interleaved: noise hits every page
                runs[name].append(measure(chromium, shots, args.out_dir, n, mp))
    rows = {name: _median(ms) for name, ms in runs.items()}
    base, big = rows["base"], rows["big"]
    print(f"{'images':>7} {'write s':>8} {'page KB':>8} {'first screen s':>15} "
          f"{'filter s':>9} {'last image s':>13} {'elements':>9}")  # fmt: skip
    for m in rows.values():  # the last row, if any, has outputs of --megapixels
        print(f"{m.images:>7} {m.write_s:>8.3f} {m.page_kb:>8.0f} {m.first_screen_s:>15.3f} "
              f"{m.filter_s:>9.3f} {m.last_image_s:>13.3f} {m.elements:>9}")  # fmt: skip
    # The small page has nothing to scroll to, so the jump to the end is set against its
    # first screen: both are "thumbnails appear on an empty screen".
    print(
        f"{args.images} vs {base_n} images ({args.images / base_n:.0f}x): first screen "
        f"{big.first_screen_s / base.first_screen_s:.2f}x, filter "
        f"{big.filter_s / base.filter_s:.2f}x, jump to the last image "
        f"{big.last_image_s / base.first_screen_s:.2f}x the small page's first screen; page "
        f"{big.page_kb / args.images:.2f} KB and "
        f"{(big.elements - base.elements) / (args.images - base_n):.1f} elements per image"
    )
    if args.megapixels:
        mp = rows["big_mp"]
        print(
            f"outputs of {args.megapixels:g} MP: first screen "
            f"{mp.first_screen_s / base.first_screen_s:.2f}x, jump to the last image "
            f"{mp.last_image_s / base.first_screen_s:.2f}x the small page's first screen"
        )
    return 0


def _median(ms: list[Measure]) -> Measure:
    fields = Measure.__dataclass_fields__
    return Measure(**{f: statistics.median(getattr(m, f) for m in ms) for f in fields})


if __name__ == "__main__":
    sys.exit(main())
