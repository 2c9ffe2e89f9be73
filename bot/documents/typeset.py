"""The page and its text for the programme's Word forms (附件2/3/4), in python-docx; no form in it.

An A4 page with a government form's margins; 宋体 body text and 黑体 titles set through ``w:eastAsia`` (so
Word and LibreOffice both pick a Chinese face, Latin text in Times New Roman); the Chinese office sizes (小四,
五号 …); values as a clerk writes them (no "None", 2015年3月2日, ☑/☐ boxes); and the paragraphs a form is
made of: the 附件 mark, the title, 注, headings and body text. The bordered table is tables.py; the documents
as data, naming the forms' fields, are layouts.py.
"""

from __future__ import annotations

import copy
import functools
import io
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph

# -- typography -------------------------------------------------------------------------------------

SONG = "宋体"  # body
HEI = "黑体"  # titles, section rows
LATIN = "Times New Roman"

# 号 → points, as Chinese office documents name sizes
SIZE_ER = Pt(22)  # 二号
SIZE_XIAO_ER = Pt(18)  # 小二
SIZE_SAN = Pt(16)  # 三号
SIZE_SI = Pt(14)  # 四号
SIZE_XIAO_SI = Pt(12)  # 小四
SIZE_WU = Pt(10.5)  # 五号

BODY_SIZE = SIZE_XIAO_SI
TABLE_SIZE = SIZE_WU  # the tables' text: 五号 keeps phone numbers and codes on one line
TITLE_SIZE = SIZE_XIAO_ER

CHECKED = "☑"
UNCHECKED = "☐"

# A4 with the margins of a typical government form
PAGE_WIDTH = Cm(21)
PAGE_HEIGHT = Cm(29.7)
MARGIN_TOP = Cm(2.54)
MARGIN_BOTTOM = Cm(2.54)
MARGIN_SIDE = Cm(2.5)
TEXT_WIDTH_CM = 21 - 2 * 2.5  # 16 cm


# -- values -----------------------------------------------------------------------------------------


def text(value: Any) -> str:
    """What a clerk would write for a value: "" for a missing one (never "None"), else the value as given."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else ""
    return str(value).strip()


_ISO_DATE = re.compile(r"^\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?\s*$")


def cn_date(value: Any) -> str:
    """``"2015-03-02"`` → ``"2015年3月2日"``; anything unrecognised is printed as given."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    raw = text(value)
    m = _ISO_DATE.match(raw)
    if not m:
        return raw
    return f"{int(m.group(1))}年{int(m.group(2))}月{int(m.group(3))}日"


def paragraphs_of(value: Any) -> list[str]:
    """A long text's paragraphs: split on newlines, blank lines dropped, each line kept as written."""
    raw = text(value).replace("\r\n", "\n").replace("\r", "\n")
    return [line.strip() for line in raw.split("\n") if line.strip()]


def checkboxes(options: Sequence[str], chosen: Any, details: Mapping[str, str] | None = None,
               sep: str = "  ") -> str:
    """``☑民营  ☐国有 …`` — every option of the form, the chosen one(s) ticked.

    ``chosen`` is one option or a list of them; ``details`` adds text after an option
    (``"省级中小企业主管部门" → "：上海市经信委"``).
    """
    if chosen is None:
        picked: set[str] = set()
    elif isinstance(chosen, str):
        picked = {chosen}
    else:
        picked = {str(c) for c in chosen}
    parts = []
    for option in options:
        mark = CHECKED if option in picked else UNCHECKED
        parts.append(f"{mark}{option}{(details or {}).get(option, '')}")
    return sep.join(parts)


# -- fonts ------------------------------------------------------------------------------------------


def _set_rfonts(rpr, east_asia: str, latin: str = LATIN) -> None:
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for theme_attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(theme_attr), None)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:cs"), latin)
    rfonts.set(qn("w:eastAsia"), east_asia)


def set_font(run, east_asia: str = SONG, size: Pt | None = None, bold: bool | None = None) -> None:
    """A run in a Chinese face: ``w:eastAsia`` carries the 宋体/黑体, Latin text stays Times New Roman."""
    _set_rfonts(run._element.get_or_add_rPr(), east_asia)
    if size is not None:
        run.font.size = size
    if bold is not None:
        run.font.bold = bold


def add_run(paragraph: Paragraph, content: str, east_asia: str = SONG, size: Pt | None = None,
            bold: bool | None = None):
    run = paragraph.add_run(content)
    set_font(run, east_asia, size, bold)
    return run


# -- the document -----------------------------------------------------------------------------------


def new_document() -> DocxDocument:
    """An empty A4 portrait document whose default text is 宋体 小四: a copy of the one built first in this
    process (lxml copies the template's parts in C; parsing them is a third of a render), every part of it
    byte for byte the same (tests/documents/test_row_copies.py)."""
    with _BLANK_LOCK:  # renders run in threads too (documents/worker.py); the blank is only ever read
        return copy.deepcopy(_blank())


_BLANK_LOCK = threading.Lock()


@functools.cache
def _blank() -> DocxDocument:
    return build_document()


def build_document() -> DocxDocument:
    """new_document from python-docx's default template, step by step."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.left_margin = section.right_margin = MARGIN_SIDE

    # the document defaults and the Normal style both name the Chinese face (theme fonts removed, so
    # Word does not substitute the template's Latin theme font for CJK text)
    styles = doc.styles.element
    defaults_rpr = styles.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault") + "/" + qn("w:rPr"))
    if defaults_rpr is not None:
        _set_rfonts(defaults_rpr, SONG)
        lang = defaults_rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            defaults_rpr.append(lang)
        lang.set(qn("w:eastAsia"), "zh-CN")
    normal = doc.styles["Normal"]
    normal.font.size = BODY_SIZE
    _set_rfonts(normal.element.get_or_add_rPr(), SONG)
    fmt = normal.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing = 1.15
    return doc


def to_bytes(doc: DocxDocument) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def attachment_label(doc: DocxDocument, label: str) -> Paragraph:
    """The "附件3" mark at the top left, as on the official attachments."""
    p = doc.add_paragraph()
    add_run(p, label, HEI, SIZE_SAN)
    return p


def title(doc: DocxDocument, content: str, size: Pt = TITLE_SIZE) -> Paragraph:
    """The centred 黑体 title; a newline in it breaks the line (附件4 prints its title on two lines)."""
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_before = Pt(12)
    p.paragraph_format.space_after = Pt(12)
    lines = content.split("\n")
    for i, line in enumerate(lines):
        run = add_run(p, line, HEI, size)
        if i < len(lines) - 1:
            run.add_break()  # a line break inside the one title paragraph
    return p


def labelled_line(doc: DocxDocument, label: str, value: Any) -> Paragraph:
    p = doc.add_paragraph()
    p.paragraph_format.space_after = Pt(6)
    add_run(p, f"{label}{text(value)}")
    return p


def note(doc: DocxDocument, lines: Iterable[str], size: Pt = SIZE_WU) -> list[Paragraph]:
    """The form's 注 under the table, one paragraph per line."""
    out = []
    for i, line in enumerate(lines):
        p = doc.add_paragraph()
        if i == 0:
            p.paragraph_format.space_before = Pt(6)
        add_run(p, line, SONG, size)
        out.append(p)
    return out


def heading(doc: DocxDocument, content: str, level: int = 1) -> Paragraph:
    """A 一、/（一） heading of a document-style form: 黑体 for the first level, bold 宋体 below."""
    p = doc.add_paragraph()
    p.paragraph_format.space_before = Pt(12 if level == 1 else 6)
    p.paragraph_format.space_after = Pt(6)
    p.paragraph_format.keep_with_next = True
    if level == 1:
        add_run(p, content, HEI, SIZE_SI)
    else:
        add_run(p, content, SONG, BODY_SIZE, bold=True)
    return p


def body_paragraphs(doc: DocxDocument, value: Any, indent: bool = True) -> list[Paragraph]:
    """A long answer as body paragraphs (first-line indent of two characters)."""
    out = []
    for line in paragraphs_of(value):
        p = doc.add_paragraph()
        if indent:
            p.paragraph_format.first_line_indent = Pt(BODY_SIZE.pt * 2)
        p.paragraph_format.line_spacing = 1.5
        add_run(p, line)
        out.append(p)
    return out
