"""From pixels to PHI spans in image coordinates: propose, read, rebuild, recognise.

Shared by the stage's first pass and its verification pass, so that what
verification re-reads is judged by exactly the same rules.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..types import Box
from .candidates import Crop, find_candidates, make_crops
from .lines import TextLine, build_lines
from .lists import TextLists
from .ocr.base import OcrEngine
from .recognizers import Recognizer, find_all, merge_overlapping
from .recognizers.base import TEXT, Category, Match
from .recognizers.vocabulary import is_caption

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PlacedLine:
    """A rebuilt line and the crop it was read from."""

    line: TextLine
    crop: Crop
    box: Box  # in image pixels
    offset: tuple[int, int] = (0, 0)  # of the region the crop was cut from
    bounds: tuple[int, int] = (0, 0)  # width, height of that region

    def span_in_image(self, start: int, end: int) -> Box | None:
        """Image box of a span; a span reaching either end of the line covers the crop
        to that edge, because the line's end characters are the ones OCR most often
        drops and a truncated date or name is still PHI."""
        box = self._span_in_crop(start, end)
        if box is None:
            return None
        local = self.crop.box_to_image(box, *self.bounds)
        return _shift(local, *self.offset)

    def span_quad(self, start: int, end: int) -> tuple[tuple[float, float], ...] | None:
        """The span's corners in the image (top-left, top-right, bottom-right,
        bottom-left): a tilted line is filled along its own slant, not by the upright
        box around it, which would reach into the lines above and below."""
        box = self._span_in_crop(start, end)
        if box is None:
            return None
        pts = self.crop.quad_to_image(box)
        dx, dy = self.offset
        return tuple((float(x + dx), float(y + dy)) for x, y in pts)

    def _span_in_crop(self, start: int, end: int) -> Box | None:
        box = self.line.span_box(start, end)
        if box is None:
            return None
        crop_h, crop_w = self.crop.pixels.shape[:2]
        if not self.line.text[end:].strip():
            # ...and one line height past it: where the proposal itself stopped short
            # (the end of a caption touching photo detail), the rest is still PHI.
            box = Box(box.left, box.top, max(box.right, crop_w) + crop_h, box.bottom)
        if not self.line.text[:start].strip():
            # The same before it: a proposal that started late lost the value's first
            # characters ("35-526-278" of 0935-526-278). Text closer than that on the
            # left would have been taken into the proposal (it grows over such gaps).
            box = Box(min(box.left, 0) - crop_h, box.top, box.right, box.bottom)
        if self.crop.band is not None:
            # The line's own rows, not the crop's: a crop with room above and below
            # would otherwise reach into the neighbouring lines of a caption block.
            top, bottom = self.crop.band
            box = Box(box.left, math.floor(top), box.right, math.ceil(bottom))
        return box


@dataclass(frozen=True, eq=False)
class Hit:
    """A PHI span mapped to image pixels. ``value`` stays in memory only."""

    box: Box
    category: Category
    recognizer: str
    score: float
    ocr_confidence: float
    text_height: float
    value: str
    quad: tuple[tuple[float, float], ...] | None = None  # corners, when known


def read_lines(image: np.ndarray, engine: OcrEngine, region: Box | None = None) -> list[PlacedLine]:
    """OCR every proposed line of ``image`` (or of ``region`` of it), one engine call."""
    if region is None:
        return read_view(image, engine)
    height, width = image.shape[:2]
    region = region.clip(width, height)
    if region.empty:
        return []
    return read_view(image[region.slices()], engine, (region.left, region.top))


def read_view(
    view: np.ndarray,
    engine: OcrEngine,
    origin: tuple[int, int] = (0, 0),
    *,
    work: np.ndarray | None = None,
) -> list[PlacedLine]:
    """``read_lines`` on pixels cut from a larger image at ``origin`` (its top-left
    corner there): re-reads cut their regions from a redacted copy of only those
    regions, never of the whole frame."""
    offset_x, offset_y = origin
    candidates = find_candidates(view, work)
    if not candidates:
        return []
    crops = [crop for c in candidates for crop in make_crops(view, c)]
    words = engine.read([c.pixels for c in crops])
    placed: list[PlacedLine] = []
    for crop, crop_words in zip(crops, words, strict=True):
        for line in build_lines(crop_words):
            box = line.span_box(0, len(line.text))
            if box is None:
                continue
            local = crop.box_to_image(box, view.shape[1], view.shape[0])
            placed.append(
                PlacedLine(
                    line,
                    crop,
                    _shift(local, offset_x, offset_y),
                    (offset_x, offset_y),
                    (view.shape[1], view.shape[0]),
                )
            )
    log.debug("text: %d candidate lines, %d read", len(candidates), len(placed))
    return placed


def _shift(box: Box, dx: int, dy: int) -> Box:
    return Box(box.left + dx, box.top + dy, box.right + dx, box.bottom + dy)


def line_above(lines: list[PlacedLine], index: int) -> str:
    """Text of the nearest line just above, where a label such as 姓名 may sit.

    A line with a value beside it on its own row (a form's columns: the label at the
    left, its value far to the right, read as another proposal) gives nothing: its
    label has its value, and the line below is whatever follows (a caption).
    """
    me = lines[index].box
    best: tuple[int, int] | None = None
    for j, other in enumerate(lines):
        ob = other.box
        if j == index or ob.bottom > me.top + me.height // 3:
            continue
        gap = me.top - ob.bottom
        if gap > 1.5 * max(me.height, ob.height):
            continue
        if min(ob.right, me.right) - max(ob.left, me.left) <= 0:
            continue
        if best is None or gap < best[0]:
            best = (gap, j)
    if best is None or _value_beside(lines, best[1]):
        return ""
    return lines[best[1]].line.text


# How far to the right of a label its value may stand on the same row, in line heights.
_ROW_REACH = 14


def _value_beside(lines: list[PlacedLine], index: int) -> bool:
    """Whether another line on the same row, to the right of ``lines[index]``, reads
    as something other than caption words (a value, not "Upper 3 months")."""
    me = lines[index].box
    for j, other in enumerate(lines):
        ob = other.box
        if j == index or ob.left < me.right - me.height // 2:
            continue
        overlap = min(ob.bottom, me.bottom) - max(ob.top, me.top)
        if overlap < 0.5 * min(me.height, ob.height):
            continue
        # One row: a value's proposal grown over photo texture can be twice as tall as
        # its letters, but it stays centred on its row (a box over two rows does not).
        low = min(me.height, ob.height)
        if max(me.height, ob.height) > 2.5 * low:
            continue
        if abs((ob.top + ob.bottom) - (me.top + me.bottom)) > 0.7 * low:
            continue
        if ob.left - me.right > _ROW_REACH * me.height:
            continue
        text = other.line.text
        if sum(c.isalnum() for c in text) >= 2 and not is_caption(text):
            return True
    return False


def line_left(lines: list[PlacedLine], index: int) -> str:
    """Text of a line read just to the left on the same row (another proposal), where
    a label such as 病歷號碼 may have been cut off from its value."""
    left = left_index(lines, index)
    return "" if left is None else lines[left].line.text


def left_index(lines: list[PlacedLine], index: int) -> int | None:
    """The line read just to the left of ``lines[index]`` on the same row, if any."""
    me = lines[index].box
    best: tuple[int, int] | None = None
    for j, other in enumerate(lines):
        ob = other.box
        if j == index or ob.left >= me.left:
            continue
        overlap = min(ob.bottom, me.bottom) - max(ob.top, me.top)
        if overlap < 0.5 * min(me.height, ob.height):
            continue
        if max(me.height, ob.height) > 1.8 * min(me.height, ob.height):
            continue
        gap = me.left - ob.right
        if gap > 3 * me.height or ob.right > me.left + me.height // 2:
            continue
        if best is None or gap < best[0]:
            best = (gap, j)
    return best[1] if best else None


def find_hits(
    lines: list[PlacedLine],
    recognizers: list[Recognizer],
    lists: TextLists,
    *,
    all_text: bool,
    all_text_min_confidence: float,
    image_size: tuple[int, int],
    line_context: bool = True,
) -> list[Hit]:
    """PHI spans of every line. ``line_context`` lets a label on the line above
    (姓名, Name:) qualify a line; verification turns it off, because after
    redaction such labels stand above whatever line follows the removed value."""
    width, height = image_size
    hits: list[Hit] = []

    def matches_of(text: str, above: str, words: list[Match] | None = None) -> list[Match]:
        matches = find_all(text, above, recognizers) + (words or [])
        if not line_context:
            # Around a redaction a label stands before the fill, which OCR reads as
            # anything: there only values that are PHI by their own shape count.
            matches = [m for m in matches if m.recognizer != "labelled_value"]
        matches += lists.roster_matches(text) + lists.deny_matches(text)
        allowed = lists.allowed_spans(text)
        return [
            m
            for m in merge_overlapping(matches)
            if m.category.name in ("roster", "deny_list")
            or not any(s <= m.start and m.end <= e for s, e in allowed)
        ]

    def add(placed: PlacedLine, m: Match, start: int, end: int, value: str, conf: float) -> None:
        box = placed.span_in_image(start, end)
        if box is None or box.clip(width, height).empty:
            return
        hits.append(
            Hit(
                box=box,
                category=m.category,
                recognizer=m.recognizer,
                score=m.score,
                ocr_confidence=conf,
                text_height=placed.crop.text_height,
                value=value,
                quad=placed.span_quad(start, end),
            )
        )

    for i, placed in enumerate(lines):
        text = placed.line.text
        above = (line_left(lines, i) or line_above(lines, i)) if line_context else ""
        words = _all_words(placed.line, all_text_min_confidence) if all_text else None
        matches = matches_of(text, above, words)
        for m in matches:
            conf = placed.line.span_confidence(m.start, m.end)
            add(placed, m, m.start, m.end, m.value(text), conf)
        left = left_index(lines, i)
        if left is not None:
            for part, m, start, end, value, conf in _across(lines[left], placed, matches_of):
                add(part, m, start, end, value, conf)
    return hits


def _across(
    left: PlacedLine, right: PlacedLine, matches_of: Callable[[str, str], list[Match]]
) -> list[tuple[PlacedLine, Match, int, int, str, float]]:
    """PHI that two proposals of one row split between them (a proposal stopping in
    the middle of a name on photo texture): the two readings are joined and matched,
    and a value across the join is redacted in both lines, each part to its crop's
    edge at the join."""
    a, b = left.line.text.rstrip(), right.line.text.lstrip()
    if not a or not b:
        return []
    seps = [" "]
    # A word cut in two ("Tam" + "i Peterson", "F2647" + "37826") is joined as one
    # word: where the crops overlap, or where the right part goes on in lower case
    # or in digits.
    if (
        a[-1].isalnum()
        and b[0].isalnum()
        and (left.box.right > right.box.left or b[0].islower() or (a[-1] + b[0]).isdigit())
    ):
        seps.append("")
    found = []
    for sep in seps:
        joined = a + sep + b
        offset = len(a) + len(sep)
        for m in matches_of(joined, ""):
            if not (m.start < len(a) and m.end > offset):
                continue
            value = m.value(joined)
            conf = min(
                left.line.span_confidence(m.start, len(a)),
                right.line.span_confidence(0, m.end - offset),
            )
            found.append((left, m, m.start, len(a), value, conf))
            found.append((right, m, 0, m.end - offset, value, conf))
    return found


def _all_words(line: TextLine, min_confidence: float) -> list[Match]:
    out: list[Match] = []
    pos = 0
    for token in line.text.split(" "):
        start, end = pos, pos + len(token)
        pos = end + 1
        if (
            sum(c.isalnum() for c in token) >= 2
            and line.span_confidence(start, end) >= min_confidence
        ):
            out.append(Match(start, end, "all_text", TEXT, 0.5))
    return out
