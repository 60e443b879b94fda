"""How the review page scales: a batch of thousands of images against the same batch's
own page, measured in the same run (the machine is shared, so only ratios count).

    .venv/bin/python benchmarks/review_page_scale.py [OUT_DIR] [--images 3000]

OUT_DIR is a finished batch (default: the demo's, ``make demo``). Its reports are
copied N times under new names into a scratch folder, with the outputs linked, not
copied; the page is written with ``write_review`` and opened in headless Chromium
(scripts/review_screenshot.py). Printed per page: the time to write it, its size, the
time until the first screen of thumbnails has loaded, the time to apply a filter, the
time to scroll to the last image and show it, and the DOM's element count.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deid.review import write_review

ROOT = Path(__file__).resolve().parents[1]


def _shots() -> Any:
    spec = importlib.util.spec_from_file_location(
        "review_screenshot", ROOT / "scripts" / "review_screenshot.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Measure:
    images: int
    write_s: float
    page_kb: float
    first_screen_s: float
    filter_s: float
    last_image_s: float
    elements: int


def replicate(src: Path, dst: Path, n: int) -> list[dict[str, object]]:
    """N items over the batch's real reports and outputs (outputs as symlinks)."""
    items = json.loads((src / "summary.json").read_text("utf-8"))["items"]
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


def measure(chromium: Any, shots: Any, src: Path, n: int) -> Measure:
    with tempfile.TemporaryDirectory(prefix="review-scale-") as tmp:
        dst = Path(tmp)
        items = replicate(src, dst, n)
        start = time.perf_counter()
        page_path = write_review(dst, items)
        write_s = time.perf_counter() - start
        start = time.perf_counter()
        page = shots.open_page(chromium, page_path)
        shots.wait_for_thumbnails(page)
        first_screen_s = time.perf_counter() - start
        start = time.perf_counter()
        page.locator("#status-filter input").first.uncheck()
        page.locator("#status-filter input").first.check()
        filter_s = time.perf_counter() - start
        start = time.perf_counter()
        page.locator("#grid .card").last.scroll_into_view_if_needed()
        shots.wait_for_thumbnails(page)
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
    args = parser.parse_args(argv)
    shots = _shots()
    base_n = len(json.loads((args.out_dir / "summary.json").read_text("utf-8"))["items"])
    runs: dict[int, list[Measure]] = {base_n: [], args.images: []}
    with shots.browser() as chromium:
        for _ in range(args.repeat):
            for n in runs:  # interleaved, so a noisy moment hits both sizes
                runs[n].append(measure(chromium, shots, args.out_dir, n))
    rows = {n: _median(ms) for n, ms in runs.items()}
    base, big = rows[base_n], rows[args.images]
    print(f"{'images':>7} {'write s':>8} {'page KB':>8} {'first screen s':>15} "
          f"{'filter s':>9} {'last image s':>13} {'elements':>9}")  # fmt: skip
    for m in rows.values():
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
    return 0


def _median(ms: list[Measure]) -> Measure:
    fields = Measure.__dataclass_fields__
    return Measure(**{f: statistics.median(getattr(m, f) for m in ms) for f in fields})


if __name__ == "__main__":
    sys.exit(main())
