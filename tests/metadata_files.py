"""Builders for image files that carry every kind of metadata the metadata layer handles.

Each builder returns the bytes of a real, decodable file made from the astronaut
photo shipped with scikit-image, with a fake patient name and ID hidden in the
metadata. Containers are written by Pillow/pillow-heif/piexif where they can;
segments, chunks and trailers those libraries cannot write are spliced in as
raw bytes, exactly as cameras and DAM software lay them out.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import tempfile
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import piexif
import piexif.helper
import pillow_heif
from PIL import Image, ImageCms, PngImagePlugin

NAME_ZH = "王小明"
NAME_EN = "Wang Hsiao-Ming"
PATIENT_ID = "A123456789"
PHI = (NAME_ZH, NAME_EN, PATIENT_ID)

EXIFTOOL = shutil.which("exiftool")

_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "big5", "gb18030", "shift_jis", "euc_jp")


# --------------------------------------------------------------------------- pixels


@cache
def astronaut(size: tuple[int, int] = (160, 120)) -> np.ndarray:
    from skimage import data

    return np.asarray(Image.fromarray(data.astronaut()).resize(size, Image.Resampling.LANCZOS))


def pil_image(size: tuple[int, int] = (160, 120)) -> Image.Image:
    return Image.fromarray(astronaut(size))


@cache
def srgb_profile() -> bytes:
    """LittleCMS's built-in sRGB: a plain profile that policy keeps.

    Cached: LittleCMS stamps the creation time into the header, so two calls a
    second apart give different bytes.
    """
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def named_profile(description: str) -> bytes:
    """An sRGB profile whose description is free text (as calibration tools write)."""
    profile = bytearray(srgb_profile())
    (count,) = struct.unpack_from(">I", profile, 128)
    for i in range(count):
        sig, offset, length = struct.unpack_from(">4sII", profile, 132 + 12 * i)
        if sig != b"desc":
            continue
        text = description.encode("utf-16-be")
        tag = b"mluc" + bytes(4) + struct.pack(">II", 1, 12) + b"enUS"
        tag += struct.pack(">II", len(text), 28) + text
        tag += bytes(-len(tag) % 4)
        profile[offset : offset + length] = bytes(length)  # old text must not linger
        start = len(profile)
        profile += tag
        struct.pack_into(">4sII", profile, 132 + 12 * i, sig, start, len(tag))
    struct.pack_into(">I", profile, 0, len(profile))
    profile[84:100] = bytes(16)  # the profile ID no longer matches; clear it
    return bytes(profile)


# --------------------------------------------------------------------------- EXIF / XMP


def exif_block(*, orientation: int | None = None, thumbnail: bool = True) -> bytes:
    """EXIF with PHI in Artist, XPAuthor, ImageDescription, UserComment and MakerNote,
    GPS coordinates and an IFD1 JPEG thumbnail of the face."""
    zeroth = {
        piexif.ImageIFD.Artist: NAME_EN.encode(),
        piexif.ImageIFD.ImageDescription: PATIENT_ID.encode(),
        piexif.ImageIFD.Make: b"Canon",
        piexif.ImageIFD.Model: b"EOS R6",
        piexif.ImageIFD.DateTime: b"2024:05:01 10:00:00",
        piexif.ImageIFD.Software: b"ClinicCapture 2.1",
        piexif.ImageIFD.XPAuthor: (NAME_ZH + "\x00").encode("utf-16-le"),
    }
    if orientation is not None:
        zeroth[piexif.ImageIFD.Orientation] = orientation
    comment = piexif.helper.UserComment.dump(f"{NAME_ZH} {PATIENT_ID}", encoding="unicode")
    exif = {
        piexif.ExifIFD.UserComment: comment,
        piexif.ExifIFD.DateTimeOriginal: b"2024:05:01 10:00:00",
        piexif.ExifIFD.MakerNote: b"Canon\x00" + f"owner={NAME_EN};id={PATIENT_ID}".encode(),
    }
    gps = {
        piexif.GPSIFD.GPSLatitudeRef: b"N",
        piexif.GPSIFD.GPSLatitude: ((25, 1), (2, 1), (3000, 100)),
        piexif.GPSIFD.GPSLongitudeRef: b"E",
        piexif.GPSIFD.GPSLongitude: ((121, 1), (33, 1), (1500, 100)),
    }
    data: dict = {"0th": zeroth, "Exif": exif, "GPS": gps}
    if thumbnail:
        thumb = io.BytesIO()
        pil_image((40, 30)).save(thumb, "JPEG", quality=80)
        data["1st"] = {piexif.ImageIFD.Compression: 6}
        data["thumbnail"] = thumb.getvalue()
    return piexif.dump(data)


def xmp_packet() -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        f'photoshop:City="Taipei"><dc:creator><rdf:Seq><rdf:li>{NAME_EN}</rdf:li>'
        f"<rdf:li>{NAME_ZH}</rdf:li></rdf:Seq></dc:creator>"
        f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{PATIENT_ID}</rdf:li>'
        "</rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def iptc_block() -> bytes:
    """Photoshop IRB with IPTC By-line/Caption and a JPEG thumbnail resource."""

    def dataset(record: int, number: int, value: bytes) -> bytes:
        return b"\x1c" + bytes((record, number)) + struct.pack(">H", len(value)) + value

    def resource(rid: int, payload: bytes) -> bytes:
        body = b"8BIM" + struct.pack(">H", rid) + b"\x00\x00" + struct.pack(">I", len(payload))
        return body + payload + bytes(len(payload) % 2)

    iptc = (
        dataset(1, 90, b"\x1b%G")
        + dataset(2, 0, b"\x00\x04")
        + dataset(2, 80, NAME_EN.encode())
        + dataset(2, 120, f"{NAME_ZH} {PATIENT_ID}".encode())
    )
    thumb = io.BytesIO()
    pil_image((32, 24)).save(thumb, "JPEG", quality=70)
    thumb_resource = struct.pack(">IIIIIIHH", 1, 32, 24, 96, 96 * 24, len(thumb.getvalue()), 24, 1)
    resolution = struct.pack(">IHHIHH", 72 << 16, 1, 1, 72 << 16, 1, 1)
    return (
        b"Photoshop 3.0\x00"
        + resource(0x03ED, resolution)
        + resource(0x0404, iptc)
        + resource(0x040C, thumb_resource + thumb.getvalue())
    )


# --------------------------------------------------------------------------- JPEG


def segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_bytes(
    size: tuple[int, int] = (160, 120), *, icc: bytes | None = None, progressive: bool = False
) -> bytes:
    buf = io.BytesIO()
    kwargs = {"icc_profile": icc} if icc else {}
    pil_image(size).save(buf, "JPEG", quality=90, progressive=progressive, **kwargs)
    return buf.getvalue()


def insert_segments(jpeg: bytes, segments: list[bytes]) -> bytes:
    """Splice raw segments in after SOI and the JFIF APP0, where cameras put them."""
    pos = 2
    if jpeg[2:4] == b"\xff\xe0":
        pos = 4 + struct.unpack_from(">H", jpeg, 4)[0]
    return jpeg[:pos] + b"".join(segments) + jpeg[pos:]


def samsung_trailer() -> bytes:
    """A Samsung-style SEFH/SEFT trailer holding a text record with PHI."""
    record = b"\x00\x00\x01\x0a" + b"Image_UTC_Data" + b"1714557600000"
    record += f"|owner={NAME_EN}|{PATIENT_ID}".encode()
    sefh = (
        b"SEFH"
        + struct.pack("<II", 107, 1)
        + struct.pack("<HHII", 0, 0x0A01, len(record), len(record))
    )
    return record + sefh + struct.pack("<I", len(sefh)) + b"SEFT"


def jpeg_everything(*, orientation: int | None = None, icc: bytes | None = None) -> bytes:
    """A JPEG with every JPEG-side metadata kind, an MPF-less second image and a trailer."""
    jfif_thumb = b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x02\x02" + bytes(range(12))
    base = jpeg_bytes(icc=icc)
    base = base[:2] + segment(0xE0, jfif_thumb) + base[4 + struct.unpack_from(">H", base, 4)[0] :]
    segments = [
        segment(0xE1, exif_block(orientation=orientation)),
        segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp_packet()),
        segment(0xED, iptc_block()),
        segment(0xFE, f"patient {NAME_EN} {PATIENT_ID}".encode()),
        segment(0xE5, b"VENDOR\x00" + NAME_EN.encode()),
        segment(0xE9, b"\x00" + PATIENT_ID.encode("utf-16-le")),
        segment(0xEF, b"Ocad$Rev\x00" + NAME_ZH.encode()),
    ]
    second = jpeg_bytes((80, 60))
    return insert_segments(base, segments) + second + samsung_trailer()


def mpo_bytes() -> bytes:
    """A real MPO (APP2 MPF index + second image after EOI), as Pillow writes it."""
    buf = io.BytesIO()
    first, second = pil_image(), pil_image().transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    first.save(buf, format="MPO", save_all=True, append_images=[second], exif=exif_block())
    return buf.getvalue()


# --------------------------------------------------------------------------- PNG


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png_everything(*, icc: bytes | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", NAME_EN)
    info.add_text("Comment", f"chart {PATIENT_ID}", zip=True)
    info.add_itxt("Description", f"{NAME_ZH} {PATIENT_ID}", lang="zh-TW", tkey="描述")
    info.add_itxt("XML:com.adobe.xmp", xmp_packet().decode())
    info.add_text(NAME_EN, "custom keyword holding a name")
    info.add(b"tIME", struct.pack(">HBBBBB", 2024, 5, 1, 10, 0, 0))
    info.add(b"prVt", f"{NAME_EN}|{PATIENT_ID}".encode())
    buf = io.BytesIO()
    kwargs = {"icc_profile": icc} if icc else {}
    pil_image().save(buf, "PNG", pnginfo=info, exif=exif_block(thumbnail=False), **kwargs)
    return buf.getvalue() + f"after-iend {NAME_EN} {PATIENT_ID}".encode()


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of every chunk up to IEND."""
    out, pos = [], 8
    while pos + 8 <= len(data):
        length, ctype = struct.unpack_from(">I4s", data, pos)
        out.append((ctype, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
        if ctype == b"IEND":
            break
    return out


def png_end(data: bytes) -> int:
    pos = 8
    while True:
        length, ctype = struct.unpack_from(">I4s", data, pos)
        pos += 12 + length
        if ctype == b"IEND":
            return pos


# --------------------------------------------------------------------------- WebP


def webp_everything(*, icc: bytes | None = None, lossless: bool = False) -> bytes:
    buf = io.BytesIO()
    kwargs = {"icc_profile": icc} if icc else {}
    pil_image().save(
        buf,
        "WEBP",
        quality=90,
        lossless=lossless,
        exif=exif_block(),
        xmp=xmp_packet(),
        **kwargs,
    )
    return buf.getvalue() + f"after-riff {NAME_EN}".encode()


def webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 12
    end = 8 + struct.unpack_from("<I", data, 4)[0]
    while pos + 8 <= end:
        fourcc, size = struct.unpack_from("<4sI", data, pos)
        out.append((fourcc, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return out


# --------------------------------------------------------------------------- TIFF


def tiff_everything() -> bytes:
    """An uncompressed RGB TIFF whose IFD0 holds identifying tags, EXIF and GPS IFDs,
    XMP and IPTC; laid out by piexif, pixel strip appended after the directories."""
    pixels = astronaut()
    height, width = pixels.shape[:2]
    photoshop = iptc_block()[len(b"Photoshop 3.0\x00") :]
    zeroth = {
        256: width,
        257: height,
        258: (8, 8, 8),
        259: 1,
        262: 2,
        273: 0,
        277: 3,
        278: height,
        279: pixels.nbytes,
        284: 1,
        700: xmp_packet(),
        34377: photoshop,
        315: NAME_EN.encode(),
        271: b"Canon",
        306: b"2024:05:01 10:00:00",
        270: PATIENT_ID.encode(),
        316: b"clinic-pc-3",
    }
    exif = {piexif.ExifIFD.UserComment: piexif.helper.UserComment.dump(NAME_ZH, encoding="unicode")}
    gps = {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((25, 1), (2, 1), (3, 1))}
    layout = {"0th": zeroth, "Exif": exif, "GPS": gps}
    header = piexif.dump(layout)[6:]
    zeroth[273] = len(header)
    tiff = piexif.dump(layout)[6:]
    assert len(tiff) == len(header)
    return tiff + pixels.tobytes()


def tiff_clean_written() -> bytes:
    buf = io.BytesIO()
    pil_image().save(buf, "TIFF")
    return buf.getvalue()


# --------------------------------------------------------------------------- HEIF


def heif_everything() -> bytes:
    """HEIC with EXIF (GPS, thumbnail), XMP and a second image made a thumbnail (thmb)."""
    buf = io.BytesIO()
    main = pil_image()
    main.save(
        buf,
        "HEIF",
        quality=80,
        exif=exif_block(thumbnail=False),
        xmp=xmp_packet(),
        save_all=True,
        append_images=[pil_image((40, 30))],
    )
    return add_heif_reference(buf.getvalue(), b"thmb", source=4, target=1)


def heif_with_depth() -> bytes:
    """HEIC with an auxiliary depth image: pillow-heif's alpha plane relabelled as depth."""
    buf = io.BytesIO()
    pil_image().convert("RGBA").save(buf, "HEIF", quality=80)
    alpha, depth = b"urn:mpeg:hevc:2015:auxid:1", b"urn:mpeg:hevc:2015:auxid:2"
    assert buf.getvalue().count(alpha) == 1
    return buf.getvalue().replace(alpha, depth)


def heif_rgba() -> bytes:
    buf = io.BytesIO()
    pil_image().convert("RGBA").save(buf, "HEIF", quality=80)
    return buf.getvalue()


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int, int]]:
    out, pos = [], start
    while pos < end:
        size, btype = struct.unpack_from(">I4s", data, pos)
        out.append((btype, pos, pos + 8, pos + size))
        pos += size
    return out


def add_heif_reference(data: bytes, kind: bytes, *, source: int, target: int) -> bytes:
    """Add an ``iref`` entry (e.g. ``thmb``) to a pillow-heif file, fixing iloc offsets."""
    top = _boxes(data, 0, len(data))
    _, meta_start, meta_body, meta_end = next(b for b in top if b[0] == b"meta")
    children = _boxes(data, meta_body + 4, meta_end)
    reference = struct.pack(">I4sHHH", 14, kind, source, 1, target)
    iref_at = next((b for b in children if b[0] == b"iref"), None)
    if iref_at is None:
        addition = struct.pack(">I4sI", 12 + len(reference), b"iref", 0) + reference
        insert_at = meta_end
    else:
        addition = reference
        insert_at = iref_at[3]
    delta = len(addition)
    out = bytearray(data[:insert_at] + addition + data[insert_at:])
    struct.pack_into(">I", out, meta_start, meta_end - meta_start + delta)
    if iref_at is not None:
        struct.pack_into(">I", out, iref_at[1], iref_at[3] - iref_at[1] + delta)
    _shift_iloc(out, next(b for b in children if b[0] == b"iloc"), delta)
    return bytes(out)


def _shift_iloc(out: bytearray, iloc: tuple[bytes, int, int, int], delta: int) -> None:
    """Add ``delta`` to every file-relative extent offset (the mdat moved by ``delta``)."""
    body = iloc[2]
    version = out[body]
    pos = body + 4
    sizes = struct.unpack_from(">H", out, pos)[0]
    offset_size, length_size, base_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15
    index_size = sizes & 15 if version in (1, 2) else 0
    pos += 2
    id_size = 2 if version < 2 else 4
    count = int.from_bytes(out[pos : pos + id_size], "big")
    pos += id_size
    for _ in range(count):
        pos += id_size
        method = 0
        if version in (1, 2):
            method = struct.unpack_from(">H", out, pos)[0] & 15
            pos += 2
        pos += 2
        base_pos = pos
        pos += base_size
        extents = struct.unpack_from(">H", out, pos)[0]
        pos += 2
        if method == 0 and base_size:
            value = int.from_bytes(out[base_pos : base_pos + base_size], "big") + delta
            out[base_pos : base_pos + base_size] = value.to_bytes(base_size, "big")
        for _ in range(extents):
            pos += index_size
            if method == 0 and not base_size:
                value = int.from_bytes(out[pos : pos + offset_size], "big") + delta
                out[pos : pos + offset_size] = value.to_bytes(offset_size, "big")
            pos += offset_size + length_size


# --------------------------------------------------------------------------- BMP / GIF


def bmp_with_trailer() -> bytes:
    buf = io.BytesIO()
    pil_image().save(buf, "BMP")
    return buf.getvalue() + f"{NAME_EN}|{PATIENT_ID}".encode()


def gif_with_comment() -> bytes:
    buf = io.BytesIO()
    pil_image().convert("P").save(buf, "GIF", comment=f"{NAME_EN} {PATIENT_ID}".encode())
    return buf.getvalue() + PATIENT_ID.encode()


# --------------------------------------------------------------------------- oracles


def phi_hits(data: bytes) -> list[str]:
    """Which PHI strings occur in ``data`` in any encoding EXIF, XMP, PNG or IPTC use."""
    hits = []
    for text in PHI:
        for encoding in _ENCODINGS:
            try:
                needle = text.encode(encoding)
            except UnicodeEncodeError:
                continue
            if needle in data:
                hits.append(f"{text!r} as {encoding}")
    return hits


def jpeg_scan_bytes(data: bytes) -> bytes:
    """Bytes from the first SOS marker to the first EOI (entropy-coded data included)."""
    pos = 2
    while True:
        marker = data[pos + 1]
        if marker == 0xDA:
            start = pos
            break
        pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
    from deid.metadata import jpeg

    layout = jpeg.parse(data)
    assert layout.end is not None
    return data[start : layout.end]


def exiftool_json(data: bytes, suffix: str) -> dict[str, object]:
    assert EXIFTOOL, "exiftool is required (Debian package libimage-exiftool-perl)"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"file{suffix}"
        path.write_bytes(data)
        out = subprocess.run(
            [EXIFTOOL, "-a", "-G1", "-s", "-j", "-u", str(path)],
            check=True,
            capture_output=True,
        ).stdout
    return json.loads(out)[0]


# Tag groups and names exiftool reports for a file that carries nothing but pixels.
_BENIGN_GROUPS = frozenset({"SourceFile", "ExifTool", "System"})
_BENIGN_TAGS = {
    "File": frozenset(
        {
            "FileType",
            "FileTypeExtension",
            "MIMEType",
            "ImageWidth",
            "ImageHeight",
            "EncodingProcess",
            "BitsPerSample",
            "ColorComponents",
            "YCbCrSubSampling",
            "BMPVersion",
            "Planes",
            "BitDepth",
            "Compression",
            "ImageLength",
            "PixelsPerMeterX",
            "PixelsPerMeterY",
            "NumColors",
            "NumImportantColors",
        }
    ),
    "JFIF": frozenset({"JFIFVersion", "ResolutionUnit", "XResolution", "YResolution"}),
    "Composite": frozenset({"ImageSize", "Megapixels"}),
    "RIFF": frozenset(
        {
            "VP8Version",
            "ImageWidth",
            "ImageHeight",
            "HorizontalScale",
            "VerticalScale",
            "WebP_Flags",
            "AlphaPreprocessing",
            "AlphaFiltering",
            "AlphaCompression",
            "AlphaIsUsed",
        }
    ),
    "PNG": frozenset(
        {
            "ImageWidth",
            "ImageHeight",
            "BitDepth",
            "ColorType",
            "Compression",
            "Filter",
            "Interlace",
            "Gamma",
            "SRGBRendering",
            "PixelsPerUnitX",
            "PixelsPerUnitY",
            "PixelUnits",
            "Palette",
            "Transparency",
            "SignificantBits",
            "BackgroundColor",
            "WhitePointX",
            "WhitePointY",
            "RedX",
            "RedY",
            "GreenX",
            "GreenY",
            "BlueX",
            "BlueY",
        }
    ),
    "IFD0": frozenset(
        {
            "ImageWidth",
            "ImageHeight",
            "BitsPerSample",
            "Compression",
            "PhotometricInterpretation",
            "StripOffsets",
            "SamplesPerPixel",
            "RowsPerStrip",
            "StripByteCounts",
            "PlanarConfiguration",
            "XResolution",
            "YResolution",
            "ResolutionUnit",
            "ExtraSamples",
            "Predictor",
            "SampleFormat",
        }
    ),
    "QuickTime": frozenset(
        {
            "MajorBrand",
            "MinorVersion",
            "CompatibleBrands",
            "HandlerType",
            "PrimaryItemReference",
            "HEVCConfigurationVersion",
            "GeneralProfileSpace",
            "GeneralTierFlag",
            "GeneralProfileIDC",
            "GenProfileCompatibilityFlags",
            "ConstraintIndicatorFlags",
            "GeneralLevelIDC",
            "MinSpatialSegmentationIDC",
            "ParallelismType",
            "ChromaFormat",
            "BitDepthLuma",
            "BitDepthChroma",
            "AverageFrameRate",
            "ConstantFrameRate",
            "NumTemporalLayers",
            "TemporalIDNested",
            "ColorProfiles",
            "ColorPrimaries",
            "TransferCharacteristics",
            "MatrixCoefficients",
            "VideoFullRangeFlag",
            "ImageSpatialExtent",
            "ImagePixelDepth",
            "AuxiliaryImageType",
            "MediaDataSize",
            "MediaDataOffset",
            "MediaData",
            "CleanAperture",
        }
    ),
    "Meta": frozenset({"PrimaryItemReference"}),
    "GIF": frozenset(
        {
            "GIFVersion",
            "ImageWidth",
            "ImageHeight",
            "HasColorMap",
            "ColorResolutionDepth",
            "BitsPerPixel",
            "BackgroundColor",
        }
    ),
    "APP14": frozenset({"DCTEncodeVersion", "APP14Flags0", "APP14Flags1", "ColorTransform"}),
}


def exiftool_identifying(data: bytes, suffix: str, *, icc_allowed: bool = False) -> list[str]:
    """Every exiftool tag that is not pure structure (plus any warning, e.g. a trailer)."""
    found = []
    tags = exiftool_json(data, suffix)
    for key in tags:
        group, _, tag = key.partition(":")
        if tag.endswith("Warning") or group.endswith("Warning"):
            found.append(key)
        elif group in _BENIGN_GROUPS or (group.startswith("ICC") and icc_allowed):
            continue
        elif key == "PNG:ProfileName" and icc_allowed and tags[key] == "ICC Profile":
            continue  # the fixed name the strip gives a kept profile
        elif key == "File:ExifByteOrder" and suffix == ".tif":
            continue  # a TIFF's own byte order, not an EXIF block
        elif tag not in _BENIGN_TAGS.get(group, frozenset()):
            found.append(key)
    return found


def suffix_for(data: bytes) -> str:
    from deid.metadata import sniff

    return {"jpeg": ".jpg", "heif": ".heic", "tiff": ".tif"}.get(
        sniff(data) or "", f".{sniff(data)}"
    )


pillow_heif.register_heif_opener()
