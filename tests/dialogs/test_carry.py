"""Which of last year's answers carry over into next year's form (bot/dialogs/carry.py), and what the firm is
told changed."""

from __future__ import annotations

import dataclasses

from bot.dialogs import validators as v
from bot.dialogs.carry import Changed, carried, changed
from bot.dialogs.fields import Add, Choice, Field, NewChoices, Remove, Rename
from bot.dialogs.forms import large_need, sme_match
from tests.campaigns.forms_2025 import sme_match as sme_match_2025
from tests.documents.test_docx_large_need import ANSWERS as LARGE_ANSWERS

NEXT = sme_match_2025.FORM

# A 2024 对接表 as the bot stores it
ANSWERS_2024 = {
    "company_name": "上海测试科技有限公司", "credit_code": "91310000132149237G", "reg_province": "上海市",
    "reg_city": "浦东新区", "reg_county": None, "reg_date": "2015-03-02", "legal_rep": "张三",
    "legal_rep_phone": "021-68811103", "legal_rep_mobile": "13912345678", "contact": "李四 总经理助理",
    "contact_phone": "021-68811104", "contact_mobile": "13812345678", "fax": None, "email": "lisi@example.com",
    "registered_capital": "500", "employees": 85, "revenue": "3200", "industry": "65", "size": "小型",
    "ownership": "民营", "enterprise_types": ["专精特新“小巨人”企业", "创新型中小企业"],
    "address": "上海市浦东新区学林路36弄13号", "postcode": "200120", "overview": "公司专注工业软件研发。",
    "items": [{"_id": "a1", "name": "高精度视觉检测算法", "code": "2024-SH-017"}], "items#more": False,
    "_printed": "0123456789abcdef0123",
}


def test_every_unchanged_answer_carries_over_and_nothing_else():
    taken = carried(NEXT, 1, ANSWERS_2024)
    assert list(taken) == [k for k in ANSWERS_2024 if k not in (
        "fax",  # removed in version 2
        "ownership",  # 民营 is no longer among 企业性质's options
        "items", "items#more",  # this year's 拟揭榜事项 are picked from this year's 需求目录
        "revenue",  # 上年度营业收入: 2023's figure on the 2024 form, 2024's on the 2025 one
        "size",  # computed from the figures, 上年度营业收入 among them: computed again when it is answered
        "_printed")]
    assert taken["legal_rep"] == "张三"  # renamed for the same meaning: kept
    assert taken["reg_county"] is None  # skipped last year, and it may be skipped


def carrying(form, key: str):
    """`form` with its field `key` carried over (as if it were not a year's own figure)."""
    return dataclasses.replace(form, items=tuple(
        dataclasses.replace(f, carries=True) if getattr(f, "key", None) == key else f for f in form.items))


def test_a_computed_answer_carries_over_only_as_computed_again():
    form = carrying(sme_match.FORM, "revenue")
    assert carried(form, 1, ANSWERS_2024)["size"] == "小型"  # computed again from the carried figures: the same
    assert carried(form, 1, {**ANSWERS_2024, "employees": 5000, "revenue": "900000"}).get("size") is None  # 大型


def test_an_old_answer_still_among_the_new_choices_carries_over():
    assert carried(NEXT, 1, {**ANSWERS_2024, "ownership": "国有"})["ownership"] == "国有"


def test_answers_that_would_not_be_taken_today_are_asked_again():
    form = dataclasses.replace(sme_match.FORM, changes={2: (
        Rename("contact", "联系人", asks_again=True),  # the meaning changed: 职务 no longer wanted
        NewChoices("enterprise_types", (Choice("创新型中小企业"), Choice("其他"))),
    )})
    taken = carried(form, 1, {**ANSWERS_2024, "employees": "很多", "email": ""})
    assert "contact" not in taken
    assert "enterprise_types" not in taken  # a multi-choice with one answer no longer offered
    assert "employees" not in taken  # an answer the check refuses
    assert "email" not in taken  # empty where it is required


def test_a_field_that_is_each_years_own_does_not_carry_over():
    taken = carried(large_need.FORM, 1, {**LARGE_ANSWERS, "no_secret": "确认"})
    assert "no_secret" not in taken and "needs" not in taken and "revenue" not in taken  # 上年度营业收入
    assert "revenue" not in carried(sme_match.FORM, 1, ANSWERS_2024)
    assert taken["company_name"] == LARGE_ANSWERS["company_name"]


def test_the_same_version_carries_everything_valid():
    assert carried(sme_match.FORM, 1, ANSWERS_2024)["ownership"] == "民营"


def test_what_the_firm_is_told_changed():
    assert changed(NEXT, 1) == [Changed("renamed", "法定代表人", "法人代表"), Changed("added", "上年度研发投入(万元)"),
                                Changed("removed", "传真"), Changed("choices", "企业性质")]
    assert changed(NEXT, 2) == []
    form = dataclasses.replace(sme_match.FORM, changes={
        2: (Rename("fax", "传真号码"), Add(Field("web", "网站", validate=v.text(50)), after="email")),
        3: (Remove("fax"), Remove("web"), Rename("items.code", "需求编号"))})
    assert changed(form, 1, 3) == [Changed("removed", "传真"), Changed("renamed", "需求编号", "代码")]
    assert changed(form, 2, 3) == [Changed("removed", "传真号码"), Changed("removed", "网站"),
                                   Changed("renamed", "需求编号", "代码")]
