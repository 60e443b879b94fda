"""Score text redaction on the tuning and held-out splits, the way a user runs deid.

    .venv/bin/python benchmarks/score_text.py [--split tuning|heldout] [--only GROUP]
                                              [--engine rapidocr|tesseract] [--timing]

Every image goes through the real pipeline (stages metadata and text, default
settings, the split's allow list). An image held back (``needs_review`` or
``failed``) counts as a miss for every PHI item in it and as not kept for every
harmless item: nothing of it is published.

A PHI item is redacted when its ink is >= 98 % covered by redaction boxes (a line
covered only in part, half above and half below a box, is a miss and is counted
as "half-covered") and the string is no longer read by the same OCR in the
output. "Found only by verification" counts items the first pass left (< 98 %
covered) that the verification pass then covered. Harmless text is kept when
< 5 % of its ink is touched.

The split is built by ``devset_text_split`` under ``benchmarks/devset/`` on first
use, and again whenever the generators' source changed. Misses are listed for the
tuning split only: the held-out cases are for the figures, not for tuning
(``--show-heldout-misses`` lists them anyway).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))

import devset_text
import devset_text_split
from deid.config import Config
from deid.pipeline import Pipeline
from deid.stages import build_stages
from deid.stages.base import Context
from deid.stages.text import TextStage
from deid.text.detect import read_lines
from deid.text.lists import normalise
from deid.types import Box, Frame, StageResult
from stage_timing import run_and_verify

CATEGORIES = {
    "id": "national / resident IDs",
    "phone": "phone numbers",
    "zh_name": "Chinese names",
    "en_name": "English names",
    "date": "dates",
    "chart": "chart numbers",
}


class RecordingTextStage(TextStage):
    """The text stage, keeping its last first-pass and verification results."""

    last_run: StageResult = StageResult()
    last_verify: StageResult = StageResult()

    def run(self, image, context):  # type: ignore[no-untyped-def]
        self.last_run = super().run(image, context)
        self.last_verify = StageResult()
        return self.last_run

    def verify(self, image, context, result):  # type: ignore[no-untyped-def]
        self.last_verify = super().verify(image, context, result)
        return self.last_verify


@dataclass
class Tally:
    phi: int = 0
    phi_ok: int = 0
    by_cat: dict[str, list[int]] = field(default_factory=dict)
    verify_only: int = 0
    half_covered: int = 0
    keep: int = 0
    keep_ok: int = 0
    images: int = 0
    held: int = 0
    times: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def add(self, cat: str, ok: bool) -> None:
        entry = self.by_cat.setdefault(cat, [0, 0])
        entry[0] += 1
        entry[1] += ok


def _ink(item: dict) -> np.ndarray:
    h, w = item["mask_shape"]
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(item["mask"]), dtype=np.uint8))
    return bits[: h * w].reshape(h, w).astype(bool)


def _mask(edits, shape) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Pixels the edits replace (a tilted line's fill is its slanted mask)."""
    out = np.zeros(shape[:2], dtype=bool)
    for e in edits:
        box = e.box.clip(shape[1], shape[0])
        if box.empty:
            continue
        if e.mask is None:
            out[box.slices()] = True
        else:
            top, left = box.top - e.box.top, box.left - e.box.left
            cut = e.mask[top : top + box.height, left : left + box.width] > 0.5
            out[box.slices()] |= cut
    return out


def _covered(item: dict, mask: np.ndarray) -> float:
    left, top, right, bottom = item["box"]
    ink = _ink(item)
    return float(mask[top:bottom, left:right][ink].mean()) if ink.any() else 1.0


def _still_readable(stage: TextStage, redacted: np.ndarray, item: dict) -> bool:
    """Re-read the item's neighbourhood of the output with the same OCR."""
    left, top, right, bottom = item["box"]
    h = bottom - top
    region = Box(left - 2 * h, top - h, right + 2 * h, bottom + h)
    lines = read_lines(redacted, stage.engine, region)
    target = normalise(item["text"]).replace(" ", "")
    return any(target in normalise(pl.line.text).replace(" ", "") for pl in lines)


def _built(split: str) -> Path:
    """The split's folder, rebuilt when the generators changed since it was written, so
    that figures always describe what the committed generators draw."""
    root = devset_text_split.out_dir(split)
    here = Path(__file__).parent
    sources = (here / "devset_text_split.py", here / "devset_text.py")
    stamp = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    stamp_file = root / ".generator"
    if not any(root.glob("*.json")) or not stamp_file.is_file() or stamp_file.read_text() != stamp:
        for old in (*root.glob("*.json"), *root.glob("*.png")):
            old.unlink()
        devset_text_split.build(split)
        stamp_file.write_text(stamp)
    return root


def score_split(split: str, engine: str, only: str | None) -> Tally:
    root = _built(split)
    cfg = Config().replace(
        stages=("metadata", "text"),
        text={"engine": engine, "allow_list": str(root / "allow.txt")},
    )
    stage = RecordingTextStage(cfg.text)
    tally = Tally()
    pipe = Pipeline(cfg, stages=[])
    pipe.stages = [*build_stages(cfg.replace(stages=("metadata",)), pipe.models), stage]
    for meta_path in sorted(root.glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if only and meta["group"] != only:
            continue
        src = meta_path.with_suffix(".png")
        t0 = time.perf_counter()
        result = pipe.process(str(src), name=src.name)
        tally.times.append(time.perf_counter() - t0)
        tally.images += 1
        image = np.asarray(Image.open(src).convert("RGB"))
        held = result.status in ("needs_review", "failed")
        tally.held += held
        out = (
            np.asarray(Image.open(io.BytesIO(result.data)).convert("RGB")) if result.data else image
        )
        first = _mask(stage.last_run.edits, image.shape)
        both = first | _mask(stage.last_verify.edits, image.shape)
        for item in meta["items"]:
            if item["category"] == "label":
                continue
            cover = _covered(item, both)
            if item["phi"]:
                ok_stage = cover >= 0.98 and not _still_readable(stage, out, item)
                ok = ok_stage and not held
                tally.phi += 1
                tally.phi_ok += ok
                tally.add(item["category"], ok)
                if ok_stage and _covered(item, first) < 0.98:
                    tally.verify_only += 1
                if 0.05 <= cover < 0.98:
                    tally.half_covered += 1
                if not ok:
                    why = "held back" if ok_stage else f"cover={cover:.2f}"
                    tally.misses.append(f"{meta['name']}: {item['category']} {why}")
            else:
                tally.keep += 1
                kept = cover < 0.05 and not held
                tally.keep_ok += kept
                if not kept:
                    tally.misses.append(f"{meta['name']}: harmless {item['text']!r} not kept")
    pipe.close()
    return tally


def _pct(n: int, d: int) -> str:
    return f"{n / d:6.1%} ({n}/{d})" if d else "   n/a"


def report(tallies: dict[str, Tally]) -> None:
    names = list(tallies)
    rows: list[tuple[str, list[tuple[int, int]], bool]] = [
        (
            "PHI text redacted (held-back = miss)",
            [(t.phi_ok, t.phi) for t in tallies.values()],
            True,
        ),
    ]
    for cat, label in CATEGORIES.items():
        rows.append(
            (f"  {label}", [tuple(t.by_cat.get(cat, [0, 0])[::-1]) for t in tallies.values()], True)
        )
    rows.append(("harmless text kept", [(t.keep_ok, t.keep) for t in tallies.values()], True))
    rows.append(("images held back (needs_review/failed)",
                 [(t.held, t.images) for t in tallies.values()], False))  # fmt: skip
    header = f"{'figure':42s}" + "".join(f"{n:>22s}" for n in names)
    if len(names) == 2:
        header += f"{'drop (points)':>16s}"
    print(header)
    for label, values, higher_better in rows:
        line = f"{label:42s}" + "".join(f"{_pct(n, d):>22s}" for n, d in values)
        if len(names) == 2 and all(d for _, d in values):
            (a, ad), (b, bd) = values
            drop = 100 * (a / ad - b / bd)
            line += f"{drop if higher_better else -drop:>16.1f}"
        print(line)
    for label, attr in (("PHI found only by verification", "verify_only"),
                        ("half-covered PHI lines (misses)", "half_covered")):  # fmt: skip
        print(f"{label:42s}" + "".join(f"{getattr(t, attr):>22d}" for t in tallies.values()))
    medians = [statistics.median(t.times) if t.times else 0.0 for t in tallies.values()]
    print(f"{'pipeline time per image, median (s)':42s}" + "".join(f"{m:>22.2f}" for m in medians))


def timing(engine: str) -> None:
    """12 MP photo with one overlay line: the stage vs Tesseract on the full frame and
    vs a Pillow decode + encode of the same frame."""
    import pytesseract
    from PIL import ImageDraw, ImageFont

    cfg = Config().replace(text={"engine": engine})
    stage = TextStage(cfg.text)
    photo = Image.fromarray(devset_text.photos()["hopper"]).resize((4000, 3000), Image.LANCZOS)
    draw = ImageDraw.Draw(photo)
    font = ImageFont.truetype(devset_text.CJK_FONT, 64)
    draw.rectangle((60, 2780, 1500, 2900), fill=(20, 20, 20))
    draw.text((90, 2790), "姓名:王小明 病歷號 0012345", font=font, fill=(255, 255, 255))
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=95)
    jpeg = buf.getvalue()
    image = np.array(photo)
    image.setflags(write=False)
    ctx = Context(config=cfg, source=None, frame=Frame(image))  # type: ignore[arg-type]
    runs, full, pil = [], [], []
    for _ in range(3):
        _, result, _, elapsed = run_and_verify(stage, image, ctx)
        runs.append(elapsed)
        t = time.perf_counter()
        with Image.open(io.BytesIO(jpeg)) as im:
            im.load()
            im.save(io.BytesIO(), "JPEG", quality=95, subsampling=0)
        pil.append(time.perf_counter() - t)
        t = time.perf_counter()
        pytesseract.image_to_string(photo, lang="chi_tra+eng")
        full.append(time.perf_counter() - t)
    stage_s, full_s, pil_s = statistics.median(runs), statistics.median(full), min(pil)
    print(f"12 MP, one overlay line: text stage (run + verify) {stage_s:.2f} s; "
          f"/ tesseract full frame ({full_s:.2f} s) = {stage_s / full_s:.2f}; "
          f"/ Pillow decode+encode ({pil_s:.2f} s) = {stage_s / pil_s:.2f} "
          f"(redactions: {len(result.edits)})")  # fmt: skip
    stage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="rapidocr", choices=("tesseract", "rapidocr"))
    parser.add_argument("--split", action="append", choices=sorted(devset_text_split.SPLITS))
    parser.add_argument("--only", default=None, help="a group: block, band, card, darkid, ...")
    parser.add_argument("--timing", action="store_true", help="also the 12 MP stage timing")
    parser.add_argument("--show-heldout-misses", action="store_true")
    args = parser.parse_args()
    splits = args.split or ["tuning", "heldout"]
    tallies = {s: score_split(s, args.engine, args.only) for s in splits}
    for split, tally in tallies.items():
        if split == "tuning" or args.show_heldout_misses:
            for line in tally.misses:
                print(f"  {split} miss: {line}")
    print(f"engine: {args.engine}")
    report(tallies)
    if args.timing:
        timing(args.engine)


if __name__ == "__main__":
    main()
