"""Contact details: phone numbers (Taiwan, US), e-mail and street addresses."""

from __future__ import annotations

import re

from .base import ADDRESS, EMAIL, PHONE, Pattern, PatternRecognizer

_TW_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)886[\s-]?|0)9\d{2}[\s.-]?\d{3}[\s.-]?\d{3}(?!\d)")
# The leading 0 is the character OCR most often drops at the start of a crop; grouped
# 3-3-3 digits starting with 9 are still a mobile number.
_TW_MOBILE_NO_ZERO = re.compile(r"(?<![A-Za-z\d+.-])9\d{2}[\s.-]\d{3}[\s.-]\d{3}(?![\d-])")
_TW_LANDLINE = re.compile(
    r"(?<![\d+])(?:(?:\+|00)886[\s-]?\(?|\(?0)[2-8]\d{0,2}\)?[\s.-]?\d{3,4}[\s.-]?\d{4}"
    r"(?:\s*(?:#|ext\.?|分機)\s*\d{1,5})?(?!\d)",
    re.IGNORECASE,
)
_US = re.compile(
    r"(?<![\d+])(?:(?:\+1|001|1)[\s.-]?)?\(?[2-9]\d{2}\)?[\s.-]?\d{3}[\s.-]\d{4}"
    r"(?:\s*(?:x|ext\.?)\s*\d{1,5})?(?!\d)",
    re.IGNORECASE,
)


# A mobile number whose end the line lost (a proposal or the photo's edge cut it, the
# rest read apart or not at all): 09xx-xxx and at most two digits more, then nothing.
# Seven digits starting 09 are a phone number; the fill goes on to the crop's edge.
_TW_MOBILE_CUT = re.compile(r"(?<![\d+/.-])09\d{2}[\s.-]?\d{3}(?:[\s.-]{1,2}\d{1,2})?\W*$")
# ...or whose start it lost ("35-526-278" of 0935-526-278): the mobile's last two groups
# of three digits after one or two more, at the line's start. The fill goes back to the
# crop's edge.
_TW_MOBILE_CUT_START = re.compile(r"^\W*(\d{1,2}[\s.-]\d{3}[\s.-]\d{3})(?![\d/.-])")


class TaiwanMobile(PatternRecognizer):
    name = "tw_mobile"
    category = PHONE
    patterns = (
        Pattern(_TW_MOBILE, 0.9),
        Pattern(_TW_MOBILE_NO_ZERO, 0.75),
        Pattern(_TW_MOBILE_CUT, 0.75),
        Pattern(_TW_MOBILE_CUT_START, 0.75, group=1),
    )
    fix_digits = True


class TaiwanLandline(PatternRecognizer):
    name = "tw_landline"
    category = PHONE
    patterns = (Pattern(_TW_LANDLINE, 0.8),)
    fix_digits = True


class UsPhone(PatternRecognizer):
    name = "us_phone"
    category = PHONE
    patterns = (Pattern(_US, 0.8),)
    fix_digits = True


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+\s?@\s?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


class Email(PatternRecognizer):
    name = "email"
    category = EMAIL
    patterns = (Pattern(_EMAIL, 0.95),)


_C = r"[\u4e00-\u9fff]"
# OCR puts spaces between CJK and digits; the road marker and a house number
# before 號 are what make it an address (zip code, district and floor are optional).
_TW_ADDRESS = re.compile(
    rf"(?:\d{{3,6}}\s*)?{_C}{{2,}}[\u4e00-\u9fff\d\s-]*?(?:路|街|道|巷|弄|段|村|里)"
    r"[\u4e00-\u9fff\d\s-]*?\d+\s*號(?:\s*之\s*\d+)?(?:\s*\d+\s*樓)?(?:\s*之\s*\d+)?"
)
_TW_DISTRICT = re.compile(rf"{_C}{{1,3}}[市縣]{_C}{{1,3}}[區鄉鎮市](?:{_C}{{1,6}}(?:路|街|大道))?")
_SUFFIXES = (
    r"(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Dr|Drive|Ln|Lane|Way|Ct|Court|Pl|Place|"
    r"Ter|Terrace|Cir|Circle|Pkwy|Parkway|Hwy|Highway|Sq|Square|Trl|Trail|Loop|Row)"
)
_UNIT = r"(?:,?\s+(?:Apt|Suite|Ste|Unit|#)\.?\s*\w+)?"
_US_STREET = re.compile(
    rf"(?<!\d)\d{{1,6}}\s+(?:[NSEW]\.?\s+)?(?:[A-Z][a-z]+\s+){{1,3}}{_SUFFIXES}\b\.?{_UNIT}"
)
# House numbers of three or more digits followed by capitalised words: street names
# not in the suffix list ("Smith Ports"); shorter numbers are too often tooth numbers.
_US_STREET_LOOSE = re.compile(rf"(?<!\d)\d{{3,6}}\s+(?:[A-Z][a-z]+\s+){{1,2}}[A-Z][a-z]+\b{_UNIT}")
_US_CITY_LINE = re.compile(r"\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)*,\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")


class TaiwanAddress(PatternRecognizer):
    name = "tw_address"
    category = ADDRESS
    patterns = (Pattern(_TW_ADDRESS, 0.9), Pattern(_TW_DISTRICT, 0.6))


class UsAddress(PatternRecognizer):
    name = "us_address"
    category = ADDRESS
    patterns = (
        Pattern(_US_STREET, 0.85),
        Pattern(_US_STREET_LOOSE, 0.6),
        Pattern(_US_CITY_LINE, 0.85),
    )
