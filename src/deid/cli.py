"""Command line: parse arguments, build a Config, call the library, print PHI-free lines.

Exit codes: 0 every image written (clean or redacted); 1 at least one image needs
review; 2 at least one image failed; 3 nothing was run, or a batch stopped because a
worker could not start (bad arguments, config, models, a broken installation or an
unsafe output location); 130 (Ctrl-C) or 143 (SIGTERM) a batch was stopped by the
signal, after finishing the images in progress and writing its summary (a second
signal stops it at once). Errors are one line, ``deid: error: ...``, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .config import Config
from .errors import ConfigError, DeidError

EXIT_OK, EXIT_REVIEW, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_UNUSABLE, f"deid: error: {message}\n")


def _add_config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="TOML", help="settings file (see README, Configuration)")
    p.add_argument("--roster", metavar="CSV", help="patient roster: names/IDs always redacted")
    p.add_argument("--allow-list", metavar="FILE", help="text to keep, one entry per line")
    p.add_argument("--deny-list", metavar="FILE", help="text to always redact, one per line")
    p.add_argument("--redact-text", choices=["phi", "all_text"],
                   help="redact only PHI (default) or all text except the allow list")  # fmt: skip
    p.add_argument("--stages", metavar="LIST", help="comma-separated stages to run, in order")


def _add_consent_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--consent", metavar="CSV",
                   help="consent manifest: without a valid consent for --purpose an image "
                        "is held for review (see docs/consent.md)")  # fmt: skip
    p.add_argument("--purpose", metavar="WORD",
                   help="the use consent must cover: website, social, education, ...")  # fmt: skip


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _add_batch_settings(p: argparse.ArgumentParser) -> None:
    """Flags that are also settings (``[batch]``, ``[output]``), so `config show` has them."""
    p.add_argument("--workers", type=_positive_int, metavar="N",
                   help="worker processes (default: batch.workers, 0 = one per usable "
                        "core); 1 runs in this process (debugging, no crash "
                        "isolation)")  # fmt: skip
    p.add_argument("--timeout", type=_positive_float, metavar="SECONDS",
                   help="fail an image that takes longer than this "
                        "(default: batch.image_timeout_s, 600)")  # fmt: skip
    p.add_argument("--include", action="append", metavar="GLOB",
                   help="only images matching (repeatable; *.jpg, 2024/**/*.png)")  # fmt: skip
    p.add_argument("--exclude", action="append", metavar="GLOB",
                   help="skip images matching (repeatable; wins over --include)")  # fmt: skip
    p.add_argument("--format", choices=["same", "jpeg", "png"],
                   help="output format (default: output.format, same as the input)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deid", description="De-identify clinical photos, offline.")
    parser.add_argument("--version", action="version", version=f"deid {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("process", help="de-identify one image")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--report", metavar="JSON", help="where to write the report (default: stdout)")
    _add_config_options(p)
    _add_consent_options(p)

    b = sub.add_parser("batch", help="de-identify every image under a folder")
    b.add_argument("input_dir")
    b.add_argument("output_dir")
    _add_batch_settings(b)
    b.add_argument("--overwrite", action="store_true",
                   help="reprocess everything instead of resuming")  # fmt: skip
    b.add_argument("--quiet", action="store_true", help="print only the final counts")
    b.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local worker processes (default) or Ray tasks (pip install "
                        "deid[ray])")  # fmt: skip
    b.add_argument("--ray-address", metavar="ADDR",
                   help="Ray cluster to use with --backend ray (default: RAY_ADDRESS, or a "
                        "local instance)")  # fmt: skip
    b.add_argument("--review-originals", action="store_true",
                   help="embed the original images in review.html for side-by-side "
                        "sign-off (the page then holds PHI: open it on a trusted "
                        "workstation only)")  # fmt: skip
    b.add_argument("--follow-symlinks", action="store_true",
                   help="also read files and folders that symbolic links in INPUT_DIR lead "
                        "to outside it (default: skipped)")  # fmt: skip
    _add_config_options(b)
    _add_consent_options(b)

    c = sub.add_parser("compose", help="before/after composite aligned on the mouth")
    c.add_argument("before")
    c.add_argument("after")
    c.add_argument("output", help="the composite (JPEG)")
    c.add_argument("--report", metavar="JSON", help="where to write the report (default: stdout)")
    c.add_argument("--aspect", choices=["1:1", "4:5", "16:9"], default="4:5",
                   help="aspect ratio of each half (default 4:5)")  # fmt: skip
    c.add_argument("--stacked", action="store_true", help="after below before, not beside it")
    c.add_argument("--labels", metavar="BEFORE,AFTER", default="Before,After",
                   help="two allow-listed labels (e.g. 術前,術後), or none")  # fmt: skip
    c.add_argument("--watermark", metavar="TEXT", help="clinic name from the allow list")
    c.add_argument("--width", type=_positive_int, metavar="PX", help="width of each half")
    _add_config_options(c)
    _add_consent_options(c)

    i = sub.add_parser("inspect", help="show what identifying content a file carries")
    i.add_argument("input")
    i.add_argument("--json", action="store_true", help="print the full report")
    _add_config_options(i)

    g = sub.add_parser("config", help="show the effective settings")
    g.add_argument("action", choices=["show"])
    _add_config_options(g)
    _add_batch_settings(g)

    m = sub.add_parser("models", help="fetch or verify the pinned model files")
    m.add_argument("action", choices=["fetch", "verify"])
    m.add_argument("--dir", help="model folder (default: $DEID_MODELS_DIR or models/)")
    return parser


def load_config(args: argparse.Namespace) -> Config:
    config = Config.from_toml(args.config) if args.config else Config()
    text: dict[str, Any] = {}
    for flag, key in (("roster", "roster"), ("allow_list", "allow_list"),
                      ("deny_list", "deny_list"), ("redact_text", "redact")):  # fmt: skip
        value = getattr(args, flag, None)
        if value:
            text[key] = str(Path(value).resolve()) if flag != "redact_text" else value
    changes: dict[str, Any] = {}
    if text:
        changes["text"] = text
    if getattr(args, "stages", None):
        changes["stages"] = [s.strip() for s in args.stages.split(",") if s.strip()]
    batch: dict[str, Any] = {}
    for flag, key in (("timeout", "image_timeout_s"), ("workers", "workers"),
                      ("include", "include"), ("exclude", "exclude")):  # fmt: skip
        if getattr(args, flag, None):
            batch[key] = getattr(args, flag)
    if batch:
        changes["batch"] = batch
    if getattr(args, "format", None):
        changes["output"] = {"format": args.format}
    return config.replace(**changes) if changes else config


def load_consent(args: argparse.Namespace, config: Config) -> Any:
    """The consent gate, when ``--consent`` is given (it needs ``--purpose``)."""
    if not getattr(args, "consent", None):
        if getattr(args, "purpose", None):
            raise ConfigError("--purpose needs --consent (the consent manifest)")
        return None
    if not args.purpose:
        raise ConfigError("--consent needs --purpose (website, social, education, ...)")
    from .consent import ConsentGate

    return ConsentGate.from_files(args.consent, args.purpose, roster=config.text.roster)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except DeidError as exc:
        print(f"deid: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except OSError as exc:
        # Only the system's reason: the path may be an input named after a patient.
        print(f"deid: a file could not be read or written ({exc.strerror or type(exc).__name__})",
              file=sys.stderr)  # fmt: skip
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print("deid: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def _emit_report(path: str | None, report: str, status: str, summary: str) -> int:
    """The report goes to its file (atomically) or stdout; the one-line summary to stderr."""
    if path:
        from .io import write_atomic

        write_atomic(path, report.encode("utf-8"))
    else:
        print(report)
    print(f"{status}: {summary}", file=sys.stderr)
    return _status_exit(status)


def _status_exit(status: str) -> int:
    return {"failed": EXIT_FAILED, "needs_review": EXIT_REVIEW}.get(status, EXIT_OK)


def _cmd_process(args: argparse.Namespace) -> int:
    from .pipeline import Pipeline

    src, dst = Path(args.input), Path(args.output)
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        print("deid: refusing to write over the input file", file=sys.stderr)
        return EXIT_UNUSABLE
    config = load_config(args)
    with Pipeline(config, consent=load_consent(args, config)) as pipe:
        result = pipe.process(src, name=src.name)
    if result.ok:
        result.save(dst)
    else:
        # OUT_FILE is this run's output: one left by an earlier run of a now failing
        # image must not stay around looking like it (the input was checked above).
        dst.unlink(missing_ok=True)
    return _emit_report(args.report, result.report.to_json(), result.status,
                        result.report.summary)  # fmt: skip


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch import IMAGES_DIR, REPORTS_DIR, REVIEW_DIR, check_paths, run_batch
    from .progress import Progress, final_table
    from .stopping import GracefulStop

    config = load_config(args)
    consent = load_consent(args, config)
    out_dir = Path(args.output_dir)
    if args.overwrite:
        import shutil

        # Checked before anything is deleted: the output folder may be the input's
        # parent (or the input itself), whose own "reports" or "images" are inputs.
        check_paths(Path(args.input_dir), out_dir)
        # Outputs go with their reports: an image that now fails or needs review must
        # not be left publishable from the previous run.
        for folder in (REPORTS_DIR, IMAGES_DIR, REVIEW_DIR):
            if (out_dir / folder).is_dir():
                shutil.rmtree(out_dir / folder)

    # Without --workers, batch.workers (0: one process per usable core). Even a single
    # worker is then a separate process: a crash or a stuck native call fails one image
    # instead of ending (or hanging) the batch. --workers 1 stays in this process.
    with Progress(sys.stderr, quiet=args.quiet) as progress, GracefulStop(progress.note) as stop:
        summary = run_batch(args.input_dir, out_dir, config=config, workers=args.workers,
                            in_process=args.workers == 1 or None, progress=progress,
                            follow_symlinks=args.follow_symlinks, consent=consent,
                            backend=args.backend, ray_address=args.ray_address,
                            review_originals=args.review_originals,
                            stop=stop.event)  # fmt: skip
    record = summary.record
    if not args.quiet and record is not None:
        print(final_table(summary.counts, summary.stage_ms, wall_s=record.wall_s,
                          processed=record.processed))  # fmt: skip
    counts = ", ".join(f"{k}={v}" for k, v in sorted(summary.counts.items())) or "no images"
    if summary.interrupted:
        print(f"deid batch: stopped with {summary.pending} image(s) not started; {counts}; "
              f"summary: {out_dir / 'summary.json'}; rerun the same command to finish")  # fmt: skip
        return stop.exit_code
    print(f"deid batch: {counts}; summary: {out_dir / 'summary.json'}")
    return summary.exit_code


def _cmd_config(args: argparse.Namespace) -> int:
    config = load_config(args)
    hidden = bool(config.text.filename_key)
    if hidden:  # the secret behind the PHI-free file names is never printed
        config = config.replace(text={"filename_key": ""})
    print("# deid effective settings: defaults, then --config, then flags")
    print(f"# settings digest (in every report): {load_config(args).digest()}")
    if hidden:
        print("# text.filename_key is set and not shown")
    print(config.to_toml(), end="")
    return EXIT_OK


def _printable(text: str) -> str:
    """Control and format characters escaped, so a name cannot forge or split a line."""
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def _cmd_compose(args: argparse.Namespace) -> int:
    from .composer import compose
    from .pipeline import Pipeline

    dst = Path(args.output)
    for src in (Path(args.before), Path(args.after)):
        if dst.exists() and src.exists() and dst.resolve() == src.resolve():
            print("deid: refusing to write over an input file", file=sys.stderr)
            return EXIT_UNUSABLE
    config = load_config(args)
    labels = None if args.labels.strip().lower() == "none" else tuple(args.labels.split(","))
    if labels is not None and len(labels) != 2:
        raise ConfigError("--labels takes two labels separated by a comma")
    with Pipeline(config, consent=load_consent(args, config)) as pipe:
        result = compose(args.before, args.after, pipeline=pipe, aspect=args.aspect,
                         arrangement="stacked" if args.stacked else "side", labels=labels,
                         watermark=args.watermark, panel_width=args.width)  # fmt: skip
    if result.ok:
        result.save(dst)
        assert result.report.output is not None
        result.report.output["path"] = dst.name
    else:
        dst.unlink(missing_ok=True)  # never leave an earlier composite looking current
    return _emit_report(args.report, result.report.to_json(), result.status,
                        result.report.summary)  # fmt: skip


def _cmd_inspect(args: argparse.Namespace) -> int:
    from .pipeline import Pipeline

    config = load_config(args)
    with Pipeline(config) as pipe:
        result = pipe.process(args.input, name=Path(args.input).name)
    report = result.report
    if args.json:
        print(report.to_json())
        return _status_exit(result.status)
    print(f"file: {report.input.path}  ({report.input.format}, {report.input.width}x"
          f"{report.input.height}, orientation {report.input.orientation})")  # fmt: skip
    if report.status == "failed":
        print("cannot be processed: " + "; ".join(r.message for r in report.reasons))
        return EXIT_FAILED
    meta = sorted({m["category"] for m in report.metadata.found})
    print("metadata: " + (", ".join(meta) if meta else "none"))
    print(f"faces: {len(report.faces)}")
    for face in report.faces:
        print(f"  box {face['box']} score {face.get('score', 0):.2f} ({face.get('detector')})")
    print(f"text: {len(report.text)} region(s)")
    for t in report.text:
        print(f"  {t['category']:<14} {t['masked']:<16} {t['action']}")
    for r in report.reasons:
        print(f"review: {r.code}: {r.message}")
    return _status_exit(result.status)


def _cmd_models(args: argparse.Namespace) -> int:
    from . import models

    if args.action == "fetch":
        results = models.fetch(args.dir, log=lambda m: print(m, file=sys.stderr))
    else:
        results = models.verify(args.dir)
    bad = [r for r in results if not r.ok]
    for r in results:
        print(f"{'ok ' if r.ok else 'BAD'} {r.name}{'' if r.ok else ': ' + r.problem}")
    if bad:
        print(f"deid: {len(bad)} model file(s) missing or corrupt; run `deid models fetch`",
              file=sys.stderr)  # fmt: skip
        return EXIT_UNUSABLE
    return EXIT_OK


_COMMANDS = {"process": _cmd_process, "batch": _cmd_batch, "compose": _cmd_compose,
             "inspect": _cmd_inspect, "models": _cmd_models, "config": _cmd_config}  # fmt: skip

if __name__ == "__main__":
    sys.exit(main())
