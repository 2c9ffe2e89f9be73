"""Shared building blocks for the programme's Word forms (附件2/3/4).

The documents are generated in code with python-docx (no binary templates): an A4 page, 宋体 body text
and 黑体 titles set through ``w:eastAsia`` (so Word and LibreOffice both pick a Chinese face), and a
bordered table builder whose rows are written as label cells and value cells, like the official tables.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table, _Cell
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
SPLIT_ROW_CHARS = 300  # a row holding more text than this may break across pages

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


def answer(answers: Mapping[str, Any], key: str) -> str:
    return text(answers.get(key))


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


def items_of(answers: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """A repeated group's entries in order (a missing group is an empty list)."""
    value = answers.get(key) or []
    return [entry for entry in value if isinstance(entry, Mapping)]


_ADMIN_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "省", "市", "区", "县", "盟", "旗")  # not 州: 苏州, 广州 are names


def region(value: Any, unit: str) -> str:
    """A 注册地 blank: the value with the form's unit word unless the name already ends with one.

    ``region("江苏", "省")`` → "江苏省", ``region("上海市", "省")`` → "上海市", ``region(None, "县")`` → "".
    """
    name = text(value)
    if not name:
        return ""
    return name if name.endswith(_ADMIN_SUFFIXES) else name + unit


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
    """An empty A4 portrait document whose default text is 宋体 小四."""
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


def company_line(doc: DocxDocument, company_name: Any, stamp_first: bool = False) -> Paragraph:
    """``企业名称：xxx（盖章）`` above a table, or ``企业名称（盖章）：xxx`` as 附件4 writes it."""
    p = doc.add_paragraph()
    p.paragraph_format.space_after = Pt(6)
    if stamp_first:
        add_run(p, f"企业名称（盖章）：{text(company_name)}")
    else:
        add_run(p, f"企业名称：{text(company_name)}（盖章）")
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


# -- tables -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a form row: its text, how many grid columns it spans, and whether it is a label."""

    text: str = ""
    span: int = 1
    label: bool = False
    center: bool | None = None  # default: labels centred, values left


def L(content: str, span: int = 1) -> Cell:  # noqa: N802 - reads like the form: L("企业名称"), V(name, 5)
    """A label cell (the form's printed words)."""
    return Cell(content, span, label=True)


def V(value: Any, span: int = 1, center: bool | None = None) -> Cell:  # noqa: N802
    """A value cell (what the company fills in); None prints as a blank cell."""
    return Cell(text(value), span, label=False, center=center)


def _set_cell_borders(table: Table, size: int = 6) -> None:
    tbl_pr = table._tbl.tblPr
    borders = tbl_pr.find(qn("w:tblBorders"))
    if borders is None:
        borders = OxmlElement("w:tblBorders")
        tbl_pr.append(borders)
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = borders.find(qn(f"w:{edge}"))
        if el is None:
            el = OxmlElement(f"w:{edge}")
            borders.append(el)
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), str(size))
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")


def write_cell(cell: _Cell, content: str, *, center: bool = False, east_asia: str = SONG,
               bold: bool | None = None, size: Pt | None = TABLE_SIZE, top: bool = False) -> None:
    """Replace a cell's text; newlines become paragraphs of the cell."""
    lines = paragraphs_of(content) if "\n" in content or "\r" in content else [content]
    if not lines:
        lines = [""]
    first = cell.paragraphs[0]
    for p in cell.paragraphs[1:]:
        p._element.getparent().remove(p._element)
    for run in list(first.runs):
        run._element.getparent().remove(run._element)
    for i, line in enumerate(lines):
        p = first if i == 0 else cell.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER if center else WD_ALIGN_PARAGRAPH.LEFT
        if line:
            add_run(p, line, east_asia, size, bold)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP if top else WD_CELL_VERTICAL_ALIGNMENT.CENTER


class FormTable:
    """A bordered table on a fixed grid of columns, filled row by row with label and value cells.

    >>> t = FormTable(doc, [3.2, 3.0, 2.4, 2.8, 2.2, 2.4])
    >>> t.section("一、企业基本情况")
    >>> t.row(L("企业名称"), V(name, 5))
    """

    def __init__(self, doc: DocxDocument, widths_cm: Sequence[float], min_row_height_cm: float = 0.9):
        self.doc = doc
        self.widths = [Cm(w) for w in widths_cm]
        self.min_row_height = Cm(min_row_height_cm)
        self.table = doc.add_table(rows=0, cols=len(widths_cm))
        self.table.style = doc.styles["Table Grid"]
        self.table.alignment = WD_TABLE_ALIGNMENT.CENTER
        self.table.autofit = False
        _set_cell_borders(self.table)
        for col, width in zip(self.table.columns, self.widths, strict=True):
            col.width = width

    @property
    def ncols(self) -> int:
        return len(self.widths)

    def _new_row(self, height_cm: float | None = None, can_split: bool = False):
        row = self.table.add_row()
        row.height = Cm(height_cm) if height_cm else self.min_row_height
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        if not can_split:
            # rows stay whole on a page; this also keeps LibreOffice from dropping the borders of a
            # vertically merged label (需求 n) when its rows would otherwise break across pages
            row._tr.get_or_add_trPr().insert(0, OxmlElement("w:cantSplit"))
        for cell, width in zip(row.cells, self.widths, strict=True):
            cell.width = width
        return row

    def row(self, *cells: Cell, height_cm: float | None = None) -> list[_Cell]:
        """Add a row; the cells' spans must add up to the grid. Returns the (merged) cells in order.

        A row given a height is a writing area: its value cells start at the top, like a blank to fill in.
        """
        total = sum(c.span for c in cells)
        if total != self.ncols:
            raise ValueError(f"row spans {total} columns, the table has {self.ncols}")
        row = self._new_row(height_cm, can_split=sum(len(c.text) for c in cells) > SPLIT_ROW_CHARS)
        out = []
        col = 0
        for spec in cells:
            cell = row.cells[col]
            if spec.span > 1:
                cell = cell.merge(row.cells[col + spec.span - 1])
            center = spec.label if spec.center is None else spec.center
            write_cell(cell, spec.text, center=center, top=bool(height_cm) and not spec.label)
            out.append(cell)
            col += spec.span
        return out

    def section(self, content: str) -> _Cell:
        """A full-width section row (一、企业基本情况), 黑体 on the left."""
        row = self._new_row()
        cell = row.cells[0].merge(row.cells[-1])
        write_cell(cell, content, east_asia=HEI, size=BODY_SIZE)
        cell.paragraphs[0].paragraph_format.keep_with_next = True  # never the last row on a page
        return cell

    def block(self, label: str, rows: Sequence[Sequence[Cell]],
              heights_cm: Sequence[float | None] | None = None) -> list[list[_Cell]]:
        """A label in the first column spanning several rows (需求 1 over its 名称 and 需求内容 rows)."""
        out = []
        for i, cells in enumerate(rows):
            height = heights_cm[i] if heights_cm else None
            out.append(self.row(Cell("", 1), *cells, height_cm=height))
        first = out[0][0]
        merged = first.merge(out[-1][0]) if len(out) > 1 else first
        write_cell(merged, label, center=True)
        for row_cells in out:
            row_cells[0] = merged
        return out
