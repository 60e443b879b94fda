"""Bounded fuzzing of every container parser in the suite (``fuzz/fuzz_containers.py``).

Each harness runs in its own process under libFuzzer (atheris) for a fixed number of
inputs with a fixed seed, from the seed corpus ``fuzz/make_corpus.py`` generates; the
runs libFuzzer reports are counted and must reach ``MIN_TOTAL`` in all. Any crash,
hang or memory blow-up fails the test with the saved input's path in the message; a
crash found this way becomes a regression test in ``test_fuzz_regressions.py``.
``make fuzz`` runs the same harnesses for a chosen time instead.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris has binary wheels for Linux x86_64 only")

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "fuzz" / "fuzz_containers.py"
# Inputs per container, weighted by speed: a TIFF or JPEG input also goes through
# Pillow's decoder, an XMP or ICC block only through our parser.
RUNS = {"jpeg": 4_000, "png": 12_000, "webp": 8_000, "tiff": 2_500, "heif": 3_000,
        "gif": 15_000, "bmp": 12_000, "exif": 8_000, "iptc": 15_000, "xmp": 12_000,
        "icc": 15_000}  # fmt: skip
MIN_TOTAL = 100_000
LIBFUZZER = ["-seed=1", "-timeout=20", "-rss_limit_mb=2048", "-max_len=16384",
             "-print_final_stats=1"]  # fmt: skip


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz-seeds")
    subprocess.run([sys.executable, str(ROOT / "fuzz" / "make_corpus.py"), str(folder)],
                   check=True, capture_output=True)  # fmt: skip
    return folder


def _fuzz(container: str, runs: int, seeds: Path, work: Path) -> tuple[int, str]:
    corpus = work / container
    corpus.mkdir()  # new inputs go here; the seeds stay as generated
    saved = f"-artifact_prefix={work}/{container}-"
    cmd = [sys.executable, str(HARNESS), container, f"-runs={runs}", *LIBFUZZER, saved,
           str(corpus), str(seeds / container)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=600)
    count = re.search(r"Done (\d+) runs", done.stderr)
    crashes = sorted(p.name for p in work.glob(f"{container}-*"))
    problem = ""
    if done.returncode != 0 or crashes or count is None:
        problem = f"{container}: exit {done.returncode}, saved {crashes}\n{done.stderr[-3000:]}"
    return (int(count.group(1)) if count else 0), problem


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_container_parser_survives_bounded_fuzzing(seeds: Path, tmp_path: Path) -> None:
    total, problems, counts = 0, [], {}
    for container, runs in RUNS.items():
        done, problem = _fuzz(container, runs, seeds, tmp_path)
        counts[container] = done
        total += done
        if problem:
            problems.append(problem)
    print(f"fuzz iterations: {total} ({counts}); crashes: {len(problems)}")  # noqa: T201
    assert not problems, "\n\n".join(problems)
    assert total >= MIN_TOTAL
