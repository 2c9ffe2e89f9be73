"""附件2 大企业技术创新需求表 as a Word document laid out like the official table.

The layout names the form's fields (bot/dialogs/forms/large_need.py); their labels, choices and display come
from there. Literal text here is only what the printed table says that is not a field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.dialogs.fields import Form
from bot.dialogs.forms.large_need import BASIC, FORM, NEEDS
from bot.documents.layouts import (
    Attachment,
    CompanyLine,
    Label,
    Layout,
    Notes,
    Repeat,
    Section,
    TableOf,
    Title,
    Value,
    render_document,
    row,
)

TITLE = "大企业技术创新需求表"
INDUSTRY_PREFIX = "2位数代码及名称："
CONTENT_GUIDANCE = "（请详细阐明技术参数要求、需达到的目标效果、时间要求，以及拟采取的合作方式等）"
NOTES = ("注：1. 所有需求均不得涉密。", "　　2. 公开企业名称有利于吸引更多优质企业“揭榜”，是否公开尊重企业意愿。")

# six grid columns: label | value | label | value | label | value (16 cm)
WIDTHS = (2.6, 2.2, 1.9, 4.1, 1.9, 3.3)  # the phone and e-mail columns fit 021-68811103, zhao@example.com

LAYOUT = Layout(
    blocks=(
        Attachment("附件2"),
        Title(TITLE),
        CompanyLine("company_name"),
        TableOf(WIDTHS, (
            Section(BASIC),
            row(Label("company_name"), Value("company_name", 5)),
            row(Label("publish_name"), Value("publish_name", 5)),
            row(Label("credit_code"), Value("credit_code", 3), Label("reg_province"), Value("reg_province")),
            row(Label("legal_rep"), Value("legal_rep"), Label("contact"), Value("contact"),
                Label("contact_phone"), Value("contact_phone")),
            row(Label("fax"), Value("fax"), Label("email"), Value("email"), Label("mobile"), Value("mobile")),
            row(Label("registered_capital"), Value("registered_capital"), Label("employees"), Value("employees"),
                Label("revenue"), Value("revenue")),
            row(Label("ownership"), Value("ownership", 5)),
            row(Label("industry"), Value("industry", 5, prefix=INDUSTRY_PREFIX)),
            row(Label("channel"), Value("channel", 5, detail="channel_detail", sep="\n")),
            row(Label("address"), Value("address", 3), Label("postcode"), Value("postcode")),
            Section(NEEDS),
            Repeat("needs", (row(Label("name"), Value("name", 4)),
                             row(Label("content"), Value("content", 4, empty=CONTENT_GUIDANCE), height_cm=4.5)),
                   numbered=True),
        )),
        Notes(NOTES),
    ),
    not_printed=("no_secret",),  # the 注 under the table says it: 所有需求均不得涉密
)


def render(answers: Mapping[str, Any], form: Form = FORM) -> bytes:
    """The .docx of `answers` as `form` prints them (Form.render passes the form at the submission's version;
    the declared form prints its newest)."""
    return render_document(form, LAYOUT, answers)
