"""Helpers for running the real CLI in a child process and reading what it left behind.

``run_cli`` runs the ``deid`` command line (through ``hostile_child``, which records the
peak RSS of the process and of its worker processes), optionally with every socket
call refused and optionally logging at DEBUG to a file (``childsite/sitecustomize.py``,
inherited by spawned workers through ``PYTHONPATH``), and optionally inside a network
namespace without interfaces (``unshare -n``). ``artifacts`` lists every file of an
output folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).parent
CHILDSITE = TESTS / "childsite"


def needs_privilege(reason: str) -> None:
    """Skip a test whose setting needs root (a mount, a network namespace) on a
    developer's machine, but fail it in CI, which runs as root: there a skip would hide
    a check the suite claims to make."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI runs as root and must run this test")
    pytest.skip(reason)


@dataclass
class CliRun:
    returncode: int
    stdout: bytes
    stderr: bytes
    peak_rss_mb: float  # the largest of the CLI process and every worker it waited for
    socket_attempts: list[str]  # every refused operation: "<pid> <event> <args> from <stack>"

    @property
    def connection_attempts(self) -> list[str]:
        """Refused operations that would reach another host: anything but creating a
        socket (connect, send, name lookups, URL requests)."""
        return [a for a in self.socket_attempts if a.split()[1] != "socket.__new__"]

    @property
    def unexplained_sockets(self) -> list[str]:
        """Sockets created other than by urllib3's import-time IPv6 probe (``requests``,
        imported by rapidocr, makes ``urllib3.util.connection`` create an AF_INET6 socket
        and bind it to ``::1`` to learn whether IPv6 exists; refused, it takes "no")."""
        probe = "urllib3/util/connection.py"
        return [a for a in self.socket_attempts
                if a.split()[1] == "socket.__new__"
                and not a.partition(" from ")[2].split(" < ")[1].startswith(probe)]  # fmt: skip


def unshare_available() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    return probe.returncode == 0


def run_cli(
    args: list[str],
    tmp: Path,
    *,
    block_network: bool = False,
    namespace: bool = False,
    debug_log: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 240,
) -> CliRun:
    rss_file = tmp / f"rss-{os.getpid()}-{len(list(tmp.glob('rss-*')))}.json"
    attempts = tmp / "socket-attempts.log"
    paths = [str(CHILDSITE), str(TESTS), *sys.path]
    child_env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(paths),
                 "DEID_RSS_FILE": str(rss_file)}  # fmt: skip
    if block_network:
        child_env["DEID_NONET_LOG"] = str(attempts)
    if debug_log is not None:
        child_env["DEID_DEBUG_LOG"] = str(debug_log)
    cmd = [sys.executable, str(TESTS / "hostile_child.py"), *args]
    if namespace:
        cmd = ["unshare", "-n", *cmd]
    proc = subprocess.run(cmd, capture_output=True, env=child_env, timeout=timeout)
    rss = json.loads(rss_file.read_text()) if rss_file.exists() else {"peak_kb": 0}
    tried = attempts.read_text("utf-8").splitlines() if attempts.exists() else []
    return CliRun(proc.returncode, proc.stdout, proc.stderr, rss["peak_kb"] / 1024, tried)


def artifacts(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones included), by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}  # fmt: skip
