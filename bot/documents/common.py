"""Shared building blocks for the programme's Word forms (附件2/3/4).

The documents are generated in code with python-docx (no binary templates): an A4 page, 宋体 body text
and 黑体 titles set through ``w:eastAsia`` (so Word and LibreOffice both pick a Chinese face), and a
bordered table builder whose rows are written as label cells and value cells, like the official tables.

A document is a ``Layout``: plain data naming the form's field keys and spans (see sme_match.py). The one
renderer here, ``render_document(form, layout, answers)``, takes each field's printed label, its choices and
its display from the form, so the layouts never retype them.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from docx.shared import Cm, Pt, Twips
from docx.table import Table, _Cell, _Row
from docx.text.paragraph import Paragraph

from bot.dialogs import validators as v
from bot.dialogs.fields import Field, Form, Group

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


def items_of(answers: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """A repeated group's entries in order (a missing group is an empty list)."""
    value = answers.get(key) or []
    return [entry for entry in value if isinstance(entry, Mapping)]


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

CELL_PADDING_CM = 0.19 * 2  # Word's default left + right cell margins (108 twips each)
NOWRAP_SIZES = (TABLE_SIZE, Pt(9), Pt(7.5), Pt(6.5), Pt(5.5))  # 五号 小五 六号 小六 七号: shrunk until it fits
CHUNK_LINES = 20  # a long value is cut into rows of about this many lines (a third of a page and more)


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a form row as printed: its text, how many grid columns it spans, whether it is a label.

    ``nowrap``: the text stays on one line (phone numbers, e-mail addresses): printed smaller when the
    cell is too narrow for it at the table's size.
    """

    text: str = ""
    span: int = 1
    label: bool = False
    center: bool | None = None  # default: labels centred, values left
    nowrap: bool = False


def _char_em(ch: str) -> float:
    """A generous width of one character in em (Times New Roman / 宋体), to tell whether a line fits."""
    if ord(ch) >= 0x2E80 or ch in "☑☐":
        return 1.0
    if ch in "@mwMW%":
        return 0.95
    if ch.isupper():
        return 0.72
    if ch in "-.,:;'|!()[]/ ":
        return 0.34
    return 0.56  # digits (0.5 in Times) and lower case, with room for a wider Latin face


def text_width_cm(content: str, size: Pt) -> float:
    return sum(_char_em(ch) for ch in content) * size.pt * 2.54 / 72


def fitting_size(content: str, width_cm: float) -> Pt:
    """The largest of NOWRAP_SIZES at which `content` fits on one line of a cell `width_cm` wide."""
    room = width_cm - CELL_PADDING_CM
    for size in NOWRAP_SIZES:
        if text_width_cm(content, size) <= room:
            return size
    return NOWRAP_SIZES[-1]


def chunks(content: str, width_cm: float, lines: int = CHUNK_LINES, size: Pt = TABLE_SIZE) -> list[str]:
    """A long cell text cut, between paragraphs (or sentences of one long paragraph), into pieces of about
    `lines` lines each, so that no piece is taller than a page. Short text comes back whole."""
    per_line = max(8, int((width_cm - CELL_PADDING_CM) / (size.pt * 2.54 / 72)))
    pieces = []
    for para in paragraphs_of(content):
        while len(para) > per_line * lines:  # one paragraph longer than a piece: cut at a sentence end
            cut = max((para.rfind(mark, 0, per_line * lines) for mark in "。！？；;"), default=-1)
            cut = cut + 1 if cut > per_line * lines // 2 else per_line * lines
            pieces.append(para[:cut])
            para = para[cut:]
        pieces.append(para)
    out: list[list[str]] = [[]]
    used = 0
    for para in pieces:
        need = -(-len(para) // per_line)
        if out[-1] and used + need > lines:
            out.append([])
            used = 0
        out[-1].append(para)
        used += need
    return ["\n".join(group) for group in out] or [content]


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
               bold: bool | None = None, size: Pt | None = TABLE_SIZE, top: bool = False,
               keep_with_next: bool = False) -> None:
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
        if keep_with_next:
            p.paragraph_format.keep_with_next = True
        if line:
            add_run(p, line, east_asia, size, bold)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP if top else WD_CELL_VERTICAL_ALIGNMENT.CENTER


class FormTable:
    """A bordered table on a fixed grid of columns, filled row by row with label and value cells.

    Rows never break across pages (a long value is given several rows by the layout renderer, each
    repeating its label), so a label always stands beside its text.
    """

    def __init__(self, doc: DocxDocument, widths_cm: Sequence[float], min_row_height_cm: float = 0.9):
        self.doc = doc
        self.widths_cm = tuple(widths_cm)
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

    def span_width_cm(self, first: int, span: int) -> float:
        return sum(self.widths_cm[first:first + span])

    def _new_row(self, spans: Sequence[int], height_cm: float | None = None) -> list[_Cell]:
        """A row of cells spanning `spans` grid columns each: one <w:tc> a cell with its width and gridSpan,
        as python-docx's merge() leaves a merged one (built directly: merge() was a third of a render)."""
        tr = self.table._tbl.add_tr()
        row = _Row(tr, self.table)
        row.height = Cm(height_cm) if height_cm else self.min_row_height
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        # rows stay whole on a page; this also keeps LibreOffice from dropping the borders of a
        # vertically merged label (需求 n) when its rows would otherwise break across pages
        tr.get_or_add_trPr().insert(0, OxmlElement("w:cantSplit"))
        cells, col = [], 0
        for span in spans:
            tc = tr.add_tc()
            tc.width = Twips(sum(w.twips for w in self.widths[col:col + span]))  # as merge() adds them
            if span > 1:
                tc.grid_span = span
            cells.append(_Cell(tc, self.table))
            col += span
        return cells

    def row(self, *cells: Cell, height_cm: float | None = None, keep_with_next: bool = False) -> list[_Cell]:
        """Add a row; the cells' spans must add up to the grid. Returns the (merged) cells in order.

        A row given a height is a writing area: its value cells start at the top, like a blank to fill in.
        ``keep_with_next`` keeps the row on the page of the next one (需求 n's 名称 with its 需求内容).
        """
        total = sum(c.span for c in cells)
        if total != self.ncols:
            raise ValueError(f"row spans {total} columns, the table has {self.ncols}")
        out = []
        col = 0
        for spec, cell in zip(cells, self._new_row([c.span for c in cells], height_cm), strict=True):
            center = spec.label if spec.center is None else spec.center
            size = fitting_size(spec.text, self.span_width_cm(col, spec.span)) if spec.nowrap else TABLE_SIZE
            write_cell(cell, spec.text, center=center, top=bool(height_cm) and not spec.label, size=size,
                       keep_with_next=keep_with_next)
            out.append(cell)
            col += spec.span
        return out

    def section(self, content: str) -> _Cell:
        """A full-width section row (一、企业基本情况), 黑体 on the left."""
        (cell,) = self._new_row([self.ncols])
        write_cell(cell, content, east_asia=HEI, size=BODY_SIZE, keep_with_next=True)  # never last on a page
        return cell

    def merge_first_column(self, rows: Sequence[Sequence[_Cell]], label: str) -> _Cell:
        """One label in the first column over `rows` (需求 1 over its 名称 and 需求内容 rows)."""
        first = rows[0][0]
        merged = first.merge(rows[-1][0]) if len(rows) > 1 else first
        write_cell(merged, label, center=True)
        return merged


# -- layouts: a document as data ---------------------------------------------------------------------
#
# A layout names the form's fields by key; the label, the choices and the display of each come from the
# form's Field (Django's BoundField habit), so a label or choice changed in the form is printed without
# touching the layout. Literal text is only for words that are not a field: titles, headings, notes.


@dataclass(frozen=True, slots=True)
class Label:
    """The printed label of field `key` (``Field.printed_label``), with the form's own words around it."""

    key: str
    span: int = 1
    before: str = ""
    after: str = ""


@dataclass(frozen=True, slots=True)
class Value:
    """What was answered for field `key`, as the form prints it.

    A choice field prints every option of the Field, the chosen ones ticked (☑国有 ☐民营 …). `detail` names a
    field whose answer follows the ticked option after a colon (推荐渠道 → 具体单位). `prefix` is the form's
    printed words before the answer; `empty` is printed when there is none. `show` makes the text from all
    the answers, for a value made of several fields, which `also` names (企业注册地).
    """

    key: str
    span: int = 1
    prefix: str = ""
    empty: str = ""
    detail: str = ""
    sep: str = "  "
    show: Callable[[Mapping[str, Any]], str] | None = None
    also: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Text:
    """Literal words in a label cell (not a field)."""

    text: str
    span: int = 1


@dataclass(frozen=True, slots=True)
class Number:
    """The label of a repeated group's item: the Group's label and the item's number (事项1, 需求2)."""

    span: int = 1


CellSpec = Label | Value | Text | Number


@dataclass(frozen=True, slots=True)
class Row:
    cells: tuple[CellSpec, ...]
    height_cm: float | None = None  # a writing area at least this tall


def row(*cells: CellSpec, height_cm: float | None = None) -> Row:
    return Row(tuple(cells), height_cm)


@dataclass(frozen=True, slots=True)
class Section:
    """A full-width section row of a table (一、企业基本情况)."""

    text: str


@dataclass(frozen=True, slots=True)
class Repeat:
    """Rows printed once per item of group `key` (a blank item when there is none, to fill in by hand).

    ``numbered``: the first column is the item's Number (需求1) over all its rows; otherwise the rows place a
    Number cell themselves.
    """

    key: str
    rows: tuple[Row, ...]
    numbered: bool = False


@dataclass(frozen=True, slots=True)
class TableOf:
    widths_cm: tuple[float, ...]
    rows: tuple[Row | Section | Repeat, ...]


@dataclass(frozen=True, slots=True)
class Attachment:
    text: str  # 附件3


@dataclass(frozen=True, slots=True)
class Title:
    text: str  # a newline breaks the line


@dataclass(frozen=True, slots=True)
class CompanyLine:
    """``企业名称：xxx（盖章）`` above a table, or ``企业名称（盖章）：xxx`` (`stamp_first`, as 附件4 writes it)."""

    key: str
    stamp_first: bool = False


@dataclass(frozen=True, slots=True)
class Line:
    """A paragraph ``label：answer``."""

    key: str


@dataclass(frozen=True, slots=True)
class Statement:
    """``label：text`` printed only when field `key` was answered (关联关系声明：本企业不是…)."""

    key: str
    text: str


@dataclass(frozen=True, slots=True)
class Centered:
    text: str


@dataclass(frozen=True, slots=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True, slots=True)
class Body:
    """The field's label as a heading, then its long answer as body paragraphs."""

    key: str
    level: int = 1


@dataclass(frozen=True, slots=True)
class Listing:
    """The field's label as a heading, then its list answer numbered (佐证材料); nothing when empty."""

    key: str
    show: Callable[[Any], str] = text


@dataclass(frozen=True, slots=True)
class Notes:
    lines: tuple[str, ...]


Block = Attachment | Title | CompanyLine | Line | Statement | Centered | Heading | Body | Listing | Notes | TableOf


@dataclass(frozen=True, slots=True)
class Layout:
    """A document: blocks from top to bottom. `not_printed` names the form's fields left out on purpose."""

    blocks: tuple[Block, ...]
    not_printed: tuple[str, ...] = ()

    def keys(self) -> list[str]:
        """Every field key the layout prints, groups' fields as ``group.field`` (Form.field_keys' way)."""
        out: list[str] = []

        def cells(cells: Sequence[CellSpec], prefix: str) -> None:
            for c in cells:
                if isinstance(c, Label | Value):
                    out.append(prefix + c.key)
                if isinstance(c, Value):
                    out.extend(prefix + k for k in (c.detail, *c.also) if k)

        for block in self.blocks:
            if isinstance(block, TableOf):
                for r in block.rows:
                    if isinstance(r, Row):
                        cells(r.cells, "")
                    elif isinstance(r, Repeat):
                        for rr in r.rows:
                            cells(rr.cells, f"{r.key}.")
            elif isinstance(block, CompanyLine | Line | Statement | Body | Listing):
                out.append(block.key)
        return out

    def groups(self) -> list[str]:
        return [r.key for b in self.blocks if isinstance(b, TableOf) for r in b.rows if isinstance(r, Repeat)]

    def sections(self) -> list[str]:
        return [r.text for b in self.blocks if isinstance(b, TableOf) for r in b.rows if isinstance(r, Section)]

    def unplaced(self, form: Form) -> list[Field]:
        """The form's fields (not of a group) that no row names and that are not left out on purpose: next
        year's new field is printed without a change here, in a row of its own at the end of its section;
        give it a place in the layout to print it elsewhere."""
        named, sections = set(self.keys()) | set(self.not_printed), set(self.sections())
        return [f for f in form.items if isinstance(f, Field) and f.key not in named and f.section in sections]


class Bound:
    """A Field with its answer: the printed label, the choices and the display, all from the form."""

    def __init__(self, field: Field, answers: Mapping[str, Any]):
        self.field = field
        self.answers = answers
        self.value = answers.get(field.key)

    @property
    def label(self) -> str:
        return self.field.printed_label

    @property
    def nowrap(self) -> bool:
        return self.field.validate in _NOWRAP

    @property
    def options(self) -> list[str]:
        return [c.value for c in self.field.choices_for(self.answers)]

    def display(self) -> str:
        value = self.value
        if value is None or value == "" or value == []:
            return ""
        if self.field.show is not None:
            return text(self.field.show(value))
        shown = _SHOW_BY_VALIDATOR.get(self.field.validate)
        if shown is not None:
            return shown(value)
        if isinstance(value, list | tuple):
            return "、".join(text(v) for v in value if text(v))
        return text(value)

    def boxes(self, sep: str = "  ", detail: str | None = None) -> str:
        """Every option, the chosen ones ticked; a chosen value the form no longer offers is ticked too.

        ``detail`` (推荐渠道's 具体单位): every option gets a colon to write after, the chosen one this text.
        """
        options = self.options
        chosen = self.value if isinstance(self.value, list | tuple) else [self.value]
        options += [str(c) for c in chosen if c not in (None, "") and str(c) not in options]
        details = None
        if detail is not None:
            details = {o: "：" for o in options}
            details.update({str(c): "：" + detail for c in chosen if str(c) in details})
        return checkboxes(options, self.value, details, sep=sep)


# what kind of value a field holds, told by its check: printed as a date, kept on one line
_SHOW_BY_VALIDATOR: dict[Any, Callable[[Any], str]] = {v.past_date: cn_date}
_NOWRAP = (v.phone, v.mobile, v.email, v.credit_code, v.postcode)


def _fields_of(form: Form) -> tuple[dict[str, Field], dict[str, Group]]:
    fields: dict[str, Field] = {}
    groups: dict[str, Group] = {}
    for item in form.items:
        if isinstance(item, Group):
            groups[item.key] = item
        else:
            fields[item.key] = item
    return fields, groups


class _Renderer:
    def __init__(self, form: Form, answers: Mapping[str, Any]):
        self.form = form
        self.answers = answers
        self.fields, self.groups = _fields_of(form)
        self.doc = new_document()
        self.unplaced_fields: list[Field] = []

    def bound(self, key: str, fields: Mapping[str, Field] | None = None,
              answers: Mapping[str, Any] | None = None) -> Bound:
        fields = self.fields if fields is None else fields
        if key not in fields:
            raise KeyError(f"the layout names {key!r}, which form {self.form.id!r} does not have")
        return Bound(fields[key], self.answers if answers is None else answers)

    # -- blocks --

    def render(self, layout: Layout) -> bytes:
        self.unplaced_fields = layout.unplaced(self.form)
        doc = self.doc
        for block in layout.blocks:
            if isinstance(block, Attachment):
                attachment_label(doc, block.text)
            elif isinstance(block, Title):
                title(doc, block.text)
            elif isinstance(block, CompanyLine):
                b = self.bound(block.key)
                p = doc.add_paragraph()
                p.paragraph_format.space_after = Pt(6)
                add_run(p, f"{b.label}（盖章）：{b.display()}" if block.stamp_first else f"{b.label}：{b.display()}（盖章）")
            elif isinstance(block, Line):
                b = self.bound(block.key)
                labelled_line(doc, f"{b.label}：", b.display())
            elif isinstance(block, Statement):
                b = self.bound(block.key)
                if b.display():
                    labelled_line(doc, f"{b.label}：{block.text}", None)
            elif isinstance(block, Centered):
                p = doc.add_paragraph()
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
                p.paragraph_format.space_before = Pt(6)
                add_run(p, block.text)
            elif isinstance(block, Heading):
                heading(doc, block.text, block.level)
            elif isinstance(block, Body):
                b = self.bound(block.key)
                heading(doc, b.label, block.level)
                body_paragraphs(doc, b.value)
            elif isinstance(block, Listing):
                self.listing(block)
            elif isinstance(block, Notes):
                note(doc, block.lines)
            elif isinstance(block, TableOf):
                self.table(block)
            else:  # pragma: no cover - a new block kind without its rendering
                raise TypeError(f"unknown layout block {block!r}")
        return to_bytes(doc)

    def listing(self, block: Listing) -> None:
        b = self.bound(block.key)
        values = b.value if isinstance(b.value, list | tuple) else [b.value] if b.value else []
        entries = [line for line in (block.show(v) for v in values) if line]
        if not entries:
            return
        heading(self.doc, b.label, 1)
        for n, line in enumerate(entries, start=1):
            p = self.doc.add_paragraph()
            p.paragraph_format.left_indent = Pt(24)
            p.paragraph_format.first_line_indent = Pt(-24)
            p.paragraph_format.line_spacing = 1.5
            add_run(p, f"{n}. {line}")

    # -- tables --

    def table(self, block: TableOf) -> None:
        t = FormTable(self.doc, block.widths_cm)
        section = None
        for r in block.rows:
            if isinstance(r, Section):
                self.unplaced(t, block, section)
                section = r.text
                t.section(r.text)
            elif isinstance(r, Row):
                self.rows(t, self.cells(r, self.fields, self.answers), r.height_cm)
            else:
                self.repeat(t, r)
        self.unplaced(t, block, section)

    def unplaced(self, t: FormTable, block: TableOf, section: str | None) -> None:
        """The fields of `section` the layout does not place (see Layout.unplaced): a row each."""
        if section is None:
            return
        for f in self.unplaced_fields:
            if f.section == section and f.in_version(self.form.version):
                cells = (Label(f.key), Value(f.key, len(block.widths_cm) - 1))
                self.rows(t, self.cells(Row(cells), self.fields, self.answers))

    def cells(self, r: Row, fields: Mapping[str, Field], answers: Mapping[str, Any],
              number: str = "") -> list[Cell]:
        out = []
        for spec in r.cells:
            if isinstance(spec, Text):
                out.append(Cell(spec.text, spec.span, label=True))
            elif isinstance(spec, Number):
                out.append(Cell(number, spec.span, label=True))
            elif isinstance(spec, Label):
                b = self.bound(spec.key, fields, answers)
                out.append(Cell(f"{spec.before}{b.label}{spec.after}", spec.span, label=True))
            else:
                out.append(self.value_cell(spec, fields, answers))
        return out

    def value_cell(self, spec: Value, fields: Mapping[str, Field], answers: Mapping[str, Any]) -> Cell:
        b = self.bound(spec.key, fields, answers)
        if spec.show is not None:
            shown = spec.show(answers)
        elif b.options:
            detail = None
            if spec.detail:
                detail = " ".join(paragraphs_of(self.bound(spec.detail, fields, answers).display()))
            shown = b.boxes(spec.sep, detail)
        else:
            shown = b.display()
        content = spec.prefix + shown if shown or spec.prefix else ""
        return Cell(content or spec.empty, spec.span, nowrap=b.nowrap)

    def rows(self, t: FormTable, cells: list[Cell], height_cm: float | None = None,
             keep_with_next: bool = False) -> list[list[_Cell]]:
        """One declared row. A value too long to stay on one page continues in further rows that repeat
        the row's labels, the one beside it marked （续）. Returns the table rows written."""
        col, pieces, at = 0, [""], -1
        for i, c in enumerate(cells):
            if not c.label:
                cut = chunks(c.text, t.span_width_cm(col, c.span))
                if len(cut) > len(pieces):
                    pieces, at = cut, i
            col += c.span
        if at < 0:
            return [t.row(*cells, height_cm=height_cm, keep_with_next=keep_with_next)]
        written = []
        for n, piece in enumerate(pieces):
            row_cells = []
            for i, c in enumerate(cells):
                if i == at:
                    c = dataclasses.replace(c, text=piece)
                elif n and i == at - 1 and c.label:
                    c = dataclasses.replace(c, text=c.text + CONTINUED)
                elif n and not c.label:
                    c = dataclasses.replace(c, text="")
                row_cells.append(c)
            last = n == len(pieces) - 1
            written.append(t.row(*row_cells, height_cm=None if n else height_cm,
                                 keep_with_next=keep_with_next and last))
        return written

    def repeat(self, t: FormTable, r: Repeat) -> None:
        group = self.groups.get(r.key)
        if group is None:
            raise KeyError(f"the layout repeats {r.key!r}, which form {self.form.id!r} does not have as a group")
        fields = {f.key: f for f in group.fields}
        items = items_of(self.answers, r.key) or [{}]  # a blank item to write in by hand rather than none
        for n, item in enumerate(items, start=1):
            number = f"{group.label}{n}"
            if not r.numbered:
                for declared in r.rows:
                    self.rows(t, self.cells(declared, fields, item, number), declared.height_cm)
                continue
            written: list[list[_Cell]] = []
            whole = 0  # the item's rows before one continues: the number's merged cell covers these
            for i, declared in enumerate(r.rows):
                cells = [Cell(number, 1, label=True), *self.cells(declared, fields, item, number)]
                if len(written) == whole:
                    whole += 1
                written.extend(self.rows(t, cells, declared.height_cm, keep_with_next=i < len(r.rows) - 1))
            t.merge_first_column(written[:whole], number)


CONTINUED = "（续）"


def render_document(form: Form, layout: Layout, answers: Mapping[str, Any]) -> bytes:
    """The .docx of `layout` for `answers`, with labels, choices and display taken from `form`'s fields."""
    return _Renderer(form, answers).render(layout)
