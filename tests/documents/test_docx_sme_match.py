"""附件3 中小企业“揭榜”对接表: every answer beside its label, the right boxes ticked, items in order."""

from __future__ import annotations

import re

import pytest

from bot.dialogs.forms.sme_match import FORM
from bot.documents.sme_match import render

OVERVIEW = (
    "本公司成立于2015年，专注工业软件研发。\n"
    "主要产品为设备预测性维护平台，服务汽车、电子等行业客户200余家。\n\n"
    "拥有发明专利12项、软件著作权35项，参与制定行业标准2项。"
)

ANSWERS = {
    "company_name": "上海某某科技有限公司",
    "credit_code": "91310000132149237G",
    "reg_province": "上海市",
    "reg_city": "浦东新区",
    "reg_county": None,
    "reg_date": "2015-03-02",
    "legal_rep": "李四",
    "legal_rep_phone": "021-68811103",
    "legal_rep_mobile": "13900001111",
    "contact": "张三 总经理助理",
    "contact_phone": "021-68811105",
    "contact_mobile": "13912345678",
    "fax": None,
    "email": "zhangsan@example.com",
    "registered_capital": "500",
    "employees": 85,
    "revenue": "3200.5",
    "industry": "65",
    "industry_sub": "软件开发",
    "total_assets": "1500",
    "size": "小型",
    "ownership": "民营",
    "enterprise_types": ["省级专精特新中小企业", "创新型中小企业"],
    "address": "上海市浦东新区学林路36弄13号",
    "postcode": "200120",
    "overview": OVERVIEW,
    "items": [
        {"name": "高精度伺服电机控制算法", "code": "SH-2024-001"},
        {"name": "工业视觉缺陷检测", "code": "SH-2024-017"},
        {"name": "低功耗边缘网关", "code": "SH-2024-023"},
    ],
    "_started": "2024-07-01T10:00:00",
    "items#more": False,
}


def ticks(cell_text: str) -> tuple[list[str], list[str]]:
    """(ticked, unticked) options of a checkbox cell."""
    checked = re.findall(r"☑\s*([^☑☐]+?)\s*(?=[☑☐]|$)", cell_text)
    unchecked = re.findall(r"☐\s*([^☑☐]+?)\s*(?=[☑☐]|$)", cell_text)
    return checked, unchecked


@pytest.fixture
def doc(read):
    return read(render(ANSWERS))


def test_form_points_at_this_renderer():
    data = FORM.render(ANSWERS)
    assert data[:2] == b"PK"


def test_title_and_stamp_line(doc):
    paras = [p for p in doc.paragraphs if p.strip()]
    assert "附件3" in paras[0]
    assert "中小企业“揭榜”对接表" in paras
    assert "企业名称：上海某某科技有限公司（盖章）" in paras
    assert paras.index("中小企业“揭榜”对接表") < paras.index("企业名称：上海某某科技有限公司（盖章）")


def test_every_answer_beside_its_label(doc):
    assert doc.beside("企业名称") == "上海某某科技有限公司"
    assert doc.beside("统一社会信用代码") == "91310000132149237G"
    assert doc.beside("企业注册地") == "上海市浦东新区_____县"  # the county blank stays a blank
    assert doc.beside("注册时间") == "2015年3月2日"
    assert doc.beside("法人代表") == "李四"
    assert doc.beside("联系电话", 0) == "021-68811103"
    assert doc.beside("手机", 0) == "13900001111"
    assert doc.beside("联系人及职务") == "张三 总经理助理"
    assert doc.beside("联系电话", 1) == "021-68811105"
    assert doc.beside("手机", 1) == "13912345678"
    assert doc.beside("电子邮箱") == "zhangsan@example.com"
    assert doc.beside("注册资本(万元)") == "500"
    assert doc.beside("从业人数(人)") == "85"
    assert doc.beside("上年度营业收入(万元)") == "3200.5"
    assert doc.beside("通讯地址") == "上海市浦东新区学林路36弄13号"
    assert doc.beside("邮编") == "200120"
    assert doc.beside("所属行业") == (
        "按照《国民经济行业分类(GB/T 4754-2017)》，行业2位数代码及名称：65 软件和信息技术服务业")


def test_section_rows_in_order(doc):
    firsts = [r[0] for r in doc.rows() if len(r) == 1]
    assert firsts == ["一、企业基本情况", "二、企业概况", "三、拟揭榜事项"]


def test_missing_optional_value_is_a_blank_cell(doc):
    assert doc.beside("传真") == ""
    assert "None" not in doc.all_text()


def test_not_printed_internal_and_extra_keys(doc):
    text = doc.all_text()
    assert "软件开发" not in text  # industry_sub
    assert "1500" not in text  # total_assets
    assert "_started" not in text and "False" not in text


def test_size_ownership_types_ticked(doc):
    size = doc.beside("根据《中小企业划型标准规定》(工信部联企业〔2011〕300号)，企业规模属于")
    assert ticks(size) == (["小型"], ["大型", "中型", "微型"])
    assert ticks(doc.beside("企业性质")) == (["民营"], ["国有", "合资", "外资"])
    assert ticks(doc.beside("企业类型(可多选)")) == (
        ["省级专精特新中小企业", "创新型中小企业"], ["专精特新“小巨人”企业", "其他"])


def test_items_one_row_each_in_order(doc):
    rows = [r for r in doc.rows() if r[0].startswith("事项")]
    assert rows == [
        ["事项1", "事项名称", "高精度伺服电机控制算法", "代码", "SH-2024-001"],
        ["事项2", "事项名称", "工业视觉缺陷检测", "代码", "SH-2024-017"],
        ["事项3", "事项名称", "低功耗边缘网关", "代码", "SH-2024-023"],
    ]


def test_overview_keeps_its_paragraphs(doc):
    assert doc.cell_paragraphs_beside("企业概况") == [
        "本公司成立于2015年，专注工业软件研发。",
        "主要产品为设备预测性维护平台，服务汽车、电子等行业客户200余家。",
        "拥有发明专利12项、软件著作权35项，参与制定行业标准2项。",
    ]


def test_long_overview_survives_intact(read):
    long = "\n".join(f"第{i}段：" + "技术创新" * 30 for i in range(1, 9))
    doc = read(render({**ANSWERS, "overview": long}))
    rows = [r for r in doc.rows() if r[0].startswith("企业概况")]
    assert [r[0] for r in rows] == ["企业概况", "企业概况（续）"]  # no row breaks across a page: the label repeats
    printed = [p.text for c in doc.cells_beside("企业概况") + doc.cells_beside("企业概况（续）") for p in c.paragraphs]
    assert printed == long.split("\n")


def test_note_after_the_table(doc):
    assert "（注：可揭榜多个事项，每个事项均需附揭榜申请书）" in doc.paragraphs


def test_sparse_answers_print_blanks_not_none(read):
    doc = read(render({"company_name": "某公司", "items": None, "enterprise_types": None}))
    assert "None" not in doc.all_text()
    assert doc.beside("统一社会信用代码") == ""
    assert doc.beside("注册时间") == ""
    assert ticks(doc.beside("企业性质")) == ([], ["国有", "民营", "合资", "外资"])
    assert doc.row_starting("事项1") == ["事项1", "事项名称", "", "代码", ""]


def test_registered_place_adds_unit_words_only_when_missing(read):
    doc = read(render({**ANSWERS, "reg_province": "江苏省", "reg_city": "苏州", "reg_county": "昆山"}))
    assert doc.beside("企业注册地") == "江苏省苏州市昆山县"


def test_shanghai_pudong_is_not_printed_as_pudong_city(read):
    """上海 + 浦东 printed 「上海市浦东市」: the district is 浦东新区, in the 市(区) blank."""
    doc = read(render({**ANSWERS, "reg_province": "上海", "reg_city": "浦东", "reg_county": None}))
    assert doc.beside("企业注册地") == "上海市浦东新区_____县"
    assert "浦东市" not in doc.all_text()


def test_empty_registered_place_prints_the_official_blanks(read):
    doc = read(render({**ANSWERS, "reg_province": None, "reg_city": None, "reg_county": None}))
    assert doc.beside("企业注册地") == "_____省_____市(区)_____县"


def test_page_is_a4_with_chinese_fonts(doc):
    section = doc.doc.sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.page_height.cm, 1) == 29.7
    xml = doc.doc.element.xml
    assert 'w:eastAsia="黑体"' in xml
    styles_xml = doc.doc.styles.element.xml
    assert 'w:eastAsia="宋体"' in styles_xml
