"""The command line is thin: check exit codes and that it prints nothing identifying."""

from __future__ import annotations

import io
import json
from pathlib import Path

import piexif
from PIL import Image

from deid.cli import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, main


def _photo(path: Path) -> Path:
    exif = piexif.dump({"0th": {piexif.ImageIFD.Artist: "林美華".encode()},
                        "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N"}})  # fmt: skip
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 80, 60)).save(buf, "JPEG", exif=exif)
    path.write_bytes(buf.getvalue())
    return path


def test_process_writes_image_and_report(tmp_path: Path, capsys) -> None:
    src = _photo(tmp_path / "in.jpg")
    code = main(["process", str(src), str(tmp_path / "out.jpg"), "--report",
                 str(tmp_path / "r.json"), "--stages", "metadata"])  # fmt: skip
    assert code == EXIT_OK
    assert (tmp_path / "out.jpg").is_file() and (tmp_path / "r.json").is_file()
    assert "林美華" not in (tmp_path / "r.json").read_text()
    assert "林美華" not in capsys.readouterr().err


def test_process_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    src = _photo(tmp_path / "in.jpg")
    before = src.read_bytes()
    assert main(["process", str(src), str(src), "--stages", "metadata"]) == EXIT_UNUSABLE
    assert src.read_bytes() == before


def test_process_bad_input_exit_code(tmp_path: Path) -> None:
    src = tmp_path / "in.jpg"
    src.write_bytes(b"\xff\xd8\xff")
    code = main(["process", str(src), str(tmp_path / "o.jpg"), "--report",
                 str(tmp_path / "r.json"), "--stages", "metadata"])  # fmt: skip
    assert code == EXIT_FAILED and not (tmp_path / "o.jpg").exists()


def test_inspect_lists_categories_without_values(tmp_path: Path, capsys) -> None:
    src = _photo(tmp_path / "in.jpg")
    assert main(["inspect", str(src), "--stages", "metadata"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "exif" in out and "gps" in out and "林美華" not in out
    assert not (tmp_path / "out").exists()


def test_unknown_config_key_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "deid.toml"
    cfg.write_text("[output]\nqualiti = 3\n")
    src = _photo(tmp_path / "in.jpg")
    assert main(["process", str(src), str(tmp_path / "o.jpg"), "--config", str(cfg)]) == 3
    assert not (tmp_path / "o.jpg").exists()


def test_bad_arguments_exit_unusable() -> None:
    try:
        main(["batch"])
    except SystemExit as exc:
        assert exc.code == EXIT_UNUSABLE
    else:
        raise AssertionError("argparse should have exited")


def test_models_verify_passes_on_the_fetched_store() -> None:
    assert main(["models", "verify"]) == EXIT_OK


def test_process_never_puts_a_name_from_the_file_name_in_the_report(tmp_path: Path, capsys) -> None:
    src = _photo(tmp_path / "王小明_術前.jpg")
    code = main(["process", str(src), str(tmp_path / "out.jpg"), "--stages", "metadata"])
    assert code == EXIT_OK
    captured = capsys.readouterr()
    assert "王小明" not in captured.out and "王小明" not in captured.err
    assert '"path_masked": true' in captured.out


def test_unwritable_output_is_a_short_message_without_the_file_name(tmp_path: Path, capsys) -> None:
    src = _photo(tmp_path / "王小明.jpg")
    blocker = tmp_path / "王小明-folder"
    blocker.write_text("a file where a folder should be")
    code = main(["process", str(src), str(blocker / "out.jpg"), "--stages", "metadata"])
    assert code == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert err.startswith("deid: ") and "Traceback" not in err and "王小明" not in err


def test_batch_overwrite_checks_the_folders_before_deleting_anything(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    inputs = clinic / "reports"  # a clinic's own folder that happens to be called reports
    inputs.mkdir(parents=True)
    photo = _photo(inputs / "p.jpg")
    code = main(["batch", str(inputs), str(clinic), "--overwrite", "--stages", "metadata"])
    assert code == EXIT_UNUSABLE
    assert photo.is_file()


def test_batch_overwrite_withdraws_outputs_of_images_that_now_fail(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    photo = _photo(src / "p.jpg")
    assert main(["batch", str(src), str(out), "--stages", "metadata"]) == EXIT_OK
    assert (out / "images" / "p.jpg").is_file()
    photo.write_bytes(photo.read_bytes()[:300])
    code = main(["batch", str(src), str(out), "--overwrite", "--stages", "metadata"])
    assert code == EXIT_FAILED
    assert not (out / "images" / "p.jpg").exists()


def test_process_removes_an_earlier_output_when_the_image_now_fails(tmp_path: Path) -> None:
    src, dst = _photo(tmp_path / "in.jpg"), tmp_path / "out.jpg"
    assert main(["process", str(src), str(dst), "--stages", "metadata"]) == EXIT_OK
    assert dst.is_file()
    src.write_bytes(src.read_bytes()[:200])  # the input was replaced by a broken file
    assert main(["process", str(src), str(dst), "--stages", "metadata"]) == EXIT_FAILED
    assert not dst.exists()


def _folder(tmp_path: Path, n: int) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(n):
        _photo(src / f"p{i}.jpg")
    return src


def test_batch_defaults_to_one_worker_per_usable_core(tmp_path: Path, capsys) -> None:
    from deid.workers import usable_cores

    src = _folder(tmp_path, 3)
    assert main(["batch", str(src), str(tmp_path / "out"), "--stages", "metadata"]) == EXIT_OK
    record = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))["batch"]
    assert record["workers"] == usable_cores() and record["backend"] == "local"
    # --workers 1 stays in this process (nothing spawned, same outputs)
    assert main(["batch", str(src), str(tmp_path / "one"), "--workers", "1",
                 "--stages", "metadata"]) == EXIT_OK  # fmt: skip
    assert json.loads((tmp_path / "one" / "summary.json").read_text("utf-8"))["batch"][
        "workers"] == 1  # fmt: skip
    assert (tmp_path / "one" / "images" / "p0.jpg").read_bytes() == (
        tmp_path / "out" / "images" / "p0.jpg").read_bytes()  # fmt: skip


def test_batch_progress_without_a_terminal_is_plain_lines_then_a_table(
    tmp_path: Path, capsys
) -> None:
    src = _folder(tmp_path, 4)
    code = main(["batch", str(src), str(tmp_path / "out"), "--workers", "1",
                 "--stages", "metadata"])  # fmt: skip
    assert code == EXIT_OK
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    # Not a terminal: the first image, the last one, and one every 10 s in between
    # (a loaded machine may need one), never a line per image.
    assert len(lines) in (2, 3), lines
    assert lines[-1].startswith("[4/4] ") and "img/s" in lines[-1] and "ETA" in lines[-1]
    assert "redacted=4" in lines[-1] and "\x1b" not in captured.err
    out = captured.out
    assert "status" in out and "redacted" in out and "slowest stages" in out
    assert "decode" in out and "deid batch: redacted=4" in out
    assert "林美華" not in captured.out + captured.err


def test_batch_quiet_prints_only_the_counts(tmp_path: Path, capsys) -> None:
    src = _folder(tmp_path, 2)
    code = main(["batch", str(src), str(tmp_path / "out"), "--workers", "1", "--quiet",
                 "--stages", "metadata"])  # fmt: skip
    assert code == EXIT_OK
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines() == [
        f"deid batch: redacted=2; summary: {tmp_path / 'out' / 'summary.json'}"]  # fmt: skip


def test_batch_progress_on_a_terminal_is_a_live_bar(tmp_path: Path) -> None:
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    src = _folder(tmp_path, 3)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deid.cli", "batch", str(src), str(tmp_path / "out"),
         "--workers", "1", "--stages", "metadata"],
        stdout=subprocess.PIPE, stderr=follower, text=True,
    )  # fmt: skip
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the terminal closed with the process
                    break
                if not chunk:
                    break
                shown += chunk
            elif proc.poll() is not None:
                break
        stdout, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
        os.close(leader)
    text = shown.decode("utf-8", "replace")
    assert proc.returncode == EXIT_OK, text
    assert "3/3" in text and "img/s" in text and "ETA" in text and "redacted=3" in text
    assert "━" in text  # the bar itself
    assert "slowest stages" in stdout


def test_config_show_prints_the_merged_settings_as_toml(tmp_path: Path, capsys) -> None:
    import tomllib

    from deid.config import Config

    cfg = tmp_path / "deid.toml"
    cfg.write_text('[output]\njpeg_quality = 97\n[text]\nfilename_key = "s3cret-key"\n'
                   '[batch]\nworkers = 4\n')  # fmt: skip
    code = main(["config", "show", "--config", str(cfg), "--format", "png", "--workers", "2",
                 "--include", "*.jpg", "--include", "2024/**", "--exclude", "tmp/*",
                 "--timeout", "30", "--stages", "metadata,faces"])  # fmt: skip
    assert code == EXIT_OK
    printed = capsys.readouterr().out
    shown = Config.from_mapping(tomllib.loads(printed))
    assert shown.output.jpeg_quality == 97  # from the file
    assert shown.output.format == "png" and shown.batch.workers == 2  # flags win
    assert shown.batch.include == ("*.jpg", "2024/**") and shown.batch.exclude == ("tmp/*",)
    assert shown.batch.image_timeout_s == 30 and shown.stages == ("metadata", "faces")
    assert shown.faces == Config().faces  # defaults for the rest
    assert "s3cret-key" not in printed and "filename_key is set and not shown" in printed
    digest = Config.from_toml(cfg).replace(
        output={"format": "png"}, stages=["metadata", "faces"]).digest()  # fmt: skip
    assert f"settings digest (in every report): {digest}" in printed
    assert main(["config", "show"]) == EXIT_OK
    assert Config.from_mapping(tomllib.loads(capsys.readouterr().out)) == Config()
