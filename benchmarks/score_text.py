"""Score the text stage on the generated dev set and print the figures.

    .venv/bin/python benchmarks/score_text.py [--engine tesseract|rapidocr] [--only GROUP]

Figures: PHI recall (ink >= 98 % covered by redactions AND the string no longer
read by OCR in the redacted image), recall for Chinese personal names, harmless
text kept (< 5 % of its ink touched), false redactions inside oral keep regions,
text-stage time per image at about 2 MP and 12 MP, and the ratio of the stage on a
12 MP photo with one overlay line to Tesseract (pytesseract, chi_tra+eng, default
page segmentation) on the same full-resolution frame, measured in this run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))

import devset_text
from deid.config import Config
from deid.stages.base import Context
from deid.stages.text import TextStage
from deid.text.lists import normalise
from deid.types import Box, Frame
from stage_timing import run_and_verify


def _ink(item: dict) -> np.ndarray:
    h, w = item["mask_shape"]
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(item["mask"]), dtype=np.uint8))
    return bits[: h * w].reshape(h, w).astype(bool)


def _covered(item: dict, edit_mask: np.ndarray) -> float:
    left, top, right, bottom = item["box"]
    ink = _ink(item)
    return float(edit_mask[top:bottom, left:right][ink].mean()) if ink.any() else 1.0


def _still_readable(stage: TextStage, redacted: np.ndarray, item: dict) -> bool:
    """Re-read the item's neighbourhood of the redacted image with the same OCR."""
    from deid.text.detect import read_lines

    left, top, right, bottom = item["box"]
    h = bottom - top
    region = Box(left - 2 * h, top - h, right + 2 * h, bottom + h)
    lines = read_lines(redacted, stage.engine, region)
    target = normalise(item["text"])
    return any(target in normalise(pl.line.text) for pl in lines)


def score(engine: str, only: str | None, seed: int) -> None:
    root = devset_text.OUT
    if seed != devset_text.SEED:
        root = root.with_name(f"text-{seed}")
    if not any(root.glob("*.json")):
        devset_text.build(root, seed)
    cfg = Config().replace(text={"engine": engine, "allow_list": str(root / "allow.txt")})
    t0 = time.perf_counter()
    stage = TextStage(cfg.text)
    init_s = time.perf_counter() - t0
    phi_total = phi_ok = zh_total = zh_ok = keep_total = keep_ok = 0
    oral_false = oral_images = 0
    times: dict[str, list[float]] = {}
    misses: list[str] = []
    for meta_path in sorted(root.glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if only and meta["group"] != only:
            continue
        image = np.array(Image.open(meta_path.with_suffix(".png")).convert("RGB"))
        image.setflags(write=False)
        keep = tuple(np.array(p, dtype=np.float64) for p in meta["keep_regions"])
        ctx = Context(config=cfg, source=None, frame=Frame(image), keep_regions=keep)  # type: ignore[arg-type]
        redacted, result, checked, elapsed = run_and_verify(stage, image, ctx)
        mp = image.shape[0] * image.shape[1] / 1e6
        times.setdefault(f"{meta['group']} ({mp:.1f} MP)", []).append(elapsed)
        edit_mask = np.zeros(image.shape[:2], dtype=bool)
        for e in (*result.edits, *checked.edits):
            b = e.box.clip(image.shape[1], image.shape[0])
            edit_mask[b.slices()] = True
        for item in meta["items"]:
            if item["category"] == "label":
                continue
            cover = _covered(item, edit_mask)
            if item["phi"]:
                ok = cover >= 0.98 and not _still_readable(stage, redacted, item)
                phi_total += 1
                phi_ok += ok
                if item["category"] == "zh_name":
                    zh_total += 1
                    zh_ok += ok
                if not ok:
                    misses.append(f"{meta['name']}: {item['category']} cover={cover:.2f}")
            else:
                keep_total += 1
                kept = cover < 0.05
                keep_ok += kept
                if not kept:
                    misses.append(f"{meta['name']}: harmless {item['category']} redacted")
        if keep:
            oral_images += 1
            import cv2

            poly_mask = np.zeros(image.shape[:2], dtype=np.uint8)
            for p in keep:
                cv2.fillPoly(poly_mask, [np.round(p).astype(np.int32)], 1)
            phi_boxes = [Box(*item["box"]) for item in meta["items"] if item["phi"]]
            for e in (*result.edits, *checked.edits):
                box = e.box.clip(image.shape[1], image.shape[0])
                touches = bool(poly_mask[box.slices()].any())
                # A redaction over PHI printed inside the region is a correct one.
                if touches and not any(not box.intersection(b).empty for b in phi_boxes):
                    oral_false += 1
    print(f"engine: {stage._version()}  (one-time init {init_s:.2f} s)")
    for line in misses:
        print("  miss:", line)
    print(f"PHI recall:            {phi_ok}/{phi_total} = {phi_ok / max(phi_total, 1):.1%}")
    print(f"Chinese name recall:   {zh_ok}/{zh_total} = {zh_ok / max(zh_total, 1):.1%}")
    print(f"harmless text kept:    {keep_ok}/{keep_total} = {keep_ok / max(keep_total, 1):.1%}")
    print(f"false redactions in oral regions: {oral_false} over {oral_images} images with one")
    for group, values in sorted(times.items()):
        print(
            f"time per image, {group}: median {statistics.median(values):.2f} s (n={len(values)})"
        )
    if not only:
        timing(stage, cfg)
    stage.close()


def timing(stage: TextStage, cfg: Config) -> None:
    """12 MP photo with one overlay line: the stage vs Tesseract on the full frame."""
    import pytesseract
    from PIL import ImageDraw, ImageFont

    photo = Image.fromarray(devset_text.photos()["hopper"]).resize((4000, 3000), Image.LANCZOS)
    draw = ImageDraw.Draw(photo)
    font = ImageFont.truetype(devset_text.CJK_FONT, 64)
    draw.rectangle((60, 2780, 1500, 2900), fill=(20, 20, 20))
    draw.text((90, 2790), "姓名:王小明 病歷號 0012345", font=font, fill=(255, 255, 255))
    image = np.array(photo)
    image.setflags(write=False)
    ctx = Context(config=cfg, source=None, frame=Frame(image))  # type: ignore[arg-type]
    runs, full = [], []
    for _ in range(3):
        _, result, _, elapsed = run_and_verify(stage, image, ctx)
        runs.append(elapsed)
        t = time.perf_counter()
        pytesseract.image_to_string(photo, lang="chi_tra+eng")
        full.append(time.perf_counter() - t)
    stage_s, full_s = statistics.median(runs), statistics.median(full)
    print(f"12 MP, one overlay line: text stage (run + verify) {stage_s:.2f} s, "
          f"tesseract full frame {full_s:.2f} s, ratio {stage_s / full_s:.2f} "
          f"(redactions: {len(result.edits)})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="rapidocr", choices=("tesseract", "rapidocr"))
    parser.add_argument("--only", default=None, help="photo, card, xray or oral")
    parser.add_argument(
        "--seed",
        type=int,
        default=devset_text.SEED,
        help="another seed generates a held-out set (its own folder) to check for overfitting",
    )
    args = parser.parse_args()
    score(args.engine, args.only, args.seed)


if __name__ == "__main__":
    main()
