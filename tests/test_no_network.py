"""No network: the whole pipeline and batch run with sockets refused, and no connection is
even attempted.

The real command line runs a batch (every stage, worker processes and in-process)
with an audit hook in every Python process (``childsite/sitecustomize.py``; spawned
workers inherit it through ``PYTHONPATH``) that records and refuses any non-local
socket, name lookup or URL request; where possible it runs inside a network namespace
without interfaces as well (``unshare -n``), which also stops native code. The inputs
include XMP with external entities pointing at the network.

One socket is created, never connected: importing ``requests`` (rapidocr imports it)
makes urllib3 probe for IPv6 by binding a socket to ``::1``. The hook refuses it too
(urllib3 then assumes no IPv6); the tests allow exactly that and nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hostile_files import xmp_external_entity
from hostile_run import needs_privilege, run_cli, unshare_available
from metadata_files import heif_everything, jpeg_everything, png_everything, webp_everything

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _inputs(src: Path) -> int:
    src.mkdir()
    files = {"a.jpg": jpeg_everything(), "b.png": png_everything(), "c.webp": webp_everything(),
             "d.heic": heif_everything(), "xxe.jpg": xmp_external_entity()}  # fmt: skip
    for name, data in files.items():
        (src / name).write_bytes(data)
    return len(files)


def test_the_block_really_blocks(tmp_path: Path) -> None:
    """The hook is in place in the child: a deliberate connection is refused and logged
    (the lookup is refused before any socket exists)."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import socket, urllib.request\n"
        "for attempt in (lambda: urllib.request.urlopen('http://192.0.2.1/', timeout=2),\n"
        "                lambda: socket.create_connection(('192.0.2.1', 80), timeout=2),\n"
        "                lambda: socket.socket().connect(('192.0.2.1', 80))):\n"
        "    try:\n        attempt()\n    except PermissionError:\n        pass\n"
        "    else:\n        raise SystemExit('not refused')\n"
    )
    import subprocess
    import sys

    from hostile_run import CHILDSITE, TESTS

    log = tmp_path / "attempts.log"
    env = {"PYTHONPATH": f"{CHILDSITE}:{TESTS}", "DEID_NONET_LOG": str(log)}
    done = subprocess.run([sys.executable, str(probe)], capture_output=True, env=env)
    assert done.returncode == 0, done.stderr
    events = [line.split()[1] for line in log.read_text().splitlines()]
    assert events == ["urllib.Request", "socket.getaddrinfo", "socket.__new__"]


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("namespace", [False, True], ids=["hook", "hook+netns"])
def test_batch_runs_without_network_and_tries_none(
    tmp_path: Path, workers: str, namespace: bool
) -> None:
    if namespace and not unshare_available():
        needs_privilege("unshare -n is not permitted here")
    src, out = tmp_path / "in", tmp_path / "out"
    count = _inputs(src)
    run = run_cli(["batch", str(src), str(out), "--workers", workers], tmp_path,
                  block_network=True, namespace=namespace)  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-3000:]
    assert run.connection_attempts == [] and run.unexplained_sockets == []
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["total"] == count and "failed" not in summary["counts"]


def test_single_image_and_inspect_run_without_network(tmp_path: Path) -> None:
    src = tmp_path / "a.jpg"
    src.write_bytes(xmp_external_entity())
    for args in (["process", str(src), str(tmp_path / "out.jpg"), "--report",
                  str(tmp_path / "r.json")], ["inspect", str(src), "--json"]):  # fmt: skip
        run = run_cli(args, tmp_path, block_network=True, namespace=unshare_available())
        assert run.returncode in (0, 1), run.stderr[-3000:]
        assert run.connection_attempts == [] and run.unexplained_sockets == []
