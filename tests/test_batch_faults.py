"""A batch never hangs: faults injected into real worker processes, each run with a bound.

Every test runs a real batch over a few small images with faulty plugin stages from
``batch_faults.py`` and checks that it ends within a bound, with the right status per
image, valid reports, nothing written for failed images, no temporary files and no
child process left behind.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import deid
from deid.batch import run_batch
from deid.cli import EXIT_FAILED, EXIT_UNUSABLE, main
from deid.errors import ModelError, WorkerStartError
from deid.models import default_dir
from deid.report import validate

pytestmark = pytest.mark.timeout(90)

FAULTS_DIR = "DEID_FAULTS_DIR"
NAMES = ("a.jpg", "b.jpg", "crash.jpg", "slow.jpg", "d.jpg")


def _jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(
        buf, "JPEG", quality=90, comment=b"patient note"
    )
    return buf.getvalue()


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    for n, name in enumerate(NAMES):
        (src / name).write_bytes(_jpeg(n))
    return src


@pytest.fixture()
def faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where fault stages leave their process ids; spawned workers inherit the variable."""
    folder = tmp_path / "faults"
    folder.mkdir()
    monkeypatch.setenv(FAULTS_DIR, str(folder))
    return folder


def _config(fault: str, **batch: float) -> deid.Config:
    return deid.Config(stages=("metadata", f"batch_faults:{fault}")).replace(batch=batch)


def _children() -> set[int]:
    """Live (not zombie) child processes of this process, from /proc; multiprocessing's
    resource tracker (one per parent, started with the first spawned process, ends
    with the parent) is not a worker and not counted."""
    me, found = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _alive(int(entry.name)):
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == me and b"resource_tracker" not in command:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _check_outputs(out: Path, expect: dict[str, str], summary: bool = True) -> dict[str, dict]:
    """Statuses as expected, reports valid, outputs only for written images, no temp files."""
    reports = {}
    for name, status in expect.items():
        report = json.loads((out / "reports" / f"{name}.json").read_text("utf-8"))
        assert validate(report) == [], name
        assert report["status"] == status, (name, report["reasons"])
        written = (out / "images" / name).exists()
        assert written == (status != "failed"), name
        reports[name] = report
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    if summary:
        counts = json.loads((out / "summary.json").read_text("utf-8"))["counts"]
        assert sum(counts.values()) == len(expect)
    return reports


def _reason(report: dict) -> dict:
    (reason,) = report["reasons"]
    return reason


def _nothing_written(out: Path) -> None:
    """Only the output folder's name key may exist: no image, report or summary."""
    written = [p.name for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert written in ([], [".name-key"]), written


# -- worker start-up ---------------------------------------------------------------------


def test_initialiser_that_raises_ends_the_batch_at_once(folder: Path, tmp_path: Path) -> None:
    before, out = _children(), tmp_path / "out"
    started = time.monotonic()
    with pytest.raises(WorkerStartError) as err:
        run_batch(folder, out, config=_config("broken_runtime"), workers=2)
    assert time.monotonic() - started < 20
    message = str(err.value)
    assert message.startswith("worker failed to start: RuntimeError: libonnxruntime")
    assert "make setup" in message and "\n" not in message
    _nothing_written(out)
    assert _children() <= before


@pytest.mark.parametrize("workers", [[], ["--workers", "1"]], ids=["default", "in-process"])
def test_cli_start_failure_is_one_line_and_exit_3(
    folder: Path, tmp_path: Path, capsys, workers: list[str]
) -> None:
    before, out = _children(), tmp_path / "out"
    started = time.monotonic()
    # No --workers: the default runs one isolated worker process; 1 runs in-process.
    code = main(
        [
            "batch",
            str(folder),
            str(out),
            "--stages",
            "metadata,batch_faults:broken_runtime",
            *workers,
        ]
    )
    assert time.monotonic() - started < 20
    err = capsys.readouterr().err
    assert code == EXIT_UNUSABLE
    assert err.startswith("deid: error: worker failed to start: RuntimeError: libonnxruntime")
    assert err.count("\n") == 1 and "Traceback" not in err
    _nothing_written(out)
    assert _children() <= before


@pytest.mark.parametrize(
    ("fault", "batch", "cause"),
    [
        ("exit_on_start", {}, "ended during start-up (exit code 3)"),
        ("slow_start", {"start_timeout_s": 3.0}, "did not finish loading within 3 s"),
    ],
)
def test_worker_that_dies_or_stalls_before_ready_ends_the_batch(
    folder: Path, tmp_path: Path, fault: str, batch: dict, cause: str
) -> None:
    before, out = _children(), tmp_path / "out"
    started = time.monotonic()
    with pytest.raises(WorkerStartError, match=re.escape(cause)):
        run_batch(folder, out, config=_config(fault, **batch), workers=2)
    assert time.monotonic() - started < 25
    _nothing_written(out)
    assert _children() <= before


def _models_copy(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    shutil.copytree(default_dir(), models)
    return models


def test_missing_model_is_found_before_any_worker_starts(
    folder: Path, tmp_path: Path, capsys
) -> None:
    models = _models_copy(tmp_path)
    (models / "face_landmark.tflite").unlink()
    cfg = tmp_path / "deid.toml"
    cfg.write_text(f'[models]\ndir = "{models}"\n')
    before, out = _children(), tmp_path / "out"
    code = main(["batch", str(folder), str(out), "--config", str(cfg), "--workers", "2",
                 "--stages", "metadata,faces"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == EXIT_UNUSABLE
    assert err.startswith("deid: error: model face_landmark is missing from")
    assert "deid models fetch" in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (out / "images").exists() and _children() <= before


def test_corrupt_model_loaded_in_the_worker_is_one_line_and_exit_3(
    folder: Path, tmp_path: Path, capsys
) -> None:
    models = _models_copy(tmp_path)
    with open(models / "face_landmark.tflite", "r+b") as fh:
        fh.seek(1000)
        fh.write(b"corrupt")
    cfg = tmp_path / "deid.toml"
    cfg.write_text(f'[models]\ndir = "{models}"\n')
    with pytest.raises(ModelError):  # in-process: the same check, the same error
        run_batch(folder, tmp_path / "one", config=deid.Config.from_toml(cfg).replace(
            stages=["metadata", "batch_faults:needs_landmark_model"]))  # fmt: skip
    before, out = _children(), tmp_path / "out"
    started = time.monotonic()
    code = main(["batch", str(folder), str(out), "--config", str(cfg), "--workers", "2",
                 "--stages", "metadata,batch_faults:needs_landmark_model"])  # fmt: skip
    assert time.monotonic() - started < 20
    err = capsys.readouterr().err
    assert code == EXIT_UNUSABLE
    assert err.startswith("deid: error: worker failed to start: ModelError: model face_landmark")
    assert "does not match its pinned sha256" in err and "deid models fetch" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    _nothing_written(out)
    assert _children() <= before


# -- faults during an image --------------------------------------------------------------

EXPECT_CRASH = {"a.jpg": "redacted", "b.jpg": "redacted", "crash.jpg": "failed",
                "slow.jpg": "redacted", "d.jpg": "redacted"}  # fmt: skip


@pytest.mark.parametrize(("fault", "how"), [("crash", "exit code 9"), ("segfault", "SIGSEGV")])
def test_worker_dying_mid_image_fails_that_image_and_the_batch_goes_on(
    folder: Path, tmp_path: Path, fault: str, how: str
) -> None:
    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    (out / "images" / "crash.jpg").write_bytes(b"an earlier output")  # must be withdrawn
    before = _children()
    started = time.monotonic()
    summary = run_batch(folder, out, config=_config(fault), workers=2)
    assert time.monotonic() - started < 30
    reports = _check_outputs(out, EXPECT_CRASH)
    reason = _reason(reports["crash.jpg"])
    assert reason["code"] == "worker_crashed" and how in reason["message"]
    assert summary.exit_code == 2 and summary.counts == {"redacted": 4, "failed": 1}
    assert _children() <= before


def test_worker_killed_mid_image_fails_that_image(
    folder: Path, tmp_path: Path, faults: Path
) -> None:
    def killer() -> None:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            for pid_file in faults.glob("*.pid"):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    before, out = _children(), tmp_path / "out"
    started = time.monotonic()
    run_batch(folder, out, config=_config("hang", image_timeout_s=60), workers=2)
    assert time.monotonic() - started < 30
    thread.join(5)
    expect = {**EXPECT_CRASH, "crash.jpg": "redacted", "slow.jpg": "failed"}
    reason = _reason(_check_outputs(out, expect)["slow.jpg"])
    assert reason["code"] == "worker_crashed" and "SIGKILL" in reason["message"]
    assert _children() <= before


@pytest.mark.parametrize("workers", [2, 1])
def test_image_over_the_time_limit_fails_with_timeout(
    folder: Path, tmp_path: Path, faults: Path, workers: int
) -> None:
    before, out = _children(), tmp_path / "out"
    started = time.monotonic()
    summary = run_batch(folder, out, config=_config("hang", image_timeout_s=2), workers=workers)
    assert time.monotonic() - started < 30
    expect = {**EXPECT_CRASH, "crash.jpg": "redacted", "slow.jpg": "failed"}
    reports = _check_outputs(out, expect)
    reason = _reason(reports["slow.jpg"])
    assert reason["code"] == "timeout" and "2 s" in reason["message"]
    assert summary.counts == {"redacted": 4, "failed": 1}
    if workers == 2:  # the stuck worker was killed, not left running
        (pid_file,) = faults.glob("*.pid")
        assert not _alive(int(pid_file.stem))
    assert _children() <= before


def test_cli_timeout_option_and_exit_code(folder: Path, tmp_path: Path, faults: Path) -> None:
    out = tmp_path / "out"
    code = main(["batch", str(folder), str(out), "--timeout", "2", "--quiet",
                 "--stages", "metadata,batch_faults:hang"])  # fmt: skip
    assert code == EXIT_FAILED
    report = json.loads((out / "reports" / "slow.jpg.json").read_text("utf-8"))
    assert _reason(report)["code"] == "timeout"
    # The limit changes no output, so it is not part of the settings digest: a rerun
    # with another limit resumes instead of redoing every image.
    again = run_batch(folder, out, config=_config("hang", image_timeout_s=1))
    assert sum(i.resumed for i in again.items) == 4


def test_restarts_that_keep_failing_end_the_batch_with_complete_pairs_only(
    folder: Path, tmp_path: Path, faults: Path
) -> None:
    before, out = _children(), tmp_path / "out"
    started = time.monotonic()
    with pytest.raises(WorkerStartError, match=r"ended during start-up \(exit code 4\)"):
        # One supervised worker (the command line's default), so work is still waiting
        # when the crash.jpg kills it and restarts are needed.
        run_batch(folder, out, config=_config("fails_on_restart"), workers=1, in_process=False)
    assert time.monotonic() - started < 30
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    # What was done before the stop is complete (image and report), the image that
    # crashed has its failed report, and nothing else was written.
    _check_outputs(out, {"a.jpg": "redacted", "b.jpg": "redacted", "crash.jpg": "failed"},
                   summary=False)  # fmt: skip
    assert sorted(p.name for p in (out / "reports").iterdir()) == [
        "a.jpg.json", "b.jpg.json", "crash.jpg.json"]  # fmt: skip
    assert _children() <= before


def _cli_process(
    folder: Path, out: Path, faults: Path, *extra: str, stuck: int = 1
) -> tuple[subprocess.Popen, list[int]]:
    """``deid batch`` in its own process, once ``stuck`` workers hang in a *slow* image:
    (cli, stuck worker pids)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deid.cli", "batch", str(folder), str(out), "--workers", "2",
         "--stages", "metadata,batch_faults:hang", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 40
    while len(list(faults.glob("*.pid"))) < stuck and time.monotonic() < deadline:
        time.sleep(0.05)
    pid_files = list(faults.glob("*.pid"))
    if len(pid_files) != stuck:
        proc.kill()
        pytest.fail(f"no worker reached slow.jpg: {proc.communicate()[1]}")
    return proc, [int(p.stem) for p in pid_files]


def _gone(pid: int, within: float) -> bool:
    end = time.monotonic() + within
    while _alive(pid) and time.monotonic() < end:
        time.sleep(0.1)
    return not _alive(pid)


def test_killed_batch_process_takes_its_workers_with_it(
    folder: Path, tmp_path: Path, faults: Path
) -> None:
    proc, (worker,) = _cli_process(folder, tmp_path / "out", faults)
    proc.kill()  # no chance to clean up: the worker must still not outlive it
    proc.communicate(timeout=20)
    assert _gone(worker, 10)


def test_second_ctrl_c_stops_at_once(folder: Path, tmp_path: Path, faults: Path) -> None:
    out = tmp_path / "out"
    proc, (worker,) = _cli_process(folder, out, faults)
    try:
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)  # waits for slow.jpg, which never ends...
        time.sleep(1.0)
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)  # ...so the second one stops it now
        _, err = proc.communicate(timeout=20)
        assert time.monotonic() - started < 15
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert "interrupted" in err and "rerun" in err
    assert _gone(worker, 5)
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    assert not (out / "images" / "slow.jpg").exists()
    assert not (out / "reports" / "slow.jpg.json").exists()  # a rerun redoes it


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_finishes_images_in_progress_writes_the_summary_and_exits(
    folder: Path, tmp_path: Path, faults: Path, signum: int, code: int
) -> None:
    # Both workers stuck in a slow image, four more images waiting behind them.
    (folder / "slow.jpg").rename(folder / "slow1.jpg")
    (folder / "slow2.jpg").write_bytes(_jpeg(7))
    for n in range(4):
        (folder / f"t{n}.jpg").write_bytes(_jpeg(10 + n))
    out = tmp_path / "out"
    proc, workers = _cli_process(folder, out, faults, "--timeout", "4", stuck=2)
    try:
        started = time.monotonic()
        proc.send_signal(signum)
        stdout, err = proc.communicate(timeout=30)
        assert time.monotonic() - started < 20
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err and "stopping after the images in progress" in err
    assert "4 image(s) not started" in stdout
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["interrupted"] is True and summary["pending"] == 4
    assert summary["batch"]["interrupted"] is True
    # The images in progress were finished (here: failed on their time limit), not
    # dropped; nothing was started after the signal.
    done = {"a.jpg": "redacted", "b.jpg": "redacted", "crash.jpg": "redacted",
            "d.jpg": "redacted", "slow1.jpg": "failed", "slow2.jpg": "failed"}  # fmt: skip
    _check_outputs(out, done, summary=False)
    assert sorted(p.name for p in (out / "reports").iterdir()) == sorted(f"{n}.json" for n in done)
    assert all(_gone(pid, 5) for pid in workers)
    # The rerun does the rest (the slow images fail again on their limit).
    again = run_batch(folder, out, config=_config("hang", image_timeout_s=2), workers=2)
    assert not again.interrupted and again.pending == 0
    assert {i.input for i in again.items if i.resumed} == {n for n, s in done.items()
                                                          if s != "failed"}  # fmt: skip
    assert (out / "images" / "t3.jpg").is_file()


def test_error_writing_outputs_in_a_worker_stops_the_batch_as_in_process(
    tmp_path: Path,
) -> None:
    src = tmp_path / "in"
    (src / "visit").mkdir(parents=True)
    for n in range(3):
        (src / "visit" / f"p{n}.jpg").write_bytes(_jpeg(n))
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        (out / "images").mkdir(parents=True)
        (out / "images" / "visit").write_text("a file where a folder should be")
        before = _children()
        started = time.monotonic()
        with pytest.raises(OSError):
            run_batch(src, out, config=deid.Config(stages=("metadata",)), workers=workers)
        assert time.monotonic() - started < 20
        assert _children() <= before


def test_signal_in_process_finishes_the_image_then_stops(
    folder: Path, tmp_path: Path, faults: Path
) -> None:
    (folder / "slow.jpg").rename(folder / "slow1.jpg")
    for n in range(3):
        (folder / f"t{n}.jpg").write_bytes(_jpeg(10 + n))
    out = tmp_path / "out"
    proc, _ = _cli_process(folder, out, faults, "--workers", "1", "--timeout", "3")
    try:
        proc.send_signal(signal.SIGINT)
        stdout, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err, err
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["interrupted"] and summary["pending"] == 3 and "3 image(s) not started" in stdout
    assert summary["batch"]["workers"] == 1
    report = json.loads((out / "reports" / "slow1.jpg.json").read_text("utf-8"))
    assert _reason(report)["code"] == "timeout"  # finished on its limit, not dropped
    assert not (out / "reports" / "t0.jpg.json").exists()
