"""The command line is thin: check exit codes and that it prints nothing identifying."""

from __future__ import annotations

import io
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
