"""附件4 “揭榜”申请书: title, 盖章 line, each heading followed by the company's own paragraphs, 佐证材料, 注."""

from __future__ import annotations

import pytest

from bot.dialogs.forms.application import FORM
from bot.documents.application import NOT_AFFILIATED, render

ANSWERS = {
    "company_name": "上海某某科技有限公司",
    "item_name": "高精度伺服电机控制算法",
    "not_affiliated": "非关联企业",
    "basic": "公司主营工业软件。\n2023年营业收入3200万元。",
    "capability": "研发团队45人，其中博士6人。\n\n拥有发明专利12项。",
    "plan_team": "项目负责人张三，曾主持国家重点研发计划课题。",
    "plan_goals": "定位精度±1μm；\n响应时间≤2ms。",
    "plan_route": "采用模型预测控制。",
    "plan_schedule": "第1-3月：方案设计。\n第4-9月：样机研制。\n第10-12月：现场验证。",
    "plan_risks": "芯片供货风险：备选两家国产供应商。",
    "cooperation": "项目委托，联合攻关。",
    "evidence": ["发明专利：一种伺服控制方法（ZL2020xxxx）", "📎 软件著作权登记证书.pdf", "ISO9001认证"],
    "_item_index": 0,
}

OUTLINE = [
    ("一、中小企业基本情况简介", ["公司主营工业软件。", "2023年营业收入3200万元。"]),
    ("二、中小企业技术创新能力情况", ["研发团队45人，其中博士6人。", "拥有发明专利12项。"]),
    ("三、针对揭榜需求拟采取的技术攻关方案", []),
    ("（一）攻关团队情况", ["项目负责人张三，曾主持国家重点研发计划课题。"]),
    ("（二）预期目标", ["定位精度±1μm；", "响应时间≤2ms。"]),
    ("（三）拟选择的技术路线", ["采用模型预测控制。"]),
    ("（四）时间进度安排", ["第1-3月：方案设计。", "第4-9月：样机研制。", "第10-12月：现场验证。"]),
    ("（五）潜在问题及应对举措", ["芯片供货风险：备选两家国产供应商。"]),
    ("四、希望采取的合作方式", ["项目委托，联合攻关。"]),
]


@pytest.fixture
def paras(read):
    return [p for p in read(render(ANSWERS)).paragraphs if p.strip()]


def test_form_points_at_this_renderer():
    assert FORM.render(ANSWERS)[:2] == b"PK"


def test_title_stamp_line_item_and_declaration(paras):
    assert paras[0] == "附件4"
    assert paras[1].replace("\n", "") == "大中小企业融通创新项目中小企业“揭榜”申请书"
    assert paras[2] == "企业名称（盖章）：上海某某科技有限公司"
    assert paras[3] == "“揭榜”事项名称：高精度伺服电机控制算法"
    assert paras[4] == NOT_AFFILIATED
    assert paras[5] == "（申请书将提供给“发榜”大企业）"


def test_each_heading_followed_by_its_text(paras):
    start = paras.index(OUTLINE[0][0])
    expected = [line for heading, body in OUTLINE for line in (heading, *body)]
    assert paras[start:start + len(expected)] == expected


def test_evidence_numbered_with_attachments_named(paras):
    i = paras.index("佐证材料")
    assert paras[i + 1:i + 4] == [
        "1. 发明专利：一种伺服控制方法（ZL2020xxxx）",
        "2. 附件：软件著作权登记证书.pdf",
        "3. ISO9001认证",
    ]
    assert not any("📎" in p for p in paras)


def test_note_last(paras):
    assert paras[-1].startswith("（注：申请书篇幅不宜过长，原则上不超过6000字")
    assert "请随附技术创新能力佐证材料" in paras[-1]


def test_without_declaration_evidence_or_texts(read):
    doc = read(render({"company_name": "某公司", "item_name": None, "not_affiliated": None, "evidence": None,
                       "basic": None}))
    paras = [p for p in doc.paragraphs if p.strip()]
    assert "None" not in "\n".join(paras)
    assert "“揭榜”事项名称：" in paras
    assert not any(p.startswith("关联关系声明") for p in paras)
    assert "佐证材料" not in paras
    # every heading still printed, for the company to fill in by hand
    assert all(h in paras for h, _ in OUTLINE)
    assert render({**ANSWERS, "evidence": []})  # empty list too


def test_long_text_survives_intact(read):
    long = "\n".join(f"第{i}阶段：" + "攻关方案细节" * 40 for i in range(1, 12))
    paras = [p for p in read(render({**ANSWERS, "plan_route": long})).paragraphs if p.strip()]
    i = paras.index("（三）拟选择的技术路线")
    assert paras[i + 1:i + 12] == long.split("\n")
    assert paras[i + 12] == "（四）时间进度安排"
