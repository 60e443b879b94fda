"""Text stage: redact burned-in PHI, keep harmless captions, re-read to verify.

Decisions live here (thresholds, the oral region, fill or blur, what the report
says); finding text and PHI lives in ``deid.text``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

import cv2
import numpy as np

from .. import redact
from ..config import TextConfig
from ..text.candidates import WORK_SIDE
from ..text.detect import Hit, PlacedLine, find_hits, read_view
from ..text.finding import TextFinding
from ..text.lists import TextLists, load_lists
from ..text.masking import mask
from ..text.ocr import OcrEngine, build_engine
from ..text.recognizers import all_recognizers
from ..types import Box, Edit, Polygon, Reason, StageResult
from .base import Context
from .text_reads import CleanReads, read_key

log = logging.getLogger(__name__)

# Rounds of re-reading around what the first pass found (each finds what the last
# one uncovered); verification is one more such round on the output.
_REREADS = 2
# Lines tilted at least this much are filled along their slant.
_SLANT_DEGREES = 3.0


class TextStage:
    name = "text"

    def __init__(self, config: TextConfig, engine: OcrEngine | None = None) -> None:
        self.config = config
        self.engine = engine or build_engine(config.engine)
        # Lists are read once: a missing roster is a configuration error raised here,
        # before any image is processed (never a silent run without it).
        self.lists: TextLists = load_lists(
            config.allow, config.allow_list, config.deny_list, config.roster
        )
        self.recognizers = all_recognizers()
        self._lock = threading.Lock()
        self._clean_reads = CleanReads()

    # -- first pass --------------------------------------------------------------------

    def run(self, image: np.ndarray, context: Context) -> StageResult:
        cfg = self.config
        if not cfg.enabled:
            return StageResult()
        # The proposals' reduced frame comes from the shared pyramid (the face stage
        # reads the same levels) when this is the frame the pyramid was made from.
        work = context.pyramid.fit(WORK_SIDE)[0] if image is context.pyramid.full else None
        hits = _tighten(self._hits(image.shape, image, work=work))
        findings: list[TextFinding] = []
        edits: list[Edit] = []
        for hit in _dedupe(hits):
            in_oral = _touches(hit.box, context.keep_regions)
            if self._should_redact(hit, in_oral):
                edits.append(self._edit(hit, image.shape))
                action = "redacted"
            elif in_oral and hit.score >= 0.5:
                action = "kept_in_oral_region"
            else:
                continue
            findings.append(_finding(hit, action, in_oral))
        # Caption blocks are read once more around what was found, with it masked:
        # a line the proposals or the OCR got wrong in the crowd of a block is often
        # read right once its neighbours are gone. This is what verification does on
        # the output, so the first pass finds what verification would.
        # (With redact = "all_text" every word is redacted already.)
        for _ in range(_REREADS if cfg.redact == "phi" else 0):
            if not edits:
                break
            # Only the surroundings of the redactions are read: they alone are masked.
            views = _masked_views(image, edits)
            new_edits, new_findings = self._reread(views, image.shape, context, edits, "redacted")
            if not new_edits:
                self._clean_reads.remember(read_key(views, edits, context.keep_regions))
                break
            edits += new_edits
            findings += new_findings
        log.debug("text: %d findings, %d edits", len(findings), len(edits))
        # Roster entries read in the image, for the consent gate (in memory only: the
        # pipeline never copies them into a report).
        read = tuple(dict.fromkeys(h.value for h in hits if h.category.name == "roster"))
        return StageResult(
            findings=tuple(findings),
            edits=tuple(edits),
            extra={"ocr": self._version(), "roster_read": read},
        )

    def _reread(
        self,
        views: list[tuple[Box, np.ndarray]],
        shape: tuple[int, ...],
        context: Context,
        edits: list[Edit],
        action: str,
    ) -> tuple[list[Edit], list[TextFinding]]:
        """Read the surroundings of ``edits`` (``views``: each region and its pixels);
        PHI found outside them."""
        covered = [e.box for e in edits]
        new_edits: list[Edit] = []
        new_findings: list[TextFinding] = []
        for region, pixels in views:
            for hit in _dedupe(self._hits(shape, pixels, region)):
                if _covered_fraction(hit.box, covered) >= 0.9:
                    continue
                in_oral = _touches(hit.box, context.keep_regions)
                if not self._should_redact(hit, in_oral):
                    continue
                edit = self._edit(hit, shape)
                new_edits.append(edit)
                covered.append(edit.box)
                new_findings.append(_finding(hit, action, in_oral))
        return new_edits, new_findings

    def _hits(
        self,
        shape: tuple[int, ...],
        pixels: np.ndarray,
        region: Box | None = None,
        work: np.ndarray | None = None,
    ) -> list[Hit]:
        """First pass (``pixels`` is the whole image) or a re-read (``pixels`` are
        those of ``region`` of an image of ``shape``; no cross-line labels)."""
        origin = (0, 0) if region is None else (region.left, region.top)
        lines: list[PlacedLine] = []
        if pixels.size:
            # One engine call at a time per stage: the engine may hold a model.
            with self._lock:
                lines = read_view(pixels, self.engine, origin, work=work)
        return find_hits(
            lines,
            self.recognizers,
            self.lists,
            all_text=self.config.redact == "all_text",
            all_text_min_confidence=self.config.all_text_min_ocr_confidence,
            image_size=(shape[1], shape[0]),
            line_context=region is None,
        )

    def _should_redact(self, hit: Hit, in_oral: bool) -> bool:
        cfg = self.config
        if in_oral:
            return (
                hit.score >= cfg.keep_region_min_score
                and hit.ocr_confidence >= cfg.keep_region_min_ocr_confidence
            )
        if hit.score < 0.7 and hit.ocr_confidence < cfg.weak_match_min_ocr_confidence:
            return False
        return hit.score >= cfg.min_score

    def _edit(self, hit: Hit, shape: tuple[int, ...]) -> Edit:
        # The hit spans its line's own rows (not its crop's), so the margin can be the
        # same on every side without reaching into the neighbouring lines of a block.
        pad = max(self.config.padding_px, round(self.config.padding * hit.text_height))
        box = hit.box.pad(pad).clip(shape[1], shape[0])
        mask = _slanted_mask(hit.quad, pad, box)
        if self.config.fill == "blur":
            return Edit(box, method="blur", mask=mask, size=max(8, round(hit.text_height)))
        return Edit(box, method="fill", mask=mask, color=(0, 0, 0))

    def close(self) -> None:
        close = getattr(self.engine, "close", None)
        if callable(close):
            close()

    def _version(self) -> str:
        try:
            return self.engine.version()
        except Exception:  # the version is informative only
            return self.engine.name

    # -- verification -------------------------------------------------------------------

    def verify(self, image: np.ndarray, context: Context, result: StageResult) -> StageResult:
        """Re-read around every redaction; PHI still readable is redacted and escalated."""
        if not self.config.enabled or not self.config.verify or not result.edits:
            return StageResult()
        edits = list(result.edits)
        regions = _surroundings([e.box for e in edits], image.shape)
        views = [(r, image[r.slices()]) for r in regions]
        if self._clean_reads.seen(read_key(views, edits, context.keep_regions)):
            # The first pass's last re-read saw these very pixels around these very
            # redactions and found nothing: reading them again cannot differ.
            return StageResult()
        new_edits, new_findings = self._reread(
            views, image.shape, context, edits, "redacted_on_verify"
        )
        if not new_edits:
            return StageResult()
        where = ", ".join(
            f"x={e.box.left} y={e.box.top} {e.box.width}x{e.box.height}" for e in new_edits[:5]
        )
        reason = Reason(
            "text_phi_after_redaction",
            f"{len(new_edits)} PHI text region(s) were still readable after redaction "
            f"(at {where}); they were redacted too, please check the image there",
            self.name,
        )
        return StageResult(
            findings=tuple(result.findings) + tuple(new_findings),
            edits=tuple(new_edits),
            review=(reason,),
        )


def _finding(hit: Hit, action: str, in_oral: bool) -> TextFinding:
    return TextFinding(
        box=hit.box,
        category=hit.category.name,
        recognizer=hit.recognizer,
        confidence=hit.score,
        ocr_confidence=hit.ocr_confidence,
        masked=mask(hit.value, hit.category.name),
        action=action,
        hipaa=hit.category.hipaa,
        pdpa=hit.category.pdpa,
        in_oral_region=in_oral,
    )


def _slanted_mask(
    quad: tuple[tuple[float, float], ...] | None, pad: int, box: Box
) -> np.ndarray | None:
    """For a tilted line, a mask of its own slanted rectangle (grown by the margin)
    inside the upright ``box``; None for upright lines, which the box fits."""
    # Below a few degrees the upright box costs little, and a proposal's angle may be
    # off by as much: a slanted fill would then uncover the top of one end.
    if quad is None or box.empty or not _slanted(quad):
        return None
    tl, tr, br, bl = (np.asarray(p, dtype=np.float64) for p in quad)
    along, down = tr - tl, bl - tl
    if np.linalg.norm(along) < 1 or np.linalg.norm(down) < 1:
        return None
    u, v = along / np.linalg.norm(along), down / np.linalg.norm(down)
    grown = np.array(
        [tl - pad * u - pad * v, tr + pad * u - pad * v,
         br + pad * u + pad * v, bl - pad * u + pad * v]
    )  # fmt: skip
    local = np.round(grown - (box.left, box.top)).astype(np.int32)
    mask = np.zeros((box.height, box.width), dtype=np.uint8)
    cv2.fillConvexPoly(mask, local, 1)
    if not mask.any():
        return None
    return mask.astype(np.float32)


def _tighten(hits: list[Hit]) -> list[Hit]:
    """A value read both from a crop spanning two lines and from its own line's crop
    takes its own line's rows: the tall box would cover the neighbouring lines."""
    out = []
    for hit in hits:
        b = hit.box
        key = _alnum(hit.value)
        best: Box | None = None
        for other in hits:
            o = other.box
            if other is hit or o.height >= 0.7 * b.height or o.empty:
                continue
            if not (b.top <= (o.top + o.bottom) / 2 <= b.bottom):
                continue
            if min(b.right, o.right) - max(b.left, o.left) < 0.5 * o.width:
                continue
            small = _alnum(other.value)
            if len(small) < 2 or not (small in key or key in small):
                continue
            if best is None or o.height < best.height:
                best = o
        if best is not None:
            b = Box(min(b.left, best.left), best.top, max(b.right, best.right), best.bottom)
            hit = replace(hit, box=b, text_height=min(hit.text_height, best.height), quad=None)
        out.append(hit)
    return out


def _alnum(text: str) -> str:
    return "".join(c for c in text if c.isalnum()).upper()


def _slanted(quad: tuple[tuple[float, float], ...] | None) -> bool:
    if quad is None:
        return False
    (x0, y0), (x1, y1) = quad[0], quad[1]
    return abs(np.degrees(np.arctan2(y1 - y0, x1 - x0))) >= _SLANT_DEGREES


def _dedupe(hits: list[Hit]) -> list[Hit]:
    """The same text read from two overlapping crops is one finding (best score kept),
    over the width of both readings: one of them may have lost the value's end."""
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: -h.score):
        for i, k in enumerate(kept):
            if hit.box.iou(k.box) > 0.5 or _covered_fraction(hit.box, [k.box]) > 0.9:
                if _slanted(k.quad) or _slanted(hit.quad):
                    break  # an upright union would reach into the lines around it
                a, b = k.box, hit.box
                rows = a if a.height <= b.height else b
                box = Box(min(a.left, b.left), rows.top, max(a.right, b.right), rows.bottom)
                if box != a:
                    kept[i] = replace(k, box=box, quad=k.quad if box.width == a.width else None)
                break
        else:
            kept.append(hit)
    return kept


def _covered_fraction(box: Box, covers: list[Box]) -> float:
    if box.area == 0:
        return 1.0
    mask_ = np.zeros((box.height, box.width), dtype=bool)
    for c in covers:
        inter = c.intersection(box)
        if inter.empty:
            continue
        mask_[
            inter.top - box.top : inter.bottom - box.top,
            inter.left - box.left : inter.right - box.left,
        ] = True
    return float(mask_.mean())


def _touches(box: Box, polygons: tuple[Polygon, ...]) -> bool:
    """Whether the box overlaps any kept (oral) polygon."""
    if box.empty:
        return False
    for poly in polygons:
        pts = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
        if len(pts) < 3:
            continue
        local = np.round(pts - (box.left, box.top)).astype(np.int32)
        canvas = np.zeros((box.height, box.width), dtype=np.uint8)
        cv2.fillPoly(canvas, [local], 1)
        if canvas.any():
            return True
    return False


def _masked_views(image: np.ndarray, edits: list[Edit]) -> list[tuple[Box, np.ndarray]]:
    """The surroundings of ``edits`` and their pixels with ``edits`` applied."""
    regions = _surroundings([e.box for e in edits], image.shape)
    return [(r, redact.apply_within(image, edits, r)) for r in regions]


def _surroundings(boxes: list[Box], shape: tuple[int, ...]) -> list[Box]:
    """Each redaction widened to where the rest of its line and neighbours sit, merged."""
    height, width = shape[0], shape[1]
    grown = [
        Box(
            b.left - 4 * b.height,
            b.top - 2 * b.height,
            b.right + 4 * b.height,
            b.bottom + 2 * b.height,
        ).clip(width, height)
        for b in boxes
    ]
    merged: list[Box] = []
    for box in sorted(grown, key=lambda b: (b.top, b.left)):
        for i, m in enumerate(merged):
            if not m.intersection(box).empty:
                merged[i] = Box(
                    min(m.left, box.left), min(m.top, box.top),
                    max(m.right, box.right), max(m.bottom, box.bottom),
                )  # fmt: skip
                break
        else:
            merged.append(box)
    return merged
