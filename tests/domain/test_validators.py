"""The checks a user meets at each question: what is accepted, how it is stored, what is said."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.dialogs import validators as v
from bot.dialogs.results import Ambiguous, Invalid, Ok


@pytest.mark.parametrize(("typed", "stored"), [
    ("13912345678", "13912345678"), ("139 1234 5678", "13912345678"), ("+86 139-1234-5678", "13912345678"),
    ("８６13912345678", "13912345678"),
])
def test_mobile_accepted(typed, stored):
    assert v.mobile(typed, {}) == Ok(stored)


def test_mobile_wrong_length_and_prefix_are_named():
    assert v.mobile("1391234567", {}) == Invalid("mobile_length", {"n": 10})
    assert v.mobile("12912345678", {}) == Invalid("mobile_prefix", {"prefix": "12"})


@pytest.mark.parametrize(("typed", "stored"), [
    ("021-68811103", "021-68811103"), ("(021)68811103", "021-68811103"), ("021 6881 1103", "021-68811103"),
    ("33134800-20986", "33134800-20986"), ("68811103", "68811103"), ("0571-88888888转123", "0571-88888888-123"),
    ("400-123-4567", "400-123-4567"), ("13912345678", "13912345678"),
    ("+86 21 6881 1103", "021-68811103"), ("+86-10-12345678", "010-12345678"), ("+86 139 1234 5678", "13912345678"),
    ("021-6881 1103 转 20", "021-68811103-20"), ("021-68811103分机20", "021-68811103-20"),
])
def test_landline_and_fax_formats(typed, stored):
    assert v.phone(typed, {}) == Ok(stored)


@pytest.mark.parametrize("typed", ["12345", "电话", "021-123"])
def test_bad_phones_are_refused(typed):
    assert isinstance(v.phone(typed, {}), Invalid)


def test_a_short_number_after_the_area_code_is_named():
    assert v.phone("021-6881", {}) == Invalid("phone_local_length", {"n": 4})
    assert v.phone("(0571)888888888", {}) == Invalid("phone_local_length", {"n": 9})


def test_email_and_postcode():
    assert v.email("Zhang.San＠Example.COM", {}) == Ok("zhang.san@example.com")
    assert v.email("zhangsan.example.com", {}).code == "email_no_at"
    assert v.email("a@b", {}).code == "email_format"
    assert v.postcode("２００１２０", {}) == Ok("200120")
    assert v.postcode("20012", {}) == Invalid("postcode_length", {"n": 5})


@pytest.mark.parametrize("typed", ["2015-03-02", "2015年3月2日", "2015/3/2", "2015.3.2", "20150302", "２０１５-03-02",
                                   "2015年3月2号", "二〇一五年三月二日", "二零一五年三月二号", "2015年三月二日"])
def test_dates_in_the_ways_people_write_them(typed):
    assert v.past_date(typed, {}) == Ok("2015-03-02")


def test_dates_not_in_the_future_and_real(monkeypatch):
    monkeypatch.setattr(v, "today", lambda: date(2026, 11, 24))
    assert v.past_date("2026-11-24", {}) == Ok("2026-11-24")
    assert v.past_date("2026-11-25", {}).code == "date_future"
    assert v.past_date("2015-02-30", {}).code == "date_invalid"
    assert v.past_date("1900-01-01", {}).code == "date_too_old"
    assert v.past_date("去年", {}).code == "date_format"
    assert v.past_date("二〇一五年十三月二日", {}).code == "date_invalid"


@pytest.mark.parametrize(("typed", "stored", "note"), [
    ("1,200", "1200", "amount_assumed_wan"), ("1200万", "1200", None), ("3000万元", "3000", None),
    ("0.5亿", "5000", "amount_converted"), ("1200元", "0.12", "amount_converted"), ("１２００", "1200", "amount_assumed_wan"),
    ("12000000", "12000000", "amount_maybe_yuan"),
    # as WeChat's voice input writes them
    ("五百万", "500", "amount_converted"), ("三千二百万元", "3200", "amount_converted"), ("1千万", "1000", "amount_converted"),
    ("两万五千元", "2.5", "amount_converted"), ("一亿二千万", "12000", "amount_converted"),
    ("五百", "500", "amount_assumed_wan"), ("约500万", "500", None), ("3200万左右", "3200", None),
])
def test_amounts_in_wan(typed, stored, note):
    result = v.amount_wan(typed, {})
    assert isinstance(result, Ok) and result.value == stored
    assert (result.note.code if result.note else None) == note


def test_bad_amounts():
    assert v.amount_wan("-5", {}).code == "amount_negative"
    assert v.amount_wan("很多", {}).code == "amount_format"
    assert v.amount_wan("NaN", {}).code == "amount_format"
    assert v.amount_wan("五百万美元", {}).code == "amount_format"
    assert v.amount_wan("一二三", {}).code == "amount_format"


def _spoken(n: int) -> str:
    """n as it is said in Chinese: 12005 → 一万二千零五."""
    digits, units = "零一二三四五六七八九", ("", "十", "百", "千")

    def below_10k(m: int, leading: bool) -> str:
        out, zero = "", False
        for i in range(3, -1, -1):
            d = m // 10**i % 10
            if d == 0:
                zero = bool(out) or not leading
                continue
            if zero:
                out += "零"
            out, zero = out + digits[d] + units[i], False
        return out

    if n == 0:
        return "零"
    parts = [(n // 10**8, "亿"), (n // 10**4 % 10**4, "万"), (n % 10**4, "")]
    out = ""
    for m, unit in parts:
        if m:
            out += below_10k(m, leading=not out) + unit
    return out


@given(st.integers(min_value=0, max_value=99_999_999_999))
def test_chinese_numerals_read_as_the_number_they_say(n):
    assert v.cn_number(_spoken(n)) == n


amounts = st.decimals(min_value=0, max_value=Decimal("99999999"), places=2, allow_nan=False, allow_infinity=False)


@given(amounts)
def test_the_same_amount_in_any_unit_is_stored_the_same(d):
    wan = v.amount_wan(f"{d}万", {}).value
    assert v.amount_wan(f"{d / 10000}亿", {}).value == wan
    assert v.amount_wan(f"{d * 10000}元", {}).value == wan
    assert Decimal(wan) == d


def test_headcount():
    assert v.headcount("85人", {}) == Ok(85)
    assert v.headcount("1,200", {}) == Ok(1200)
    assert v.headcount("8.5", {}).code == "headcount_whole"
    assert v.headcount("八十五人", {}) == Ok(85)
    assert v.headcount("一千二百名", {}) == Ok(1200)
    assert v.headcount("约85人", {}) == Ok(85)
    assert v.headcount("85多人", {}).code == "headcount_format"  # "more than 85" is not a count


def test_industry_by_code_or_words():
    assert v.industry("65", {}) == Ok("65")
    assert v.industry("C39", {}) == Ok("39")
    assert v.industry("98", {}).code == "industry_code_unknown"
    assert v.industry("93", {}).code == "industry_not_enterprise"
    soft = v.industry("软件", {})
    assert isinstance(soft, Ok) and soft.value == "65"
    many = v.industry("制造", {})
    assert isinstance(many, Ambiguous) and len(many.options) == 8
    assert all(label.startswith(code) for code, label in many.options)
    # 31 manufacturing 大类 match: the user is told only 8 are offered and how to narrow it down
    assert many.code == "industry_choose_more" and many.params["n"] > 8
    assert v.industry("量子玄学", {}).code == "industry_not_found"


@pytest.mark.parametrize(("typed", "code"), [
    ("软件开发", "65"), ("工业软件", "65"), ("人工智能", "65"), ("集成电路设计", "65"), ("芯片封装", "39"),
    ("软件和信息技术服务业", "65"),  # the official name itself, though "技术服务" is also a word for 75
    ("汽车制造业", "36"), ("农业", "01"),
])
def test_industry_from_what_a_firm_says_it_does(typed, code):
    assert v.industry(typed, {}) == Ok(code)


@pytest.mark.parametrize(("typed", "code"), [
    ("software", "65"), ("Software development", "65"), ("AI", "65"), ("IC design", "65"), ("cars", "36"),
    ("auto parts", "36"), ("medical devices", "35"), ("R&D services", "73"), ("real estate", "70"),
])
def test_industry_from_english_words(typed, code):
    assert v.industry(typed, {}) == Ok(code)


def test_english_words_match_whole_words_only():
    assert v.industry("trail", {}).code == "industry_not_found"  # not "ai", not "retail"
    assert v.industry("new energy vehicles", {}).options[0][0] == "36"


def test_industry_words_that_fit_several_offer_the_likeliest_first():
    ev = v.industry("新能源汽车零部件", {})
    assert isinstance(ev, Ambiguous) and ev.code == "industry_choose"
    assert ev.options[0][0] == "36"  # named by 新能源, 汽车 and 零部件
    assert {"38", "44"} <= {code for code, _label in ev.options}
    logistics = v.industry("物流", {})
    assert [code for code, _label in logistics.options] == ["54", "58", "59"]


def test_province_normalised():
    assert v.province("上海", {}) == Ok("上海市")
    assert v.province("广西", {}) == Ok("广西壮族自治区")
    assert v.province("火星", {}).code == "province_unknown"


def test_long_text_counted_as_the_form_counts():
    check = v.long_text(500)
    ok = check("我们是一家AI公司", {})
    assert ok.note.params == {"n": 8, "left": 492}  # 7 汉字 + "AI"
    over = check("字" * 510, {})
    assert over == Invalid("too_many_chars", {"max": 500, "n": 510, "over": 10})
