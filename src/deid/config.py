"""Immutable configuration.

Every default is the safe choice for publishing clinical photos; each says why in
one line. Unknown keys and wrong types raise ``ConfigError``: a typo in a clinic's
config must never silently fall back to a weaker default.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError


@dataclass(frozen=True)
class InputConfig:
    # Decompression-bomb guard: above any clinical camera (<= 60 MP), far below what
    # exhausts memory, and under Pillow's own warning threshold so nothing is printed.
    max_pixels: int = 80_000_000
    # Largest input file accepted, in bytes.
    max_bytes: int = 200_000_000


@dataclass(frozen=True)
class MetadataConfig:
    # A plain colour profile identifies no one and keeps colours right; anything
    # that is not a plain display/input/output profile is dropped regardless.
    keep_icc: bool = True


@dataclass(frozen=True)
class OutputConfig:
    # 95 with 4:4:4 chroma is visually indistinguishable for clinical review
    # (mat2's 75 is not); lower only if file size matters more than detail.
    jpeg_quality: int = 95
    jpeg_subsampling: Literal["4:4:4", "4:2:2", "4:2:0"] = "4:4:4"
    webp_quality: int = 95
    heif_quality: int = 95
    # When no pixel changes and the container allows it, rewrite only the
    # metadata segments so the compressed image data stays byte-identical.
    lossless_when_unchanged: bool = True
    # "same" keeps each input's format (GIF becomes PNG); "jpeg" or "png" writes every
    # output in one format for sites that accept only that one.
    format: Literal["same", "jpeg", "png"] = "same"


@dataclass(frozen=True)
class FaceConfig:
    enabled: bool = True
    # Solid fill leaves nothing to reconstruct; pixelate and blur keep low frequencies
    # that face recognisers and de-blurring still exploit.
    method: Literal["fill", "pixelate", "blur"] = "fill"
    # Neutral grey: carries no skin tone and is obviously deliberate.
    fill_color: tuple[int, int, int] = (128, 128, 128)
    # Pixelate block as a fraction of face width: ~6 blocks across leaves no features.
    pixelate_block: float = 0.16
    # Blur sigma as a fraction of face width: strong enough to erase eyes and brows.
    blur_sigma: float = 0.25
    # Subject faces keep their mouth; "none" obscures every face entirely.
    keep_oral: Literal["all", "largest", "none"] = "all"
    # Faces narrower than this fraction of the largest are bystanders, fully obscured
    # (0.4 = clearly smaller; detector box sizes vary by about 10% between faces).
    bystander_ratio: float = 0.4
    # Kept region grows by this fraction of mouth width so teeth and gums stay whole.
    oral_margin: float = 0.15
    # Soft edge around the kept mouth, as a fraction of face width.
    feather: float = 0.05
    # Without a reliable mesh, keep an ellipse at the detector's mouth keypoint (reported).
    mouth_fallback: Literal["ellipse", "obscure"] = "ellipse"
    # A face whose mouth cannot be located is fully obscured and flagged for review.
    review_unlocated_mouth: bool = True
    # Low detector threshold: a missed face is a privacy breach, a false one is filtered.
    min_score: float = 0.5
    # Smallest face (px wide) searched for with tiles; below it nothing identifies anyone.
    min_face_px: int = 32
    # Tile pass for small faces (group photos, staff in the background).
    small_faces: bool = True
    # Extra whole-frame passes (degrees) for sideways/upside-down photos; cheap at that scale.
    rotations: tuple[int, ...] = (90, 180, 270)
    # When to run them: a photo turned without EXIF orientation shows no upright face;
    # "always" also covers a turned face beside an upright one, at a third more time.
    rotate_when: Literal["always", "no_upright_face"] = "no_upright_face"
    # Threads for the small-face tiles and cascades (one detector graph each). A batch
    # with several workers gives each its share of the cores instead. Speed only: the
    # tiles are independent, so outputs are the same for any count.
    threads: int = 2
    # Haar profile path for side views BlazeFace misses.
    profile: bool = True
    # Re-detect on the redacted pixels and escalate anything still showing eyes.
    verify: bool = True


@dataclass(frozen=True)
class TextConfig:
    enabled: bool = True
    # "phi" redacts what the recognisers find; "all_text" removes every readable word
    # except the allow list, for clinics that prefer over-redaction to any review.
    redact: Literal["phi", "all_text"] = "phi"
    # Practice-system export (CSV of names/IDs): these are matched with OCR-error
    # tolerance, so a known patient is caught even where the generic rules are unsure.
    roster: str = ""
    # File of strings never redacted (clinic name, doctor names), one per line.
    allow_list: str = ""
    # File of strings always redacted wherever they appear, one per line.
    deny_list: str = ""
    # Labels that identify no one and carry the clinical meaning of a composite.
    allow: tuple[str, ...] = (
        "Before", "After", "Pre-op", "Post-op", "Preop", "Postop", "Initial", "Final",
        "術前", "術後", "治療前", "治療後", "初診", "複診",
    )  # fmt: skip
    # RapidOCR read more PHI on the dev set than Tesseract (99 % vs 92 %, Chinese
    # names 97 % vs 77 %) in a quarter of the time; "tesseract" needs no extra install.
    engine: Literal["tesseract", "rapidocr"] = "rapidocr"
    # A solid fill cannot be reversed; blur is only for clinics that insist on looks.
    fill: Literal["fill", "blur"] = "fill"
    # Padding around each redacted token, as a fraction of its text height, plus a
    # minimum in pixels: anti-aliased glyph edges stay readable without it.
    padding: float = 0.25
    padding_px: int = 3
    # Outside the oral region a weak match is still redacted: a black bar over noise
    # costs nothing clinically, a missed name is a breach.
    min_score: float = 0.3
    # Shape-only matches (score below 0.7, e.g. a lone surname-initial token) must
    # also be read with this OCR confidence: photo texture read as 米X is not a name.
    weak_match_min_ocr_confidence: float = 0.5
    # Inside the oral region (from the face stage) only strong matches read with high
    # OCR confidence are redacted, so OCR noise on teeth never blacks out the teeth.
    keep_region_min_score: float = 0.85
    keep_region_min_ocr_confidence: float = 0.8
    # In all_text mode, words below this OCR confidence are treated as noise.
    all_text_min_ocr_confidence: float = 0.5
    # Key for the short hash in safe file names; empty means a random key per process,
    # so published names cannot be reversed by hashing a list of common names.
    filename_key: str = ""
    # Re-read the surroundings of every redaction; readable PHI escalates to review.
    verify: bool = True


@dataclass(frozen=True)
class BatchConfig:
    # A 12 MP photo takes seconds; an image still running after this long is stuck
    # (a hostile file, a native loop) and is failed with reason "timeout" so the rest
    # of the batch goes on.
    image_timeout_s: float = 600.0
    # A worker that has not loaded its models after this long is broken: the batch
    # stops with a one-line error rather than waiting for it.
    start_timeout_s: float = 300.0
    # Worker processes for `deid batch`; 0 means one per usable core (CPU affinity and
    # container limits counted), since images are independent and models load once each.
    workers: int = 0
    # Globs on paths relative to the input folder (`*` stays within one folder, `**`
    # crosses folders). Empty include means every image; exclude wins over include.
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key in ("image_timeout_s", "start_timeout_s"):
            value = getattr(self, key)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{key} must be a positive number of seconds")
        if self.workers < 0:
            raise ValueError("workers must be 0 (one per usable core) or more")


@dataclass(frozen=True)
class ModelsConfig:
    # Empty means: $DEID_MODELS_DIR, else the checkout's models/, else the user data dir.
    dir: str = ""


@dataclass(frozen=True)
class Config:
    stages: tuple[str, ...] = ("metadata", "faces", "text")
    input: InputConfig = field(default_factory=InputConfig)
    metadata: MetadataConfig = field(default_factory=MetadataConfig)
    faces: FaceConfig = field(default_factory=FaceConfig)
    text: TextConfig = field(default_factory=TextConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Config:
        return _build(cls, data, "")

    @classmethod
    def from_toml(cls, path: str | Path) -> Config:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file is not valid TOML: {exc}") from exc
        return cls.from_mapping(data)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))

    def replace(self, **sections: Any) -> Config:
        """Copy with whole sections or section fields replaced, validated like TOML."""
        merged = self.to_dict()
        for key, value in sections.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            elif dataclasses.is_dataclass(value) and not isinstance(value, type):
                merged[key] = dataclasses.asdict(value)
            else:
                merged[key] = value
        return Config.from_mapping(merged)

    def digest(self) -> str:
        """Stable short hash recorded in every report, so outputs can be traced to settings.

        The batch section (time limits, workers, which files) and the face stage's thread
        count change no output, so they are left out: raising a limit or running more
        workers must not make a rerun redo every image.
        """
        settings = {k: v for k, v in self.to_dict().items() if k != "batch"}
        settings["faces"] = {k: v for k, v in settings["faces"].items() if k != "threads"}
        blob = json.dumps(settings, sort_keys=True, ensure_ascii=True)
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_toml(self) -> str:
        """Every setting as TOML that ``from_toml`` reads back to this same config, so
        `deid config show` output can be saved and edited as a settings file."""
        data = self.to_dict()
        lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
        for section, table in data.items():
            if isinstance(table, dict):
                lines += ["", f"[{section}]"]
                lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
        return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # JSON string escapes are a subset of TOML basic-string escapes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where or 'config'}: unknown key(s) {', '.join(unknown)}")
    kwargs = {key: _coerce(hints[key], value, f"{where}{key}") for key, value in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or 'config'}: {exc}") from exc


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where + ".")
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{where}: must be one of {choices}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list")
        item = args[0] if args else Any
        return tuple(_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _coerce(option, value, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: value of the wrong type")
    if hint is Any:
        return value
    if hint is type(None):
        if value is not None:
            raise ConfigError(f"{where}: expected nothing")
        return None
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string")
        return value
    raise ConfigError(f"{where}: unsupported setting type")
