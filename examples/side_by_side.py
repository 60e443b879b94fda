"""Render input | output pairs from a demo run into one image for the README.

python examples/side_by_side.py examples/input examples/output docs/demo.jpg
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

LABEL_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
NAMES = ("smile_portrait.jpg", "before_after.jpg", "name_card.png", "xray_export.png")
ROW_HEIGHT = 300


def _fit(img: Image.Image) -> Image.Image:
    img = img.convert("RGB")
    return img.resize((max(1, img.width * ROW_HEIGHT // img.height), ROW_HEIGHT))


def main(argv: list[str]) -> int:
    src, out, dest = Path(argv[1]), Path(argv[2]), Path(argv[3])
    rows = []
    for name in NAMES:
        report = json.loads((out / "reports" / f"{name}.json").read_text("utf-8"))
        if not report.get("output"):
            continue
        with Image.open(src / name) as before, Image.open(out / report["output"]["path"]) as after:
            pair = [_fit(ImageOps.exif_transpose(before)), _fit(after)]
        rows.append((pair, report["status"]))
    width = max(p[0].width + p[1].width for p, _ in rows) + 30
    sheet = Image.new("RGB", (width, len(rows) * (ROW_HEIGHT + 34) + 10), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.truetype(LABEL_FONT, 18)
    y = 10
    for (before, after), status in rows:
        draw.text((10, y), "input", font=font, fill=(60, 60, 60))
        draw.text((20 + before.width, y), f"deid output ({status})", font=font, fill=(60, 60, 60))
        sheet.paste(before, (10, y + 24))
        sheet.paste(after, (20 + before.width, y + 24))
        y += ROW_HEIGHT + 34
    dest.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(dest, "JPEG", quality=85)
    print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
