"""Personal names: Chinese (surname list plus label context) and English.

Chinese names are two to four characters with no separator, so shape alone is
weak evidence. A label (姓名, 病患...) or a title (先生, 小姐) before or after
makes a match strong; a short CJK token standing alone and starting with one of
the common Taiwanese surnames is still taken, with a lower score: on a clinical
photo such a token is far more often a name than anything else.
"""

from __future__ import annotations

import re

from ..lines import is_cjk
from .base import NAME, Match, Recognizer
from .lexicon import english_words, looks_like_name
from .vocabulary import ENGLISH, WORD_SURNAMES, is_caption

SURNAMES = frozenset(
    "陳林黃張李王吳劉蔡楊許鄭謝洪郭邱曾廖賴徐周葉蘇莊呂江何蕭羅高潘簡朱鍾游彭詹胡施沈余盧梁"
    "趙顏柯翁魏孫戴范方宋鄧杜傅侯曹薛丁卓阮馬董温溫唐藍石蔣古紀姚連馮歐程湯田康姜白汪鄒尤巫"
    "鐘黎涂龔嚴韓袁金童陸夏柳凃邵錢伍倪于譚駱熊任甘秦顧毛章史官萬俞雷粘饒鄞易向尹孔麥全包"
    "左崔花封葛辜鄔練賀龍關湛刁莫利殷歐陶景車池米冉艾荘佘褚凌單喬岳祝闕塗戚滕聶符苗龐樊"
    "蒲卜齊邢衛舒屈項祁鮑牛喻冷梅臧鄺談蘭房管谷邰覃闞晏寇"
    # Less common, still among Taiwan's two hundred most frequent surnames.
    "武辛段韋孟文賈丘華裴安魯穆郝成閻陽盛常耿解繆申曲籃應畢留翟龎"
)
COMPOUND_SURNAMES = frozenset(
    ("歐陽", "張簡", "范姜", "司徒", "諸葛", "上官", "東方", "司馬", "夏侯", "皇甫", "長孫")
)
# Common words that start with a surname character and appear on clinical images.
_NOT_NAMES = frozenset(
    (
        "高雄", "林口", "方法", "周一", "周二", "周三", "周四", "周五", "周六", "周日", "金牙",
        "石膏", "白色", "黃色", "藍色", "高度", "全口", "全瓷", "上顎", "下顎", "左側", "右側",
        "向上", "包覆", "連結", "程序", "康復", "任務", "史料", "毛髮", "章節", "田野", "車禍",
        "易牙", "米色", "花費", "關節", "方案", "全部", "萬一", "夏天", "童年", "史上", "顧客",
        "包括", "陸續", "利用", "任何", "向後", "向前", "于是", "江南", "金屬", "黃金",
        "文字", "文件", "安心", "安全", "安裝", "成人", "成功", "成果", "常規", "常見",
        "應用", "解剖", "解決", "陽性", "申請", "曲線", "華人", "留言", "盛開", "段落",
    )
)  # fmt: skip
# OCR models trained on mixed corpora often return the simplified form of a
# surname (黄 for 黃); surnames are looked up in their traditional form.
_TRADITIONAL = str.maketrans(
    dict(
        zip(
            "陈黄张刘杨许郑谢赖罗萧叶苏庄吕钟卢赵颜孙邓马蓝蒋纪连冯欧汤邹龚严韩陆钱谭骆顾万饶"
            "温吴简龙关贺练邬项齐卫庞聂阙乔单鲍兰邝谈阚",
            "陳黃張劉楊許鄭謝賴羅蕭葉蘇莊呂鍾盧趙顏孫鄧馬藍蔣紀連馮歐湯鄒龔嚴韓陸錢譚駱顧萬饒"
            "溫吳簡龍關賀練鄔項齊衛龐聶闕喬單鮑蘭鄺談闞",
            strict=True,
        )
    )
)
_CJK_RUN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]+")
_LABEL = r"(?:病患姓名|患者姓名|病人姓名|姓名|病患|患者|病人|受檢者|Name|Patient)"
_LABEL_LED = re.compile(_LABEL + r"\s*[:：]?\s*([\u4e00-\u9fff]{2,4})", re.IGNORECASE)
_LABEL_ONLY = re.compile(_LABEL + r"\s*[:：]?\s*$", re.IGNORECASE)
# Whatever follows a name label is a name, even when OCR garbled it into Latin.
_LABEL_ANY = re.compile(
    r"(?:病患姓名|患者姓名|病人姓名|姓名|病患|患者|病人|受檢者)\s*[:：]?\s*([^\s:：]{1,12})"
)
# Labels with their first character misread (芯者 for 患者, X名: for 姓名:) still
# introduce a name; only a surname-initial token is taken after them.
_LABEL_FUZZY = re.compile(r"[\u4e00-\u9fff](?:者|名\s*[:：])\s*([\u4e00-\u9fff]{2,4})")
_TITLED = re.compile(r"([\u4e00-\u9fff]{2,3})(?=先生|小姐|女士|太太|醫師|君|同學|寶寶)")


def _name_length_ok(token: str) -> bool:
    token = token.translate(_TRADITIONAL)
    if token[:2] in COMPOUND_SURNAMES:
        return 3 <= len(token) <= 4
    return token[0] in SURNAMES and 2 <= len(token) <= 3


class ChineseName(Recognizer):
    name = "zh_name"
    category = NAME

    def find(self, text: str, before: str = "") -> list[Match]:
        found: list[Match] = []
        for m in _LABEL_LED.finditer(text):
            token = _trim_to_name(m.group(1))
            score = 0.95 if _name_length_ok(token) else 0.85
            found.append(self._match(m.start(1), m.start(1) + len(token), score))
        for m in _LABEL_ANY.finditer(text):
            found.append(self._match(m.start(1), m.end(1), 0.8))
        for m in _LABEL_FUZZY.finditer(text):
            token = _trim_to_name(m.group(1))
            size = next((n for n in (4, 3, 2) if len(token) >= n and _name_length_ok(token[:n])), 0)
            if size:
                found.append(self._match(m.start(1), m.start(1) + size, 0.75))
        for m in _TITLED.finditer(text):
            token = m.group(1)
            start = m.start(1)
            for cut in range(len(token) - 1):
                if _name_length_ok(token[cut:]):
                    found.append(self._match(start + cut, m.end(1), 0.85))
                    break
        # A caption line is not the value of a label on the line above (see vocabulary).
        label_above = bool(_LABEL_ONLY.search(before.strip())) and not is_caption(text)
        for i, m in enumerate(_CJK_RUN.finditer(text)):
            token = m.group(0)
            if label_above and i == 0 and 2 <= len(token) <= 4:
                found.append(self._match(m.start(), m.end(), 0.85))
            elif (
                _name_length_ok(token)
                and token not in _NOT_NAMES
                and not is_caption(token)
                and (len(token) > 2 or _alone(text, m))
            ):
                found.append(self._match(m.start(), m.end(), 0.6))
        return found


def _alone(text: str, m: re.Match[str]) -> bool:
    """Whether a CJK run is all the line says (punctuation aside).

    A bare two-character run starting with a surname character is a word as often as a
    name (白斑, 方向, 高度: two hundred surname characters start a large share of the
    language), so beside other words with no label or title it is a caption's word; a
    two-character name printed with no label stands alone on its line.
    """
    rest = text[: m.start()] + text[m.end() :]
    return not any(c.isalnum() for c in rest)


def _trim_to_name(token: str) -> str:
    """Cut what follows a name inside one CJK run: 王小明先生 -> 王小明."""
    for title in ("先生", "小姐", "女士", "太太", "醫師"):
        at = token.find(title)
        if at >= 2:
            return token[:at]
    return token


# Surnames with a capital inside (McCarthy, MacLean, O'Brien, D'Arcy) are one word, and
# so is a romanised given name with a one-letter syllable (I-Chun, Hsin-I, Yueh-O).
_CAP = r"(?:(?:Mc|Mac|O'|D')?[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?|[A-Z][a-z]*-[A-Z][a-z]*)"
_UPPER = r"[A-Z]{2,}(?:[-'][A-Z]{2,})?"
_INITIAL = r"[A-Z]\."
_NAME_WORDS = rf"(?:{_CAP}|{_UPPER}|{_INITIAL})(?:,?\s+(?:{_CAP}|{_UPPER}|{_INITIAL})){{0,3}}"
_EN_LABEL = re.compile(
    r"\b(?i:Patient\s*Name|Pt\.?\s*Name|Full\s*Name|Name|Patient|Pt\.?)\s*[:：.]\s*"
    rf"({_NAME_WORDS})"
)
_EN_LABEL_ONLY = re.compile(r"\b(?i:Patient\s*Name|Name|Patient|Pt\.?)\s*[:：.]?\s*$")
_HONORIFIC = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+({_NAME_WORDS})")
_SHAPE = re.compile(rf"(?<![A-Za-z])({_CAP}(?:\s+(?:{_INITIAL}\s+)?{_CAP}){{1,2}})(?![A-Za-z])")
_UPPER_SHAPE = re.compile(rf"(?<![A-Za-z])({_UPPER}(?:,?\s+{_UPPER}){{1,2}})(?![A-Za-z])")
_LEADING_WORDS = re.compile(rf"^\s*({_NAME_WORDS})")
# OCR reads the space between given name and surname as a mark ("Amy'Hansen"), or
# drops it ("AmyHansen"); a proposal stopping short of the line's start leaves the
# given name's tail in lower case ("ames Preston" at the start of a line).
_SPACE_MISREAD = re.compile(r"(?<=[a-z])['’`_.·,](?=[A-Z][a-z])")
# OCR reads a lower-case l as a capital I and an o as a zero inside a word ("CoIe",
# "OIivia", "R0bert"); read as letters, the word has a name's shape again.
_L_MISREAD = re.compile(r"(?<=[a-z])I(?![A-Z])|(?<=\b[A-Z])I(?=[a-z])")
_O_MISREAD = re.compile(r"(?<=[a-z])0(?![0-9])|(?<=\b[A-Z])0(?=[a-z])")
_JOINED = re.compile(r"(?<![A-Za-z])([A-Z][a-z]{2,}[A-Z][a-z]{2,})(?![A-Za-z])")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_CUT_START = re.compile(rf"^\s*([a-z]{{2,}}\s+{_CAP})(?![A-Za-z])")


def _all_vocabulary(words: str) -> bool:
    return all(w.strip(",.:").lower() in ENGLISH for w in words.split())


# Honorifics before a name and suffixes after it belong to the name's ink: a fill that
# stops at the surname leaves "Dr." and "Jr." standing beside a black bar, and the
# redaction was judged on the whole name.
_BEFORE_NAME = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+)$")
_AFTER_NAME = re.compile(
    r"^,?\s+(?:Jr|Sr|II|III|IV|M\.?D|D\.?D\.?S|DMD|Ph\.?D|DVM|RN|MBA|Esq)\b\.?"
)
_ABBREVIATED_END = re.compile(r"\b(?:Jr|Sr)$")


def _caption_words(words: str) -> bool:
    """Whether a capitalised run is a caption rather than a name: a vocabulary word
    anywhere but last, or last unless it is also a common surname."""
    parts = [w.strip(",.").lower() for w in _CAMEL.sub(" ", words).split()]
    if any(p in ENGLISH for p in parts[:-1]):
        return True
    return parts[-1] in ENGLISH and parts[-1] not in WORD_SURNAMES


# Endings of common words that no given name or surname in the census lists has
# (-ment, -tion, -itis, ...). Not -ing, -ness, -less or -sion: Aisling, Fleming,
# Guinness, Corless and Hession are names, and a name missed is worse than a caption
# filled.
# -ment only after four letters or more (Clements is a name, Alignment a word).
_WORD_ENDING = re.compile(r"(?:[a-z]{4}ments?|tions?|itis|isms?|ics|ous|ful|able|ible|ants|ogy)$")
# A capitalised pair followed by a lower-case word is the start of a phrase
# ("Recheck Wax trial", "Night guard"), not a name: nothing follows a name on its line
# but another name or a suffix. A lower-case piece that is no word is the rest of the
# name's last word, which OCR cut with a space ("Jerry Cam pbell"): the name goes on
# over it.
_LOWER_NEXT = re.compile(r"\s+([a-z]{2,})(?![A-Za-z])")


def _is_word(word: str) -> bool:
    return word in english_words() or word in ENGLISH


def _common_word_shape(words: str) -> bool:
    """Whether a capitalised run is made of common words by their endings alone: a
    shape-only name has no label to vouch for it, and a caption in title case
    ("Healing Crowding", "Alignment Spacing") has the shape of a name. The caption
    vocabulary lists the words clinics use most; this keeps words it never saw."""
    parts = [w.strip(",.").lower() for w in _CAMEL.sub(" ", words).split()]
    return any(_WORD_ENDING.search(p) and len(p) >= 6 for p in parts)


class EnglishName(Recognizer):
    name = "en_name"
    category = NAME

    def __init__(self, *, words_may_follow: bool = False) -> None:
        # On a photo nothing follows a name on its line; in a file name the name is
        # followed by what the photo shows ("Grace_Hopper_before.jpg").
        self._words_may_follow = words_may_follow

    def find(self, text: str, before: str = "") -> list[Match]:
        # "Pt. Name:" is a label, not a patient called Name.
        found = [
            m
            for m in self._regex(_EN_LABEL, text, 0.9, group=1)
            if not _all_vocabulary(text[m.start : m.end])
        ]
        found += self._regex(_HONORIFIC, text, 0.85, group=1)
        # A caption line is not the value of a label on the line above (see vocabulary).
        if _EN_LABEL_ONLY.search(before.strip()) and not is_caption(text):
            found += self._regex(_LEADING_WORDS, text, 0.8, group=1)
        # Same length: spans stay aligned.
        spaced = _O_MISREAD.sub("o", _L_MISREAD.sub("l", _SPACE_MISREAD.sub(" ", text)))
        # Shapes alone say nothing on a line of caption words ("clusal Day 14": the
        # start of Occlusal cut off, and Day is a surname too).
        shapes = () if is_caption(text) else (_SHAPE, _UPPER_SHAPE, _JOINED, _CUT_START)
        for pattern in shapes:
            for m in pattern.finditer(spaced):
                rest = _LOWER_NEXT.match(spaced, m.end(1))
                if rest and not _is_word(rest.group(1)):
                    end, rest = rest.end(), None  # "Cam pbell": one word cut in two
                else:
                    end = m.end(1)
                if not (
                    _caption_words(m.group(1))
                    or _common_word_shape(m.group(1))
                    or not looks_like_name(m.group(1), cut_start=pattern is _CUT_START)
                    or (not self._words_may_follow and rest)
                ):
                    found.append(self._match(m.start(1), end, 0.55))
        return [self._whole(text, m) for m in found]

    def _whole(self, text: str, m: Match) -> Match:
        """The match widened over an honorific before it and suffixes after it."""
        start, end = m.start, m.end
        if lead := _BEFORE_NAME.search(text[:start]):
            start = lead.start()
        while tail := _AFTER_NAME.match(text[end:]):
            end += tail.end()
        if text[end : end + 1] == "." and _ABBREVIATED_END.search(text[start:end]):
            end += 1  # "Jr." read as a capitalised word by the shapes above
        return self._match(start, end, m.score)


def has_cjk(text: str) -> bool:
    return any(is_cjk(c) for c in text)
