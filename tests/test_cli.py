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
