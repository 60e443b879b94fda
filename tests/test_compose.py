"""Before/after composer: mouths aligned, eyes obscured, no metadata, refusals."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np
import pytest
from PIL import Image
from skimage import data

import deid
from deid import metadata
from deid.cli import main
from deid.composer import Mouth, compose, mouth_of, validate
from deid.consent import ConsentGate
from deid.errors import DeidError
from deid.stages.faces import FaceStage

ANGLE, SCALE, SHIFT = 12.0, 0.8, (25.0, -15.0)  # the "after" copy of Grace Hopper


def grace() -> np.ndarray:
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as im:
        return np.asarray(im.convert("RGB"))


def moved(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = img.shape[:2]
    t = cv2.getRotationMatrix2D((w / 2, h / 2), ANGLE, SCALE)
    t[:, 2] += SHIFT
    out = cv2.warpAffine(img, t, (w, h), flags=cv2.INTER_CUBIC, borderValue=(90, 110, 140))
    return out, t


def apply(m: np.ndarray, p: np.ndarray) -> np.ndarray:
    return m[:, :2] @ np.asarray(p, dtype=np.float64) + m[:, 2]


@pytest.fixture(scope="module")
def pipe():
    with deid.Pipeline(deid.Config()) as p:
        yield p


def landmarks(pipe: deid.Pipeline, img: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Mouth and eye centres of the largest face, from the face mesh on the original
    (ground truth the composer never sees: it works on the de-identified output)."""
    stage = next(s for s in pipe.stages if isinstance(s, FaceStage))
    faces = [f for f in stage.find(img) if f.mesh is not None]
    face = max(faces, key=lambda f: f.det.width)
    assert face.mesh is not None
    return face.mesh.mouth_center(), list(face.mesh.eye_centers())


def in_panel(result: deid.ComposeResult, side: str, p: np.ndarray) -> np.ndarray:
    x0, y0, _, _ = result.panels[side]
    return apply(result.transforms[side], p) - (x0, y0)


def decoded(result: deid.ComposeResult) -> np.ndarray:
    with Image.open(io.BytesIO(result.encode())) as im:
        return np.asarray(im.convert("RGB"))


def test_known_transform_pair_lines_up_the_mouths(pipe: deid.Pipeline) -> None:
    before = grace()
    after, t = moved(before)
    result = compose(before, after, pipeline=pipe, aspect="1:1")
    assert result.status == "redacted", result.report.reasons
    mouth, eyes = landmarks(pipe, before)
    # The same physical point, mapped through each side's transform, lands at the
    # same place of its half.
    a = in_panel(result, "before", mouth)
    b = in_panel(result, "after", apply(t, mouth))

    assert np.linalg.norm(a - b) <= 4.0, (a, b)
    # And the recovered rotation and scale are the ones applied.
    mb, ma = result.transforms["before"], result.transforms["after"]
    rot = math.degrees(math.atan2(ma[1, 0], ma[0, 0]) - math.atan2(mb[1, 0], mb[0, 0]))
    assert abs(rot - ANGLE) < 2.0  # the after side is turned back by the angle applied
    ratio = np.hypot(*ma[:, 0]) / np.hypot(*mb[:, 0])
    assert abs(ratio - 1 / SCALE) < 0.1
    # Eyes in the composite are the face fill, the mouth is not.
    pixels = decoded(result)
    fill = np.array(pipe.config.faces.fill_color)
    for side, pts in (("before", eyes), ("after", [apply(t, e) for e in eyes])):
        for eye in pts:
            x, y = np.round(apply(result.transforms[side], eye)).astype(int)
            patch = pixels[y - 3 : y + 4, x - 3 : x + 4].reshape(-1, 3).astype(int)
            assert np.abs(patch - fill).max() <= 6, (side, x, y)
    for side in ("before", "after"):
        x, y = np.round(_mouth_at(result, side)).astype(int)
        patch = pixels[y - 3 : y + 4, x - 10 : x + 11].reshape(-1, 3).astype(int)
        assert np.abs(patch - fill).max() > 40  # lips and teeth, not the fill


def _mouth_at(result: deid.ComposeResult, side: str) -> np.ndarray:
    x0, y0, x1, y1 = result.panels[side]
    return np.array([(x0 + x1) / 2, y0 + 0.5 * (y1 - y0)])


@pytest.mark.parametrize(("aspect", "arrangement"), [("4:5", "side"), ("16:9", "stacked")])
def test_two_different_people_share_the_mouth_position(
    pipe: deid.Pipeline, aspect: str, arrangement: str
) -> None:
    before, after = data.astronaut(), grace()
    result = compose(before, after, pipeline=pipe, aspect=aspect, arrangement=arrangement,  # type: ignore[arg-type]
                     labels=("術前", "術後"))  # fmt: skip
    assert result.status == "redacted", result.report.reasons
    panels = result.panels
    pw, ph = panels["before"][2] - panels["before"][0], panels["before"][3] - panels["before"][1]
    aw, ah = {"4:5": (4, 5), "16:9": (16, 9)}[aspect]
    assert abs(pw * ah - ph * aw) <= aw + ah
    if arrangement == "side":
        assert panels["after"][0] > panels["before"][2] and panels["after"][1] == 0
    else:
        assert panels["after"][1] > panels["before"][3] and panels["after"][0] == 0
    a = in_panel(result, "before", landmarks(pipe, before)[0])
    b = in_panel(result, "after", landmarks(pipe, after)[0])
    # Different mouths (an open smile, closed lips), measured independently of the
    # kept region the composer aligns on: within a few pixels of a 240+ px panel.

    assert np.linalg.norm(a - b) <= 0.04 * pw, (a, b, pw)
    pixels = decoded(result)
    assert pixels.shape[:2] == ((ph, 2 * pw + 8) if arrangement == "side" else (2 * ph + 8, pw))
    fill = np.array(pipe.config.faces.fill_color)
    for side, img in (("before", before), ("after", after)):
        for eye in landmarks(pipe, img)[1]:
            x, y = np.round(apply(result.transforms[side], eye)).astype(int)
            x0, y0, x1, y1 = panels[side]
            if x0 + 3 <= x < x1 - 3 and y0 + 3 <= y < y1 - 3:  # 16:9 may crop above the eyes
                patch = pixels[y - 3 : y + 4, x - 3 : x + 4].reshape(-1, 3).astype(int)
                assert np.abs(patch - fill).max() <= 6


def test_composite_carries_no_metadata_and_a_valid_report(pipe: deid.Pipeline) -> None:
    buf = io.BytesIO()
    Image.fromarray(grace()).save(buf, "JPEG", quality=95, comment=b"Grace Hopper",
                                  exif=Image.Exif())  # fmt: skip
    result = compose(buf.getvalue(), data.astronaut(), pipeline=pipe, labels=None)
    assert result.ok
    assert metadata.inventory(result.encode()) == ()
    report = result.report.to_dict()
    assert validate(report) == []
    assert report["status"] == "redacted" and report["output"]["bytes"] == len(result.encode())
    assert set(report["sources"]) == {"before", "after"}
    assert report["sources"]["before"]["metadata"]["removed"]  # the comment went
    assert {report["sources"][s]["status"] for s in ("before", "after")} == {"redacted"}


def test_refuses_when_a_side_failed_or_has_no_mouth(pipe: deid.Pipeline) -> None:
    bad = compose(b"not an image", grace(), pipeline=pipe)
    assert bad.status == "failed" and not bad.ok and bad.data is None
    assert [r.code for r in bad.report.reasons] == ["source_failed"]
    assert "before" in bad.report.reasons[0].message
    with pytest.raises(DeidError):
        bad.encode()
    faceless = compose(grace(), data.coffee(), pipeline=pipe)
    assert faceless.status == "failed"
    assert [r.code for r in faceless.report.reasons] == ["no_oral_region"]


def test_refuses_when_a_side_needs_review(tmp_path: Path) -> None:
    manifest = tmp_path / "consent.csv"
    manifest.write_text("patient,scope,given,reference\nGrace Hopper,website,2020-01-01,CF-7\n")
    gate = ConsentGate.from_files(manifest, "website")
    src = tmp_path / "Grace_Hopper_before.jpg"
    Image.fromarray(grace()).save(src)
    other = tmp_path / "IMG_0001.jpg"
    Image.fromarray(moved(grace())[0]).save(other)
    with deid.Pipeline(deid.Config(), consent=gate) as p:
        result = compose(src, other, pipeline=p)
    assert result.status == "needs_review" and not result.ok
    assert [r.code for r in result.report.reasons] == ["source_needs_review"]
    assert "after" in result.report.reasons[0].message
    assert "no_consent" in result.report.reasons[0].message
    assert result.report.sources["before"]["consent"]["status"] == "granted"
    assert "Hopper" not in result.report.to_json()


def test_labels_and_watermark_must_be_allow_listed(pipe: deid.Pipeline, tmp_path: Path) -> None:
    with pytest.raises(DeidError, match="allow list"):
        compose(grace(), grace(), pipeline=pipe, labels=("Before", "Mrs Hopper"))
    with pytest.raises(DeidError, match="allow list"):
        compose(grace(), grace(), pipeline=pipe, watermark="Smile Dental")
    allow = tmp_path / "allow.txt"
    allow.write_text("Smile Dental\n", "utf-8")
    config = deid.Config().replace(text={"allow_list": str(allow)})
    p = deid.Pipeline(config, stages=pipe.stages)  # the module's stages: not closed here
    plain = compose(grace(), grace(), pipeline=p, labels=None)
    marked = compose(grace(), grace(), pipeline=p, labels=None, watermark="Smile Dental")
    assert marked.report.layout["watermark"] is True
    diff = np.abs(decoded(marked).astype(int) - decoded(plain).astype(int)).max(axis=2)
    ys, xs = np.nonzero(diff > 60)
    _, _, right, bottom = marked.panels["after"]
    assert len(xs) and xs.min() > right / 2 and ys.min() > bottom * 0.8  # bottom right


def test_mouth_from_polygon_is_covariant() -> None:
    lips = np.array([[0, 0], [10, -6], [30, -8], [50, -6], [60, 0], [50, 8], [30, 10], [10, 8]])
    m = Mouth.from_polygon(lips)
    assert m.center == (30.0, 1.0) and m.width == 60.0 and m.angle == 0.0
    theta = math.radians(20)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    turned = Mouth.from_polygon(2 * lips @ rot.T + (100, 50))
    assert turned.width == pytest.approx(120)
    assert turned.angle == pytest.approx(theta)
    assert turned.center == pytest.approx(tuple(2 * rot @ (30.0, 1.0) + (100, 50)))
    assert mouth_of([{"box": [0, 0, 9, 9], "action": "obscured_full", "oral_region": None}]) is None


def test_cli_compose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before, after = tmp_path / "before.jpg", tmp_path / "after.png"
    Image.fromarray(grace()).save(before)
    Image.fromarray(moved(grace())[0]).save(after)
    out, report = tmp_path / "ba.jpg", tmp_path / "ba.json"
    code = main(["compose", str(before), str(after), str(out), "--report", str(report),
                 "--aspect", "1:1", "--labels", "術前,術後",
                 "--stages", "metadata,faces"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    written = json.loads(report.read_text("utf-8"))
    assert written["status"] == "redacted" and written["output"]["path"] == "ba.jpg"
    with Image.open(out) as im:
        assert im.format == "JPEG" and im.width == im.height * 2 + 8
    assert metadata.inventory(out.read_bytes()) == ()
    code = main(["compose", str(before), str(tmp_path / "missing.jpg"), str(out)])
    assert code == 2 and not out.exists()  # a refused composite leaves no earlier one
    assert main(["compose", str(before), str(after), str(out), "--labels", "A"]) == 3


def test_demo_pair_composes_without_phi(pipe: deid.Pipeline, tmp_path: Path) -> None:
    """The pair `make demo` composes (examples/make_examples.py --pair): names, chart
    number, dates and EXIF in both photos, none of it in the composite or its report."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "examples" / "make_examples.py"
    spec = importlib.util.spec_from_file_location("make_examples", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.treatment_pair(tmp_path)
    config = pipe.config.replace(text={"allow_list": str(tmp_path / "allow.txt")})
    p = deid.Pipeline(config, stages=pipe.stages)  # the module's stages: not closed here
    result = compose(tmp_path / "before.jpg", tmp_path / "after.jpg", pipeline=p,
                     labels=("術前", "術後"), watermark="Smile Dental")  # fmt: skip
    assert result.status == "redacted", result.report.reasons
    text = result.report.to_json()
    for phi in ("林美華", "A123456", "2024/05/01", "2024/11/20", "SN-0042"):
        assert phi not in text
    assert metadata.inventory(result.encode()) == ()
    for side in ("before", "after"):
        assert result.report.sources[side]["text"], side  # the caption was found
