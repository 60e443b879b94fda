"""Before/after composites aligned on the mouth, for publishing a treatment result.

Both photos go through the same :class:`~deid.pipeline.Pipeline` (same settings,
same models). The mouth of each de-identified side is located from the face stage's
own finding, the kept oral region (the outer lip contour grown by a margin, never
reaching above the nose): its two mouth corners give the scale and the rotation, their
midpoint the translation. Each side is then warped by that similarity transform into
a panel of the chosen aspect ratio with the mouth at the same place and the same
width, the panels are placed side by side or stacked, optional labels and a clinic
watermark (both must be on the allow list) are drawn, and the composite is encoded
with nothing but its pixels and inventoried for metadata like every pipeline output.

Nothing is written when either side failed or needs review, or when a side has no
kept oral region to align on: the result says why and carries no bytes.

    import deid
    result = deid.compose("before.jpg", "after.jpg", aspect="4:5", labels=("術前", "術後"))
    if result.ok:
        result.save("composite.jpg")
    result.report.to_json()
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import io
from ._version import __version__
from .config import Config
from .errors import DeidError
from .pipeline import Pipeline, Result, _Failed, _refuse_residue
from .report import SCHEMA_VERSION, schema_problems
from .report import validate as validate_image_report
from .text.lists import normalise, read_list
from .types import Reason

Aspect = Literal["1:1", "4:5", "16:9"]
Arrangement = Literal["side", "stacked"]
ASPECTS: dict[str, tuple[int, int]] = {"1:1": (1, 1), "4:5": (4, 5), "16:9": (16, 9)}
SIDES = ("before", "after")

#: Mouth width (corner to corner of the kept region) as a share of the panel width.
MOUTH_FRACTION = 0.42
#: Height of the mouth centre in the panel, as a share of the panel height.
MOUTH_HEIGHT = 0.5
#: Panel width when none is asked for: the smaller side's own resolution, within these.
MIN_PANEL, MAX_PANEL = 240, 1080
GAP = 8  # px of background between the panels
BACKGROUND = (255, 255, 255)
FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


@dataclass(frozen=True)
class Mouth:
    """Where a kept mouth is in a de-identified image (pixels of that image)."""

    center: tuple[float, float]
    width: float  # corner to corner of the kept region
    angle: float  # radians, from the image x axis to the corner-to-corner line

    @classmethod
    def from_polygon(cls, polygon: Sequence[Sequence[float]]) -> Mouth:
        """Mouth corners are the two vertices farthest apart (the region is the outer
        lip contour grown outward, so they sit at the lip corners): they give the width
        and the angle (folded so the first corner is the left one). The centre is the
        middle of the region along and across the corner line, so an open smile, whose
        lips hang below its corners, is centred like closed lips."""
        pts = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        if len(pts) < 3:
            raise ValueError("an oral region needs at least three vertices")
        d = np.linalg.norm(pts[:, None, :] - pts[None, :, :], axis=2)
        i, j = np.unravel_index(int(np.argmax(d)), d.shape)
        a, b = (pts[i], pts[j]) if pts[i][0] <= pts[j][0] else (pts[j], pts[i])
        angle = math.atan2(float(b[1] - a[1]), float(b[0] - a[0]))
        along = np.array([math.cos(angle), math.sin(angle)])
        across = np.array([-along[1], along[0]])
        u, v = pts @ along, pts @ across
        center = (u.max() + u.min()) / 2 * along + (v.max() + v.min()) / 2 * across
        return cls(
            center=(float(center[0]), float(center[1])),
            width=float(np.linalg.norm(b - a)),
            angle=angle,
        )


def mouth_of(report_faces: Sequence[dict[str, Any]]) -> Mouth | None:
    """The mouth of the largest face that kept its oral region, or None."""
    kept = [f for f in report_faces if f.get("oral_region") and
            f.get("action") == "obscured_except_oral"]  # fmt: skip
    if not kept:
        return None
    face = max(kept, key=lambda f: (f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1]))
    return Mouth.from_polygon(face["oral_region"])


@dataclass(frozen=True)
class Layout:
    """How the composite looks. ``labels`` and ``watermark`` must be on the allow list."""

    aspect: Aspect = "4:5"
    arrangement: Arrangement = "side"
    labels: tuple[str, str] | None = ("Before", "After")
    watermark: str | None = None
    panel_width: int | None = None  # px; default from the sources' resolution

    def __post_init__(self) -> None:
        if self.aspect not in ASPECTS:
            raise DeidError(f"aspect must be one of {', '.join(ASPECTS)}", code="bad_layout")
        if self.arrangement not in ("side", "stacked"):
            raise DeidError("arrangement must be side or stacked", code="bad_layout")
        if self.labels is not None and len(self.labels) != 2:
            raise DeidError("labels are two strings: before and after", code="bad_layout")
        if self.panel_width is not None and not 64 <= self.panel_width <= 4000:
            raise DeidError("panel width must be 64 to 4000 px", code="bad_layout")


@dataclass
class CompositeReport:
    """The report of one composite: both sources' full reports, the alignment, the
    layout and the output. PHI-free like the image reports it contains."""

    status: Literal["redacted", "needs_review", "failed"]
    sources: dict[str, dict[str, Any]]
    layout: dict[str, Any]
    reasons: list[Reason] = field(default_factory=list)
    alignment: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] | None = None
    config_digest: str = ""
    summary: str = ""
    deid_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "kind": "composite",
            "deid_version": self.deid_version,
            "config_digest": self.config_digest,
            "status": self.status,
            "reasons": [r.to_dict() for r in self.reasons],
            "summary": self.summary,
            "layout": dict(self.layout),
            "alignment": dict(self.alignment),
            "output": dict(self.output) if self.output else None,
            "sources": {k: dict(v) for k, v in self.sources.items()},
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


@dataclass(frozen=True, eq=False)
class ComposeResult:
    """The composite (``data`` is None whenever nothing may be written) and its report.

    ``transforms`` maps each side's de-identified pixels into composite pixels (a 2x3
    affine: ``composite = M @ [x, y, 1]``); ``sources`` are the two pipeline results.
    """

    status: str
    report: CompositeReport
    data: bytes | None = None
    transforms: dict[str, np.ndarray] = field(default_factory=dict)
    panels: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    sources: dict[str, Result] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.data is not None

    def encode(self) -> bytes:
        if self.data is None:
            raise DeidError(f"no composite: status is {self.status}", code="no_output")
        return self.data

    def save(self, path: str | os.PathLike[str]) -> None:
        io.write_atomic(path, self.encode())


def compose(
    before: io.Source,
    after: io.Source,
    *,
    config: Config | None = None,
    pipeline: Pipeline | None = None,
    aspect: Aspect = "4:5",
    arrangement: Arrangement = "side",
    labels: tuple[str, str] | None = ("Before", "After"),
    watermark: str | None = None,
    panel_width: int | None = None,
    names: tuple[str | None, str | None] | None = None,
) -> ComposeResult:
    """De-identify ``before`` and ``after`` with the same settings and compose them.

    Pass a ``pipeline`` to reuse loaded models (its settings are then used), or a
    ``config`` (default: ``Config()``). Sources are paths, bytes, PIL images or arrays
    like ``Pipeline.process``; ``names`` are their file names for the reports (masked
    there when they carry PHI), taken from paths when not given. Never raises for a bad
    photo (the result says why); a label or watermark off the allow list, or a bad
    layout, raises ``DeidError`` before anything is processed.
    """
    layout = Layout(aspect, arrangement, tuple(labels) if labels else None, watermark,
                    panel_width)  # fmt: skip
    own = pipeline is None
    pipe = pipeline or Pipeline(config)
    try:
        _check_allowed(layout, pipe.config)
        if names is None:
            names = tuple(_name_of(s) for s in (before, after))  # type: ignore[assignment]
        results = {
            side: pipe.process(src, name=name)
            for side, src, name in zip(SIDES, (before, after), names or (None, None), strict=True)
        }
        return _compose(results, layout, pipe)
    finally:
        if own:
            pipe.close()


def _name_of(source: io.Source) -> str | None:
    return Path(source).name if isinstance(source, str | os.PathLike) else None


def _check_allowed(layout: Layout, config: Config) -> None:
    """Text drawn onto a published picture must be text the clinic listed as harmless."""
    allowed = {normalise(a) for a in config.text.allow}
    allowed |= {normalise(a) for a in read_list(config.text.allow_list, "allow list")}
    wanted = [("label", t) for t in layout.labels or ()]
    if layout.watermark:
        wanted.append(("watermark", layout.watermark))
    for kind, value in wanted:
        if not value.strip() or normalise(value) not in allowed:
            raise DeidError(
                f"the {kind} is not on the allow list (text.allow or --allow-list); only "
                "listed text may be drawn on a published picture",
                code="not_allowed",
            )


def _compose(results: dict[str, Result], layout: Layout, pipe: Pipeline) -> ComposeResult:
    sources = {side: r.report.to_dict() for side, r in results.items()}
    report = CompositeReport(
        status="failed", sources=sources, layout=_layout_dict(layout),
        config_digest=pipe.config.digest(),
    )  # fmt: skip
    refusal = _refusal(results)
    if refusal is not None:
        report.status = "failed" if refusal.code == "source_failed" else "needs_review"
        return _finish(report, refusal, results)

    mouths = {side: mouth_of(results[side].report.faces) for side in SIDES}
    missing = [side for side, m in mouths.items() if m is None]
    if missing:
        where = " and ".join(missing)
        msg = f"no kept mouth to align on in the {where} photo; composite not written"
        reason = Reason("no_oral_region", msg, "compose")
        return _finish(report, reason, results)

    frames = {side: io.load(results[side].encode(), pipe.config.input).frame for side in SIDES}
    pw, ph = _panel_size(layout, [m for m in mouths.values() if m is not None])
    canvas, origins = _canvas(layout, pw, ph)
    transforms: dict[str, np.ndarray] = {}
    panels: dict[str, tuple[int, int, int, int]] = {}
    fill = tuple(int(c) for c in pipe.config.faces.fill_color)
    for side in SIDES:
        mouth = mouths[side]
        assert mouth is not None
        m = _similarity(mouth, pw, ph)
        panel = _warp(frames[side].pixels, m, pw, ph, fill)
        ox, oy = origins[side]
        canvas[oy : oy + ph, ox : ox + pw] = panel
        to_canvas = m.copy()
        to_canvas[:, 2] += (ox, oy)
        transforms[side] = to_canvas
        panels[side] = (ox, oy, ox + pw, oy + ph)
        report.alignment[side] = {
            "mouth_center": [round(mouth.center[0], 1), round(mouth.center[1], 1)],
            "mouth_width": round(mouth.width, 1),
            "rotation_deg": round(-math.degrees(mouth.angle), 2),
            "scale": round(float(np.hypot(m[0, 0], m[1, 0])), 4),
            "panel": list(panels[side]),
        }
    image = Image.fromarray(canvas)
    _draw_text(image, layout, panels)
    pixels = np.asarray(image.convert("RGB"))
    try:
        data = io.encode(pixels, alpha=None, mode="RGB", fmt="JPEG", config=pipe.config.output)
        _refuse_residue(data, False)
    except _Failed as failed:
        return _finish(report, failed.reason, results)
    report.status = "redacted"
    report.output = {
        "path": None, "sha256": hashlib.sha256(data).hexdigest(), "format": "JPEG",
        "bytes": len(data), "width": int(pixels.shape[1]), "height": int(pixels.shape[0]),
    }  # fmt: skip
    done = _finish(report, None, results)
    if done.status != "redacted":
        return done
    return ComposeResult("redacted", report, data, transforms, panels, results)


def _refusal(results: dict[str, Result]) -> Reason | None:
    failed = [s for s in SIDES if results[s].status == "failed"]
    if failed:
        return Reason("source_failed", f"the {' and '.join(failed)} photo could not be "
                      "de-identified; composite not written", "compose")  # fmt: skip
    review = [s for s in SIDES if results[s].status == "needs_review"]
    if review:
        codes = sorted({r.code for s in review for r in results[s].report.reasons})
        return Reason("source_needs_review", f"the {' and '.join(review)} photo needs review "
                      f"({', '.join(codes)}); composite not written", "compose")  # fmt: skip
    return None


def _finish(report: CompositeReport, reason: Reason | None,
            results: dict[str, Result]) -> ComposeResult:  # fmt: skip
    if reason is not None:
        report.reasons.append(reason)
        if report.status == "redacted":
            report.status = "failed"
        report.output = None
    report.summary = _summary(report)
    problems = validate(report.to_dict())
    if problems:
        report.status = "failed"
        report.output = None
        msg = "composite report failed schema validation: " + "; ".join(problems[:3])
        report.reasons.append(Reason("report_invalid", msg, "compose"))
        report.summary = _summary(report)
    return ComposeResult(report.status, report, None, sources=results)


def _summary(report: CompositeReport) -> str:
    if report.status == "redacted":
        return (f"Composite of two de-identified photos ({report.layout['aspect']}, "
                f"{report.layout['arrangement']}), aligned on the mouth.")  # fmt: skip
    return "Not written: " + ", ".join(r.code for r in report.reasons) + "."


def _layout_dict(layout: Layout) -> dict[str, Any]:
    return {
        "aspect": layout.aspect,
        "arrangement": layout.arrangement,
        "labels": list(layout.labels) if layout.labels else None,
        "watermark": layout.watermark is not None,
        "panel_width": layout.panel_width,
    }


def _panel_size(layout: Layout, mouths: list[Mouth]) -> tuple[int, int]:
    aw, ah = ASPECTS[layout.aspect]
    if layout.panel_width:
        width = layout.panel_width
    else:
        # No side enlarged beyond its own resolution where the limits allow.
        width = round(min(m.width for m in mouths) / MOUTH_FRACTION)
        width = min(MAX_PANEL, max(MIN_PANEL, width))
    width -= width % 2
    return width, round(width * ah / aw)


def _canvas(layout: Layout, pw: int, ph: int) -> tuple[np.ndarray, dict[str, tuple[int, int]]]:
    if layout.arrangement == "side":
        size = (ph, 2 * pw + GAP)
        origins = {"before": (0, 0), "after": (pw + GAP, 0)}
    else:
        size = (2 * ph + GAP, pw)
        origins = {"before": (0, 0), "after": (0, ph + GAP)}
    canvas = np.empty((*size, 3), dtype=np.uint8)
    canvas[:] = BACKGROUND
    return canvas, origins


def _similarity(mouth: Mouth, pw: int, ph: int) -> np.ndarray:
    """2x3 affine taking the mouth to the panel's mouth place, level and at its width."""
    s = MOUTH_FRACTION * pw / mouth.width
    c, n = math.cos(-mouth.angle) * s, math.sin(-mouth.angle) * s
    rot = np.array([[c, -n], [n, c]])
    target = np.array([pw / 2, MOUTH_HEIGHT * ph])
    offset = target - rot @ np.asarray(mouth.center)
    return np.hstack([rot, offset[:, None]])


def _warp(pixels: np.ndarray, m: np.ndarray, pw: int, ph: int,
          fill: tuple[int, ...]) -> np.ndarray:  # fmt: skip
    """Resample with area averaging first when shrinking a lot (no aliasing)."""
    import cv2

    scale = float(np.hypot(m[0, 0], m[1, 0]))
    src, m = pixels, m.copy()
    if scale < 0.5:
        pre = min(1.0, 2 * scale)
        src = cv2.resize(pixels, None, fx=pre, fy=pre, interpolation=cv2.INTER_AREA)
        m[:, :2] /= pre
    return cv2.warpAffine(np.ascontiguousarray(src), m, (pw, ph), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=fill)  # fmt: skip


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _draw_text(image: Image.Image, layout: Layout,
               panels: dict[str, tuple[int, int, int, int]]) -> None:  # fmt: skip
    draw = ImageDraw.Draw(image, "RGBA")
    pw = panels["before"][2] - panels["before"][0]
    font = _font(max(12, pw // 14))
    pad = max(4, pw // 60)
    if layout.labels:
        for side, label in zip(SIDES, layout.labels, strict=True):
            x0, y0, _, _ = panels[side]
            box = draw.textbbox((x0 + 2 * pad, y0 + 2 * pad), label, font=font)
            draw.rectangle((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad),
                           fill=(0, 0, 0, 150))  # fmt: skip
            draw.text((x0 + 2 * pad, y0 + 2 * pad), label, font=font, fill=(255, 255, 255))
    if layout.watermark:
        small = _font(max(10, pw // 24))
        right, bottom = panels["after"][2], panels["after"][3]
        box = draw.textbbox((0, 0), layout.watermark, font=small)
        x, y = right - (box[2] - box[0]) - 2 * pad, bottom - (box[3] - box[1]) - 3 * pad
        draw.text((x, y), layout.watermark, font=small, fill=(255, 255, 255, 190))


# -- the composite report's schema --------------------------------------------------------


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("deid").joinpath("data/composite.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(schema())


def validate(report: dict[str, Any]) -> list[str]:
    """Schema problems (paths and rule names only); each source against the image schema."""
    problems = schema_problems(_validator(), report)
    for side, source in (report.get("sources") or {}).items():
        problems += [f"sources/{side}/{p}" for p in validate_image_report(source)]
    return problems


__all__ = ["ASPECTS", "ComposeResult", "CompositeReport", "Layout", "Mouth", "compose",
           "mouth_of", "schema", "validate"]  # fmt: skip
