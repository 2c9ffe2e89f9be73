"""附件2 大企业技术创新需求表: answers beside their labels, publish/ownership/channel ticked, needs in order."""

from __future__ import annotations

import re

import pytest

from bot.dialogs.forms.large_need import FORM
from bot.documents.large_need import CONTENT_GUIDANCE, render

NEED_2 = "研发一款改性材料\n参数要求：熔指 XXg/10min，阻燃要求 HB\n\n需达到效果：适配电池外壳\n时间要求：1 年"

ANSWERS = {
    "company_name": "上海某某集团有限公司",
    "publish_name": "不公开",
    "credit_code": "91310000132149237G",
    "reg_province": "上海市",
    "legal_rep": "王五",
    "contact": "张三 技术中心主任",
    "contact_phone": "021-68811103",
    "fax": None,
    "email": "tech@example.com",
    "mobile": "13912345678",
    "registered_capital": "120000",
    "employees": 5200,
    "revenue": "860000.5",
    "ownership": "国有",
    "industry": "36",
    "channel": "工业和信息化部相关行业司局",
    "channel_detail": "装备工业一司",
    "address": "上海市浦东新区张江路1号",
    "postcode": "201203",
    "needs": [
        {"name": "车规级功率模块国产化", "content": "开发车规级 SiC 功率模块。"},
        {"name": "电池外壳改性材料", "content": NEED_2},
        {"name": "尚未写内容的需求", "content": ""},
    ],
    "no_secret": "确认",
    "_form_version": 3,
    "needs#more": False,
}


def ticks(cell_text: str) -> tuple[list[str], list[str]]:
    checked = re.findall(r"☑\s*([^☑☐：\n]+)", cell_text)
    unchecked = re.findall(r"☐\s*([^☑☐：\n]+)", cell_text)
    return [c.strip() for c in checked], [u.strip() for u in unchecked]


@pytest.fixture
def doc(read):
    return read(render(ANSWERS))


def test_form_points_at_this_renderer():
    assert FORM.render(ANSWERS)[:2] == b"PK"


def test_title_and_stamp_line(doc):
    paras = [p for p in doc.paragraphs if p.strip()]
    assert paras[:3] == ["附件2", "大企业技术创新需求表", "企业名称：上海某某集团有限公司（盖章）"]


def test_every_answer_beside_its_label(doc):
    assert doc.beside("企业名称") == "上海某某集团有限公司"
    assert doc.beside("统一社会信用代码") == "91310000132149237G"
    assert doc.beside("注册地所在省份") == "上海市"
    assert doc.beside("法人代表") == "王五"
    assert doc.beside("联系人及职务") == "张三 技术中心主任"
    assert doc.beside("联系电话") == "021-68811103"
    assert doc.beside("电子邮箱") == "tech@example.com"
    assert doc.beside("手机") == "13912345678"
    assert doc.beside("注册资本(万元)") == "120000"
    assert doc.beside("从业人数(人)") == "5200"
    assert doc.beside("上年度营业收入(万元)") == "860000.5"
    assert doc.beside("所属行业") == "2位数代码及名称：36 汽车制造业"
    assert doc.beside("通讯地址") == "上海市浦东新区张江路1号"
    assert doc.beside("邮编") == "201203"


def test_missing_fax_is_blank_not_none(doc):
    assert doc.beside("传真") == ""
    assert "None" not in doc.all_text()


def test_boxes_ticked(doc):
    assert ticks(doc.beside("是否公开企业名称")) == (["不公开"], ["公开"])
    assert ticks(doc.beside("企业性质")) == (["国有"], ["民营", "合资", "外资"])
    channel = doc.beside("推荐渠道(只选择其中一个渠道)")
    assert ticks(channel) == (["工业和信息化部相关行业司局"], ["省级中小企业主管部门"])
    assert "☑工业和信息化部相关行业司局：装备工业一司" in channel
    assert "☐省级中小企业主管部门：" in channel and "装备工业一司" not in channel.split("\n")[0]


def test_needs_in_order_with_name_and_content(doc):
    rows = [r for r in doc.rows() if r[0].startswith("需求")]
    assert [r[0] for r in rows] == ["需求1", "需求1", "需求2", "需求2", "需求3", "需求3"]
    assert [r[1:] for r in rows[0::2]] == [
        ["名称", "车规级功率模块国产化"], ["名称", "电池外壳改性材料"], ["名称", "尚未写内容的需求"]]
    assert rows[1][1:] == ["需求内容", "开发车规级 SiC 功率模块。"]
    assert rows[3][1] == "需求内容"


def test_need_content_keeps_paragraphs_and_guidance_only_when_empty(doc):
    contents = doc.cells_beside("需求内容")
    assert len(contents) == 3
    assert [p.text for p in contents[1].paragraphs] == [
        "研发一款改性材料", "参数要求：熔指 XXg/10min，阻燃要求 HB", "需达到效果：适配电池外壳", "时间要求：1 年"]
    assert contents[2].text == CONTENT_GUIDANCE
    assert CONTENT_GUIDANCE not in contents[0].text + contents[1].text


def test_note_both_lines(doc):
    text = "\n".join(doc.paragraphs)
    assert "注：1. 所有需求均不得涉密。" in text
    assert "2. 公开企业名称有利于吸引更多优质企业“揭榜”，是否公开尊重企业意愿。" in text


def test_internal_keys_and_no_secret_not_printed(doc):
    text = doc.all_text()
    assert "确认" not in text and "False" not in text and "_form_version" not in text


def test_sparse_answers(read):
    doc = read(render({"company_name": "某集团", "needs": None}))
    assert "None" not in doc.all_text()
    assert ticks(doc.beside("推荐渠道(只选择其中一个渠道)")) == ([], ["省级中小企业主管部门", "工业和信息化部相关行业司局"])
    assert doc.beside("所属行业") == "2位数代码及名称："
    assert doc.row_starting("需求1") == ["需求1", "名称", ""]
