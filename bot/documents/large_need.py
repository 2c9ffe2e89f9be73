"""附件2 大企业技术创新需求表 as a Word document laid out like the official table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.documents.common import (
    FormTable,
    L,
    V,
    attachment_label,
    checkboxes,
    company_line,
    items_of,
    new_document,
    note,
    paragraphs_of,
    title,
    to_bytes,
)
from bot.documents.sme_match import industry_text

TITLE = "大企业技术创新需求表"
PUBLISH = ("公开", "不公开")
OWNERSHIPS = ("国有", "民营", "合资", "外资")
CHANNELS = ("省级中小企业主管部门", "工业和信息化部相关行业司局")
CHANNEL_LABEL = "推荐渠道(只选择其中一个渠道)"
INDUSTRY_PREFIX = "2位数代码及名称："
CONTENT_GUIDANCE = "（请详细阐明技术参数要求、需达到的目标效果、时间要求，以及拟采取的合作方式等）"
NOTES = ("注：1. 所有需求均不得涉密。", "　　2. 公开企业名称有利于吸引更多优质企业“揭榜”，是否公开尊重企业意愿。")

# six grid columns: label | value | label | value | label | value (16 cm)
WIDTHS = (2.6, 2.2, 1.9, 4.1, 1.9, 3.3)  # the phone and e-mail columns fit 021-68811103, zhao@example.com


def channel_text(answers: Mapping[str, Any]) -> str:
    """Both channels, one per line, the chosen one ticked with its 具体单位 after the colon."""
    chosen = answers.get("channel")
    detail = paragraphs_of(answers.get("channel_detail"))
    details = {c: "：" for c in CHANNELS}
    if chosen in details:
        details[chosen] = "：" + " ".join(detail)
    return checkboxes(CHANNELS, chosen, details, sep="\n")


def render(answers: Mapping[str, Any]) -> bytes:
    a = answers
    doc = new_document()
    attachment_label(doc, "附件2")
    title(doc, TITLE)
    company_line(doc, a.get("company_name"))

    t = FormTable(doc, WIDTHS)
    t.section("一、企业基本情况")
    t.row(L("企业名称"), V(a.get("company_name"), 5))
    t.row(L("是否公开企业名称"), V(checkboxes(PUBLISH, a.get("publish_name")), 5))
    t.row(L("统一社会信用代码"), V(a.get("credit_code"), 3), L("注册地所在省份"), V(a.get("reg_province")))
    t.row(L("法人代表"), V(a.get("legal_rep")), L("联系人及职务"), V(a.get("contact")),
          L("联系电话"), V(a.get("contact_phone")))
    t.row(L("传真"), V(a.get("fax")), L("电子邮箱"), V(a.get("email")), L("手机"), V(a.get("mobile")))
    t.row(L("注册资本(万元)"), V(a.get("registered_capital")), L("从业人数(人)"), V(a.get("employees")),
          L("上年度营业收入(万元)"), V(a.get("revenue")))
    t.row(L("企业性质"), V(checkboxes(OWNERSHIPS, a.get("ownership")), 5))
    t.row(L("所属行业"), V(INDUSTRY_PREFIX + industry_text(a.get("industry")), 5))
    t.row(L(CHANNEL_LABEL), V(channel_text(a), 5))
    t.row(L("通讯地址"), V(a.get("address"), 3), L("邮编"), V(a.get("postcode")))

    t.section("二、技术创新需求")
    needs = items_of(a, "needs") or [{}]  # a blank 需求1 to write in by hand rather than none
    for n, need in enumerate(needs, start=1):
        content = "\n".join(paragraphs_of(need.get("content"))) or CONTENT_GUIDANCE
        t.block(f"需求{n}", [[L("名称"), V(need.get("name"), 4)],
                             [L("需求内容"), V(content, 4)]], heights_cm=[None, 4.5])

    note(doc, NOTES)
    return to_bytes(doc)
