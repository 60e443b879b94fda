"""Give a worker's freed heap back to the system after each image.

glibc's malloc keeps the memory an image freed for the next allocations, in one arena
per thread that allocated (the main thread, the face tiles' threads, OpenCV's pool).
A chunk still in use near the top of an arena (a model runtime's buffer, a cached
list) pins everything freed below it, so a worker's resident set creeps up with the
images it has seen, image after image, although nothing is leaked. ``malloc_trim(0)``
returns every whole free page of every arena to the system (``madvise``), so a worker
starts each image from about the same footprint, whatever came before: peak RSS then
depends on the largest image, not on how many the batch holds.

The cost is the next image faulting those pages in again: measured in one process on
the 2-core machine (4 photos of 1 MP per group, groups with and without it alternating),
4 % more CPU time per photo, for a resident set between images of 327 MiB instead of
382 MiB; the call itself takes a few milliseconds. Elsewhere than glibc (musl, macOS)
there is no such call and nothing is done.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim  # type: ignore[no-any-return]


def release_freed_memory() -> bool:
    """Return freed heap pages to the system; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


# mallopt's parameter number for the arena cap (glibc malloc.h: M_ARENA_MAX).
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap the number of glibc malloc arenas of this process (False where the C library
    has no such setting).

    glibc gives every thread that meets contention an arena of its own, up to eight per
    core, and an arena keeps what its thread freed for that thread alone: with the OCR
    crops, the face tiles and OpenCV's pool each allocating a 12 MP image's buffers on
    their own threads, a worker's peak resident set holds several arenas' worth of free
    memory at once. Two arenas took the 12 MP peak of one worker from 633-636 MiB to
    560-596 MiB in one process on the 2-core machine. Called in processes deid owns (batch
    and Ray workers), before their pipeline starts its threads; a library user's process
    is left as it is."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, max(1, int(arenas))))


__all__ = ["limit_malloc_arenas", "release_freed_memory"]
