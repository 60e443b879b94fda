"""The pipeline: runs the stages in order, applies their edits, verifies, encodes.

It owns the fail-closed policy: any exception in decoding, a stage, verification
or encoding yields status ``failed`` and no output bytes at all, and an output that
still carries metadata after encoding is refused the same way. Exception messages
from stages are not copied into reports (they might quote OCR text); only the stage
name and exception type are.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import io, metadata, redact
from .config import Config
from .consent import ConsentGate
from .errors import DeidError, ImageTimeout, InputError
from .models import ModelStore
from .names import name_policy
from .report import ImageReport, InputInfo, MetadataSummary, OutputInfo, summarise, validate
from .stages import Context, Stage, VerifyingStage, build_stages
from .types import Edit, Finding, Frame, Reason, StageResult

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Result:
    """Outcome for one image. ``data`` is None whenever nothing may be written."""

    status: str
    report: ImageReport
    data: bytes | None = None
    format: str | None = None

    @property
    def ok(self) -> bool:
        return self.data is not None

    def encode(self) -> bytes:
        if self.data is None:
            raise DeidError(f"no output: image status is {self.status}", code="no_output")
        return self.data

    def save(self, path: str | os.PathLike[str]) -> None:
        io.write_atomic(path, self.encode())


class _Failed(Exception):
    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.code)
        self.reason = reason


class Pipeline:
    """Reusable and thread-safe: models are loaded once here, no per-image state is kept."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        models: ModelStore | None = None,
        stages: Sequence[Stage] | None = None,
        consent: ConsentGate | None = None,
    ) -> None:
        self.config = config or Config()
        # Opt-in: without consent for its purpose an image is held for review.
        self.consent = consent
        self.models = models or ModelStore(self.config.models.dir or None)
        self.stages: list[Stage] = (
            list(stages) if stages is not None else build_stages(self.config, self.models)
        )
        self._digest = self.config.digest()
        self._names = name_policy(self.config)

    def close(self) -> None:
        for stage in self.stages:
            close = getattr(stage, "close", None)
            if callable(close):
                close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def process(self, source: io.Source, *, name: str | None = None) -> Result:
        """De-identify one image. Never raises for a bad image: the Result says why."""
        timings: dict[str, float] = {}
        masked = self._names(name)[1] if name else None
        report = ImageReport(
            status="failed", input=InputInfo(path=masked or name, path_masked=masked is not None)
        )
        started = time.perf_counter()
        try:
            return self._process(source, report, timings, name)
        except _Failed as failed:
            return self._fail(report, failed.reason, timings)
        except ImageTimeout:
            raise  # the batch's time limit: the batch fails the image itself
        except Exception as exc:
            # A stage that returned something malformed (no StageResult, an edit whose
            # mask does not fit, a finding without a report form) or any other bug:
            # fail closed, never let it escape and stop a batch. The message is not
            # copied (it might quote image content), only the type.
            log.debug("image failed on an internal error: %s", type(exc).__name__)
            msg = f"internal error ({type(exc).__name__}); image not written"
            return self._fail(report, Reason("internal_error", msg, "pipeline"), timings)
        finally:
            timings["total"] = (time.perf_counter() - started) * 1000

    # -- internals ---------------------------------------------------------------------

    def _fail(self, report: ImageReport, reason: Reason, timings: dict[str, float]) -> Result:
        report.status = "failed"
        report.output = None
        report.reasons.append(reason)
        report.timings_ms = timings
        self._finish(report)
        log.info("image failed: %s (%s)", reason.code, reason.stage or "pipeline")
        return Result("failed", report)

    def _process(
        self, source: io.Source, report: ImageReport, timings: dict[str, float], name: str | None
    ) -> Result:
        loaded = self._decode(source, timings)
        src, frame = loaded.source, loaded.frame
        report.input = InputInfo(
            path=report.input.path, path_masked=report.input.path_masked, sha256=src.sha256,
            format=src.format, width=src.width, height=src.height,
            bytes=len(src.data) if src.data else None, mode=src.mode,
            orientation=src.orientation, conversions=list(src.conversions),
        )  # fmt: skip
        context = Context(config=self.config, source=src, frame=frame, name=report.input.path)
        read: list[str] = []
        pixels, findings, review, changed = self._redact(frame, context, timings, report, read)
        if self.consent is not None:
            decision = self.consent.decide(_names(source, name), read)
            report.consent = decision.to_report()
            if (reason := decision.reason()) is not None:
                review.append(reason)

        report.faces = [dict(f.to_report()) for f in findings if f.kind == "face"]
        report.text = [dict(f.to_report()) for f in findings if f.kind == "text"]
        found = [dict(f.to_report()) for f in findings if f.kind == "metadata"]
        with _timed(timings, "encode"):
            try:
                data, out_fmt, encoding, icc_kept = self._encode(loaded, pixels, changed)
            except _Failed:
                raise
            except Exception as exc:  # an encoder bug must fail the image, not the batch
                msg = f"output could not be encoded ({type(exc).__name__}); image not written"
                raise _Failed(Reason("encode_failed", msg, "encode")) from exc
        kept = ["icc"] if icc_kept else []
        categories = sorted({str(i["category"]) for i in found})
        report.metadata = MetadataSummary(
            found=found,
            removed=[c for c in categories if c not in kept],
            kept=kept,
            orientation_applied=src.orientation,
        )
        quality = self.config.output.jpeg_quality if out_fmt == "JPEG" else None
        report.output = OutputInfo(
            sha256=hashlib.sha256(data).hexdigest(), format=out_fmt, encoding=encoding,
            bytes=len(data), quality=quality if encoding == "re-encoded" else None,
        )  # fmt: skip
        report.reasons.extend(review)
        if review:
            report.status = "needs_review"
        elif changed or report.metadata.removed or src.orientation != 1:
            report.status = "redacted"
        else:
            report.status = "clean"
        report.timings_ms = timings
        self._finish(report)
        if report.status == "failed":  # the report did not validate: release nothing
            return Result("failed", report)
        return Result(report.status, report, data, out_fmt)

    def _decode(self, source: io.Source, timings: dict[str, float]) -> io.Loaded:
        with _timed(timings, "decode"):
            try:
                return io.load(source, self.config.input)
            except InputError as exc:
                raise _Failed(Reason(exc.code, str(exc), "decode")) from exc
            except Exception as exc:  # decoder bugs on hostile files must not escape
                msg = f"image could not be decoded ({type(exc).__name__})"
                raise _Failed(Reason("corrupt", msg, "decode")) from exc

    def _redact(
        self,
        frame: Frame,
        context: Context,
        timings: dict[str, float],
        report: ImageReport,
        read: list[str] | None = None,
    ) -> tuple[np.ndarray, list[Finding], list[Reason], bool]:
        """Run every stage on the original, apply all edits once, then let stages verify.

        Detectors all see the untouched frame (so their order does not matter); each
        verifying stage then sees the fully redacted pixels, and what it adds is applied
        on top. A stage's verified findings replace its first ones in the report.
        """
        results: list[tuple[Stage, StageResult]] = []
        for stage in self.stages:
            result = self._run_stage(stage, frame.pixels, context, timings)
            results.append((stage, result))
            if result.keep_regions:
                context = replace(context, keep_regions=context.keep_regions + result.keep_regions)
            if engine := result.extra.get("ocr"):
                report.ocr = str(engine)
            if read is not None:
                read.extend(result.extra.get("roster_read", ()))

        edits = [e for _, r in results for e in r.edits]
        with _timed(timings, "redact"):
            pixels = redact.apply(frame.pixels, edits) if edits else frame.pixels

        findings: list[Finding] = []
        review: list[Reason] = []
        for stage, result in results:
            stage_findings = result.findings
            review.extend(result.review)
            if isinstance(stage, VerifyingStage):
                checked = self._verify(stage, pixels, context, result, timings)
                if checked.edits:
                    with _timed(timings, "redact"):
                        if pixels is frame.pixels:
                            pixels = redact.apply(pixels, checked.edits)
                        else:  # the copy made above is this pipeline's own
                            redact.apply_in_place(pixels, checked.edits)
                    edits.extend(checked.edits)
                stage_findings = checked.findings or stage_findings
                review.extend(checked.review)
            findings.extend(stage_findings)
        return pixels, findings, review, _changed(frame.pixels, pixels, edits)

    def _run_stage(
        self, stage: Stage, pixels: np.ndarray, context: Context, timings: dict[str, float]
    ) -> StageResult:
        with _timed(timings, stage.name):
            try:
                return stage.run(pixels, context)
            except DeidError as exc:
                raise _Failed(Reason(exc.code, str(exc), stage.name)) from exc
            except Exception as exc:
                log.debug("stage %s raised %s", stage.name, type(exc).__name__)
                msg = f"{stage.name} stage failed ({type(exc).__name__}); image not written"
                raise _Failed(Reason("stage_failed", msg, stage.name)) from exc

    def _verify(
        self,
        stage: VerifyingStage,
        pixels: np.ndarray,
        context: Context,
        result: StageResult,
        timings: dict[str, float],
    ) -> StageResult:
        with _timed(timings, f"{stage.name}_verify"):
            try:
                return stage.verify(pixels, context, result)
            except DeidError as exc:
                raise _Failed(Reason(exc.code, str(exc), f"{stage.name}_verify")) from exc
            except Exception as exc:
                msg = f"{stage.name} verification failed ({type(exc).__name__}); image not written"
                raise _Failed(Reason("verify_failed", msg, stage.name)) from exc

    def _encode(
        self, loaded: io.Loaded, pixels: np.ndarray, changed: bool
    ) -> tuple[bytes, str, str, bool]:
        src, frame, out = loaded.source, loaded.frame, self.config.output
        keep_icc = self.config.metadata.keep_icc
        fmt = {"jpeg": "JPEG", "png": "PNG"}.get(out.format, src.output_format)
        if (
            not changed
            and out.lossless_when_unchanged
            and src.data
            and src.orientation == 1
            and fmt == io.OUTPUT_FORMATS.get(src.format or "", "")
        ):
            stripped = metadata.strip_lossless(src.data, keep_icc=keep_icc)
            if stripped is not None:
                icc_kept = _refuse_residue(stripped, keep_icc)
                return stripped, fmt, "lossless-strip", icc_kept
        icc = src.icc_profile if keep_icc and src.icc_profile else None
        if icc is not None and not _icc_fits(icc, frame.mode):
            icc = None
        data = io.encode(
            pixels, alpha=frame.alpha, mode=frame.mode, fmt=fmt, config=out, icc_profile=icc,
            lossless_webp=_is_lossless_webp(src), source_sampling=src.jpeg_sampling,
        )  # fmt: skip
        _refuse_residue(data, icc is not None)
        return data, fmt, "re-encoded", icc is not None

    def _finish(self, report: ImageReport) -> None:
        report.config_digest = self._digest
        report.stages = [stage.name for stage in self.stages]
        report.models = self.models.used()
        report.summary = summarise(report)
        problems = validate(report.to_dict())
        if problems:
            # A report that does not match the schema is a bug; fail the image rather
            # than hand out something a clinic cannot rely on.
            report.status = "failed"
            report.output = None
            report.reasons.append(
                Reason(
                    "report_invalid",
                    "report failed schema validation: " + "; ".join(problems[:3]),
                    "report",
                )
            )
            report.summary = summarise(report)


def _changed(before: np.ndarray, after: np.ndarray, edits: list[Edit]) -> bool:
    """Whether any pixel differs, comparing only where edits were made (all that can
    differ: a whole-frame comparison costs as much as the redaction itself at 12 MP)."""
    height, width = before.shape[:2]
    boxes = [e.box.clip(width, height) for e in edits]
    return any(
        not np.array_equal(before[b.slices()], after[b.slices()]) for b in boxes if not b.empty
    )


def _names(source: io.Source, name: str | None) -> list[str]:
    """What the consent gate may match on: the name given (a batch gives the input's
    path relative to its folder) and the source file's own name, never the folders
    above it (a folder named after one patient would match every image in it)."""
    names = [name] if name else []
    if isinstance(source, str | os.PathLike):
        names.append(Path(source).name)
    return names


def _refuse_residue(data: bytes, icc_allowed: bool) -> bool:
    """Every output is inventoried again, once; anything but an allowed profile fails
    the image. Returns whether the output carries a profile."""
    found = {i.category for i in metadata.inventory(data)}
    residue = found - ({"icc"} if icc_allowed else set())
    if residue:
        kinds = ", ".join(sorted(residue))
        raise _Failed(Reason("metadata_residue", f"output still carried: {kinds}", "encode"))
    return "icc" in found


def _icc_fits(profile: bytes, mode: str) -> bool:
    """Keep a profile only if it is plain and describes the colour model we write."""
    if not metadata.plain_icc(profile) or len(profile) < 20:
        return False
    space = profile[16:20]
    return space == (b"GRAY" if mode == "L" else b"RGB ")


def _is_lossless_webp(src: io.SourceInfo) -> bool:
    return src.format == "WEBP" and b"VP8L" in src.data[12:64]


class _timed:
    def __init__(self, timings: dict[str, float], key: str) -> None:
        self.timings, self.key = timings, key

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        elapsed = (time.perf_counter() - self.start) * 1000
        self.timings[self.key] = self.timings.get(self.key, 0.0) + elapsed


def process_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    config: Config | None = None,
    report_path: str | os.PathLike[str] | None = None,
) -> Result:
    """One file in, one file out (only if it may be written), optional report JSON."""
    with Pipeline(config) as pipe:
        result = pipe.process(src, name=Path(src).name)
    if result.ok:
        result.save(dst)
    if report_path is not None:
        io.write_atomic(report_path, result.report.to_json().encode("utf-8"))
    return result


__all__ = ["Pipeline", "Result", "process_file"]
