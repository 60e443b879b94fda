"""Batch runs over real folders: outputs, reports, summary, resume, and safety checks."""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image

import deid
from deid.batch import run_batch
from deid.cli import main
from deid.errors import ConfigError

CFG = deid.Config(stages=("metadata",))


def _jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    buf = io.BytesIO()
    exif = piexif.dump({"0th": {piexif.ImageIFD.Artist: b"Wang Hsiao-Ming"}})
    Image.fromarray(arr).save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    (src / "visit2").mkdir(parents=True)
    (src / "a.jpg").write_bytes(_jpeg(1))
    (src / "visit2" / "b.JPG").write_bytes(_jpeg(2))
    png = io.BytesIO()
    Image.new("RGB", (50, 40), (9, 9, 9)).save(png, "PNG")
    (src / "visit2" / "c.jpg").write_bytes(png.getvalue())  # wrong extension: really a PNG
    (src / "empty.jpg").write_bytes(b"")
    (src / "notes.png").write_text("not an image")
    (src / "cut.jpg").write_bytes(_jpeg(3)[:900])
    (src / "readme.txt").write_text("ignored")
    return src


def _hashes(root: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*")
            if p.is_file()}  # fmt: skip


def test_batch_writes_outputs_reports_and_summary(folder: Path, tmp_path: Path) -> None:
    before = _hashes(folder)
    out = tmp_path / "out"
    summary = run_batch(folder, out, config=CFG)
    assert summary.counts == {"redacted": 2, "clean": 1, "failed": 3}
    assert summary.exit_code == 2
    assert (out / "images" / "a.jpg").is_file()
    assert (out / "images" / "visit2" / "b.JPG").is_file()
    assert (out / "images" / "visit2" / "c.png").is_file()  # extension follows the content
    for bad in ("empty.jpg", "notes.png", "cut.jpg"):
        assert not (out / "images" / bad).exists()
        report = json.loads((out / "reports" / f"{bad}.json").read_text())
        assert report["status"] == "failed" and report["output"] is None
    data = json.loads((out / "summary.json").read_text())
    assert data["total"] == 6
    assert _hashes(folder) == before  # inputs untouched
    assert b"Wang" not in (out / "images" / "a.jpg").read_bytes()


def test_rerun_resumes_and_redoes_what_is_missing(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_batch(folder, out, config=CFG)
    (out / "images" / "a.jpg").unlink()  # as if the machine died before this output landed
    summary = run_batch(folder, out, config=CFG)
    resumed = {i.input for i in summary.items if i.resumed}
    assert resumed == {"visit2/b.JPG", "visit2/c.jpg"}
    assert (out / "images" / "a.jpg").is_file()


def test_settings_change_invalidates_resume(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_batch(folder, out, config=CFG)
    other = CFG.replace(output={"jpeg_quality": 93})
    summary = run_batch(folder, out, config=other)
    assert not any(i.resumed for i in summary.items)


@pytest.mark.parametrize("inside", [True, False])
def test_output_folder_may_not_overlap_input(folder: Path, inside: bool) -> None:
    with pytest.raises(ConfigError):
        if inside:
            run_batch(folder, folder / "out", config=CFG)
        else:
            run_batch(folder, folder, config=CFG)


def test_worker_pool_gives_the_same_outputs(folder: Path, tmp_path: Path) -> None:
    run_batch(folder, tmp_path / "one", config=CFG, workers=1)
    run_batch(folder, tmp_path / "two", config=CFG, workers=2)
    one = {p.relative_to(tmp_path / "one"): p.read_bytes()
           for p in (tmp_path / "one" / "images").rglob("*") if p.is_file()}  # fmt: skip
    two = {p.relative_to(tmp_path / "two"): p.read_bytes()
           for p in (tmp_path / "two" / "images").rglob("*") if p.is_file()}  # fmt: skip
    assert one == two and len(one) == 3

    def reports(root: Path) -> dict[str, dict]:
        found = {}
        for p in (root / "reports").rglob("*.json"):
            report = json.loads(p.read_text("utf-8"))
            del report["timings_ms"]
            found[str(p.relative_to(root))] = report
        return found

    assert reports(tmp_path / "one") == reports(tmp_path / "two")
    assert multiprocessing.active_children() == []


def test_cli_batch_exit_code_and_output(folder: Path, tmp_path: Path, capsys) -> None:
    code = main(["batch", str(folder), str(tmp_path / "out"), "--stages", "metadata"])
    assert code == 2
    printed = capsys.readouterr().out
    assert "failed=3" in printed and "Wang" not in printed


def test_phi_in_file_names_never_reaches_the_output_tree(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "王小明").mkdir(parents=True)
    (src / "王小明" / "王小明_術前.jpg").write_bytes(_jpeg(4))
    (src / "A123456789_after.jpg").write_bytes(_jpeg(5))
    config = deid.Config(stages=("metadata", "text"))
    out = tmp_path / "out"
    first = run_batch(src, out, config=config)
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert not any("王小明" in n or "A123456789" in n for n in names), names
    assert any(n.endswith("_術前.jpg") and "patient-" in n for n in names)
    for item in first.items:
        assert "王小明" not in item.input and "A123456789" not in item.input
    summary = (out / "summary.json").read_text("utf-8")
    assert "王小明" not in summary and "A123456789" not in summary
    again = run_batch(src, out, config=config)  # same names on a rerun, so it resumes
    assert all(i.resumed for i in again.items)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == names


def test_review_page_lists_every_image_without_phi(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_batch(folder, out, config=CFG)
    page = (out / "review.html").read_text("utf-8")
    for written in ("images/a.jpg", "images/visit2/b.JPG", "images/visit2/c.png"):
        assert written in page
    assert "Wang" not in page
    assert "empty.jpg" in page and 'src="empty.jpg"' not in page  # failed inputs never shown


def test_file_names_are_vetted_even_without_the_text_stage(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "王小明_術前.jpg").write_bytes(_jpeg(6))
    out = tmp_path / "out"
    assert main(["batch", str(src), str(out), "--stages", "metadata,faces"]) == 0
    written = [str(p.relative_to(out)) for p in out.rglob("*")]
    assert any("patient-" in n and n.endswith("_術前.jpg") for n in written), written
    assert not any("王小明" in n for n in written), written
    for name in ("summary.json", "review.html"):
        assert "王小明" not in (out / name).read_text("utf-8")
    for report in (out / "reports").rglob("*.json"):
        assert "王小明" not in report.read_text("utf-8")
    assert "王小明" not in capsys.readouterr().out


def test_resume_redoes_an_output_that_was_replaced(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_batch(folder, out, config=CFG)
    # The published copy is swapped for the original (metadata and all); the report
    # still describes the de-identified one, so it must not vouch for this file.
    (out / "images" / "a.jpg").write_bytes((folder / "a.jpg").read_bytes())
    summary = run_batch(folder, out, config=CFG)
    item = next(i for i in summary.items if i.input == "a.jpg")
    assert not item.resumed
    assert b"Wang" not in (out / "images" / "a.jpg").read_bytes()
    report = json.loads((out / "reports" / "a.jpg.json").read_text())
    assert report["output"]["sha256"] == hashlib.sha256(
        (out / "images" / "a.jpg").read_bytes()).hexdigest()  # fmt: skip


def test_earlier_output_is_withdrawn_when_the_image_now_fails(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_batch(folder, out, config=CFG)
    assert (out / "images" / "a.jpg").is_file()
    (folder / "a.jpg").write_bytes(_jpeg(1)[:700])  # the input was replaced by a broken file
    summary = run_batch(folder, out, config=CFG)
    item = next(i for i in summary.items if i.input == "a.jpg")
    assert item.status == "failed" and item.output is None
    assert not (out / "images" / "a.jpg").exists()  # nothing left to publish under its name


def test_outputs_of_same_stem_never_overwrite_each_other(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name, shade in (("x.png", 10), ("x.jpg", 200)):  # x.jpg really holds a PNG
        buf = io.BytesIO()
        Image.new("RGB", (30, 20), (shade, shade, shade)).save(buf, "PNG")
        (src / name).write_bytes(buf.getvalue())
    out = tmp_path / "out"
    summary = run_batch(src, out, config=CFG)
    outputs = [i.output for i in summary.items]
    assert len(set(outputs)) == 2 and None not in outputs, outputs
    for item in summary.items:
        report = json.loads((out / item.report).read_text())
        written = (out / str(item.output)).read_bytes()
        assert report["output"]["sha256"] == hashlib.sha256(written).hexdigest()


def test_earlier_output_is_withdrawn_even_if_its_report_was_lost(
    folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_batch(folder, out, config=CFG)
    (out / "reports" / "a.jpg.json").unlink()  # a crash between image and report
    (folder / "a.jpg").write_bytes(_jpeg(1)[:700])
    run_batch(folder, out, config=CFG)
    assert not (out / "images" / "a.jpg").exists()
    assert json.loads((out / "reports" / "a.jpg.json").read_text())["status"] == "failed"


def test_outputs_of_removed_inputs_are_withdrawn(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_batch(folder, out, config=CFG)
    assert (out / "images" / "a.jpg").is_file()
    (folder / "a.jpg").unlink()  # consent withdrawn: the photo is deleted from the input
    (out / "images" / ".stray.jpg.part").write_bytes(b"partial")  # left by a crash
    summary = run_batch(folder, out, config=CFG)
    assert summary.withdrawn == 1  # the image; the temporary file was no image
    assert not (out / "images" / "a.jpg").exists()
    assert not (out / "reports" / "a.jpg.json").exists()
    assert not (out / "images" / ".stray.jpg.part").exists()
    assert (out / "images" / "visit2" / "b.JPG").is_file()
    assert json.loads((out / "summary.json").read_text())["withdrawn"] == 1
