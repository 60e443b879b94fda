"""Loaded by every Python process started with this folder on ``PYTHONPATH``: the CLI
under test and each worker process the batch spawns (they inherit the environment).

``$DEID_NONET_LOG`` set: every network operation is refused. An audit hook sees each
socket created, connected, bound, resolved or sent from, and each ``urllib`` request;
local ``AF_UNIX`` sockets (multiprocessing's pipes) are allowed, anything else is
written to that file (one line per attempt, with the process id) and refused with
``PermissionError``.

``$DEID_DEBUG_LOG`` set: every logger logs at DEBUG to that file, as an administrator
chasing a problem would run it (``PIL`` at INFO, as the README asks: Pillow itself
logs EXIF values at DEBUG).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import traceback
from pathlib import Path

_NONET = os.environ.get("DEID_NONET_LOG", "")
_DEBUG = os.environ.get("DEID_DEBUG_LOG", "")
_EVENTS = frozenset({"socket.__new__", "socket.connect", "socket.bind", "socket.sendto",
                     "socket.sendmsg", "socket.getaddrinfo", "socket.gethostbyname",
                     "socket.gethostbyaddr", "socket.getnameinfo", "urllib.Request"})  # fmt: skip


def _local(event: str, args: tuple[object, ...]) -> bool:
    if event == "socket.__new__":
        return len(args) > 1 and args[1] == socket.AF_UNIX
    if event in ("socket.connect", "socket.bind"):
        return getattr(args[0], "family", None) == socket.AF_UNIX
    return False


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event not in _EVENTS or _local(event, args):
        return
    caller = " < ".join(f"{'/'.join(Path(f.filename).parts[-3:])}:{f.lineno}"
                        for f in reversed(traceback.extract_stack(limit=8)[:-1]))  # fmt: skip
    with open(_NONET, "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()} {event} {args[1:3]!r} from {caller}\n")
    raise PermissionError(f"network access blocked in this test ({event})")


if _NONET:
    sys.addaudithook(_hook)

if _DEBUG:
    _handler = logging.FileHandler(_DEBUG, encoding="utf-8")
    _handler.setFormatter(logging.Formatter(
        "%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))  # fmt: skip
    logging.basicConfig(level=logging.DEBUG, handlers=[_handler])
    logging.getLogger("PIL").setLevel(logging.INFO)
