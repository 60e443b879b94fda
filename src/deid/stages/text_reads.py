"""Which re-reads of the text stage came back clean, so that none is repeated.

The first pass re-reads the surroundings of its redactions on the masked image
until a round finds nothing; verification then re-reads the surroundings of the
same redactions on the output. When no other stage changed those pixels, that is
the same OCR on the same crops: its answer is already known, and on a 12 MP photo
it is a third of the stage's time. Anything that differs (a face blur reaching
into a region, another redaction, another kept region) makes a new key, and
verification reads again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Sequence

import numpy as np

from ..types import Box, Edit, Polygon

# Images in flight at once per stage (batch threads); older keys are dropped.
_KEPT = 16


class CleanReads:
    """Keys of re-reads that found no PHI left."""

    def __init__(self) -> None:
        self._keys: deque[bytes] = deque(maxlen=_KEPT)
        self._lock = threading.Lock()

    def remember(self, key: bytes) -> None:
        with self._lock:
            self._keys.append(key)

    def seen(self, key: bytes) -> bool:
        with self._lock:
            return key in self._keys


def read_key(
    views: Sequence[tuple[Box, np.ndarray]],
    edits: Sequence[Edit],
    keep_regions: tuple[Polygon, ...],
) -> bytes:
    """Digest of everything a re-read depends on: the pixels of every region it
    reads (``views``: each region and its pixels), the redactions (which it skips)
    and the kept (oral) regions."""
    digest = hashlib.blake2b(digest_size=32)
    for edit in edits:
        digest.update(repr(edit.box).encode())
        if edit.mask is not None:
            digest.update(np.ascontiguousarray(edit.mask).tobytes())
    for polygon in keep_regions:
        points = np.ascontiguousarray(polygon, dtype=np.float64)
        digest.update(repr(points.shape).encode() + points.tobytes())
    for region, pixels in views:
        digest.update(repr((region, pixels.shape)).encode())
        digest.update(np.ascontiguousarray(pixels).tobytes())
    return digest.digest()
