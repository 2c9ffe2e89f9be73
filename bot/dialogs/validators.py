"""The checks behind each question: raw text in, a normalised value or an error code out.

A validator is `(raw: str, answers: Mapping) -> Ok | Invalid | Ambiguous` (see results.py). Error
codes name templates in `bot.dialogs.errors.MESSAGES`; the walker renders them in the user's language.
Meaning (check digits, size classes, industry tables) lives in `bot.domain`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from bot.dialogs.fields import Choice, Validator
from bot.dialogs.results import Ambiguous, Invalid, Message, Ok, Result
from bot.domain import sme_size, uscc
from bot.domain.charcount import count_chars
from bot.domain.industries import industries
from bot.domain.regions import PROVINCES
from bot.domain.regions import province as province_name

Answers = Mapping[str, Any]
TZ = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today in China (tests replace this)."""
    return datetime.now(TZ).date()


def _half(text: str) -> str:
    """Full-width digits, letters and punctuation → half width; outer spaces off."""
    return unicodedata.normalize("NFKC", text).strip()


# -- plain text ------------------------------------------------------------------------------------


def text(max_len: int) -> Validator:
    def check(raw: str, answers: Answers) -> Result:
        value = raw.strip()
        if not value:
            return Invalid("empty")
        if len(value) > max_len:
            return Invalid("too_long", {"max": max_len, "n": len(value)})
        return Ok(value)

    return check


def long_text(max_chars: int) -> Validator:
    """Counted as the form counts (汉字 and words). Over the limit is refused with how many over."""

    def check(raw: str, answers: Answers) -> Result:
        value = raw.strip()
        if not value:
            return Invalid("empty")
        n = count_chars(value)
        if n > max_chars:
            return Invalid("too_many_chars", {"max": max_chars, "n": n, "over": n - max_chars})
        return Ok(value, Message("chars_left", {"n": n, "left": max_chars - n}))

    return check


# -- 统一社会信用代码 ------------------------------------------------------------------------------------


# GB/T 2260 province codes, in the order of PROVINCES (positions 3–4 of a credit code).
PROVINCE_BY_CODE = dict(zip(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split(),
    PROVINCES, strict=True))


def credit_code(raw: str, answers: Answers) -> Result:
    code = uscc.normalise(raw)
    problem = uscc.problem(code)
    if problem is not None:
        return Invalid(problem.code, problem.params)
    if not code.startswith("9"):
        return Ok(code, Message("uscc_not_enterprise", {"prefix": code[:2]}))
    stated = province_name(answers.get("reg_province"))
    coded = PROVINCE_BY_CODE.get(code[2:4])
    if stated and coded and stated != coded:
        return Ok(code, Message("uscc_region_differs", {"coded": coded, "stated": stated}))
    return Ok(code)


# -- phones, e-mail, post code -----------------------------------------------------------------------

_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
_LANDLINE = re.compile(
    r"^(?:\+?86)?\(?(0\d{2,3})?\)?(\d{7,8})(?:(?:转|ext\.?|x|#|-)(\d{1,6}))?$", re.IGNORECASE)
_SERVICE = re.compile(r"^([48]00)(\d{7})$")


def mobile(raw: str, answers: Answers) -> Result:
    digits = re.sub(r"[\s\-()]", "", _half(raw))
    m = _MOBILE.match(digits)
    if m:
        return Ok(m.group(1))
    only = re.sub(r"\D", "", digits)
    if len(only) != 11:
        return Invalid("mobile_length", {"n": len(only)})
    return Invalid("mobile_prefix", {"prefix": only[:2]})


def phone(raw: str, answers: Answers) -> Result:
    """联系电话 / 传真: 021-68811103, (021)68811103, 33134800-20986 (with extension), 400 numbers, mobiles."""
    text_ = _half(raw).replace("－", "-").replace("—", "-")
    text_ = re.sub(r"\s*(转|分机|ext\.?|x|#)\s*", "转", text_, flags=re.I)  # 68811103 转 20, 分机20
    # +86 21 6881 1103 (the international form): area codes lose their 0 there, mobiles keep their 1
    text_ = re.sub(r"^(?:\+|00)86[\s\-]*\(?(?=10|[2-9])", "0", text_)
    compact = re.sub(r"\s+", "", text_)
    m = _MOBILE.match(re.sub(r"[\-()]", "", compact))
    if m:
        return Ok(m.group(1))
    m = _SERVICE.match(re.sub(r"[\-()]", "", compact))
    if m:
        return Ok(f"{m.group(1)}-{m.group(2)[:3]}-{m.group(2)[3:]}")
    # split an area code written with a dash or space: 021-68811103, 021 6881 1103
    parts = re.match(r"^\(?(0\d{2,3})\)?[-\s]?([\d\s]{7,10})(?:(?:转|ext\.?|x|#|-)(\d{1,6}))?$", text_, re.I)
    if parts:
        number = re.sub(r"\s", "", parts.group(2))
        if 7 <= len(number) <= 8:
            ext = f"-{parts.group(3)}" if parts.group(3) else ""
            return Ok(f"{parts.group(1)}-{number}{ext}")
    m = _LANDLINE.match(compact)
    if m and not m.group(1):
        ext = f"-{m.group(3)}" if m.group(3) else ""
        return Ok(f"{m.group(2)}{ext}")
    local = re.match(r"^\(?(0\d{2,3})\)?[-\s]+(\d+)$|^\((0\d{2,3})\)(\d+)$", text_)
    if local:
        return Invalid("phone_local_length", {"n": len(local.group(2) or local.group(4))})  # 021-6881
    only = re.sub(r"\D", "", compact)
    if not only:
        return Invalid("phone_format")
    if len(only) < 7:
        return Invalid("phone_short", {"n": len(only)})
    return Invalid("phone_format")


_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")


def email(raw: str, answers: Answers) -> Result:
    value = _half(raw).replace("＠", "@").replace("。", ".").replace(" ", "")
    if "@" not in value:
        return Invalid("email_no_at")
    if not _EMAIL.match(value):
        return Invalid("email_format")
    return Ok(value.lower() if value.split("@")[1] else value)


def postcode(raw: str, answers: Answers) -> Result:
    value = re.sub(r"\s", "", _half(raw))
    if not value.isdigit():
        return Invalid("postcode_digits")
    if len(value) != 6:
        return Invalid("postcode_length", {"n": len(value)})
    return Ok(value)


# -- dates -----------------------------------------------------------------------------------------

_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")


def _spoken_date(value: str) -> str:
    """"二〇一五年三月二日" → "2015年3月2日" (the year digit by digit, month and day as numbers)."""
    m = re.fullmatch(r"([^年月日号\s]{4})年([^年月日号\s]{1,3})月([^年月日号\s]{1,3})[日号]?", value)
    if not m or not _CN_CHARS.search(value):
        return value
    year = "".join(str(_CN_DIGITS[c]) if c in _CN_DIGITS else c for c in m.group(1))
    month, day = (cn_number(x) if _CN_CHARS.search(x) else x for x in m.group(2, 3))
    return f"{year}年{month}月{day}日" if month is not None and day is not None else value


def past_date(raw: str, answers: Answers) -> Result:
    value = _spoken_date(_half(raw))
    m = _DATE.match(value) or (re.match(r"^(\d{4})(\d{2})(\d{2})$", value))
    if not m:
        return Invalid("date_format")
    try:
        d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return Invalid("date_invalid", {"text": value})
    if d > today():
        return Invalid("date_future", {"date": d.isoformat()})
    if d.year < 1949:
        return Invalid("date_too_old", {"date": d.isoformat()})
    return Ok(d.isoformat())


# -- amounts and counts ----------------------------------------------------------------------------

_UNITS = {"亿元": Decimal(10000), "亿": Decimal(10000), "万元": Decimal(1), "万": Decimal(1), "元": Decimal("0.0001")}


def _plain(d: Decimal) -> str:
    d = d.quantize(Decimal("0.0001")).normalize()
    return f"{d:f}"


_CN_DIGITS = {c: i % 10 for i, c in enumerate("〇一二三四五六七八九零壹贰叁肆伍陆柒捌玖")} | {"两": 2}
_CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_CN_CHARS = re.compile(f"[{''.join(_CN_DIGITS)}{''.join(_CN_UNITS)}]")
_ABOUT = re.compile(r"^(大约|大概|约为|约)|(左右|上下)$")


def cn_number(text: str) -> Decimal | None:
    """"三千二百万" → 32000000, "1千万", "两万五" (= 25000), "一百零五"; None when it is not a number.

    Voice input in WeChat writes numbers the way they are spoken, so amounts and head counts come so."""
    total = section = Decimal(0)
    number: Decimal | None = None
    last_unit = 0  # the unit just before a trailing digit: "三千二" is 3200, "一百零五" is 105
    for tok in re.findall(r"\d+(?:\.\d+)?|.", text):
        if tok[0].isdigit() or tok in _CN_DIGITS:
            if number is not None:
                return None  # "一二", "12三": digits without units between them
            number = Decimal(tok) if tok[0].isdigit() else Decimal(_CN_DIGITS[tok])
            if tok in ("零", "〇"):
                number, last_unit = None, 0
        elif tok in _CN_UNITS:
            section += (number if number is not None else Decimal(1)) * _CN_UNITS[tok]
            number, last_unit = None, _CN_UNITS[tok]
        elif tok in _CN_BIG:
            part = section + (number or 0)
            if tok == "亿":
                total, section = (total + part) * _CN_BIG[tok], Decimal(0)
            else:
                total, section = total + part * _CN_BIG[tok], Decimal(0)
            number, last_unit = None, _CN_BIG[tok]
        else:
            return None
    if number is not None and last_unit > 10:
        number *= Decimal(last_unit) / 10
    return total + section + (number or 0)


def amount_wan(raw: str, answers: Answers) -> Result:
    """An amount in 万元: `1,200`, `1200万`, `0.5亿`, `3000万元`, `1200元`, `五百万` — stored as a decimal string."""
    value = _half(raw).replace(",", "").replace("，", "").replace(" ", "").replace("人民币", "")
    value = _ABOUT.sub("", value) or value
    if value.startswith("-"):
        return Invalid("amount_negative")
    if _CN_CHARS.search(value):
        body = value.removesuffix("元")
        total = cn_number(body)
        if total is None:
            return Invalid("amount_format")
        if body != value or any(big in body for big in _CN_BIG):
            stored = _plain(total / 10000)
            return Ok(stored, Message("amount_converted", {"given": value, "wan": stored}))
        value = _plain(total)  # "五百": a bare number, read as 万元 like "500"
    unit = next((u for u in _UNITS if value.endswith(u)), None)
    number = value[: -len(unit)] if unit else value
    try:
        d = Decimal(number)
    except InvalidOperation:
        return Invalid("amount_format")
    if not d.is_finite():
        return Invalid("amount_format")
    if d < 0:
        return Invalid("amount_negative")
    wan = d * _UNITS[unit] if unit else d
    stored = _plain(wan)
    if unit in ("万", "万元"):
        return Ok(stored)
    if unit:
        return Ok(stored, Message("amount_converted", {"given": value, "wan": stored}))
    if d >= 10_000_000:
        return Ok(stored, Message("amount_maybe_yuan", {"wan": stored, "yuan_as_wan": _plain(d / 10000)}))
    return Ok(stored, Message("amount_assumed_wan", {"wan": stored}))


def headcount(raw: str, answers: Answers) -> Result:
    value = _half(raw).replace(",", "").replace("，", "").replace(" ", "")
    value = value.removesuffix("人").removesuffix("名")
    value = _ABOUT.sub("", value) or value
    if _CN_CHARS.search(value):
        total = cn_number(value)
        if total is None:
            return Invalid("headcount_format")
        value = _plain(total)
    if re.fullmatch(r"\d+\.\d+", value):
        return Invalid("headcount_whole")
    if not value.isdigit():
        return Invalid("headcount_format")
    return Ok(int(value))


# -- regions ---------------------------------------------------------------------------------------


def province(raw: str, answers: Answers) -> Result:
    name = province_name(raw)
    if name is None:
        return Invalid("province_unknown", {"text": raw.strip()[:20]})
    return Ok(name)


# -- industries and the SME size class ---------------------------------------------------------------

# Everyday words for what a firm does → the GB/T 4754-2017 大类 it most likely belongs to, likeliest
# first. A word found anywhere in the answer counts ("软件开发", "新能源汽车零部件"); the user always picks
# or sees the 大类 before it is saved.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "软件": ("65",), "信息技术": ("65",), "人工智能": ("65",), "大数据": ("65", "64"), "云计算": ("65", "64"),
    "物联网": ("65", "39"), "互联网": ("64",), "数据": ("65", "64"), "平台": ("64",),
    "集成电路设计": ("65",), "汽车": ("36",), "零部件": ("36", "34"), "电子": ("39",), "芯片": ("39",),
    "集成电路": ("39",), "半导体": ("39",), "计算机": ("39",), "通信": ("39", "63"), "传感器": ("39", "40"),
    "显示": ("39",),
    "机械": ("34", "35"), "设备": ("35", "34"), "机器人": ("34",), "数控": ("34",), "模具": ("35",),
    "医疗器械": ("35",), "医药": ("27",), "制药": ("27",), "生物": ("27", "73"), "化工": ("26",),
    "新材料": ("26", "30", "32"), "材料": ("26", "30", "32"), "电气": ("38",), "电池": ("38",),
    "新能源": ("38", "44", "36"), "光伏": ("38", "44"), "储能": ("38",), "电机": ("38",),
    "仪器": ("40",), "仪表": ("40",), "检测": ("74", "40"), "设计": ("74",), "纺织": ("17",),
    "服装": ("18",), "食品": ("14", "13"), "建筑": ("48", "47", "49", "50"), "装修": ("50",),
    "物流": ("54", "58", "59"), "快递": ("60",), "仓储": ("59",), "研发": ("73",), "科研": ("73",),
    "技术服务": ("75", "74"), "咨询": ("72",), "批发": ("51",), "贸易": ("51",), "零售": ("52",),
    "电商": ("52", "64"), "金属": ("33",), "钢铁": ("31",), "有色": ("32",), "塑料": ("29",),
    "橡胶": ("29",), "船舶": ("37",), "航空": ("37",), "航天": ("37",), "无人机": ("37",),
    "轨道交通": ("37",), "电力": ("44",), "环保": ("77",), "节能": ("77", "38"), "印刷": ("23",),
    "家具": ("21",), "造纸": ("22",), "餐饮": ("62",), "酒店": ("61",), "广告": ("72",),
    "文化": ("88", "86"), "教育": ("83",), "农业": ("01",), "养殖": ("03",),
}
# The same in English, for English-speaking clerks (whole words; a plural s is fine).
_SYNONYMS_EN: dict[str, tuple[str, ...]] = {
    "software": ("65",), "it": ("65",), "ai": ("65",), "artificial intelligence": ("65",), "saas": ("65",),
    "internet": ("64",), "data": ("65", "64"), "cloud": ("65", "64"), "iot": ("65", "39"),
    "automotive": ("36",), "auto": ("36",), "car": ("36",), "vehicle": ("36",), "auto parts": ("36",),
    "electronic": ("39",), "electronics": ("39",), "semiconductor": ("39",), "chip": ("39",),
    "integrated circuit": ("39",), "ic design": ("65",), "telecom": ("39", "63"), "sensor": ("39", "40"),
    "machinery": ("34", "35"), "equipment": ("35", "34"), "robot": ("34",), "robotics": ("34",),
    "medical device": ("35",), "pharmaceutical": ("27",), "pharma": ("27",), "biotech": ("27", "73"),
    "chemical": ("26",), "materials": ("26", "30", "32"), "electrical": ("38",), "battery": ("38",),
    "new energy": ("38", "44", "36"), "solar": ("38", "44"), "photovoltaic": ("38", "44"),
    "instrument": ("40",), "testing": ("74", "40"), "design": ("74",), "textile": ("17",),
    "garment": ("18",), "apparel": ("18",), "clothing": ("18",), "food": ("14", "13"),
    "construction": ("48", "47", "49", "50"), "logistics": ("54", "58", "59"), "warehousing": ("59",),
    "courier": ("60",), "r&d": ("73",), "research": ("73",), "consulting": ("72",), "wholesale": ("51",),
    "trade": ("51",), "trading": ("51",), "retail": ("52",), "e-commerce": ("52", "64"), "steel": ("31",),
    "metal": ("33",), "plastic": ("29",), "rubber": ("29",), "shipbuilding": ("37",), "aerospace": ("37",),
    "aviation": ("37",), "aircraft": ("37",), "drone": ("37",), "railway": ("37",), "power": ("44",), "electricity": ("44",),
    "environmental": ("77",), "printing": ("23",), "furniture": ("21",), "paper": ("22",),
    "catering": ("62",), "restaurant": ("62",), "hotel": ("61",), "advertising": ("72",),
    "education": ("83",), "agriculture": ("01",), "farming": ("01",), "real estate": ("70",),
}
_SHOWN = 8  # choices offered at once: more do not fit a phone screen


def _score_words(score: dict[str, float], table: dict[str, tuple[str, ...]], said: list[str]) -> None:
    for word in said:
        if any(word != longer and word in longer for longer in said):
            continue  # the longer word decides: "集成电路设计" and "ic design" are 65, whatever "设计" suggests
        for rank, code in enumerate(table[word]):
            score[code] = score.get(code, 0) + 1 - rank / 10


def industry(raw: str, answers: Answers) -> Result:
    value = _half(raw).upper().replace(" ", "")
    m = re.fullmatch(r"[A-T]?(\d{1,2})(\d*)", value)
    if m:
        code = m.group(1).zfill(2)
        found = industries().get(code)
        if found is None:
            return Invalid("industry_code_unknown", {"code": code})
        if int(code) >= 91:
            return Invalid("industry_not_enterprise", {"name": found.display})
        return Ok(code)
    exact = [f.code for f in industries().values() if value in (f.name, f.name.removesuffix("业"))]
    if exact:
        return industry(exact[0], answers)  # the official name: as its code
    words = value.replace("业", "") or value
    # Likeliest first: a code named by more of the answer's words, then by a word's own order.
    score: dict[str, float] = {}
    lower = " ".join(_half(raw).lower().split())
    _score_words(score, _SYNONYMS, [w for w in _SYNONYMS if w in value])
    _score_words(score, _SYNONYMS_EN,
                 [w for w in _SYNONYMS_EN if re.search(rf"(?<![a-z]){re.escape(w)}(e?s)?(?![a-z])", lower)])
    for found in industries().values():
        if words in found.name or value in found.name:
            score[found.code] = score.get(found.code, 0) + 0.5
    codes = sorted((c for c in score if int(c) < 91), key=lambda c: (-score[c], c))
    if not codes:
        return Invalid("industry_not_found", {"text": raw.strip()[:20]})
    if len(codes) == 1:
        return Ok(codes[0])  # the saved line shows "65 软件和信息技术服务业": no second note
    options = tuple((c, industries()[c].display) for c in codes[:_SHOWN])
    if len(codes) > _SHOWN:
        return Ambiguous(options, code="industry_choose_more", params={"n": len(codes), "shown": _SHOWN})
    return Ambiguous(options, code="industry_choose")


def industry_display(code: Any) -> str:
    """"36" → "36 汽车制造业" (what the user picked, as the summary shows it)."""
    found = industries().get(str(code))
    return found.display if found else str(code)


def industry_needs_sub(answers: Answers) -> bool:
    return answers.get("industry") in sme_size.SUBDIVIDED


def industry_sub_choices(answers: Answers) -> tuple[Choice, ...]:
    return tuple(Choice(code, label) for code, label, _g in sme_size.SUBDIVIDED.get(answers.get("industry"), ()))


def _group(answers: Answers) -> int | None:
    code = answers.get("industry")
    return sme_size.group_of(code, answers.get("industry_sub")) if isinstance(code, str) else None


def needs_total_assets(answers: Answers) -> bool:
    g = _group(answers)
    return g is not None and "assets" in sme_size.GROUPS[g].measures


def enterprise_size(answers: Answers) -> Ok | Invalid:
    code = answers.get("industry") or ""
    if code in sme_size.FINANCIAL:
        return Invalid("size_financial")
    g = _group(answers)
    if g is None:
        return Invalid("size_unknown_industry")
    result = sme_size.classify(g, answers.get("employees"), Decimal(str(answers.get("revenue") or 0)),
                               Decimal(str(answers.get("total_assets") or 0)))
    figures = "，".join(f"{sme_size.MEASURES[m]} {_plain(v) if m != 'employees' else int(v)}"
                       f"{'人' if m == 'employees' else '万元'}" for m, v in result.figures.items())
    small = "、".join(f"{sme_size.MEASURES[m]}≥{b}" for m, b in result.group.bounds["小型"].items())
    medium = "、".join(f"{sme_size.MEASURES[m]}≥{b}" for m, b in result.group.bounds["中型"].items())
    params = {"group": result.group.name, "figures": figures, "small": small, "medium": medium,
              "size": result.size}
    if code == sme_size.RAILWAY:
        return Ok(result.size, Message("size_by_analogy", params))
    if result.size == "大型":
        large = "、".join(f"{sme_size.MEASURES[m]}≥{b}" for m, b in result.group.bounds["大型"].items())
        return Ok(result.size, Message("size_large", {**params, "large": large}))
    return Ok(result.size, Message("size_result", params))
