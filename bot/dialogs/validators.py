"""The checks behind each question: raw text in, a normalised value or an error code out.

A validator is `(raw: str, answers: Mapping) -> Ok | Invalid | Ambiguous` (see results.py). Error
codes name templates in `bot.dialogs.errors.MESSAGES`; the walker renders them in the user's language,
beside the question's label (so a message names no field: a date check serves 注册时间 and others).
Meaning (check digits, size classes, industry tables) lives in `bot.domain`.

`Ok(None)` means "nothing to fill in": 无 / 没有 / 暂无 at a phone or 传真. The walker takes it as 跳过
at an optional question and as "this one is required" (`required`) at another.

Whatever a text check accepts can be printed into a .docx: control characters are taken out (line
breaks stay in long text) and what no document can hold (NUL, lone surrogates) is refused.

One thing, kept whole though past 500 lines: every question's check, each a short parse-then-validate
function over the same few helpers (numbers as voice input writes them, dates, phones); a form file names
them as `v.<name>`, so they are found in one place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from bot import config
from bot.dialogs.fields import Choice, Validator
from bot.dialogs.results import Ambiguous, Invalid, Message, Ok, Result
from bot.domain import sme_size, uscc
from bot.domain.charcount import count_chars
from bot.domain.industries import industries, search
from bot.domain.regions import PROVINCES
from bot.domain.regions import province as province_name

Answers = Mapping[str, Any]


def today() -> date:
    """Today where the firms are (JIEBANG_TIMEZONE; tests replace this)."""
    return config.local_today()


# -- what can be printed ---------------------------------------------------------------------------

# Terminal escape sequences (arrow keys: ESC [ D, ESC O A), then any other C0/C1 control or DEL.
_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1bO[ -~]|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")
_UNPRINTABLE = re.compile(r"[\x00\ud800-\udfff]")


def printable(raw: str, lines: bool = False) -> str | None:
    """`raw` without control characters (tabs become spaces; line breaks kept when `lines`), or None
    when it holds what no document can (a NUL byte, a lone surrogate)."""
    if _UNPRINTABLE.search(raw):
        return None
    text = _ESCAPE.sub("", raw.replace("\r\n", "\n").replace("\r", "\n")).replace("\t", " ")
    text = _CONTROL.sub("", text)
    if not lines:
        text = " ".join(text.split("\n"))
    return text


def _half(text: str) -> str:
    """Full-width digits, letters and punctuation → half width; controls and outer spaces off."""
    return unicodedata.normalize("NFKC", printable(text) or "").strip()


# -- plain text ------------------------------------------------------------------------------------


def text(max_len: int) -> Validator:
    def check(raw: str, answers: Answers) -> Result:
        value = printable(raw)
        if value is None:
            return Invalid("unprintable")
        value = value.strip()
        if not value:
            return Invalid("empty")
        if len(value) > max_len:
            return Invalid("too_long", {"max": max_len, "n": len(value)})
        return Ok(value)

    return check


def long_text(max_chars: int) -> Validator:
    """Counted as the form counts (汉字 and words). Over the limit is refused with how many over."""

    def check(raw: str, answers: Answers) -> Result:
        value = printable(raw, lines=True)
        if value is None:
            return Invalid("unprintable")
        value = value.strip()
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
    return Ok(code)


def credit_code_region(answers: Answers) -> Message | None:
    """A form rule over 统一社会信用代码 and the 注册地 province, whichever is answered last: the code's
    positions 3–4 name the province it was registered in."""
    code = str(answers.get("credit_code") or "")
    stated = province_name(answers.get("reg_province"))
    coded = PROVINCE_BY_CODE.get(code[2:4])
    if stated and coded and stated != coded:
        return Message("uscc_region_differs", {"coded": coded, "stated": stated})
    return None


# -- phones, e-mail, post code -----------------------------------------------------------------------

# "Nothing to fill in" at a phone or 传真: the walker skips an optional question on Ok(None).
NONE_WORDS = frozenset({"无", "没有", "暂无", "无传真", "没有传真", "无电话", "无手机", "不适用", "none", "n/a", "na", "-", "/"})
_EXT = re.compile(r"\s*(?:转|分机号?|ext\.?|x|#)\s*", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-()（）.·]")


def _nothing(raw: str) -> bool:
    return _half(raw).lower().rstrip("。.！!") in NONE_WORDS


def _national(text: str) -> tuple[str, str | None]:
    """"+86 21 6881 1103" → ("02168811103", None); "0086 139…" → ("139…", None); a number of another
    country → ("", "+852 2345 6789") when it is a valid one; otherwise the digits as written."""
    text = text.replace("(0)", "")
    compact = _SEPARATORS.sub("", text)
    m = re.match(r"^(?:\+|00)(\d+)$", compact)
    if m:
        digits = m.group(1)
        if not digits.startswith("86"):
            try:
                number = phonenumbers.parse("+" + digits)
            except phonenumbers.NumberParseException:
                return compact, None
            if phonenumbers.is_valid_number(number):
                return "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            return compact, None
        rest = digits[2:]  # mobiles and 400 numbers keep their digits; an area code gets its 0 back (10 → 010)
        return (rest if rest[:1] == "0" or re.fullmatch(r"1[3-9]\d{9}|[48]00\d{7}", rest) else "0" + rest), None
    if re.fullmatch(r"861[3-9]\d{9}", compact):  # 86 13912345678: the country code without its +
        return compact[2:], None
    return compact, None


def _valid_cn(national: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(national, "CN"))
    except phonenumbers.NumberParseException:
        return False


@cache
def _local_lengths(area: str) -> frozenset[int]:
    """How many digits numbers have after the area code `area` (010, 0755 …): {8}, {7}; empty when
    no numbers have that area code."""
    return frozenset(n for n in (7, 8) if any(_valid_cn(area + (d + "1234567")[:n]) for d in "2345678"))


def _mobile_problem(digits: str) -> Invalid | None:
    if len(digits) != 11:
        return Invalid("mobile_length", {"n": len(digits)})
    if not re.match(r"1[3-9]", digits):
        return Invalid("mobile_prefix", {"prefix": digits[:2]})
    if not _valid_cn(digits):
        return Invalid("mobile_unassigned", {"prefix": digits[:3]})
    return None


def mobile(raw: str, answers: Answers) -> Result:
    """手机: 13912345678, 139 1234 5678, +86 139-1234-5678, 0086 13912345678; 无 → Ok(None)."""
    if _nothing(raw):
        return Ok(None)
    national, foreign = _national(_half(raw))
    if foreign:
        return Ok(foreign)
    digits = re.sub(r"\D", "", national)
    problem = _mobile_problem(digits)
    return problem or Ok(digits)


def phone(raw: str, answers: Answers) -> Result:
    """联系电话 / 传真: 021-68811103, (021)68811103, 33134800-20986 (with extension), 400 numbers, mobiles,
    +86 / 0086 in front, 转 / 分机 before an extension; 无 / 没有 → Ok(None). A number with its area code
    is checked against the numbering plan: 0755 numbers have 8 digits, 0210 is no area code."""
    if _nothing(raw):
        return Ok(None)
    text_ = re.sub(r"[－—–‐]", "-", _half(raw))
    main, _sep, ext = _EXT.sub("转", text_).partition("转")
    ext = ext.strip()
    if ext and not re.fullmatch(r"\d{1,6}", ext):
        return Invalid("phone_format")
    national, foreign = _national(main)
    if foreign:
        return Ok(foreign + (f"-{ext}" if ext else ""))
    if not ext and "-" in main and not national.startswith(("400", "800")):
        # 33134800-20986, 021-68811103-20: a dash before an extension, when what is before it is whole
        head, _d, tail = main.rpartition("-")
        head_national, _f = _national(head)
        if re.fullmatch(r"\d{1,6}", tail) and _is_whole(head_national):
            national, ext = head_national, tail
    if not national.isdigit():
        only = re.sub(r"\D", "", national)
        return Invalid("phone_short", {"n": len(only)}) if only and len(only) < 7 else Invalid("phone_format")
    suffix = f"-{ext}" if ext else ""
    if national.startswith("1") and len(national) >= 10:
        return _mobile_problem(national) or Ok(national + suffix)
    if re.fullmatch(r"[48]00\d{7}", national):
        return Ok(f"{national[:3]}-{national[3:6]}-{national[6:]}{suffix}")
    if national.startswith("0"):
        # the area code as written (0210-…, +86 21 …), else by the plan: 010 and 02x have 3 digits, others 4
        local_part = re.sub(r"^\s*(?:\+|00)\s*86[\s\-]*", "", main)
        written = re.match(r"^\(?(0?[1-9]\d{1,2})\)?[\s\-]", local_part)
        area = ("0" + written.group(1).lstrip("0")) if written else (
            national[:3] if national[1:2] in ("1", "2") else national[:4])
        local = national[len(area):]
        lengths = _local_lengths(area)
        if not lengths:
            return Invalid("phone_area_unknown", {"area": area})
        if len(local) not in lengths:
            want = "/".join(str(n) for n in sorted(lengths))
            return Invalid("phone_local_length", {"area": area, "want": want, "n": len(local)})
        if not _valid_cn(national):
            return Invalid("phone_format")
        return Ok(f"{area}-{local}{suffix}")
    if len(national) < 7:
        return Invalid("phone_short", {"n": len(national)})
    if len(national) in (7, 8) and national[0] in "2345678":
        return Ok(national + suffix)  # without its area code: the plan cannot be checked
    return Invalid("phone_format")


def _is_whole(national: str) -> bool:
    if not national.isdigit():
        return False
    if national.startswith(("0", "1", "400", "800")):
        return _valid_cn(national)
    return len(national) in (7, 8)


def email(raw: str, answers: Answers) -> Result:
    """An address as RFC 5322/6531 and IDNA allow (info@例子.中国, xn--… domains), no look-up of the domain."""
    value = _half(raw).replace("＠", "@").replace("。", ".").replace(" ", "")
    if "@" not in value:
        return Invalid("email_no_at")
    local = value.rpartition("@")[0]
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return Invalid("email_dots")
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return Invalid("email_format")
    local, _at, domain = checked.normalized.rpartition("@")
    return Ok(f"{local.lower() if local.isascii() else local}@{domain}")


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


_CURRENCY = re.compile(r"^(?:人民币|rmb|cny|[¥￥])|(?:人民币|rmb|cny)$", re.IGNORECASE)
_SPOKEN_DECIMAL = re.compile(f"([{''.join(_CN_DIGITS)}{''.join(_CN_UNITS)}]+)点([{''.join(_CN_DIGITS)}]+)")


def _spoken_decimals(value: str) -> str:
    """"一点二亿" → "1.2亿", "三点五万" → "3.5万" (WeChat's voice input says decimals so)."""
    def digits(m: re.Match) -> str:
        whole = cn_number(m.group(1))
        if whole is None:
            return m.group(0)
        return f"{_plain(whole)}.{''.join(str(_CN_DIGITS[c]) for c in m.group(2))}"

    return _SPOKEN_DECIMAL.sub(digits, value)


def _figures(raw: str) -> str:
    value = _half(raw).replace(",", "").replace("，", "").replace(" ", "")
    value = _CURRENCY.sub("", value)
    value = _ABOUT.sub("", value) or value
    return _spoken_decimals(value)


def amount_wan(raw: str, answers: Answers) -> Result:
    """An amount in 万元: `1,200`, `1200万`, `0.5亿`, `3000万元`, `1200元`, `五百万`, `￥3200万`, `一点二亿` —
    stored as a decimal string."""
    value = _figures(raw)
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
    """A number of people: 85, 1,200, 八十五人, 约85人, 12万, 1.2万."""
    value = _half(raw).replace(",", "").replace("，", "").replace(" ", "")
    value = value.removesuffix("人").removesuffix("名")
    value = _figures(value)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([万亿])", value)
    if m:
        value = _plain(Decimal(m.group(1)) * _CN_BIG[m.group(2)])
    elif _CN_CHARS.search(value):
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

_SHOWN = 3  # the likeliest three: more do not fit a phone screen, and a fourth is rarely the one
WEAK = 0.45  # the best match explains less than this of the words: say none fits well


def industry(raw: str, answers: Answers) -> Result:
    """所属行业 as a 大类 code: "39", "C39", the official name, or what the firm does ("注塑加工"), searched
    against the standard's 小类 and 中类 names (bot.domain.industries.search). A clear match is taken and
    says which 小类 matched; anything less offers the likeliest three."""
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
    matches = search(raw)
    if not matches:
        return Invalid("industry_not_found", {"text": _half(raw)[:20]})
    firms = [mt for mt in matches if int(mt.code) < 91]
    if not firms or (matches[0].strong and matches[0] is not firms[0]):
        return Invalid("industry_not_enterprise", {"name": matches[0].industry.display})
    top = firms[0]
    if top.strong:
        return Ok(top.code, Message("industry_matched", {"text": _half(raw)[:20], "match": top.display}))
    options = tuple((mt.code, mt.display) for mt in firms[:_SHOWN])
    if top.score < WEAK:
        return Ambiguous(options, code="industry_choose_weak")
    if len(firms) > _SHOWN:
        return Ambiguous(options, code="industry_choose_more", params={"n": len(firms), "shown": _SHOWN})
    return Ambiguous(options, code="industry_choose")


def industry_display(code: Any) -> str:
    """"36" → "36 汽车制造业" (what the user picked, as the summary shows it)."""
    found = industries().get(str(code))
    return found.display if found else str(code)


def industry_needs_sub(answers: Answers) -> bool:
    return answers.get("industry") in sme_size.SUBDIVIDED


def industry_sub_choices(answers: Answers) -> tuple[Choice, ...]:
    return tuple(Choice(code, label) for code, label, _g in sme_size.SUBDIVIDED.get(str(answers.get("industry")), ()))


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
