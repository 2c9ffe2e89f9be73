"""附件3 中小企业“揭榜”对接表 as a Word document laid out like the official table.

The layout names the form's fields (bot/dialogs/forms/sme_match.py); their labels, choices and display come
from there. Literal text here is only what the printed table says that is not a field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.dialogs.fields import Form
from bot.dialogs.forms.sme_match import BASIC, FORM, ITEMS, OVERVIEW
from bot.documents.layouts import (
    Attachment,
    CompanyLine,
    Label,
    Layout,
    Notes,
    Number,
    Repeat,
    Section,
    TableOf,
    Title,
    Value,
    render_document,
    row,
)
from bot.domain.places import registered_place

TITLE = "中小企业“揭榜”对接表"
SIZE_BEFORE = "根据《中小企业划型标准规定》(工信部联企业〔2011〕300号)，"  # + 企业规模 + 属于
INDUSTRY_PREFIX = "按照《国民经济行业分类(GB/T 4754-2017)》，行业2位数代码及名称："
NOTE = "（注：可揭榜多个事项，每个事项均需附揭榜申请书）"
PLACE = ("reg_province", "reg_city", "reg_county")

# six grid columns: label | value | label | value | label | value (16 cm, the A4 text width)
WIDTHS = (2.9, 2.8, 2.0, 3.1, 2.0, 3.2)

LAYOUT = Layout(
    blocks=(
        Attachment("附件3"),
        Title(TITLE),
        CompanyLine("company_name"),
        TableOf(WIDTHS, (
            Section(BASIC),
            row(Label("company_name"), Value("company_name", 5)),
            row(Label("credit_code"), Value("credit_code", 5)),
            row(Label("reg_province"), Value("reg_province", 3, show=registered_place, also=PLACE[1:]),
                Label("reg_date"), Value("reg_date")),
            row(Label("legal_rep"), Value("legal_rep"), Label("legal_rep_phone"), Value("legal_rep_phone"),
                Label("legal_rep_mobile"), Value("legal_rep_mobile")),
            row(Label("contact"), Value("contact"), Label("contact_phone"), Value("contact_phone"),
                Label("contact_mobile"), Value("contact_mobile")),
            row(Label("fax"), Value("fax"), Label("email"), Value("email", 3)),
            row(Label("registered_capital"), Value("registered_capital"), Label("employees"), Value("employees"),
                Label("revenue"), Value("revenue")),
            row(Label("size", 2, before=SIZE_BEFORE, after="属于"), Value("size", 4)),
            row(Label("ownership"), Value("ownership", 5)),
            row(Label("enterprise_types"), Value("enterprise_types", 5)),
            row(Label("industry"), Value("industry", 5, prefix=INDUSTRY_PREFIX)),
            row(Label("address"), Value("address", 3), Label("postcode"), Value("postcode")),
            Section(OVERVIEW),
            row(Label("overview"), Value("overview", 5), height_cm=5),
            Section(ITEMS),
            Repeat("items", (row(Number(), Label("name"), Value("name", 2), Label("code"), Value("code")),)),
        )),
        Notes((NOTE,)),
    ),
    # the size class is printed; the figures it was computed from beyond the form's own rows are not
    not_printed=("industry_sub", "total_assets"),
)


def render(answers: Mapping[str, Any], form: Form = FORM) -> bytes:
    """The .docx of `answers` as `form` prints them (Form.render passes the form at the submission's version;
    the declared form prints its newest)."""
    return render_document(form, LAYOUT, answers)
