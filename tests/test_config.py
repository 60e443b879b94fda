"""Configuration must reject anything it does not understand instead of guessing."""

from __future__ import annotations

from pathlib import Path

import pytest

from deid.config import Config
from deid.errors import ConfigError


def test_defaults_are_safe() -> None:
    cfg = Config()
    assert cfg.output.jpeg_quality >= 92 and cfg.output.jpeg_subsampling == "4:4:4"
    assert cfg.metadata.keep_icc is True
    assert cfg.stages[0] == "metadata"


@pytest.mark.parametrize(
    "mapping",
    [
        {"outptu": {}},
        {"output": {"jpeg_qualty": 90}},
        {"output": {"jpeg_quality": "high"}},
        {"output": {"jpeg_quality": True}},
        {"output": {"jpeg_subsampling": "4:1:1"}},
        {"metadata": {"keep_icc": "yes"}},
        {"stages": "metadata"},
    ],
)
def test_bad_settings_raise(mapping: dict) -> None:
    with pytest.raises(ConfigError):
        Config.from_mapping(mapping)


def test_toml_round_trip_and_digest(tmp_path: Path) -> None:
    path = tmp_path / "deid.toml"
    path.write_text("[output]\njpeg_quality = 97\n[metadata]\nkeep_icc = false\n")
    cfg = Config.from_toml(path)
    assert cfg.output.jpeg_quality == 97 and cfg.metadata.keep_icc is False
    assert cfg.digest() == Config.from_mapping(cfg.to_dict()).digest()
    assert cfg.digest() != Config().digest()


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "deid.toml"
    path.write_text("[output\n")
    with pytest.raises(ConfigError):
        Config.from_toml(path)


def test_replace_validates_like_toml() -> None:
    cfg = Config().replace(output={"jpeg_quality": 93})
    assert cfg.output.jpeg_quality == 93
    with pytest.raises(ConfigError):
        Config().replace(output={"nope": 1})


def test_readme_configuration_example_is_valid_and_shows_the_defaults(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    block = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "readme.toml"
    path.write_text(block, encoding="utf-8")
    assert Config.from_toml(path).digest() == Config().digest()


def test_toml_of_any_config_reads_back_to_the_same_config(tmp_path: Path) -> None:
    cfg = Config().replace(
        text={"roster": 'C:\\clinic\\"roster" 王.csv', "allow": ["診所", "Dr. Lin\tDDS"]},
        faces={"fill_color": [0, 0, 0], "rotations": []},
        output={"format": "jpeg"},
        batch={"include": ["**/*.jpg"], "exclude": ["tmp/*"], "workers": 3},
    )
    path = tmp_path / "shown.toml"
    path.write_text(cfg.to_toml(), encoding="utf-8")
    assert Config.from_toml(path) == cfg
    assert Config.from_toml(path).digest() == cfg.digest()


def test_settings_that_change_no_output_are_not_in_the_digest() -> None:
    base = Config()
    same = base.replace(faces={"threads": 1}, batch={"workers": 8, "include": ["*.jpg"]})
    assert same.digest() == base.digest()
    assert base.replace(output={"format": "png"}).digest() != base.digest()


@pytest.mark.parametrize(
    "mapping",
    [{"batch": {"workers": -1}}, {"output": {"format": "gif"}}, {"batch": {"include": "*.jpg"}}],
)
def test_bad_batch_and_format_settings_raise(mapping: dict) -> None:
    with pytest.raises(ConfigError):
        Config.from_mapping(mapping)
