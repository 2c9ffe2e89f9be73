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
    assert v.phone("021-6881", {}) == Invalid("phone_local_length", {"area": "021", "want": "8", "n": 4})
    assert v.phone("(0571)888888888", {}) == Invalid("phone_local_length", {"area": "0571", "want": "8", "n": 9})


@pytest.mark.parametrize("area", ["0755", "0571", "0512", "020", "021", "010"])
def test_seven_digits_are_refused_where_the_city_s_numbers_have_eight(area):
    assert v.phone(f"{area}-6881110", {}) == Invalid("phone_local_length", {"area": area, "want": "8", "n": 7})
    assert isinstance(v.phone(f"{area}-68811103", {}), Ok)


def test_seven_digits_are_right_where_the_city_s_numbers_have_seven():
    assert v.phone("0891-6881110", {}) == Ok("0891-6881110")  # 拉萨


def test_a_made_up_area_code_is_refused():
    assert v.phone("0210-6881110", {}) == Invalid("phone_area_unknown", {"area": "0210"})


@pytest.mark.parametrize(("typed", "stored"), [
    ("0086 138 1234 5678", "13812345678"), ("0086-13812345678", "13812345678"), ("+86 138 1234 5678", "13812345678"),
    ("８６１３８１２３４５６７８", "13812345678"),
])
def test_mobiles_with_the_country_code_in_any_form(typed, stored):
    assert v.mobile(typed, {}) == Ok(stored)
    assert v.phone(typed, {}) == Ok(stored)


def test_landlines_with_the_country_code_in_any_form():
    assert v.phone("0086 21 68811103", {}) == Ok("021-68811103")
    assert v.phone("+86 (0)21 6881 1103", {}) == Ok("021-68811103")
    assert v.phone("+86 400 123 4567", {}) == Ok("400-123-4567")


def test_a_mobile_range_nobody_was_given_is_refused():
    assert v.mobile("14012345678", {}) == Invalid("mobile_unassigned", {"prefix": "140"})


def test_a_valid_number_abroad_is_kept_in_its_international_form():
    assert v.phone("+852 2345 6789", {}) == Ok("+852 2345 6789")


@pytest.mark.parametrize("typed", ["无", "没有", "暂无", "无。", "None", "n/a"])
def test_nothing_to_fill_in_at_a_phone_is_none(typed):
    """无 / 没有 at 传真 or an optional phone: Ok(None), which the walker takes as 跳过."""
    assert v.phone(typed, {}) == Ok(None)
    assert v.mobile(typed, {}) == Ok(None)


@pytest.mark.parametrize("typed", [".li@example.cn", "li..si@example.cn", "lisi.@example.cn"])
def test_dots_in_the_wrong_place_before_the_at_are_refused(typed):
    assert v.email(typed, {}) == Invalid("email_dots")


@pytest.mark.parametrize(("typed", "stored"), [
    ("info@例子.中国", "info@例子.中国"), ("info@例子。中国", "info@例子.中国"), ("li@example.xn--fiqs8s", "li@example.中国"),
    ("张三@例子.公司", "张三@例子.公司"),
])
def test_internationalised_domains_are_accepted(typed, stored):
    assert v.email(typed, {}) == Ok(stored)


def test_email_and_postcode():
    assert v.email("Zhang.San＠Example.COM", {}) == Ok("zhang.san@example.com")
    assert v.email("zhangsan.example.com", {}).code == "email_no_at"
    assert v.email("a@b", {}).code == "email_format"
    assert v.email("a@b..cn", {}).code == "email_format"
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


def test_today_is_today_in_the_configured_time_zone():
    """At 2026-11-24 20:00 UTC it is already the 25th in Shanghai, still the 24th in New York."""
    from datetime import UTC, datetime

    from bot import config

    now = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    try:
        config.set_local_zone("America/New_York")
        assert config.local_today(now) == date(2026, 11, 24)
        config.set_local_zone("Asia/Shanghai")
        assert config.local_today(now) == date(2026, 11, 25)
    finally:
        config.set_local_zone(config.DEFAULT_TIMEZONE)


def test_a_campaign_without_its_own_zone_counts_days_in_the_configured_one():
    from bot import config
    from bot.campaigns.model import Campaign

    try:
        config.set_local_zone("Europe/Berlin")
        assert str(Campaign({"id": "x", "year": 2024}).tz) == "Europe/Berlin"
        assert str(Campaign({"id": "x", "year": 2024, "timezone": "Asia/Urumqi"}).tz) == "Asia/Urumqi"
    finally:
        config.set_local_zone(config.DEFAULT_TIMEZONE)


@pytest.mark.parametrize(("typed", "stored", "note"), [
    ("1,200", "1200", "amount_assumed_wan"), ("1200万", "1200", None), ("3000万元", "3000", None),
    ("0.5亿", "5000", "amount_converted"), ("1200元", "0.12", "amount_converted"), ("１２００", "1200", "amount_assumed_wan"),
    ("12000000", "12000000", "amount_maybe_yuan"),
    # as WeChat's voice input writes them
    ("五百万", "500", "amount_converted"), ("三千二百万元", "3200", "amount_converted"), ("1千万", "1000", "amount_converted"),
    ("两万五千元", "2.5", "amount_converted"), ("一亿二千万", "12000", "amount_converted"),
    ("五百", "500", "amount_assumed_wan"), ("约500万", "500", None), ("3200万左右", "3200", None),
    ("￥3200万", "3200", None), ("¥3200万", "3200", None), ("RMB 3200万", "3200", None), ("3200万元人民币", "3200", None),
    # decimals as they are spoken
    ("一点二亿", "12000", "amount_converted"), ("三点五万", "3.5", None), ("零点五亿", "5000", "amount_converted"),
    ("十二点五万", "12.5", None),
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
    assert v.headcount("12万", {}) == Ok(120000)
    assert v.headcount("1.2万人", {}) == Ok(12000)
    assert v.headcount("三点五万", {}) == Ok(35000)
    assert v.headcount("十二万", {}) == Ok(120000)


def test_generic_checks_name_no_field():
    """The walker shows the question's label beside the error: a date or a head count check serves
    several questions, so its message must not say 注册时间 or 从业人数."""
    from bot.dialogs.errors import MESSAGES

    for code in ("date_future", "date_format", "date_invalid", "date_too_old", "headcount_whole",
                 "headcount_format", "amount_format", "amount_negative", "empty", "too_long"):
        assert not any(label in MESSAGES[code] for label in ("注册时间", "从业人数", "营业收入", "注册资本")), code


def test_industry_by_code_or_words():
    assert v.industry("65", {}) == Ok("65")
    assert v.industry("C39", {}) == Ok("39")
    assert v.industry("3973", {}) == Ok("39")  # a 小类 code is read as its 大类
    assert v.industry("98", {}).code == "industry_code_unknown"
    assert v.industry("93", {}).code == "industry_not_enterprise"
    many = v.industry("制造", {})
    assert isinstance(many, Ambiguous) and len(many.options) == 3
    assert all(label.startswith(code) for code, label in many.options)
    # some 30 manufacturing 大类 match: the user is told only 3 are offered and how to narrow it down
    assert many.code == "industry_choose_more" and many.params["n"] > 20


@pytest.mark.parametrize(("typed", "code"), [
    ("软件开发", "65"), ("人工智能", "65"), ("集成电路设计", "65"), ("芯片封装", "39"),
    ("软件和信息技术服务业", "65"),  # the official name itself, though "技术服务" is also a word for 75
    ("汽车制造业", "36"), ("农业", "01"),
])
def test_industry_from_what_a_firm_says_it_does(typed, code):
    result = v.industry(typed, {})
    assert isinstance(result, Ok) and result.value == code


@pytest.mark.parametrize(("typed", "code"), [
    ("software", "65"), ("Software development", "65"), ("AI", "65"), ("IC design", "65"), ("cars", "36"),
    ("auto parts", "36"), ("medical devices", "35"), ("R&D services", "73"), ("real estate", "70"),
    ("freight forwarding", "58"), ("car repair", "81"),
])
def test_industry_from_english_words(typed, code):
    result = v.industry(typed, {})
    assert isinstance(result, Ok) and result.value == code


def test_english_words_match_whole_words_only():
    assert v.industry("trail", {}).code == "industry_not_found"  # not "ai", not "retail"
    assert v.industry("new energy vehicles", {}).options[0][0] == "36"


def test_industry_words_that_fit_several_offer_the_likeliest_first():
    for typed in ("软件", "工业软件"):  # also sold (51, 52): asked, with 65 first
        soft = v.industry(typed, {})
        assert isinstance(soft, Ambiguous) and soft.options[0][0] == "65"
    ev = v.industry("新能源汽车零部件", {})
    assert isinstance(ev, Ambiguous) and ev.options[0][0] == "36"
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
