"""Fail closed everywhere: faults in every stage, in verification, the encoder and the writer.

Each fault hits one image of a real batch (``fail_closed_stages.py``: images named
*bad*). That image must end ``failed`` with a reason, have no image output (an earlier
output of it withdrawn, no temporary file left), and every other image must keep its
complete, correct output, written before or after the fault.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

import deid
import deid.io
from deid.batch import run_batch
from deid.models import default_dir
from fail_closed_stages import FAULTS
from hostile_run import needs_privilege
from metadata_files import phi_hits

pytestmark = pytest.mark.timeout(120)

GOOD = ("a.png", "c.png")
NAMES = ("a.png", "bad.png", "c.png")


def _png(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _folder(root: Path, names: tuple[str, ...] = NAMES, **kw: object) -> Path:
    root.mkdir(parents=True)
    for n, name in enumerate(names):
        (root / name).write_bytes(_png(n, **kw))  # type: ignore[arg-type]
    return root


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


def _check_failed_alone(
    out: Path, summary: deid.batch.BatchSummary, bad: str = "bad", good: tuple[str, ...] = GOOD
) -> None:
    by_input = {i.input: i for i in summary.items}
    failed = by_input[f"{bad}.png"]
    assert failed.status == "failed" and failed.output is None and failed.reasons
    report = json.loads((out / failed.report).read_text("utf-8"))
    assert report["status"] == "failed" and report["output"] is None
    assert not phi_hits(json.dumps(report, ensure_ascii=False).encode())
    outputs = [*out.glob(f"images/{bad}.*"), *out.glob(f"needs_review/{bad}.*")]
    assert not outputs, "no image output for the failed image"
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    for name in good:
        item = by_input[name]
        assert item.status == "redacted" and item.output
        data = (out / item.output).read_bytes()
        assert np.asarray(Image.open(io.BytesIO(data)))[0, 0].tolist() == [1, 2, 3]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("workers", [1, 2])
def test_a_fault_in_a_stage_fails_that_image_only(tmp_path: Path, fault: str, workers: int) -> None:
    src = _folder(tmp_path / "in")
    out = tmp_path / "out"
    config = deid.Config(stages=("metadata", f"fail_closed_stages:{fault}"))
    # A first run without the faulty stage leaves an output for bad.png; the failing
    # run must withdraw it.
    first = run_batch(src, out, config=deid.Config(stages=("metadata",)), workers=workers)
    assert first.counts == {"clean": 3} and (out / "images" / "bad.png").is_file()
    summary = run_batch(src, out, config=config, workers=workers)
    assert summary.counts == {"redacted": 2, "failed": 1}
    _check_failed_alone(out, summary)
    item = next(i for i in summary.items if i.input == "bad.png")
    assert set(item.reasons) <= {"stage_failed", "verify_failed", "internal_error"}


def test_a_model_file_removed_mid_run_fails_the_images_after_it(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(default_dir(), models)
    src = _folder(tmp_path / "in", ("a.png", "b.png", "c.png"))
    config = deid.Config(stages=("metadata", "fail_closed_stages:model_read_each_image"))
    config = config.replace(models={"dir": str(models)})
    out = tmp_path / "out"
    seen: list[str] = []

    def progress(n: int, total: int, item: deid.batch.BatchItem) -> None:
        seen.append(item.status)
        if n == 1:
            (models / "haarcascade_frontalface_default.xml").unlink()

    summary = run_batch(src, out, config=config, workers=1, progress=progress)
    assert seen == ["redacted", "failed", "failed"]
    assert [i.reasons for i in summary.items[1:]] == [["stage_failed"], ["stage_failed"]]
    assert (out / "images" / "a.png").is_file()
    assert not (out / "images" / "b.png").exists()
    # c.png comes after the fault: not processed (in-process), or, when a second worker
    # had it already, written completely with its report.
    if (out / "images" / "c.png").exists():
        c = json.loads((out / "reports" / "c.png.json").read_text("utf-8"))
        sha = hashlib.sha256((out / "images" / "c.png").read_bytes()).hexdigest()
        assert c["output"]["sha256"] == sha


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("raises", "encode_failed"),
        ("os_error", "encode_failed"),
        ("memory_error", "encode_failed"),
        ("residue", "metadata_residue"),  # returns bytes that still carry metadata
        ("garbage", "metadata_residue"),  # returns bytes that are no image at all
    ],
)
def test_a_fault_in_the_encoder_fails_that_image_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str, code: str
) -> None:
    src = _folder(tmp_path / "in", ("a.png", "b.png", "c.png"))
    out = tmp_path / "out"
    real = deid.io.encode
    calls: list[int] = []

    def faulty(pixels: np.ndarray, **kw: object) -> bytes:
        calls.append(1)
        if len(calls) != 2:  # b.png is the second image (names are sorted)
            return real(pixels, **kw)  # type: ignore[arg-type]
        if fault == "raises":
            raise RuntimeError("libjpeg: internal error")
        if fault == "os_error":
            raise OSError(errno.EIO, "encoder I/O error")
        if fault == "memory_error":
            raise MemoryError
        if fault == "residue":
            info = PngImagePlugin.PngInfo()
            info.add_text("Author", "Wang Hsiao-Ming")
            buf = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(pixels)).save(buf, "PNG", pnginfo=info)
            return buf.getvalue()
        return b"\x89PNG\r\n\x1a\n" + b"\0" * 64

    monkeypatch.setattr(deid.io, "encode", faulty)
    # A stage that edits every image (but bad.png, absent here), so every image is encoded.
    config = deid.Config(stages=("metadata", "fail_closed_stages:raises"))
    summary = run_batch(src, out, config=config, workers=1)
    assert [(i.input, i.status, i.reasons) for i in summary.items] == [
        ("a.png", "redacted", []), ("b.png", "failed", [code]), ("c.png", "redacted", []),
    ]  # fmt: skip
    _check_failed_alone(out, summary, "b", good=("a.png", "c.png"))


def _full_disk_writes(monkeypatch: pytest.MonkeyPatch, after: int) -> None:
    """Every image write after the first ``after`` ones fails like a full disk, at fsync,
    after part of the data went to the temporary file."""
    real_fsync = os.fsync
    count = [0]

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        if f"{os.sep}images{os.sep}" in target:
            count[0] += 1
            if count[0] > after:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(deid.io.os, "fsync", fsync)


def test_a_full_disk_at_the_writer_fails_the_image_and_keeps_earlier_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _folder(tmp_path / "in", ("a.png", "b.png", "c.png"))
    out = tmp_path / "out"
    _full_disk_writes(monkeypatch, after=1)
    config = deid.Config(stages=("metadata", "fail_closed_stages:raises"))
    with pytest.raises(OSError) as err:
        run_batch(src, out, config=config, workers=1)
    assert err.value.errno == errno.ENOSPC
    _check_disk_full_outcome(out)


def _check_disk_full_outcome(out: Path) -> None:
    # a.png: complete output and report. b.png: no image, a failed report saying why.
    a = json.loads((out / "reports" / "a.png.json").read_text("utf-8"))
    assert a["status"] == "redacted"
    data = (out / "images" / "a.png").read_bytes()
    assert hashlib.sha256(data).hexdigest() == a["output"]["sha256"]
    assert not (out / "images" / "b.png").exists()
    # c.png comes after the fault: not processed (in-process), or, when a second worker
    # had it already, written completely with its report.
    if (out / "images" / "c.png").exists():
        c = json.loads((out / "reports" / "c.png.json").read_text("utf-8"))
        sha = hashlib.sha256((out / "images" / "c.png").read_bytes()).hexdigest()
        assert c["output"]["sha256"] == sha
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    b = json.loads((out / "reports" / "b.png.json").read_text("utf-8"))
    assert b["status"] == "failed" and b["output"] is None
    assert [r["code"] for r in b["reasons"]] == ["write_failed"]


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)  # fmt: skip
    return done.returncode == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_a_real_full_disk_fails_the_image_and_keeps_earlier_outputs(
    tmp_path: Path, workers: int
) -> None:
    """A 1 MB tmpfs: a.png's output (360 KB) and report fit, b.png's (1.1 MB) does not,
    its (small) failed report still does once its partial file is gone."""
    out = tmp_path / "out"
    if not _mount_tmpfs(out, "1m"):
        needs_privilege("cannot mount a tmpfs here (needs root and mount permission)")
    try:
        src = _folder(tmp_path / "in", ("a.png", "b.png", "c.png"), size=(400, 300))
        # b.png is bigger than what is left; c.png is small, so that with two workers
        # its write cannot take the room b.png's failed report needs.
        (src / "b.png").write_bytes(_png(7, size=(600, 600)))
        (src / "c.png").write_bytes(_png(8, size=(32, 24)))
        config = deid.Config(stages=("metadata", "fail_closed_stages:raises"))
        with pytest.raises(OSError) as err:
            run_batch(src, out, config=config, workers=workers)
        assert err.value.errno == errno.ENOSPC
        _check_disk_full_outcome(out)
    finally:
        subprocess.run(["umount", "-l", str(out)], check=False)
