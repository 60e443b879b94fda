"""Masking, allow/deny lists, the patient roster and file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from deid.config import Config, TextConfig
from deid.errors import ConfigError
from deid.text.filenames import safe_name
from deid.text.lists import TextLists, read_roster
from deid.text.masking import mask


@pytest.mark.parametrize(
    ("value", "category", "masked"),
    [
        ("王小明", "name", "王**"),
        ("歐陽娜娜", "name", "歐***"),
        ("John Smith", "name", "J*** S****"),
        ("A123456789", "national_id", "A12*******"),
        ("0912-345-678", "phone", "0912-***-***"),
        ("1991-05-01", "date", "****-**-**"),
        ("wang@example.com", "email", "w***@*******.com"),
        ("0012345", "medical_record_number", "00*****"),
    ],
)
def test_mask(value: str, category: str, masked: str) -> None:
    assert mask(value, category) == masked


def _spans(found: list, text: str) -> list[str]:
    return [text[m.start : m.end] for m in found]


def test_roster_exact_and_one_edit_for_three_plus_characters() -> None:
    lists = TextLists(roster=("王小明", "李四", "A123456789", "Lee Ann"))
    assert "王小明" in _spans(lists.roster_matches("患者王小明"), "患者王小明")
    assert "王小朋" in _spans(lists.roster_matches("王小朋"), "王小朋")  # one OCR error
    assert lists.roster_matches("王大朋") == []  # two errors
    assert _spans(lists.roster_matches("李四"), "李四") == ["李四"]
    assert lists.roster_matches("李五") == []  # two-character names are exact only
    assert lists.roster_matches("A123456780")  # an ID with one misread digit
    assert "lee ann" in _spans(lists.roster_matches("lee ann"), "lee ann")


def test_digit_only_roster_entries_need_six_characters_for_tolerance() -> None:
    lists = TextLists(roster=("1234",))
    assert lists.roster_matches("1234")
    assert lists.roster_matches("1235") == []


def test_allow_and_deny_lists() -> None:
    lists = TextLists(allow=("陳大文",), deny=("Project X",))
    assert lists.is_allowed("陳大文醫師", 0, 3)
    assert not lists.is_allowed("陳大文醫師", 0, 5)
    text = "code: project x"
    assert _spans(lists.deny_matches(text), text) == ["project x"]


def test_roster_csv_header_is_skipped_and_all_cells_are_entries(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("姓名,身分證\n王小明,A123456789\nJohn Smith,\n", encoding="utf-8")
    assert read_roster(str(path)) == ("王小明", "A123456789", "John Smith")


def test_missing_roster_is_a_config_error_without_contents(tmp_path: Path) -> None:
    from deid.stages.text import TextStage

    missing = tmp_path / "nope.csv"
    with pytest.raises(ConfigError) as err:
        TextStage(Config().text.__class__(roster=str(missing)))
    assert "roster" in str(err.value)


def test_config_rejects_unknown_policy() -> None:
    with pytest.raises(ConfigError):
        Config.from_mapping({"text": {"redact": "some"}})
    assert Config.from_mapping({"text": {"redact": "all_text"}}).text.redact == "all_text"


@pytest.mark.parametrize(
    ("path", "kept_part"),
    [
        ("王小明_術前.jpg", "_術前.jpg"),
        ("cases/王小明/術後.png", "/術後.png"),
        ("A123456789.jpg", ".jpg"),
        ("0912345678_after.jpg", "_after.jpg"),
        # A name followed by lower-case words: on a photo that is a caption's start,
        # in a file name it is the patient and what the photo shows.
        ("Grace_Hopper_before.jpg", "_before.jpg"),
        ("Michael Pearson visit/IMG_0001.jpg", " visit/IMG_0001.jpg"),
    ],
)
def test_safe_name_replaces_phi(path: str, kept_part: str) -> None:
    cfg = TextConfig(filename_key="test-key")
    out, masked = safe_name(path, config=cfg)
    assert out.startswith(("patient-", "cases/patient-"))
    assert out.endswith(kept_part)
    assert masked is not None and "*" in masked
    for raw in ("王小明", "A123456789", "0912345678", "Hopper", "Pearson"):
        assert raw not in out and raw not in masked
    assert safe_name(path, config=cfg) == (out, masked)  # deterministic


def test_safe_name_same_patient_same_token_and_keyed() -> None:
    cfg = TextConfig(filename_key="k1")
    a, _ = safe_name("王小明_術前.jpg", config=cfg)
    b, _ = safe_name("王小明_術後.jpg", config=cfg)
    assert a.split("_")[0] == b.split("_")[0]
    other, _ = safe_name("王小明_術前.jpg", config=TextConfig(filename_key="k2"))
    assert other != a


@pytest.mark.parametrize("path", ["IMG_0001.jpg", "Before_After.jpg", "smile/術前.png"])
def test_safe_name_leaves_harmless_names(path: str) -> None:
    assert safe_name(path, config=TextConfig()) == (path, None)


def test_safe_name_uses_roster_and_allow_list(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("name\nsmithers\n", encoding="utf-8")
    out, masked = safe_name("smithers_before.jpg", config=TextConfig(roster=str(roster)))
    assert out.startswith("patient-") and masked == "s*******_before.jpg"
    allow = tmp_path / "a.txt"
    allow.write_text("王小明\n", encoding="utf-8")
    assert safe_name("王小明.jpg", config=TextConfig(allow_list=str(allow))) == ("王小明.jpg", None)


def test_safe_name_reads_an_updated_roster(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("name\nsmithers\n", encoding="utf-8")
    cfg = TextConfig(roster=str(roster))
    assert safe_name("burnsy_before.jpg", config=cfg) == ("burnsy_before.jpg", None)
    roster.write_text("name\nsmithers\nburnsy\n", encoding="utf-8")  # a patient added later
    out, masked = safe_name("burnsy_before.jpg", config=cfg)
    assert out.startswith("patient-") and masked == "b*****_before.jpg"
