"""Batch workers cap glibc's malloc arenas (``deid.memory.limit_malloc_arenas``): each
arena keeps what its thread freed, so a worker whose threads each handle a 12 MP
image's buffers holds several arenas' worth of free memory at its peak.

Counted from glibc's own ``malloc_info`` in a fresh interpreter whose threads allocate
at the same time, with and without the cap."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_PROBE = textwrap.dedent(
    """
    import ctypes, sys, tempfile, threading
    from deid.memory import limit_malloc_arenas
    if sys.argv[1] == "capped":
        assert limit_malloc_arenas(2)
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    start = threading.Barrier(8)
    def work():
        start.wait()
        held = [libc.malloc(4096) for _ in range(20000)]  # ctypes calls drop the GIL
        for p in held:
            libc.free(p)
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        fp = libc.fopen(f.name.encode(), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        print(open(f.name).read().count("<heap nr="))
    """
)


def _heaps(mode: str) -> int:
    run = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True,
                         text=True, timeout=120, check=True)  # fmt: skip
    return int(run.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc arenas")
def test_a_capped_process_uses_at_most_two_arenas_where_threads_would_make_more() -> None:
    assert max(_heaps("free") for _ in range(3)) > 2  # the premise: contention makes arenas
    assert max(_heaps("capped") for _ in range(3)) <= 2


def test_batch_workers_cap_their_arenas(monkeypatch: pytest.MonkeyPatch) -> None:
    from deid import batch

    calls: list[int] = []
    monkeypatch.setattr(batch, "limit_malloc_arenas", lambda n=2: calls.append(n) or True)
    monkeypatch.setattr(batch, "Pipeline", lambda *a, **k: "pipeline")
    assert batch._worker_pipeline({}, None, None) == "pipeline"
    assert calls == [2]
