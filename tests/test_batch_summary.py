"""A batch's summary files, file selection, output format and the output-folder lock,
checked on real photos (faces from scikit-image, PHI captions drawn with real fonts)."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import shutil
from pathlib import Path

import piexif
import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data

import deid
from deid.batch import run_batch
from deid.errors import ConfigError
from deid.models import load_manifest
from deid.selection import Selection

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
PHI = ("王小明", "A123456789", "0912-345-678")


def _save(image: Image.Image, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    exif = piexif.dump({"0th": {piexif.ImageIFD.Artist: b"Dr Chen"}})
    image.save(buf, fmt, **({"exif": exif, "quality": 92} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _captioned_face() -> bytes:
    """The astronaut with a caption block of PHI lines under her, as clinics label photos."""
    face = Image.fromarray(data.astronaut())
    canvas = Image.new("RGB", (512, 680), (250, 250, 250))
    canvas.paste(face, (0, 0))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(CJK_FONT, 34)
    draw.text((20, 530), f"{PHI[0]}  {PHI[1]}", fill=(0, 0, 0), font=font)
    draw.text((20, 590), f"Tel {PHI[2]}", fill=(0, 0, 0), font=font)
    return _save(canvas)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("photos") / "in"
    src.mkdir()
    (src / "caption.jpg").write_bytes(_captioned_face())
    (src / "portrait.jpg").write_bytes(_save(Image.fromarray(data.astronaut())))
    (src / "broken.jpg").write_bytes(_save(Image.fromarray(data.astronaut()))[:800])
    return src


@pytest.fixture(scope="module")
def full_run(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("full") / "out"
    run_batch(photos, out, config=deid.Config(), workers=1)
    return out


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "summary.csv", encoding="utf-8", newline="") as fh:
        return {row["input"]: row for row in csv.DictReader(fh)}


def test_summary_csv_has_one_row_per_image_with_counts_and_timings(full_run: Path) -> None:
    rows = _rows(full_run)
    assert set(rows) == {"caption.jpg", "portrait.jpg", "broken.jpg"}
    caption, portrait, broken = rows["caption.jpg"], rows["portrait.jpg"], rows["broken.jpg"]
    for row in (caption, portrait):
        assert row["status"] in ("redacted", "needs_review")
        assert (full_run / row["output"]).is_file()
        faces = sum(int(v) for k, v in row.items() if k.startswith("faces_"))
        assert faces >= 1
        for stage in ("decode", "faces", "text", "encode", "total"):
            assert float(row[f"ms_{stage}"]) > 0, stage
    text = {k: int(v) for k, v in caption.items() if k.startswith("text_") and int(v)}
    assert sum(text.values()) >= 2, caption  # the name, the ID and the phone
    assert not any(int(v) for k, v in portrait.items() if k.startswith("text_"))
    assert broken["status"] == "failed" and broken["output"] == "" and broken["reasons"]
    assert not any(k.startswith("faces_") and int(v) for k, v in broken.items() if v)
    written = (full_run / "summary.csv").read_text("utf-8")
    assert not any(value in written for value in PHI)


def test_summary_json_records_version_settings_models_and_rate(full_run: Path) -> None:
    summary = json.loads((full_run / "summary.json").read_text("utf-8"))
    record = summary["batch"]
    assert record["deid_version"] == deid.__version__
    assert record["config_digest"] == deid.Config().digest()
    manifest = load_manifest()
    assert record["models"]["face_landmark"] == manifest["face_landmark"].sha256
    assert record["counts"] == summary["counts"] and record["total"] == 3
    assert record["processed"] == 3 and record["resumed"] == 0 and record["workers"] == 1
    assert record["wall_s"] > 0 and record["images_per_s"] == pytest.approx(
        3 / record["wall_s"], rel=0.01
    )
    assert not summary["interrupted"] and summary["pending"] == 0
    text = json.dumps(summary, ensure_ascii=False)
    assert not any(value in text for value in PHI)


def test_resumed_images_keep_their_numbers_in_the_table(
    photos: Path, full_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(full_run, out)  # the same outputs, in a folder of its own
    summary = run_batch(photos, out, config=deid.Config(), workers=1)
    assert summary.record is not None and summary.record.resumed == 2  # broken.jpg redone
    before, after = _rows(full_run), _rows(out)
    assert after["caption.jpg"]["resumed"] == "1"
    for key, value in before["caption.jpg"].items():
        if key.startswith(("faces_", "text_", "ms_")):
            assert after["caption.jpg"][key] == value, key


@pytest.mark.parametrize(
    ("include", "exclude", "taken"),
    [
        ((), (), {"a.jpg", "b.png", "sub/c.JPG", "sub/skip/d.jpg"}),
        (("*.jpg",), (), {"a.jpg", "sub/c.JPG", "sub/skip/d.jpg"}),
        (("*.jpg",), ("sub/skip/**",), {"a.jpg", "sub/c.JPG"}),
        (("sub/*",), (), {"sub/c.JPG"}),
        (("**/*.png", "sub/**"), ("*.JPG",), {"b.png"}),  # case ignored: d.jpg excluded
    ],
)
def test_include_and_exclude_globs_pick_the_images(
    tmp_path: Path, include: tuple[str, ...], exclude: tuple[str, ...], taken: set[str]
) -> None:
    src = tmp_path / "in"
    (src / "sub" / "skip").mkdir(parents=True)
    small = Image.fromarray(data.astronaut()).resize((64, 64))
    for rel in ("a.jpg", "sub/c.JPG", "sub/skip/d.jpg"):
        (src / rel).write_bytes(_save(small))
    (src / "b.png").write_bytes(_save(small, "PNG"))
    config = deid.Config(stages=("metadata",)).replace(
        batch={"include": list(include), "exclude": list(exclude)}
    )
    summary = run_batch(src, tmp_path / "out", config=config)
    assert {i.input for i in summary.items} == taken
    written = {p.relative_to(tmp_path / "out" / "images").as_posix()
               for p in (tmp_path / "out" / "images").rglob("*") if p.is_file()}  # fmt: skip
    assert written == taken
    selected = Selection.from_globs(include, exclude)
    assert {r for r in ("a.jpg", "b.png", "sub/c.JPG", "sub/skip/d.jpg") if selected(r)} == taken


@pytest.mark.parametrize(
    ("fmt", "pil", "suffix"), [("png", "PNG", ".png"), ("jpeg", "JPEG", ".jpg")]
)
def test_output_format_setting_writes_every_image_in_that_format(
    tmp_path: Path, fmt: str, pil: str, suffix: str
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    photo = Image.fromarray(data.astronaut()).resize((128, 128))
    (src / "a.jpg").write_bytes(_save(photo))
    (src / "b.png").write_bytes(_save(photo, "PNG"))
    config = deid.Config(stages=("metadata",)).replace(output={"format": fmt})
    out = tmp_path / "out"
    summary = run_batch(src, out, config=config)
    assert sum(summary.counts.values()) == 2 and not summary.counts.get("failed")
    for item in summary.items:
        assert item.output is not None and item.output.endswith(suffix), item.output
        with Image.open(out / item.output) as written:
            assert written.format == pil
            assert "exif" not in written.info
        report = json.loads((out / item.report).read_text("utf-8"))
        assert report["output"]["format"] == pil
    default = run_batch(src, tmp_path / "same", config=deid.Config(stages=("metadata",)))
    assert sorted(str(i.output) for i in default.items) == ["images/a.jpg", "images/b.png"]


def test_second_batch_on_the_same_output_folder_is_refused(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "a.jpg").write_bytes(_save(Image.fromarray(data.astronaut()).resize((64, 64))))
    out.mkdir()
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running batch holds it
        with pytest.raises(ConfigError, match="another deid batch"):
            run_batch(src, out, config=deid.Config(stages=("metadata",)))
        assert not (out / "images").exists()
    finally:
        os.close(fd)
    assert run_batch(src, out, config=deid.Config(stages=("metadata",))).counts == {"redacted": 1}


def test_workers_and_their_thread_share_change_no_output(
    photos: Path, full_run: Path, tmp_path: Path
) -> None:
    # Two worker processes give each worker its share of the cores for the face
    # stage's threads; outputs and reports (timings aside) stay those of one process.
    out = tmp_path / "two"
    summary = run_batch(photos, out, config=deid.Config(), workers=2)
    assert summary.record is not None and summary.record.workers == 2
    for item in summary.items:
        if item.output:
            assert (out / item.output).read_bytes() == (full_run / item.output).read_bytes()
        mine = json.loads((out / item.report).read_text("utf-8"))
        theirs = json.loads((full_run / item.report).read_text("utf-8"))
        del mine["timings_ms"], theirs["timings_ms"]
        assert mine == theirs, item.report
