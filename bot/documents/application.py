"""附件4 大中小企业融通创新项目中小企业“揭榜”申请书 — a document of headings and the company's text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from bot.documents.common import (
    add_run,
    attachment_label,
    body_paragraphs,
    company_line,
    heading,
    labelled_line,
    new_document,
    note,
    text,
    title,
    to_bytes,
)

TITLE_LINES = ("大中小企业融通创新项目", "中小企业“揭榜”申请书")
TITLE = "".join(TITLE_LINES)
FOR_LARGE = "（申请书将提供给“发榜”大企业）"
NOT_AFFILIATED = "关联关系声明：本企业不是“发榜”大企业的子公司、控股公司、供应商等关联企业。"
EVIDENCE = "佐证材料"
ATTACHED = "📎"

# (heading, answer key or None for a heading with sub-sections, level)
OUTLINE: tuple[tuple[str, str | None, int], ...] = (
    ("一、中小企业基本情况简介", "basic", 1),
    ("二、中小企业技术创新能力情况", "capability", 1),
    ("三、针对揭榜需求拟采取的技术攻关方案", None, 1),
    ("（一）攻关团队情况", "plan_team", 2),
    ("（二）预期目标", "plan_goals", 2),
    ("（三）拟选择的技术路线", "plan_route", 2),
    ("（四）时间进度安排", "plan_schedule", 2),
    ("（五）潜在问题及应对举措", "plan_risks", 2),
    ("四、希望采取的合作方式", "cooperation", 1),
)

NOTE = ("（注：申请书篇幅不宜过长，原则上不超过6000字，重点讲述攻关方案；如果申报揭榜多个需求，请按此模板分别填报"
        "申请书。同时，请随附技术创新能力佐证材料，如相关专利、软著、标准、认证、奖项荣誉等。）")


def evidence_line(entry: Any) -> str:
    """One 佐证材料 entry; an attached file (``"📎 专利证书.pdf"``) prints as ``附件：专利证书.pdf``."""
    raw = text(entry)
    if raw.startswith(ATTACHED):
        return "附件：" + raw.removeprefix(ATTACHED).strip()
    return raw


def render(answers: Mapping[str, Any]) -> bytes:
    a = answers
    doc = new_document()
    attachment_label(doc, "附件4")
    title(doc, "\n".join(TITLE_LINES))

    company_line(doc, a.get("company_name"), stamp_first=True)
    labelled_line(doc, "“揭榜”事项名称：", a.get("item_name"))
    if a.get("not_affiliated"):
        labelled_line(doc, NOT_AFFILIATED, None)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_before = Pt(6)
    add_run(p, FOR_LARGE)

    for label, key, level in OUTLINE:
        heading(doc, label, level)
        if key:
            body_paragraphs(doc, a.get(key))

    evidence = [line for line in (evidence_line(e) for e in (a.get("evidence") or [])) if line]
    if evidence:
        heading(doc, EVIDENCE, 1)
        for n, line in enumerate(evidence, start=1):
            p = doc.add_paragraph()
            p.paragraph_format.left_indent = Pt(24)
            p.paragraph_format.first_line_indent = Pt(-24)
            p.paragraph_format.line_spacing = 1.5
            add_run(p, f"{n}. {line}")

    note(doc, [NOTE])
    return to_bytes(doc)
