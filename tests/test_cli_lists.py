"""Roster and allow list from the command line, on a rendered card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from deid.cli import main

CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def _card(path: Path) -> Path:
    img = Image.new("RGB", (900, 260), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(CJK, 48)
    draw.text((40, 40), "主治 陳大文醫師", font=font, fill=(0, 0, 0))
    draw.text((40, 150), "Case Zyxwv Qorp", font=font, fill=(0, 0, 0))
    img.save(path)
    return path


def _run(tmp_path: Path, tag: str, *flags: str) -> tuple[dict, np.ndarray]:
    card = _card(tmp_path / "card.png")
    out, report = tmp_path / f"{tag}.png", tmp_path / f"{tag}.json"
    code = main(["process", str(card), str(out), "--report", str(report),
                 "--stages", "metadata,text", *flags])  # fmt: skip
    assert code == 0
    return json.loads(report.read_text("utf-8")), np.asarray(Image.open(out).convert("L"))


def _ink(pixels: np.ndarray, rows: slice) -> float:
    return float((pixels[rows] < 128).mean())


def test_allow_list_keeps_the_doctor_and_roster_catches_the_patient(tmp_path: Path) -> None:
    plain, plain_px = _run(tmp_path, "plain")
    allow = tmp_path / "allow.txt"
    allow.write_text("陳大文\n", encoding="utf-8")
    roster = tmp_path / "patients.csv"
    roster.write_text("name,chart\nZyxwv Qorp,0012345\n", encoding="utf-8")
    listed, listed_px = _run(tmp_path, "listed", "--allow-list", str(allow), "--roster",
                             str(roster))  # fmt: skip

    doctor_row, patient_row = slice(40, 105), slice(150, 230)
    assert "name" in {t["category"] for t in plain["text"]}  # a surname-led name by default
    card = np.asarray(Image.open(tmp_path / "card.png").convert("L"))
    name_cols = slice(240, 420)
    assert _ink(plain_px[:, name_cols], doctor_row) > _ink(card[:, name_cols], doctor_row) + 0.2
    assert "roster" in {t["category"] for t in listed["text"]}
    assert not any(t["category"] == "name" and t["masked"].startswith("陳")
                   for t in listed["text"])  # fmt: skip
    # the allowed doctor's name is still ink on paper; the roster patient is filled
    assert np.array_equal(listed_px[doctor_row], card[doctor_row])
    assert _ink(listed_px, patient_row) > _ink(card, patient_row) + 0.2
    assert "Zyxwv" not in json.dumps(listed, ensure_ascii=False)
