"""Consent gate: matching images to patients, dates, scopes, and what reaches images/."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import deid
from deid.batch import run_batch
from deid.cli import main
from deid.consent import ConsentGate, parse_manifest
from deid.errors import ConfigError

TODAY = dt.date(2026, 6, 1)
CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

ROSTER = """id,name,chart
R-7731,王小明,A-1001
R-7742,陳美玲,A-1002
R-7753,林志強,A-1003
R-7764,Mary Jones,A-1004
R-7775,黃大偉,A-1005
"""

MANIFEST = """patient,scope,given,expires,withdrawn,reference,path
R-7731,website;social,2026-01-10,,,CF-0001,
R-7742,website,2025-01-01,2025-12-31,,CF-0002,
R-7753,website,2026-02-01,,2026-05-01,CF-0003,
R-7764,education,2026-03-01,,,CF-0004,
,website,2026-03-01,,,CF-0099,clinic/IMG_0042.jpg
"""


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, "utf-8")
    manifest = tmp_path / "consent.csv"
    manifest.write_text(MANIFEST, "utf-8")
    return roster, manifest


def gate(files: tuple[Path, Path], purpose: str = "website", **kw: object) -> ConsentGate:
    roster, manifest = files
    return ConsentGate.from_files(manifest, purpose, roster=roster, today=TODAY, **kw)  # type: ignore[arg-type]


# -- decisions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "refs"),
    [
        ("王小明_術後.jpg", "granted", ["CF-0001"]),  # name in the file name
        ("R-7731-after.jpg", "granted", ["CF-0001"]),  # roster id in the file name
        ("A-1001 smile.jpg", "granted", ["CF-0001"]),  # chart number from the same row
        ("陳美玲_術後.jpg", "consent_expired", []),  # expires 2025-12-31
        ("林志強_術後.jpg", "consent_withdrawn", []),  # withdrawn 2026-05-01
        ("Mary_Jones_after.jpg", "consent_scope", []),  # education only
        ("黃大偉_術後.jpg", "no_consent", []),  # on the roster, no form
        ("IMG_0001.jpg", "no_consent", []),  # unknown patient
        ("clinic/IMG_0042.jpg", "granted", ["CF-0099"]),  # a path mapping
        ("other/IMG_0042.jpg", "no_consent", []),  # same file name, another folder
    ],
)
def test_decisions(files: tuple[Path, Path], name: str, status: str, refs: list[str]) -> None:
    decision = gate(files).decide([name])
    assert decision.status == status
    assert list(decision.references) == refs
    assert decision.granted == (status == "granted")
    reason = decision.reason()
    assert (reason is None) == (status == "granted")
    if reason is not None:
        assert reason.code == status
        # No patient identifier in the reason or the report entry.
        for phi in ("王小明", "陳美玲", "林志強", "黃大偉", "Mary", "R-77", "A-10"):
            assert phi not in reason.message
            assert phi not in json.dumps(decision.to_report(), ensure_ascii=False)


def test_purpose_changes_the_decision(files: tuple[Path, Path]) -> None:
    assert gate(files, "social").decide(["王小明.jpg"]).status == "granted"
    assert gate(files, "education").decide(["王小明.jpg"]).status == "consent_scope"
    assert gate(files, "education").decide(["Mary Jones.jpg"]).status == "granted"


def test_withdrawal_takes_effect_on_its_date(files: tuple[Path, Path]) -> None:
    roster, manifest = files
    before = ConsentGate.from_files(manifest, "website", roster=roster,
                                    today=dt.date(2026, 4, 30))  # fmt: skip
    assert before.decide(["林志強.jpg"]).status == "granted"
    assert gate(files).decide(["林志強.jpg"]).status == "consent_withdrawn"


def test_validity_from_date_given(files: tuple[Path, Path]) -> None:
    # Given 2026-01-10, valid 100 days: ended 2026-04-20.
    decision = gate(files, validity_days=100).decide(["王小明.jpg"])
    assert decision.status == "consent_expired"
    long = gate(files, validity_days=365).decide(["王小明.jpg"])
    assert long.status == "granted" and long.valid_until == dt.date(2027, 1, 10)


def test_consent_given_in_the_future_is_not_consent(files: tuple[Path, Path]) -> None:
    roster, manifest = files
    early = ConsentGate.from_files(manifest, "website", roster=roster, today=dt.date(2026, 1, 9))
    assert early.decide(["王小明.jpg"]).status == "no_consent"


def test_every_patient_in_the_image_must_consent(files: tuple[Path, Path]) -> None:
    decision = gate(files).decide(["王小明_黃大偉.jpg"])
    assert decision.status == "no_consent" and decision.patients == 2


def test_text_read_in_the_image_matches_with_one_ocr_error(files: tuple[Path, Path]) -> None:
    g = gate(files)
    assert g.decide(["IMG_1.jpg"], read=["王小明"]).matched_by == ("text",)
    assert g.decide(["IMG_1.jpg"], read=["王小朋"]).status == "granted"  # one misread
    assert g.decide(["IMG_1.jpg"], read=["王大朋"]).status == "no_consent"  # two


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("patient,scope\nP1,website\n", "needs the columns"),
        ("patient,scope,given,reference\nP1,website,2026-13-01,CF\n", "line 2: given"),
        ("patient,scope,given,reference\nP1,website,2026-01-01,\n", "line 2: no reference"),
        ("patient,scope,given,reference\n", "no records"),
    ],
)
def test_bad_manifests_stop_the_run(text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_manifest(text.encode())


def test_bad_purpose_refused(files: tuple[Path, Path]) -> None:
    with pytest.raises(ConfigError):
        gate(files, "Web Site!")


# -- in the pipeline and the batch ---------------------------------------------------------


def photo(caption: str | None = None) -> bytes:
    rng = np.random.default_rng(3)
    img = Image.fromarray(rng.integers(90, 160, (360, 480, 3), dtype=np.uint8))
    if caption:
        draw = ImageDraw.Draw(img)
        draw.rectangle((20, 20, 300, 80), fill=(255, 255, 255))
        draw.text((30, 25), caption, font=ImageFont.truetype(CJK, 40), fill=(0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    return buf.getvalue()


META = deid.Config(stages=("metadata",))


def test_pipeline_gate_holds_an_image_without_consent(files: tuple[Path, Path]) -> None:
    with deid.Pipeline(META, consent=gate(files)) as pipe:
        ok = pipe.process(photo(), name="王小明_術後.jpg")
        held = pipe.process(photo(), name="林志強_術後.jpg")
    assert ok.status == "clean" and ok.ok
    assert ok.report.to_dict()["consent"]["references"] == ["CF-0001"]
    assert held.status == "needs_review"
    assert [r.code for r in held.report.reasons] == ["consent_withdrawn"]
    text = held.report.to_json()
    assert "林志強" not in text and "R-7753" not in text
    assert deid.report.validate(held.report.to_dict()) == []


def test_gate_off_by_default_leaves_reports_unchanged() -> None:
    with deid.Pipeline(META) as pipe:
        result = pipe.process(photo(), name="IMG_0001.jpg")
    assert result.status == "clean"
    assert "consent" not in result.report.to_dict()


def test_pipeline_matches_a_name_burned_into_the_pixels(files: tuple[Path, Path]) -> None:
    roster, _ = files
    config = deid.Config(stages=("metadata", "text")).replace(text={"roster": str(roster)})
    with deid.Pipeline(config, consent=gate(files)) as pipe:
        named = pipe.process(photo("王小明 術後"), name="IMG_0007.jpg")
        withdrawn = pipe.process(photo("林志強 術後"), name="IMG_0008.jpg")
    assert named.status == "redacted", named.report.reasons
    consent = named.report.to_dict()["consent"]
    assert consent["matched_by"] == ["text"] and consent["references"] == ["CF-0001"]
    assert withdrawn.status == "needs_review"
    assert [r.code for r in withdrawn.report.reasons] == ["consent_withdrawn"]
    assert "林志強" not in withdrawn.report.to_json()


def test_batch_publishes_only_consented_images_and_withdraws_later(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    roster, manifest = files
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "clinic").mkdir(parents=True)
    for name in ("王小明_術後.jpg", "陳美玲_術後.jpg", "IMG_0001.jpg", "clinic/IMG_0042.jpg"):
        (src / name).write_bytes(photo())
    config = META.replace(text={"roster": str(roster)})
    summary = run_batch(src, out, config=config, consent=gate(files))
    status = {i.input: (i.status, i.reasons) for i in summary.items}
    assert sorted(v for v in status.values()) == [
        ("clean", []),
        ("clean", []),
        ("needs_review", ["consent_expired"]),
        ("needs_review", ["no_consent"]),
    ]
    published = sorted(p.name for p in (out / "images").rglob("*.jpg"))
    assert len(published) == 2 and "IMG_0042.jpg" in published
    assert len(list((out / "needs_review").rglob("*.jpg"))) == 2
    assert exit_code(summary) == 1

    # The patient withdraws: the rerun must not resume the published image.
    manifest.write_text(MANIFEST.replace("CF-0001,", "CF-0001,").replace(
        "R-7731,website;social,2026-01-10,,,", "R-7731,website;social,2026-01-10,,2026-05-20,"),
        "utf-8")  # fmt: skip
    again = run_batch(src, out, config=config, consent=gate(files))
    redone = {i.input: (i.status, i.resumed) for i in again.items}
    assert ("needs_review", False) in redone.values()
    assert len(list((out / "images").rglob("*.jpg"))) == 1  # only the path-mapped one
    reports = [json.loads(p.read_text("utf-8")) for p in (out / "reports").rglob("*.json")]
    assert sorted(r["consent"]["status"] for r in reports) == [
        "consent_expired", "consent_withdrawn", "granted", "no_consent",
    ]  # fmt: skip
    blob = "".join(p.read_text("utf-8") for p in out.rglob("*.json"))
    assert "王小明" not in blob and "陳美玲" not in blob


def exit_code(summary: object) -> int:
    return summary.exit_code  # type: ignore[attr-defined]


def test_cli_process_with_consent(files: tuple[Path, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    roster, manifest = files
    src = tmp_path / "黃大偉_術後.jpg"
    src.write_bytes(photo())
    args = ["process", str(src), str(tmp_path / "out.jpg"), "--stages", "metadata", "--roster",
            str(roster), "--consent", str(manifest), "--purpose", "website"]  # fmt: skip
    assert main(args) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["consent"]["status"] == "no_consent"
    assert main(args[:-2]) == 3  # --consent without --purpose
    assert "needs --purpose" in capsys.readouterr().err


def test_cli_batch_with_consent_in_worker_processes(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default batch runs in a supervised worker process: the gate goes with it."""
    roster, manifest = files
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("王小明_術後.jpg", "IMG_0001.jpg"):
        (src / name).write_bytes(photo())
    args = ["batch", str(src), str(out), "--stages", "metadata", "--roster", str(roster),
            "--consent", str(manifest), "--purpose", "social"]  # fmt: skip
    assert main(args) == 1
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert sorted((i["status"], i["reasons"]) for i in summary["items"]) == [
        ("clean", []), ("needs_review", ["no_consent"]),
    ]  # fmt: skip
    (published,) = (out / "images").iterdir()
    assert published.name.startswith("patient-")
    assert "王小明" not in capsys.readouterr().out
