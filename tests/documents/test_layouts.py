"""Document layouts name the form's fields; labels, choices and display come from the form (issue 12)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bot.dialogs.fields import Choice, Field, Form, Group, Remove
from bot.dialogs.forms import application as application_form
from bot.dialogs.forms import large_need as large_need_form
from bot.dialogs.forms import sme_match as sme_match_form
from bot.documents import application, large_need, sme_match
from bot.documents.layouts import render_document
from tests.campaigns.forms_2025.sme_match import FORM as NEXT_SME
from tests.documents.conftest import unique_cells
from tests.documents.test_docx_large_need import ANSWERS as LARGE_ANSWERS
from tests.documents.test_docx_sme_match import ANSWERS as SME_ANSWERS
from tests.documents.test_printed_again_is_identical import PINNED, body_hash

DOCUMENTS = [
    pytest.param(sme_match_form.FORM, sme_match.LAYOUT, id="sme_match"),
    pytest.param(large_need_form.FORM, large_need.LAYOUT, id="large_need"),
    pytest.param(application_form.FORM, application.LAYOUT, id="application"),
]


def ticks(cell_text: str) -> tuple[list[str], list[str]]:
    checked = re.findall(r"☑\s*([^☑☐：\n]+?)\s*(?=[☑☐：\n]|$)", cell_text)
    unchecked = re.findall(r"☐\s*([^☑☐：\n]+?)\s*(?=[☑☐：\n]|$)", cell_text)
    return checked, unchecked


def with_field(form: Form, key: str, **changes) -> Form:
    """A copy of `form` whose field `key` is changed, as next year's form file would change it."""
    items = tuple(dataclasses.replace(item, **changes) if isinstance(item, Field) and item.key == key else item
                  for item in form.items)
    assert items != form.items, f"{key} is not a field of {form.id}"
    return dataclasses.replace(form, items=items)


def extra_choice(form: Form, key: str, value: str) -> Form:
    field = next(f for f in form.items if isinstance(f, Field) and f.key == key)
    return with_field(form, key, choices=(*field.choices, Choice(value)))


def versions(form: Form) -> list[Form]:
    return [form.at(v) for v in range(1, form.version + 1)]


@pytest.mark.parametrize(("form", "layout"), DOCUMENTS)
def test_every_key_a_layout_names_is_a_field_of_some_version_of_its_form(form, layout):
    fields = {k for f in versions(form) for k in f.field_keys()}
    assert set(layout.keys()) - fields == set()
    assert set(layout.not_printed) - fields == set()
    groups = {item.key for f in versions(form) for item in f.items if isinstance(item, Group)}
    assert set(layout.groups()) <= groups


@pytest.mark.parametrize(("form", "layout"), DOCUMENTS)
def test_every_field_of_every_version_is_printed_or_listed_as_not_printed(form, layout):
    for at in versions(form):
        printed = set(layout.keys()) | {f.key for f in layout.unplaced(at)}  # unplaced: a row at its section's end
        assert set(at.field_keys()) - printed - set(layout.not_printed) == set()
        assert printed & set(layout.not_printed) == set(), "a field both printed and listed as not printed"


def test_next_years_form_prints_its_own_labels_choices_and_fields(read):
    """The made-up 2025 对接表 (tests/campaigns/forms_2025): 法人代表 renamed 法定代表人, 上年度研发投入 added,
    传真 removed, 企业性质's options changed; the layout (bot/documents/sme_match.py) is not touched."""
    form = NEXT_SME.at(2)
    answers = {**{k: v for k, v in SME_ANSWERS.items() if k != "fax"}, "rd_expense": "260", "ownership": "私营"}
    doc = read(render_document(form, sme_match.LAYOUT, answers))
    cells = [c for r in doc.rows() for c in r]
    assert doc.beside("法定代表人") == "李四" and "法人代表" not in cells
    assert "传真" not in cells
    assert doc.beside("上年度研发投入(万元)") == "260"
    firsts = [r[0] for r in doc.rows()]
    assert firsts.index("上年度研发投入(万元)") == firsts.index("二、企业概况") - 1  # its section's last row
    assert ticks(doc.beside("企业性质")) == (["私营"], ["国有", "集体", "混合所有制", "外资"])
    # the 传真 row's columns went to 电子邮箱's answer: the row is still the table's six columns
    email_row = next(r for r in doc.table.rows if any(c.text == "电子邮箱" for c in r.cells))
    assert len(email_row.cells) == 6 and [c.text for c in unique_cells(email_row)] == ["电子邮箱", SME_ANSWERS["email"]]
    assert read(NEXT_SME.at(2).render(answers)).rows() == doc.rows()  # the way the bot calls it


def test_last_years_paper_printed_from_next_years_form_file_is_byte_for_byte_the_same():
    assert body_hash(NEXT_SME.at(1).render(SME_ANSWERS)) == PINNED["sme_match"]
    assert body_hash(render_document(NEXT_SME.at(1), sme_match.LAYOUT, SME_ANSWERS)) == PINNED["sme_match"]


def test_a_removed_field_of_a_group_leaves_its_cells_out(read):
    form = dataclasses.replace(sme_match_form.FORM, changes={2: (Remove("items.code"),)})
    doc = read(render_document(form.at(2), sme_match.LAYOUT, SME_ANSWERS))
    item_rows = [r for r in doc.rows() if r[0].startswith("事项")]
    assert item_rows[0] == ["事项1", "事项名称", SME_ANSWERS["items"][0]["name"]]
    assert "代码" not in [c for r in doc.rows() for c in r]


def test_a_choice_added_to_the_form_is_ticked_in_the_docx(read):
    form = extra_choice(sme_match_form.FORM, "ownership", "集体")
    doc = read(render_document(form, sme_match.LAYOUT, {**SME_ANSWERS, "ownership": "集体"}))
    assert ticks(doc.beside("企业性质")) == (["集体"], ["国有", "民营", "合资", "外资"])


def test_a_choice_added_to_a_multi_select_is_ticked_beside_the_others(read):
    form = extra_choice(sme_match_form.FORM, "enterprise_types", "制造业单项冠军企业")
    answers = {**SME_ANSWERS, "enterprise_types": ["创新型中小企业", "制造业单项冠军企业"]}
    doc = read(render_document(form, sme_match.LAYOUT, answers))
    assert ticks(doc.beside("企业类型(可多选)")) == (
        ["创新型中小企业", "制造业单项冠军企业"], ["专精特新“小巨人”企业", "省级专精特新中小企业", "其他"])


def test_a_choice_added_to_the_channel_gets_its_colon_and_detail(read):
    form = extra_choice(large_need_form.FORM, "channel", "计划单列市中小企业主管部门")
    answers = {**LARGE_ANSWERS, "channel": "计划单列市中小企业主管部门", "channel_detail": "宁波市经信局"}
    channel = read(render_document(form, large_need.LAYOUT, answers)).beside("推荐渠道(只选择其中一个渠道)")
    assert channel.split("\n") == ["☐省级中小企业主管部门：", "☐工业和信息化部相关行业司局：",
                                   "☑计划单列市中小企业主管部门：宁波市经信局"]


def test_an_answer_the_form_no_longer_offers_is_still_printed_ticked(read):
    doc = read(sme_match.render({**SME_ANSWERS, "ownership": "集体"}))
    assert ticks(doc.beside("企业性质")) == (["集体"], ["国有", "民营", "合资", "外资"])


def test_a_relabelled_field_prints_its_new_label(read):
    form = with_field(sme_match_form.FORM, "fax", label="传真号码")
    doc = read(render_document(form, sme_match.LAYOUT, {**SME_ANSWERS, "fax": "021-68811104"}))
    assert doc.beside("传真号码") == "021-68811104"
    assert "传真" not in [c for r in doc.rows() for c in r]


def test_printed_labels_drop_the_words_the_question_needed(read):
    doc = read(sme_match.render(SME_ANSWERS))
    cells = [c for r in doc.rows() for c in r]
    assert cells.count("联系电话") == 2 and cells.count("手机") == 2
    assert not any("（法人代表）" in c or "（联系人）" in c for c in cells)


def test_a_group_label_changed_in_the_form_numbers_the_items(read):
    form = sme_match_form.FORM
    items = tuple(dataclasses.replace(i, label="揭榜事项") if isinstance(i, Group) else i for i in form.items)
    doc = read(render_document(dataclasses.replace(form, items=items), sme_match.LAYOUT, SME_ANSWERS))
    assert [r[0] for r in doc.rows() if r[0].startswith("揭榜事项")] == ["揭榜事项1", "揭榜事项2", "揭榜事项3"]


def test_a_layout_naming_a_missing_field_fails_loudly():
    form = dataclasses.replace(sme_match_form.FORM,
                               items=tuple(i for i in sme_match_form.FORM.items if getattr(i, "key", "") != "fax"))
    with pytest.raises(KeyError, match="fax"):
        render_document(form, sme_match.LAYOUT, SME_ANSWERS)


def test_long_need_content_continues_with_its_labels_repeated(read):
    """A 3,000-字 需求 split across a page break left the page after the break without a label."""
    paras = [f"第{i}部分：" + "参数要求熔指阻燃等级" * 14 for i in range(1, 22)]
    need = {"name": "长需求", "content": "\n".join(paras)}
    doc = read(large_need.render({**LARGE_ANSWERS, "needs": [need, {"name": "第二项", "content": "短内容"}]}))
    rows = [r for r in doc.rows() if r[0].startswith("需求")]
    labels = [r[1] for r in rows]
    assert labels[0] == "名称" and labels[1] == "需求内容"
    continued = [r for r in rows if r[1] == "需求内容（续）"]
    assert continued and all(r[0] == "需求1" for r in continued)
    printed = [line for r in rows if r[0] == "需求1" and r[1].startswith("需求内容") for line in r[2].split("\n")]
    assert printed == paras  # every paragraph once, in order
    assert [r[:3] for r in rows[-2:]] == [["需求2", "名称", "第二项"], ["需求2", "需求内容", "短内容"]]


def test_next_years_new_field_is_printed_without_a_change_to_the_layout(read):
    """A field added to the form file (since=2) that the layout does not place gets a row of its own at
    the end of its section: next year's form is a diff in the form file and the catalogues."""
    form = sme_match_form.FORM
    basic = next(f for f in form.items if isinstance(f, Field) and f.key == "postcode").section
    website = Field("website", "企业网站", optional=True, section=basic, since=2)
    form = dataclasses.replace(form, version=2, items=(*form.items[:24], website, *form.items[24:]))
    doc = read(render_document(form, sme_match.LAYOUT, {**SME_ANSWERS, "website": "www.example.cn"}))
    assert doc.beside("企业网站") == "www.example.cn"
    firsts = [r[0] for r in doc.rows()]
    assert firsts.index("企业网站") == firsts.index("二、企业概况") - 1  # the last row of 一、企业基本情况
