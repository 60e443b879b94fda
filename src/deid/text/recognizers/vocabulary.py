"""Words of clinical captions: what a photo's harmless text is made of.

A capitalised run of these is a caption, not an English name, and a line made only
of them is not the value of a label standing on another line: a label alone at the
end of one line leads the start of the next only because its value often sits
there, and when the value was read beside it instead (another proposal of the same
row), the next line is whatever caption follows (Upper, 3 months, 正面照, #11).
A label on the same line as its value still takes it whatever it reads.
"""

from __future__ import annotations

import re

# Capitalised words common on dental photos; a run of these is a caption, not a name.
_ENGLISH_TEXT = """
Before After Treatment Dental Dentistry Dentist Clinic Smile Smiles Upper Lower Left Right
Front View Photo Day Days Week Weeks Month Months Year Years Final Initial Result Results
Case Orthodontic Orthodontics Implant Implants Crown Crowns Veneer Veneers Whitening Teeth
Tooth Center Centre Hospital Medical Oral Surgery Surgical Panoramic Bitewing Periapical
Xray X-Ray Date Name Patient Chart Doctor DDS DMD Phone Tel Fax Address Birth DOB Sex Male
Female Age ID MRN Exam Study Series Image Scale Ruler Mesial Distal Buccal Lingual
Occlusal Maxilla Mandible Maxillary Mandibular Arch Bite Open Closed Retracted Intraoral
Extraoral Profile Frontal Lateral Post Pre Op Progress Visit Follow Up Healthy Happy The
And Of For With In On At To By New Good Best Care Health Group Studio Lab Laboratory
Digital Scan Model Plan Taipei Taiwan Kaohsiung Taichung Tainan Hsinchu Clear Aligner
Aligners Braces Retainer Gum Gums Periodontal Endodontic Root Canal Filling Cleaning
Checkup Consultation Simulation Preview Design Mockup Baseline Control Session Stage Phase
Step Pano Ceph Cephalometric CBCT Radiograph Radiology Imaging Department Dept University
National General Family Cosmetic Aesthetic Esthetic Bright White Perfect Pearl Dr Mr Mrs
Ms Side Close Full Mouth Lip Lips Incisor Incisors Molar Molars Canine Premolar Quadrant
Sextant Note Notes Page Copyright All Rights Reserved Confidential Sample Demo Test Only
Not Diagnostic Use Recall Review Postop Preop Weekly Monthly Later
Retention Debond Bonding Extraction Impression Arches Anterior Posterior Midline Overjet
Overbite Crossbite Class Occlusion Shade Guide Mirror Cheek Retractor
"""
ENGLISH = frozenset(w.lower() for w in _ENGLISH_TEXT.split())

# Surnames that are also caption words: as the last word after a given name that is
# not a caption word ("Catherine White"), they are a name.
WORD_SURNAMES = frozenset(
    ("white", "case", "page", "day", "best", "good", "bright", "pearl", "post", "root",
     "young", "close", "full")
)  # fmt: skip

# Chinese caption words (traditional forms; a line is matched after
# ``traditional_forms``), longest first when a run is cut into words.
_CHINESE_TEXT = """
術前 術後 術中 治療前 治療後 初診 複診 回診 追蹤 定期檢查 正面照 側面照 正面 側面 咬合
咬合面 上顎 下顎 上排 下排 左側 右側 左邊 右邊 口內照 口外照 口內 口外 全口 印模 矯正
植牙 美白 牙周 根管 拔牙 洗牙 補牙 假牙 牙套 牙冠 牙橋 貼片 環口 咬翼 根尖 微笑 笑容
前牙 後牙 門牙 臼齒 犬齒 牙齦 牙齒 療程 完成 開始 結束 第一次 第二次 第三次 個月 照片
全景 側顏 開口 閉口 維持器 保持器 模擬 設計 對照 比較
"""
CHINESE = frozenset(_CHINESE_TEXT.split())
_CHINESE_LONGEST = max(len(w) for w in CHINESE)
# Words whose cut pieces count as caption (not those that are also surnames).
_CUT_WORDS = ENGLISH - WORD_SURNAMES

# "3 months", "6 weeks", "2週", "3個月": a time since treatment, not a date of anyone's.
_DURATION = re.compile(
    r"(?<![\d/.-])\d{1,3}\s*(?:個月|月後|週|周|天|次|weeks?|wks?|months?|mos?|days?|years?|yrs?)"
    r"(?![A-Za-z\d])",
    re.IGNORECASE,
)
# FDI tooth numbers (11-48), with or without '#', and the side letters R/L/U/D.
_TOOTH = re.compile(r"^#?[1-8][1-8]$|^[RLUD]$")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_SHORT_NUMBER = re.compile(r"^\d{1,3}$")
_LETTER_LOOKALIKES = str.maketrans("0158", "olsb")
_STRIP = ",.:;()[]<>'\"!?/·"


def is_caption(text: str) -> bool:
    """Whether ``text`` is made only of caption words, durations and tooth numbers
    (and has at least one whole caption word): nobody's name, number or date.

    Words that are also surnames (White, Day) count only beside another caption word
    or a number ("Day 14"): alone or together ("Pearl White") they may be a name.
    A word OCR read with a digit for a letter ("0cclusal") is read in letters.
    A proposal cut short leaves a word's tail at the start of the line ("pper Lower")
    and a word's head or a lone number at its end ("Lower 3 m"); such pieces of a
    caption word are part of the caption.
    """
    rest = _DURATION.sub(" ", text)
    plain = rest != text  # a duration is a caption word
    numbers = surname_words = 0
    rest = _CJK_RUN.sub(lambda m: " " + m.group(0) + " ", rest)
    parts = [p.strip(_STRIP) for t in rest.split() for p in t.strip(_STRIP).split("-")]
    parts = [_letters(p) for p in parts if p]
    for i, part in enumerate(parts):
        word = part.lower()
        last = i == len(parts) - 1
        if _CJK_RUN.fullmatch(part):
            if not _chinese_words(part):
                return False
            plain = True
        elif word in WORD_SURNAMES:
            surname_words += 1
        elif word in ENGLISH or _TOOTH.match(part):
            plain = True
        elif _SHORT_NUMBER.match(word) and (last or (i == len(parts) - 2 and parts[-1].isalpha())):
            numbers += 1  # "Lower 3", or "3 m": a duration cut short
        elif not ((i == 0 and _tail_of_word(word)) or (last and _head_of_word(word))):
            return False
    return plain or (surname_words == 1 and numbers > 0)


def _letters(token: str) -> str:
    """A word OCR read with a digit for a letter ("0cclusal", "F1nal") spelled in
    letters; numbers and codes stay as they are."""
    if sum(c.isalpha() for c in token) >= 3 and sum(c.isdigit() for c in token) == 1:
        return token.translate(_LETTER_LOOKALIKES)
    return token


def _head_of_word(piece: str) -> bool:
    return piece.isalpha() and any(w.startswith(piece) and w != piece for w in _CUT_WORDS)


def _tail_of_word(piece: str) -> bool:
    return piece.isalpha() and any(w.endswith(piece) and w != piece for w in _CUT_WORDS)


def _chinese_words(run: str) -> bool:
    """Whether a CJK run cuts into caption words (longest match first)."""
    at = 0
    while at < len(run):
        for size in range(min(_CHINESE_LONGEST, len(run) - at), 0, -1):
            if run[at : at + size] in CHINESE:
                at += size
                break
        else:
            return False
    return True
