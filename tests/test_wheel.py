"""The package a user installs: one OpenCV, the wheel and sdist contents, and a clean venv.

The clean virtualenv gets its dependencies from requirements/runtime.lock (hash-checked,
so the same versions as this suite) and the freshly built wheel with --no-deps, then runs
`deid models fetch` against the already fetched model store (no download: every file is
present and verified) and `deid process` on a photo with a face and identifying EXIF.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import matplotlib.cbook
import piexif
import pytest
from PIL import Image

from deid import __version__
from deid.models import default_dir

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_LOCK = ROOT / "requirements" / "runtime.lock"

# Invented values; the test checks none of them reaches the output or the report.
FAKE_ARTIST = "Wang Xiaoming A123456789"
FAKE_GPS = ((25, 1), (2, 1), (0, 1))

ONE_OPENCV = """
import importlib.metadata, re
names = {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower()
         for d in importlib.metadata.distributions()}
print(sorted(n for n in names if n.startswith("opencv")))
"""


def _opencv_distributions() -> list[str]:
    names = {
        re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower()
        for d in importlib.metadata.distributions()
    }
    return sorted(n for n in names if n.startswith("opencv"))


def test_exactly_one_opencv_distribution_is_installed():
    # Two of them (rapidocr's metadata asks for opencv-python-headless) would share the
    # cv2 package directory, and whichever was installed last would win file by file.
    assert _opencv_distributions() == ["opencv-contrib-python"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the build backend is the one pinned in the lock, nothing is fetched.
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, check=False, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    wheels = list(out.glob("deid-*.whl"))
    sdists = list(out.glob("deid-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


@pytest.mark.wheel
def test_wheel_carries_schema_manifest_and_py_typed(dist):
    assert dist["wheel"].name == f"deid-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(dist["wheel"]) as zf:
        names = set(zf.namelist())
        assert {"deid/py.typed", "deid/data/report.schema.json", "deid/data/models.json"} <= names
        # The review page is written from these at run time (deid.review.page).
        assets = {f"deid/review/assets/review.{ext}" for ext in ("html", "css", "js")}
        assert assets <= names
        # The name and word lists the English-name recogniser reads at run time.
        lists = {f"deid/text/recognizers/data/{n}.txt.gz"
                 for n in ("english_words", "given_names", "surnames")}  # fmt: skip
        assert lists | {"deid/text/recognizers/data/LICENSES.txt"} <= names
        schema = json.loads(zf.read("deid/data/report.schema.json"))
        manifest = json.loads(zf.read("deid/data/models.json"))
        entry_points = zf.read(f"deid-{__version__}.dist-info/entry_points.txt").decode()
    assert "$schema" in schema
    assert manifest == json.loads((ROOT / "models" / "manifest.json").read_text())
    assert "deid = deid.cli:main" in entry_points
    # Model weights are fetched and pinned by sha256, never shipped in the wheel.
    assert not any(n.endswith((".tflite", ".xml", ".onnx")) for n in names)


@pytest.mark.wheel
def test_sdist_carries_schema_manifest_and_py_typed(dist):
    with tarfile.open(dist["sdist"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert {
        "pyproject.toml",
        "README.md",
        "src/deid/py.typed",
        "src/deid/data/report.schema.json",
        "models/manifest.json",
        "requirements/runtime.lock",
    } <= names
    assert not any(n.startswith("models/") and n.endswith((".tflite", ".xml")) for n in names)


def _photo_with_phi(path: Path) -> None:
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as im:
        rgb = im.convert("RGB")
    exif = piexif.dump(
        {
            "0th": {piexif.ImageIFD.Artist: FAKE_ARTIST.encode(), piexif.ImageIFD.Make: b"Cam"},
            "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: FAKE_GPS},
        }
    )
    rgb.save(path, "JPEG", quality=92, exif=exif)


@pytest.mark.wheel
def test_wheel_in_a_clean_venv_processes_a_photo(dist, tmp_path):
    store = default_dir()
    venv_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv_dir)], check=True)
    py = venv_dir / "bin" / "python"
    # This environment's pip (pinned in the lock) installs into the clean venv.
    pip = [sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet"]
    pip += ["--disable-pip-version-check", "--no-input"]
    for args in (
        ["--require-hashes", "--no-deps", "-r", str(RUNTIME_LOCK)],
        ["--no-deps", str(dist["wheel"])],
    ):
        proc = subprocess.run(pip + args, capture_output=True, text=True, check=False, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DEID_"))}
    env.update(DEID_MODELS_DIR=str(store), XDG_DATA_HOME=str(tmp_path / "xdg"))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            args, cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
            timeout=240,
        )  # fmt: skip

    # The clean venv imports the installed wheel, not the checkout's src/.
    where = run(str(py), "-c", "import deid; print(deid.__file__)")
    assert where.returncode == 0, where.stderr[-2000:]
    assert Path(where.stdout.strip()).is_relative_to(venv_dir)
    assert run(str(py), "-c", ONE_OPENCV).stdout.strip() == "['opencv-contrib-python']"

    deid_cli = str(venv_dir / "bin" / "deid")
    assert run(deid_cli, "--version").stdout.strip() == f"deid {__version__}"
    fetched = run(deid_cli, "models", "fetch")  # every file present: verifies, downloads nothing
    assert fetched.returncode == 0, fetched.stderr[-2000:]

    source, output, report_path = tmp_path / "in.jpg", tmp_path / "out.jpg", tmp_path / "r.json"
    _photo_with_phi(source)
    proc = run(deid_cli, "process", str(source), str(output), "--report", str(report_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    report_text = report_path.read_text(encoding="utf-8")
    report = json.loads(report_text)
    assert report["status"] == "redacted", report["reasons"]
    assert len(report["faces"]) == 1
    assert report["deid_version"] == __version__
    assert {"exif", "gps"} <= set(report["metadata"]["removed"])
    assert report["metadata"]["kept"] in ([], ["icc"])
    assert FAKE_ARTIST not in report_text and "Wang" not in report_text
    assert output.is_file()
    with Image.open(output) as out:
        assert out.format == "JPEG"
        assert not out.getexif()
        assert "exif" not in out.info
    raw = output.read_bytes()
    assert b"Exif\x00\x00" not in raw and FAKE_ARTIST.encode() not in raw
    # The face was obscured: the eye region of the output differs from the input.
    with Image.open(source) as before, Image.open(io.BytesIO(raw)) as after:
        eyes = (200, 170, 325, 210)
        assert before.crop(eyes).tobytes() != after.convert("RGB").crop(eyes).tobytes()
