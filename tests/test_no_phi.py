"""No PHI anywhere: a batch of PHI-laden inputs with DEBUG logging on, every artifact grepped.

Identities are generated (Faker, ``zh_TW`` and ``en_US``, fixed seeds) and hidden in
every place an input can carry them: file and folder names, EXIF (ASCII and UTF-16
XP tags), XMP, IPTC, JPEG comments and APPn segments, PNG text chunks, trailers after
the image, burned into the pixels, and in the message of an exception a stage raises
(``fail_closed_stages.raises_with_phi``).
The batch runs through the real command line, once in-process and once with worker
processes, each logging at DEBUG. Every byte it leaves is then searched for each
identity in UTF-8, UTF-16 (both byte orders), JSON ``\\u`` escapes, percent-encoding
and HTML escaping (named and numeric): zero hits.
"""

from __future__ import annotations

import html
import io
import json
import urllib.parse
from pathlib import Path

import piexif
import pytest
from faker import Faker
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from hostile_run import artifacts, run_cli
from metadata_files import insert_segments, segment, xmp_packet

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def identities() -> list[str]:
    """Names, national IDs, phones and e-mails of four generated people."""
    found = []
    for locale, seed in (("zh_TW", 11), ("zh_TW", 12), ("en_US", 13), ("en_US", 14)):
        fake = Faker(locale)
        fake.seed_instance(seed)
        found += [fake.name(), fake.ssn(), fake.phone_number()]
        if locale == "en_US":
            found.append(fake.email())
    return found


IDS = identities()


def needles(text: str) -> dict[str, bytes]:
    """``text`` in every encoding an artifact could carry it in."""
    forms = {
        "utf-8": text.encode("utf-8"),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
        "json-ascii": json.dumps(text)[1:-1].encode("ascii"),
        "percent": urllib.parse.quote(text).encode("ascii"),
        "percent-plus": urllib.parse.quote_plus(text).encode("ascii"),
        "html": html.escape(text).encode("utf-8"),
        "html-numeric": "".join(f"&#{ord(c)};" if ord(c) > 127 else c for c in text).encode(),
        "html-hex": "".join(f"&#x{ord(c):x};" if ord(c) > 127 else c for c in text).encode(),
    }
    return {k: v for k, v in forms.items() if v}


def hits(blob: bytes, where: str) -> list[str]:
    found = []
    low = blob.lower()
    for ident in IDS:
        for form, needle in needles(ident).items():
            if needle.lower() in low:
                found.append(f"{ident!r} as {form} in {where}")
    return found


def _burned(lines: list[str], size: tuple[int, int] = (640, 360)) -> Image.Image:
    img = Image.new("RGB", size, (235, 230, 220))
    draw = ImageDraw.Draw(img)
    for font_path in ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                      "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):  # fmt: skip
        if Path(font_path).is_file():
            font = ImageFont.truetype(font_path, 30)
            break
    else:
        font = ImageFont.load_default()
    for n, line in enumerate(lines):
        draw.text((20, 30 + 50 * n), line, fill=(10, 10, 10), font=font)
    return img


def _jpeg_with_everything(img: Image.Image, who: list[str]) -> bytes:
    name, pid, phone = who[0], who[1], who[2]
    exif = piexif.dump({
        "0th": {piexif.ImageIFD.Artist: name.encode("utf-8"),
                piexif.ImageIFD.ImageDescription: f"{name} {pid}".encode(),
                piexif.ImageIFD.XPComment: f"{name} {phone}".encode("utf-16-le"),
                piexif.ImageIFD.XPAuthor: name.encode("utf-16-le")},
        "Exif": {piexif.ExifIFD.UserComment: b"UNICODE\0" + pid.encode("utf-16-be")},
        "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N",
                piexif.GPSIFD.GPSLatitude: ((25, 1), (2, 1), (0, 1))},
    })  # fmt: skip
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, exif=exif)
    xmp = xmp_packet().replace(b"</x:xmpmeta>", f"<!-- {name} {pid} -->".encode() + b"</x:xmpmeta>")
    extra = [
        segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp),
        segment(0xFE, f"patient {name} {pid} {phone}".encode()),
        segment(0xEB, name.encode("utf-16-le")),
    ]
    return insert_segments(buf.getvalue(), extra) + f"{name}|{pid}".encode()


def _png_with_text(img: Image.Image, who: list[str]) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", who[0])
    info.add_text("Comment", " ".join(who), zip=True)
    info.add_itxt("Description", " ".join(who), lang="zh-TW", tkey=who[0])
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _inputs(src: Path) -> int:
    people = [IDS[0:3], IDS[3:6], IDS[6:10], IDS[10:14]]
    made = 0
    for who in people:
        folder = src / f"{who[0]} visit"
        folder.mkdir(parents=True)
        photo = _burned([f"Name: {who[0]}", f"ID: {who[1]}", f"Tel: {who[2]}"])
        (folder / f"{who[0]}_術前.jpg").write_bytes(_jpeg_with_everything(photo, who))
        (folder / f"{who[1]}.png").write_bytes(_png_with_text(photo, who))
        plain = _burned(["Before"], (320, 200))
        (folder / f"{who[2]} after.jpg").write_bytes(_jpeg_with_everything(plain, who))
        # A file that fails: its name and its bytes hold PHI, its report must not.
        (folder / f"{who[0]}-broken.jpg").write_bytes(b"\xff\xd8\xff\xfe\x00\x20" + who[0].encode())
        made += 4
    return made


@pytest.mark.parametrize("workers", ["1", "2"])
def test_no_identity_reaches_any_artifact(tmp_path: Path, workers: str) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    count = _inputs(src)
    log = tmp_path / "debug.log"
    stages = "metadata,faces,text,fail_closed_stages:raises_with_phi"
    run = run_cli(["batch", str(src), str(out), "--workers", workers, "--stages", stages],
                  tmp_path, debug_log=log, env={"DEID_PHI_MESSAGE": " ".join(IDS)})  # fmt: skip
    assert run.returncode == 2, run.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["total"] == count
    # The broken files and the ones whose stage raised; the others written.
    assert summary["counts"].get("failed") == 8, summary["counts"]
    assert (out / "review.html").is_file()
    logged = log.read_bytes()
    assert b" DEBUG " in logged and b"deid" in logged, "debug logging must really be on"
    everything = {**{f"out/{k}": v for k, v in artifacts(out).items()},
                  "stdout": run.stdout, "stderr": run.stderr, "debug.log": logged}  # fmt: skip
    found = [h for where, blob in everything.items() for h in hits(blob, where)]
    found += [h for name in everything for h in hits(name.encode("utf-8"), f"name {name!r}")]
    print(f"artifacts searched: {len(everything)}, identities: {len(IDS)}, hits: {len(found)}")  # noqa: T201
    assert not found


def test_the_search_finds_what_it_looks_for() -> None:
    """The grep itself works on every form it claims to search (so zero means zero)."""
    name = IDS[0]
    for form, needle in needles(name).items():
        assert hits(b"xx" + needle + b"yy", form), form
    assert not hits(b"nothing here", "x")
