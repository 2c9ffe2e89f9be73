"""附件4 大中小企业融通创新项目中小企业“揭榜”申请书 — a document of headings and the company's text.

The layout names the form's fields (bot/dialogs/forms/application.py): each section's heading is its field's
label. Literal text here is only what the template says that is not a field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.dialogs.fields import Form
from bot.dialogs.forms.application import FORM, S3
from bot.documents.layouts import (
    Attachment,
    Body,
    Centered,
    CompanyLine,
    Heading,
    Layout,
    Line,
    Listing,
    Notes,
    Statement,
    Title,
    render_document,
)
from bot.documents.typeset import text

TITLE_LINES = ("大中小企业融通创新项目", "中小企业“揭榜”申请书")
TITLE = "".join(TITLE_LINES)
FOR_LARGE = "（申请书将提供给“发榜”大企业）"
DECLARATION = "本企业不是“发榜”大企业的子公司、控股公司、供应商等关联企业。"
NOT_AFFILIATED = f"关联关系声明：{DECLARATION}"
ATTACHED = "📎"
NOTE = ("（注：申请书篇幅不宜过长，原则上不超过6000字，重点讲述攻关方案；如果申报揭榜多个需求，请按此模板分别填报"
        "申请书。同时，请随附技术创新能力佐证材料，如相关专利、软著、标准、认证、奖项荣誉等。）")


def evidence_line(entry: Any) -> str:
    """One 佐证材料 entry; an attached file (``"📎 专利证书.pdf"``) prints as ``附件：专利证书.pdf``."""
    raw = text(entry)
    if raw.startswith(ATTACHED):
        return "附件：" + raw.removeprefix(ATTACHED).strip()
    return raw


LAYOUT = Layout(
    blocks=(
        Attachment("附件4"),
        Title("\n".join(TITLE_LINES)),
        CompanyLine("company_name", stamp_first=True),
        Line("item_name"),
        Statement("not_affiliated", DECLARATION),
        Centered(FOR_LARGE),
        Body("basic"),
        Body("capability"),
        Heading(S3),
        Body("plan_team", 2),
        Body("plan_goals", 2),
        Body("plan_route", 2),
        Body("plan_schedule", 2),
        Body("plan_risks", 2),
        Body("cooperation"),
        Listing("evidence", evidence_line),
        Notes((NOTE,)),
    ),
)


def render(answers: Mapping[str, Any], form: Form = FORM) -> bytes:
    """The .docx of `answers` as `form` prints them (Form.render passes the form at the submission's version;
    the declared form prints its newest)."""
    return render_document(form, LAYOUT, answers)
