"""Build the demo inputs: realistic clinic files made from photos that ship in packages.

Every identity here is invented. The files carry the three kinds of leak deid
removes: metadata (EXIF GPS, serials, dates, thumbnails, XMP, PNG text, an MPF
preview), faces, and burned-in text (names, chart numbers, IDs, phones, dates).

    python examples/make_examples.py examples/input
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import piexif
from matplotlib import cbook
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo
from skimage import data

CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
LATIN = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Lin Mei-Hua</dc:creator>'
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def font(size: int, cjk: bool = True) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(CJK if cjk else LATIN, size)


def exif_bytes(*, orientation: int = 1, thumb: Image.Image | None = None) -> bytes:
    def rational(v: float) -> tuple[int, int]:
        return (int(v * 10000), 10000)

    zeroth = {
        piexif.ImageIFD.Make: b"DentalCam",
        piexif.ImageIFD.Model: b"DC-5000",
        piexif.ImageIFD.Artist: "林美華".encode(),
        piexif.ImageIFD.DateTime: b"2024:05:01 10:21:33",
        piexif.ImageIFD.Orientation: orientation,
    }
    exif = {
        piexif.ExifIFD.DateTimeOriginal: b"2024:05:01 10:21:33",
        piexif.ExifIFD.BodySerialNumber: b"SN-0042-7781",
        piexif.ExifIFD.UserComment: b"ASCII\x00\x00\x00patient Lin Mei-Hua F223456786",
    }
    gps = {
        piexif.GPSIFD.GPSLatitudeRef: b"N",
        piexif.GPSIFD.GPSLatitude: (rational(25), rational(2), rational(30.5)),
        piexif.GPSIFD.GPSLongitudeRef: b"E",
        piexif.GPSIFD.GPSLongitude: (rational(121), rational(33), rational(50.1)),
    }
    first, thumbnail = {}, None
    if thumb is not None:
        buf = io.BytesIO()
        thumb.convert("RGB").resize((160, 120)).save(buf, "JPEG", quality=80)
        thumbnail = buf.getvalue()
        first = {piexif.ImageIFD.Compression: 6}
    return piexif.dump({"0th": zeroth, "Exif": exif, "GPS": gps, "1st": first,
                        "thumbnail": thumbnail})  # fmt: skip


def portrait() -> Image.Image:
    """A 4:3 smile portrait from scikit-image's astronaut, upscaled to camera size."""
    img = Image.fromarray(data.astronaut()).crop((60, 0, 460, 300))
    return img.resize((2400, 1800), Image.Resampling.LANCZOS)


def grace() -> Image.Image:
    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        return Image.open(fh).convert("RGB")


def smile_portrait_rotated(out: Path) -> None:
    """Stored sideways with EXIF orientation 6, as phones do; GPS, serial, thumbnail."""
    img = portrait()
    stored = img.transpose(Image.Transpose.ROTATE_90)  # orientation 6 turns it back upright
    stored.save(out / "smile_portrait.jpg", "JPEG", quality=92,
                exif=exif_bytes(orientation=6, thumb=stored))  # fmt: skip


def before_after(out: Path) -> None:
    """Side-by-side composite with labels and a burned-in patient overlay line."""
    face = grace().resize((768, 1000))
    canvas = Image.new("RGB", (1600, 1140), (245, 245, 245))
    canvas.paste(face, (24, 100))
    canvas.paste(face.point(lambda v: min(255, int(v * 1.08))), (808, 100))
    draw = ImageDraw.Draw(canvas)
    draw.text((330, 20), "術前 Before", font=font(48), fill=(30, 30, 30))
    draw.text((1110, 20), "術後 After", font=font(48), fill=(30, 30, 30))
    draw.text((40, 1104), "患者 陳志明  病歷號 0012345  生日 民國80年5月1日", font=font(28),
              fill=(200, 20, 20))  # fmt: skip
    xmp_exif = exif_bytes()
    canvas.save(out / "before_after.jpg", "JPEG", quality=92, exif=xmp_exif, xmp=XMP)


def name_card(out: Path) -> None:
    """A card held in frame: name, national ID, phone; PNG text chunks carry more."""
    card = Image.new("RGB", (1200, 700), (252, 250, 240))
    draw = ImageDraw.Draw(card)
    draw.rectangle((20, 20, 1180, 680), outline=(60, 60, 60), width=4)
    draw.text((70, 70), "好牙醫診所 Smile Dental Clinic", font=font(44), fill=(20, 60, 120))
    draw.text((70, 200), "姓名：林美華", font=font(60), fill=(10, 10, 10))
    draw.text((70, 310), "身分證 F223456786", font=font(52), fill=(10, 10, 10))
    draw.text((70, 410), "電話 0912-345-678", font=font(52), fill=(10, 10, 10))
    draw.text((70, 520), "回診 113/05/01", font=font(52), fill=(10, 10, 10))
    info = PngInfo()
    info.add_itxt("Author", "林美華", lang="zh-TW")
    info.add_text("Comment", "chart 0012345")
    card.save(out / "name_card.png", "PNG", pnginfo=info)


def xray_export(out: Path) -> None:
    """Grayscale panoramic-style export with white-on-black corner overlays."""
    h, w = 900, 1800
    yy, xx = np.mgrid[0:h, 0:w]
    arch = np.exp(-(((yy - 470) / 210.0) ** 2)) * (0.55 + 0.45 * np.cos(xx / 37.0) ** 8)
    img = Image.fromarray((20 + 170 * arch).astype(np.uint8), "L")
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 640, 110), fill=0)
    draw.text((16, 10), "陳志明  M", font=font(40), fill=255)
    draw.text((16, 60), "ID A123456789  113/05/01", font=font(34, cjk=False), fill=255)
    draw.text((w - 360, h - 60), "PANO  70kV 10mA", font=font(30, cjk=False), fill=230)
    img.save(out / "xray_export.png", "PNG")


def intraoral(out: Path) -> None:
    """Lower-face close-up with no eyes in frame: must come out with pixels untouched."""
    img = Image.fromarray(data.astronaut()).crop((170, 140, 290, 210)).resize((1200, 700))
    img.save(out / "intraoral.jpg", "JPEG", quality=92, exif=exif_bytes())


def phone_mpo(out: Path) -> None:
    """A phone JPEG with an MPF preview image and a vendor trailer after the end marker."""
    main_img = Image.fromarray(data.coffee())
    buf = io.BytesIO()
    main_img.save(buf, "MPO", save_all=True, append_images=[main_img.resize((320, 240))],
                  exif=exif_bytes())  # fmt: skip
    (out / "phone_photo.jpg").write_bytes(buf.getvalue() + b"SEFHvendor-trailer-Lin Mei-Hua")


def treatment_pair(pair: Path) -> None:
    """Two visits' photos for `deid compose` (make demo): the same smile, the second
    photo turned, closer and in warmer light, as a second visit's photo would be.
    Each carries the patient's name and the visit date burned in, and EXIF.

        python examples/make_examples.py --pair examples/output/pair
    """
    pair.mkdir(parents=True, exist_ok=True)
    first = portrait()
    w, h = first.size
    second = first.rotate(-7, resample=Image.Resampling.BICUBIC, center=(w * 0.45, h * 0.55))
    second = second.crop((int(w * 0.06), int(h * 0.04), int(w * 0.94), int(h * 0.92)))
    second = second.resize((w, h), Image.Resampling.LANCZOS)
    tint = np.asarray(second).astype(np.float32) * (1.06, 1.0, 0.92)
    second = Image.fromarray(np.clip(tint, 0, 255).astype(np.uint8))
    for img, name, date in (
        (first, "before.jpg", "2024/05/01"),
        (second, "after.jpg", "2024/11/20"),
    ):
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, h - 90, w, h), fill=(0, 0, 0))
        draw.text(
            (30, h - 78), f"林美華  病歷號 A123456  {date}", font=font(56), fill=(255, 255, 255)
        )
        img.save(pair / name, "JPEG", quality=92, exif=exif_bytes())
    # The clinic's name may be drawn on a published picture only from the allow list.
    (pair / "allow.txt").write_text("Smile Dental\n", "utf-8")


def main(argv: list[str]) -> int:
    if len(argv) > 2 and argv[1] == "--pair":
        treatment_pair(Path(argv[2]))
        print(f"wrote a before/after pair to {argv[2]}")
        return 0
    out = Path(argv[1] if len(argv) > 1 else "examples/input")
    out.mkdir(parents=True, exist_ok=True)
    for make in (smile_portrait_rotated, before_after, name_card, xray_export, intraoral,
                 phone_mpo):  # fmt: skip
        make(out)
    print(f"wrote {len(list(out.iterdir()))} example inputs to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
