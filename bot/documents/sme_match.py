"""附件3 中小企业“揭榜”对接表 as a Word document laid out like the official table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.documents.common import (
    FormTable,
    L,
    V,
    answer,
    attachment_label,
    checkboxes,
    cn_date,
    company_line,
    items_of,
    new_document,
    note,
    region,
    text,
    title,
    to_bytes,
)
from bot.domain.industries import industry_name

TITLE = "中小企业“揭榜”对接表"
SIZES = ("大型", "中型", "小型", "微型")
OWNERSHIPS = ("国有", "民营", "合资", "外资")
TYPES = ("专精特新“小巨人”企业", "省级专精特新中小企业", "创新型中小企业", "其他")
SIZE_LABEL = "根据《中小企业划型标准规定》(工信部联企业〔2011〕300号)，企业规模属于"
INDUSTRY_PREFIX = "按照《国民经济行业分类(GB/T 4754-2017)》，行业2位数代码及名称："
NOTE = "（注：可揭榜多个事项，每个事项均需附揭榜申请书）"

# six grid columns: label | value | label | value | label | value (16 cm, the A4 text width)
WIDTHS = (2.9, 2.8, 2.0, 3.1, 2.0, 3.2)


def industry_text(code: Any) -> str:
    """``"65"`` → ``"65 软件和信息技术服务业"`` ("" when not given)."""
    code = text(code)
    if not code:
        return ""
    name = industry_name(code)
    return code if name == code else f"{code} {name}"


def registered_place(answers: Mapping[str, Any]) -> str:
    return "".join((region(answers.get("reg_province"), "省"), region(answers.get("reg_city"), "市"),
                    region(answers.get("reg_county"), "县")))


def render(answers: Mapping[str, Any]) -> bytes:
    a = answers
    doc = new_document()
    attachment_label(doc, "附件3")
    title(doc, TITLE)
    company_line(doc, a.get("company_name"))

    t = FormTable(doc, WIDTHS)
    t.section("一、企业基本情况")
    t.row(L("企业名称"), V(a.get("company_name"), 5))
    t.row(L("统一社会信用代码"), V(a.get("credit_code"), 5))
    t.row(L("企业注册地"), V(registered_place(a), 3), L("注册时间"), V(cn_date(a.get("reg_date"))))
    t.row(L("法人代表"), V(a.get("legal_rep")), L("联系电话"), V(a.get("legal_rep_phone")),
          L("手机"), V(a.get("legal_rep_mobile")))
    t.row(L("联系人及职务"), V(a.get("contact")), L("联系电话"), V(a.get("contact_phone")),
          L("手机"), V(a.get("contact_mobile")))
    t.row(L("传真"), V(a.get("fax")), L("电子邮箱"), V(a.get("email"), 3))
    t.row(L("注册资本(万元)"), V(a.get("registered_capital")), L("从业人数(人)"), V(a.get("employees")),
          L("上年度营业收入(万元)"), V(a.get("revenue")))
    t.row(L(SIZE_LABEL, 2), V(checkboxes(SIZES, a.get("size")), 4))
    t.row(L("企业性质"), V(checkboxes(OWNERSHIPS, a.get("ownership")), 5))
    t.row(L("企业类型(可多选)"), V(checkboxes(TYPES, a.get("enterprise_types")), 5))
    t.row(L("所属行业"), V(INDUSTRY_PREFIX + industry_text(a.get("industry")), 5))
    t.row(L("通讯地址"), V(a.get("address"), 3), L("邮编"), V(a.get("postcode")))

    t.section("二、企业概况")
    t.row(L("企业概况"), V(answer(a, "overview"), 5), height_cm=5)

    t.section("三、拟揭榜事项")
    items = items_of(a, "items") or [{}]  # an empty row to write in by hand rather than no row at all
    for n, item in enumerate(items, start=1):
        t.row(L(f"事项{n}"), L("事项名称"), V(item.get("name"), 2), L("代码"), V(item.get("code")))

    note(doc, [NOTE])
    return to_bytes(doc)
