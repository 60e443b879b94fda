"""Per-recogniser tables: what must be found (exact span) and what must not."""

from __future__ import annotations

import pytest

from deid.text.recognizers import REGISTRY, find_all
from deid.text.recognizers.ids import taiwan_id_checksum_ok

# (recogniser, line, expected PHI substring or None for "nothing from this recogniser")
CASES = [
    # Taiwan national ID: checksum decides
    ("tw_national_id", "身分證 A123456789", "A123456789"),
    ("tw_national_id", "ID:F131104093", "F131104093"),
    ("tw_national_id", "A123456788", None),  # checksum off by one
    ("tw_national_id", "A323456789", None),  # second digit must be 1 or 2
    ("tw_national_id", "AA123456789", None),  # embedded in a longer token
    ("tw_national_id", "A12345678", None),  # too short
    ("tw_national_id", "ID A1234 56789", "A1234 56789"),  # spaced out by OCR
    ("tw_national_id", "A1234 56788", None),
    # Every character after an ID's letter is a digit: look-alikes there are misread
    # digits wherever they stand, the checksum still decides.
    ("tw_national_id", "A12345678g", "A12345678g"),
    ("tw_national_id", "Al23456789", "Al23456789"),
    ("tw_national_id", "AI2345678S", None),  # A123456785: the checksum fails
    ("tw_national_id", "Algorithms 12", None),
    # resident certificates: old (second letter A-D) and 2021 (8/9) formats
    ("tw_resident_certificate", "居留證 A800000014", "A800000014"),
    ("tw_resident_certificate", "AC01234567", "AC01234567"),
    ("tw_resident_certificate", "A800000015", None),
    ("tw_resident_certificate", "A123456789", None),  # a national ID, not a certificate
    # NHI card
    ("tw_nhi_card", "健保卡號 0000 1234 5678", "0000 1234 5678"),
    ("tw_nhi_card", "NHI card: 000012345678", "000012345678"),
    ("tw_nhi_card", "1234 5678", None),
    # chart numbers: label-led, or number under a label line
    ("chart_number", "病歷號 0012345", "0012345"),
    ("chart_number", "病歷號碼:A-00123", "A-00123"),
    ("chart_number", "MRN: 12345678", "12345678"),
    ("chart_number", "Chart No. 778812", "778812"),
    ("chart_number", "Tooth 11", None),
    ("chart_number", "病歷 completed", None),
    # US SSN
    ("us_ssn", "SSN 123-45-6789", "123-45-6789"),
    ("us_ssn", "000-45-6789", None),
    ("us_ssn", "666-45-6789", None),
    ("us_ssn", "123-00-6789", None),
    ("us_ssn", "123-45-0000", None),
    # phones
    ("tw_mobile", "手機 0912-345-678", "0912-345-678"),
    ("tw_mobile", "0912345678", "0912345678"),
    ("tw_mobile", "+886 912 345 678", "+886 912 345 678"),
    ("tw_mobile", "0812-345-678", None),
    ("tw_mobile", "949-750-460", "949-750-460"),  # its leading 0 lost by OCR
    ("tw_mobile", "949750460", None),
    ("tw_landline", "電話 (02) 2345-6789", "(02) 2345-6789"),
    ("tw_landline", "07-123-4567", "07-123-4567"),
    ("tw_landline", "02 23", None),
    ("us_phone", "Tel (415) 555-2671", "(415) 555-2671"),
    ("us_phone", "+1-415-555-2671", "+1-415-555-2671"),
    ("us_phone", "415-555-2671x123", "415-555-2671x123"),
    ("us_phone", "555-2671", None),
    # dates
    ("date_gregorian", "DOB 1991-05-01", "1991-05-01"),
    ("date_gregorian", "05/01/1991", "05/01/1991"),
    ("date_gregorian", "May 1, 1991", "May 1, 1991"),
    ("date_gregorian", "1991-13-01", None),
    ("date_gregorian", "1991", None),
    ("date_roc", "民國 80 年 5 月 1 日", "民國 80 年 5 月 1 日"),
    ("date_roc", "113/05/01", "113/05/01"),
    ("date_roc", "80.05.01", "80.05.01"),
    ("date_roc", "113/13/01", None),
    ("date_roc", "#11 #21", None),
    # e-mail
    ("email", "mail: wang.xm@example.com.tw", "wang.xm@example.com.tw"),
    ("email", "wang at example", None),
    # addresses
    ("tw_address", "台北市大安區忠孝東路四段123號5樓", "台北市大安區忠孝東路四段123號5樓"),
    ("tw_address", "36731 中和光明巷 91 號之 0", "36731 中和光明巷 91 號之 0"),
    ("tw_address", "術前 術後", None),
    ("us_address", "1234 Main Street Apt. 5", "1234 Main Street Apt. 5"),
    ("us_address", "Springfield, IL 62704", "Springfield, IL 62704"),
    ("us_address", "Tooth 11 Upper Left", None),
    # names
    ("zh_name", "姓名:王小明", "王小明"),
    ("zh_name", "王小明", "王小明"),
    ("zh_name", "歐陽娜娜", "歐陽娜娜"),
    ("zh_name", "陳大文醫師", "陳大文"),
    ("zh_name", "患者 Ae", "Ae"),  # a name label makes whatever follows a name
    ("zh_name", "郝淑慧", "郝淑慧"),  # less common surnames, still Taiwan's
    ("zh_name", "閻欣怡", "閻欣怡"),
    ("zh_name", "成人", None),
    ("zh_name", "術前", None),
    ("zh_name", "微笑牙醫診所", None),
    ("zh_name", "高雄", None),
    ("en_name", "Patient: John Smith", "John Smith"),
    ("en_name", "NAME: MARY JONES", "MARY JONES"),
    ("en_name", "Mrs. Jane Doe", "Mrs. Jane Doe"),  # the honorific is filled with the name
    ("en_name", "Bradley Morgan Jr.", "Bradley Morgan Jr."),
    ("en_name", "Dr. Amy Hansen", "Dr. Amy Hansen"),
    ("en_name", "Jonathan Novak PhD", "Jonathan Novak PhD"),
    ("en_name", "Name: Taylor Garcia, MD", "Taylor Garcia, MD"),
    ("en_name", "Catherine White", "Catherine White"),  # a surname that is also a word
    ("en_name", "Bright White", None),
    ("en_name", "Amy'Hansen", "Amy'Hansen"),  # the space read as a mark
    ("en_name", "AmyHansen", "AmyHansen"),  # or dropped
    ("en_name", "ames Preston", "ames Preston"),  # the line's start cut off
    ("en_name", "BeforeAfter", None),
    ("en_name", "clusal Day 14", None),  # a caption line with its start cut off
    ("en_name", "Occlusal Day 14 Amy Hansen", "Amy Hansen"),
    ("en_name", "upper Left", None),
    ("en_name", "3 months", None),
    ("en_name", "Lakeside Family Dental", None),
    ("en_name", "Robert Nguyen", "Robert Nguyen"),
    ("en_name", "Before Treatment", None),
    ("en_name", "Bright Smile Dental", None),
    ("en_name", "After", None),
    # the value beside a PHI label, whatever its shape
    ("labelled_value", "病歷號碼 K-77", "K-77"),
    ("labelled_value", "姓名 陳怡君 Emily Chen", "陳怡君 Emily Chen"),
    ("labelled_value", "身分證: A12345678", "A12345678"),  # one digit lost by OCR
    ("labelled_value", "Tel: 2345 678", "2345 678"),
    ("labelled_value", "DOB 5 May", "5 May"),
    ("labelled_value", "Date: 194", "194"),  # a date cut short by its proposal
    ("labelled_value", "Date 2024", None),  # a common word: its colon is needed
    ("labelled_value", "MRN X9-4 姓名 艾小米", "X9-4"),
    ("labelled_value", "Name 12", None),  # an English label needs its colon
    ("labelled_value", "姓名:", None),  # a label alone
    ("labelled_value", "Before After 術前", None),
    # catch-all identifiers
    ("long_identifier", "A123456788", "A123456788"),
    ("long_identifier", "0012345", "0012345"),
    ("long_identifier", "36 46", None),
    # ID-shaped with a failing checksum (one misread digit): still redacted, as an
    # identifier, spaced out or not, its letter read as a digit or not.
    ("long_identifier", "A12345 6780", "A12345 6780"),
    ("long_identifier", "Z2234S6781", "Z2234S6781"),
    ("long_identifier", "5123456789", "5123456789"),
    ("long_identifier", "Al2345678", "Al2345678"),  # a digit lost
    ("long_identifier", "A123-456-780", "A123-456-780"),  # gaps read as dashes
    ("long_identifier", "001 2345", "001 2345"),  # a chart number split by OCR
    ("long_identifier", "11 21 36", None),
    ("long_identifier", "113 05 01", None),
    ("long_identifier", "Occlusal 3 months", None),
]


@pytest.mark.parametrize(("name", "line", "expected"), CASES)
def test_recogniser_table(name: str, line: str, expected: str | None) -> None:
    found = [line[m.start : m.end] for m in REGISTRY[name]().find(line)]
    if expected is None:
        assert found == []
    else:
        assert expected in found


def test_every_registered_recogniser_has_positive_and_negative_cases() -> None:
    for name in REGISTRY:
        rows = [c for c in CASES if c[0] == name]
        assert any(e is not None for _, _, e in rows), name
        assert any(e is None for _, _, e in rows), name


def test_every_recogniser_names_its_legal_basis() -> None:
    for cls in REGISTRY.values():
        assert cls.category.pdpa and cls.category.hipaa


@pytest.mark.parametrize(
    ("value", "ok"),
    [("A123456789", True), ("F131104093", True), ("A123456780", False), ("Z200000000", False)],
)
def test_taiwan_id_checksum(value: str, ok: bool) -> None:
    assert taiwan_id_checksum_ok(value) is ok


def test_ocr_lookalikes_inside_numbers_are_read_as_digits() -> None:
    spans = [("0912-345-67B".replace("B", "8"), "tw_mobile"), ("O9I2-345-678", None)]
    assert find_all(spans[0][0])[0].recognizer == "tw_mobile"
    # Letters before the first digit are not changed: O9I2 is not a phone number.
    assert all(m.recognizer != "tw_mobile" for m in find_all(spans[1][0]))
    fixed = find_all("病歷號 00l2345")
    assert fixed and fixed[0].recognizer == "chart_number"


def test_label_on_the_line_before_or_to_the_left_leads_the_value() -> None:
    line = "陳怡 術前"
    spans = [(line[m.start : m.end], m.category.name) for m in find_all(line, "姓名:")]
    assert ("陳怡 術前", "name") in spans or ("陳怡", "name") in spans
    assert find_all("0048213 X", "病歷號碼")[0].category.name == "medical_record_number"
    assert find_all("xu ae", "Name:") != []  # whatever its shape
    assert find_all("xu ae", "") == []


@pytest.mark.parametrize(
    "caption",
    ["Upper Lower", "3 months", "Follow-up", "正面照 咬合", "#11", "Day 14", "印模 0cclusal",
     "pper Lower 3 m"],
)  # fmt: skip
@pytest.mark.parametrize("label", ["姓名:", "Name:", "生日", "病歷號碼", "Tel"])
def test_a_caption_line_is_not_the_value_of_a_label_on_another_line(
    caption: str, label: str
) -> None:
    """A label alone on its line leads the next line, unless that line is only caption
    words: the label's value was then read beside it, by another proposal."""
    assert find_all(caption, label) == []
    # Beside the label on one line, the value is taken whatever it reads.
    assert find_all(f"{label} {caption}") != []


@pytest.mark.parametrize("value", ["Pearl White", "Ae Xu", "A1234", "陳怡 術前", "Upper Xu"])
def test_what_may_be_a_value_is_still_led_by_a_label_on_another_line(value: str) -> None:
    """Surnames that are also caption words, short reads and mixed lines stay PHI."""
    assert find_all(value, "姓名:") != [] or find_all(value, "Name:") != []


def test_overlapping_matches_become_one_span() -> None:
    line = "身分證 A123456789"
    matches = find_all(line)
    assert [(line[m.start : m.end], m.recognizer) for m in matches] == [
        ("A123456789", "tw_national_id")
    ]


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("病历号码 K-77", "medical_record_number"),
        ("身份证:A12345678", "national_id"),
        ("电话 2345 678", "phone"),
        ("病歴號碼 305", "medical_record_number"),
        ("病歷號碣 K-77", "medical_record_number"),  # one character misread
        ("身分讚:A12345678", "national_id"),
        ("電話號碼 12345", "phone"),
    ],
)
def test_labels_read_in_simplified_or_japanese_forms_lead_their_value(
    line: str, category: str
) -> None:
    """OCR reads 病歷號碼 as 病历号码 or 病歴號碼 in some fonts, or one character of it
    as another; the label still counts, and its whole value is taken."""
    matches = find_all(line)
    assert [m.category.name for m in matches] == [category]
    assert line[matches[0].start :].strip() == line[matches[0].start : matches[0].end]


def test_id_shaped_values_are_redacted_whatever_their_checksum() -> None:
    """Fail closed: a national ID read with one wrong digit is not a valid ID, and is
    still removed as an identifier with a score that needs no OCR confidence."""
    for line in ("A12345 6780", "Z2234S6781", "AI2345678S"):
        (match,) = find_all(line)
        assert (match.recognizer, match.category.name) == ("long_identifier", "identifier")
        assert match.score >= 0.7
        assert (match.start, match.end) == (0, len(line))


@pytest.mark.parametrize(
    "line",
    [
        "A1234G6789",  # 6 read as G
        "B2b3456789",  # 6 read as b
        "C1Q34567B9",  # 0 read as Q, 8 as B
        "D 1Z3 456 789",  # spaced out, 2 read as Z
        "5123456789",  # the leading S read as 5
        "8I23 456 789",  # the leading B read as 8, 1 as I, spaced
        "0 2345678 90",  # the leading O read as 0, a gap read as a space
    ],
)
def test_misread_ids_are_whole_identifiers(line: str) -> None:
    """An ID read with look-alike letters anywhere inside, its letter read as a digit,
    or its gaps read as spaces is one identifier over all of its characters, with a
    score that needs no OCR confidence."""
    found = [m for m in find_all(f"{line} 王小明") if m.category.name != "name"]
    assert [(m.start, m.end, m.category.name) for m in found] == [(0, len(line), "identifier")]
    assert found[0].score >= 0.7


@pytest.mark.parametrize("line", ["11 21 36 46", "Sessions 12", "1Q 2B 3G", "Zone B 12"])
def test_tooth_rows_and_words_are_not_ids(line: str) -> None:
    assert find_all(line) == []
