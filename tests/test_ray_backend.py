"""The Ray backend on a local Ray instance: the local pool's outputs, faults, resume.

One Ray instance (2 CPUs, loopback only) is started for the whole file, because Ray
takes seconds to start; its workers get this folder on ``PYTHONPATH`` (for the fault
stages) and ``DEID_FAULTS_DIR`` from the environment it is started with. Every batch
is real: photos with faces and burned-in PHI text from ``benchmarks/photo_sets.py``,
the full pipeline, outputs and reports compared byte for byte with the local pool's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import deid
from deid.batch import BatchSummary, run_batch
from deid.errors import WorkerStartError
from deid.report import validate

ray = pytest.importorskip("ray")
from deid.ray_backend import start_local  # noqa: E402

pytestmark = pytest.mark.timeout(240)  # the machine may be shared: bounds, not speed

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS.parent / "benchmarks"))
from photo_sets import make_set  # noqa: E402

FAULTS_DIR = "DEID_FAULTS_DIR"
KINDS = ("caption", "portrait", "group")


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The local Ray instance, started with the environment its workers need; yields
    the folder where fault stages leave their marks."""
    folder = tmp_path_factory.mktemp("faults")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(FAULTS_DIR, str(folder))
        env.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), *sys.path]))
        start_local(2)
    try:
        yield folder
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small photos of three kinds and one more named with PHI in a subfolder."""
    src = tmp_path_factory.mktemp("photos")
    paths = make_set(src, 3, 0.5, kinds=KINDS)
    (src / "visit").mkdir()
    (src / "visit" / "陳怡君_A123456789.jpg").write_bytes(paths[0].read_bytes())
    return src


def _ray_batch(src: Path, out: Path, config: deid.Config | None = None) -> BatchSummary:
    """``run_batch`` on the Ray backend (the local instance above)."""
    return run_batch(src, out, config=config, workers=2, backend="ray")


def _files(root: Path) -> dict[str, Any]:
    """Every output and report under ``root`` (reports without their timings), and the
    summary's items; the rest of the summary and the review page hold timings too."""
    found: dict[str, Any] = {}
    for folder in ("images", "needs_review", "reports"):
        for path in sorted((root / folder).rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.suffix == ".json":
                data = json.loads(path.read_text("utf-8"))
                data.pop("timings_ms", None)
                found[rel] = data
            elif path.is_file():
                found[rel] = path.read_bytes()
    summary = json.loads((root / "summary.json").read_text("utf-8"))
    items = [{k: v for k, v in item.items() if k != "resumed"} for item in summary["items"]]
    found["summary.json"] = {"counts": summary["counts"], "items": items}
    return found


def test_ray_gives_the_local_pools_outputs_and_resumes_across_backends(
    faults: Path, photos: Path, tmp_path: Path
) -> None:
    local, remote = tmp_path / "local", tmp_path / "ray"
    # One name key for both output folders: the same PHI-free names, comparable trees.
    config = deid.Config().replace(text={"filename_key": "k" * 64})
    expected = run_batch(photos, local, config=config, workers=2)
    summary = _ray_batch(photos, remote, config)
    assert expected.counts == summary.counts == {"redacted": 4}
    assert [vars(i) for i in summary.items] == [vars(i) for i in expected.items]
    local_files = _files(local)
    assert _files(remote).keys() == local_files.keys()
    for rel, content in _files(remote).items():
        assert content == local_files[rel], rel
    reports = [json.loads(p.read_text("utf-8")) for p in (remote / "reports").rglob("*.json")]
    assert len(reports) == 4 and all(validate(r) == [] for r in reports)
    assert sum(len(r["faces"]) for r in reports) >= 3
    assert {t["category"] for r in reports for t in r["text"]} >= {"name", "national_id"}
    assert not any("A123456789" in str(k) or "陳怡君" in str(k) for k in local_files)
    assert (remote / "review.html").is_file()
    record = json.loads((remote / "summary.json").read_text("utf-8"))["batch"]
    assert (record["backend"], record["workers"], record["processed"]) == ("ray", 2, 4)

    # Resume across backends: the local pool resumes what Ray wrote and the other way
    # round, where only the image whose report was lost is redone.
    again = run_batch(photos, remote, config=config, workers=2)
    assert all(i.resumed for i in again.items) and len(again.items) == 4
    lost = expected.items[0]
    (local / lost.report).unlink()
    again = _ray_batch(photos, local, config)
    assert [i.report for i in again.items if not i.resumed] == [lost.report]
    assert _files(local) == local_files


def _fault_inputs(root: Path) -> Path:
    src = root / "in"
    src.mkdir()
    for name, photo in zip(
        ("a", "crash", "slow", "d"), make_set(root / "set", 4, 0.1), strict=True
    ):
        (src / f"{name}.jpg").write_bytes(photo.read_bytes())
    return src


def test_killed_or_stuck_ray_worker_fails_only_its_image(faults: Path, tmp_path: Path) -> None:
    src, out = _fault_inputs(tmp_path), tmp_path / "out"
    config = deid.Config(stages=("metadata", "ray_faults:kill", "batch_faults:hang")).replace(
        batch={"image_timeout_s": 4}
    )
    started = time.monotonic()
    summary = _ray_batch(src, out, config)
    assert time.monotonic() - started < 90
    reports = {p.name: json.loads(p.read_text("utf-8")) for p in (out / "reports").iterdir()}
    assert {name: r["status"] for name, r in reports.items()} == {
        "a.jpg.json": "redacted", "crash.jpg.json": "failed",
        "slow.jpg.json": "failed", "d.jpg.json": "redacted",
    }  # fmt: skip
    assert all(validate(r) == [] for r in reports.values())
    (crashed,) = reports["crash.jpg.json"]["reasons"]
    assert crashed["code"] == "worker_crashed" and "Ray worker died" in crashed["message"]
    (stuck,) = reports["slow.jpg.json"]["reasons"]
    assert stuck["code"] == "timeout" and "4 s" in stuck["message"]
    assert sorted(p.name for p in (out / "images").iterdir()) == ["a.jpg", "d.jpg"]
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    assert summary.exit_code == 2
    # Workers run with the thread settings of the machine, not Ray's cap of one.
    threads = {p.read_text() for p in faults.glob("threads-*")}
    assert threads == {os.environ.get("OMP_NUM_THREADS", "unset")}
    # A worker that died on an image is not given it again: it would die again.
    assert len(list(faults.glob("attempt-*"))) == 1
    # The stuck worker was killed, not left running beside the next batches.
    (hung,) = faults.glob("*.pid")
    deadline = time.monotonic() + 10
    while Path(f"/proc/{hung.stem}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{hung.stem}").exists()


def test_start_failure_is_one_line_and_the_instance_is_loopback_only(
    faults: Path, tmp_path: Path
) -> None:
    src, out = _fault_inputs(tmp_path), tmp_path / "out"
    config = deid.Config(stages=("metadata", "batch_faults:broken_runtime"))
    started = time.monotonic()
    with pytest.raises(WorkerStartError) as err:
        _ray_batch(src, out, config)
    assert time.monotonic() - started < 30
    message = str(err.value)
    assert message.startswith("worker failed to start: RuntimeError: libonnxruntime")
    assert "\n" not in message and "make setup" in message
    assert [p.name for p in out.rglob("*") if p.is_file()] == [".name-key"]
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}


def test_error_writing_outputs_on_a_ray_worker_stops_the_batch_as_locally(
    faults: Path, tmp_path: Path
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "visit").mkdir(parents=True)
    for n, photo in enumerate(make_set(tmp_path / "set", 2, 0.1)):
        (src / "visit" / f"p{n}.jpg").write_bytes(photo.read_bytes())
    (out / "images").mkdir(parents=True)
    (out / "images" / "visit").write_text("a file where a folder should be")
    with pytest.raises(NotADirectoryError):
        _ray_batch(src, out, deid.Config(stages=("metadata",)))
    assert not (out / "summary.json").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]


def _cli(tmp_path: Path, *args: str, block_ray: bool = False) -> subprocess.CompletedProcess:
    """``deid batch --backend ray`` in a fresh process (this one is connected to Ray)."""
    src = tmp_path / "in"
    src.mkdir()
    make_set(src, 1, 0.1)
    block = "sys.modules['ray'] = None; " if block_ray else ""
    script = f"import sys; {block}from deid.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", script, "batch", str(src), str(tmp_path / "out"),
               "--stages", "metadata", "--backend", "ray", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=90)


def test_cli_without_ray_names_the_extra(tmp_path: Path) -> None:
    done = _cli(tmp_path, block_ray=True)
    assert done.returncode == 3
    assert done.stderr.startswith("deid: error: the Ray backend needs Ray")
    assert done.stderr.endswith("pip install 'deid[ray]'\n") and done.stderr.count("\n") == 1


def test_cli_unreachable_cluster_is_one_line_within_seconds(tmp_path: Path) -> None:
    started = time.monotonic()
    done = _cli(tmp_path, "--ray-address", "127.0.0.1:9")
    assert time.monotonic() - started < 60
    assert done.returncode == 3
    assert done.stderr.startswith(
        "deid: error: could not connect to the Ray cluster at 127.0.0.1:9"
    )
    assert done.stderr.count("\n") == 1
