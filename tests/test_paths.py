"""Paths: a batch writes inside OUT_DIR only, and reads inside IN_DIR unless asked.

Real folders with symbolic links (out of the tree, into it, looping), names that
differ only by case, hostile reports planted in OUT_DIR that name ``..`` and absolute
paths, and output folders placed inside the input folder directly or through a link.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import deid
from deid.batch import iter_inputs, run_batch
from deid.cli import EXIT_UNUSABLE, main
from deid.errors import ConfigError

CFG = deid.Config(stages=("metadata",))


def _png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}  # fmt: skip


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """in/ with a link to a file outside, a link to a folder outside, a link to a file
    inside, a link looping back to in/ itself; outside/ holds a 'secret' image."""
    src, outside = tmp_path / "in", tmp_path / "outside"
    (src / "visit").mkdir(parents=True)
    outside.mkdir()
    (src / "a.png").write_bytes(_png(1))
    (src / "visit" / "b.png").write_bytes(_png(2))
    (outside / "secret.png").write_bytes(_png(3))
    (outside / "more").mkdir()
    (outside / "more" / "c.png").write_bytes(_png(4))
    (src / "leak.png").symlink_to(outside / "secret.png")
    (src / "elsewhere").symlink_to(outside / "more", target_is_directory=True)
    (src / "visit" / "alias.png").symlink_to(src / "a.png")
    (src / "visit" / "loop").symlink_to(src, target_is_directory=True)
    return src


def test_links_leading_out_of_the_input_folder_are_not_followed(tree: Path, tmp_path: Path) -> None:
    assert list(iter_inputs(tree)) == ["a.png", "visit/alias.png", "visit/b.png"]
    outside_before = _snapshot(tmp_path / "outside")
    out = tmp_path / "out"
    summary = run_batch(tree, out, config=CFG)
    assert sorted(i.input for i in summary.items) == ["a.png", "visit/alias.png", "visit/b.png"]
    assert not list(out.rglob("secret*")) and not list(out.rglob("c.png"))
    assert _snapshot(tmp_path / "outside") == outside_before


def test_links_are_followed_when_asked_and_loops_walked_once(tree: Path, tmp_path: Path) -> None:
    found = list(iter_inputs(tree, follow_symlinks=True))
    assert found == ["a.png", "elsewhere/c.png", "leak.png", "visit/alias.png", "visit/b.png"]
    out = tmp_path / "out"
    code = main(["batch", str(tree), str(out), "--stages", "metadata", "--follow-symlinks",
                 "--quiet"])  # fmt: skip
    assert code == 0
    assert (out / "images" / "leak.png").is_file()
    assert (out / "images" / "elsewhere" / "c.png").is_file()


def test_every_write_lands_inside_the_output_folder(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    before = {p: _snapshot(p) for p in (tmp_path / "outside", tree)}
    run_batch(tree, out, config=CFG, workers=2)
    for folder, snap in before.items():
        assert _snapshot(folder) == snap
    everything = {p.resolve() for p in tmp_path.rglob("*") if p.is_file()}
    written = {p for p in everything if not p.is_relative_to((tmp_path / "outside").resolve())
               and not p.is_relative_to(tree.resolve())}  # fmt: skip
    assert all(p.is_relative_to(out.resolve()) for p in written)


def test_names_differing_only_by_case_never_share_an_output(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "Visit").mkdir(parents=True)
    (src / "visit").mkdir()
    names = ["A.png", "a.png", "a.PNG", "Visit/x.png", "visit/x.png", "visit/X.png"]
    for n, name in enumerate(names):
        (src / name).write_bytes(_png(n))
    summary = run_batch(src, tmp_path / "out", config=CFG)
    outputs = [i.output for i in summary.items]
    assert len(outputs) == len(names) and all(outputs)
    lowered = [o.lower() for o in outputs if o]
    assert len(set(lowered)) == len(lowered), outputs
    reports = [i.report.lower() for i in summary.items]
    assert len(set(reports)) == len(reports)


@pytest.mark.parametrize("planted", ["../../escaped.png", "/tmp/escaped.png",
                                     "images/../../escaped.png", "reports/a.png.json"])  # fmt: skip
def test_a_planted_report_cannot_point_resume_outside(tmp_path: Path, planted: str) -> None:
    """A report naming an output outside images/ or needs_review/ is not trusted: the
    image is redone and nothing outside OUT_DIR is read as its output or removed."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.png").write_bytes(_png(1))
    out = tmp_path / "out"
    run_batch(src, out, config=CFG)
    victim = (tmp_path / "escaped.png") if not planted.startswith("/") else Path(planted)
    victim.write_bytes(_png(1))
    report_path = out / "reports" / "a.png.json"
    report = json.loads(report_path.read_text("utf-8"))
    report["output"]["path"] = planted
    report["output"]["sha256"] = hashlib.sha256(victim.read_bytes()).hexdigest()
    report_path.write_text(json.dumps(report), "utf-8")
    try:
        summary = run_batch(src, out, config=CFG)
        assert [i.resumed for i in summary.items] == [False]
        assert summary.items[0].output == "images/a.png"
        assert victim.is_file()
    finally:
        if planted.startswith("/"):
            victim.unlink(missing_ok=True)


@pytest.mark.parametrize("how", ["inside", "same", "link_inside", "parent"])
def test_output_folder_inside_the_input_folder_is_refused(tmp_path: Path, how: str) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.png").write_bytes(_png(1))
    out = {"inside": src / "out", "same": src, "link_inside": tmp_path / "link",
           "parent": tmp_path}[how]  # fmt: skip
    if how == "link_inside":
        (src / "real_out").mkdir()
        out.symlink_to(src / "real_out", target_is_directory=True)
    before = _snapshot(src)
    with pytest.raises(ConfigError):
        run_batch(src, out, config=CFG)
    assert main(["batch", str(src), str(out), "--stages", "metadata", "--overwrite"]) == (
        EXIT_UNUSABLE
    )
    assert _snapshot(src) == before
    assert not (src / "images").exists() and not (src / "real_out" / "images").exists()


def test_dot_dot_in_the_arguments_is_resolved_before_checking(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.png").write_bytes(_png(1))
    sneaky = src / "sub" / ".." / "out"  # really in/out
    with pytest.raises(ConfigError):
        run_batch(src / "sub" / "..", sneaky, config=CFG)
    os.chdir(tmp_path)
    ok = run_batch(Path("in") / "sub" / "..", Path("in") / ".." / "out", config=CFG)
    assert [i.output for i in ok.items] == ["images/a.png"]
    assert (tmp_path / "out" / "images" / "a.png").is_file()
