"""The bordered table of the programme's Word forms, in python-docx; no form in it.

``FormTable`` lays a table on a fixed grid of columns (widths in cm, as measured on the official tables) and
fills it row by row with ``Cell``s: label cells centred, value cells left, a cell spanning grid columns,
full-width section rows, a first column merged over a repeated item's rows. Text that must stay on one line
(a phone number) is printed smaller when its cell is too narrow for it; a value too long for a page is cut
into several rows that repeat its label (``rows``), since rows never break across pages. The fonts and
sizes come from typeset.py.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from docx.document import Document as DocxDocument
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Cm, Pt, Twips
from docx.table import Table, _Cell, _Row

from bot.documents.typeset import BODY_SIZE, HEI, SONG, TABLE_SIZE, add_run, paragraphs_of

CELL_PADDING_CM = 0.19 * 2  # Word's default left + right cell margins (108 twips each)
NOWRAP_SIZES = (TABLE_SIZE, Pt(9), Pt(7.5), Pt(6.5), Pt(5.5))  # 五号 小五 六号 小六 七号: shrunk until it fits
CHUNK_LINES = 20  # a long value is cut into rows of about this many lines (a third of a page and more)
CONTINUED = "（续）"  # after the label beside a long value's further rows
# Rows already built, by everything their XML depends on but their text (below, RowShapes): a row of a
# shape seen before is a copy of that one with its text put in, which lxml does in C, instead of python-docx
# inserting each element in its place (three quarters of a render). Byte for byte the same document.xml
# (tests/documents/test_printed_again_is_identical.py, test_row_copies.py). Per process, bounded.
ROW_SHAPES = 2048
TABLE_GRID = "TableGrid"


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


def lines_of(content: str) -> list[str]:
    """A cell's text as its paragraphs, as write_cell prints them (one, empty, for no text)."""
    return (paragraphs_of(content) if "\n" in content or "\r" in content else [content]) or [""]


def write_cell(cell: _Cell, content: str, *, center: bool = False, east_asia: str = SONG,
               bold: bool | None = None, size: Pt | None = TABLE_SIZE, top: bool = False,
               keep_with_next: bool = False) -> None:
    """Replace a cell's text; newlines become paragraphs of the cell."""
    lines = lines_of(content)
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


_ROWS: OrderedDict[Hashable, BaseOxmlElement] = OrderedDict()  # never changed once kept: copied, not written
_ROWS_LOCK = threading.Lock()  # renders run in threads too (documents/worker.py)
_T, _TC = qn("w:t"), qn("w:tc")


class FormTable:
    """A bordered table on a fixed grid of columns, filled row by row with label and value cells.

    Rows never break across pages (a long value is given several rows by `rows`, each repeating its
    label), so a label always stands beside its text.
    """

    def __init__(self, doc: DocxDocument, widths_cm: Sequence[float], min_row_height_cm: float = 0.9):
        self.doc = doc
        self.widths_cm = tuple(widths_cm)
        self.widths = [Cm(w) for w in widths_cm]
        self.min_row_height = Cm(min_row_height_cm)
        self.table = doc.add_table(rows=0, cols=len(widths_cm))
        # python-docx's own default template's "Table Grid", by its id: finding it by name walks every style
        # in Python, an eighth of a render (benchmarks/bench_render.py); test_table_grid_is_that_style
        self.table._tbl.tblPr.style = TABLE_GRID
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
        looks, col = [], 0
        for spec in cells:
            center = spec.label if spec.center is None else spec.center
            size = fitting_size(spec.text, self.span_width_cm(col, spec.span)) if spec.nowrap else TABLE_SIZE
            looks.append((spec.span, center, bool(height_cm) and not spec.label, size))
            col += spec.span

        def build() -> list[_Cell]:
            new = self._new_row([c.span for c in cells], height_cm)
            for (_span, center, top, size), spec, cell in zip(looks, cells, new, strict=True):
                write_cell(cell, spec.text, center=center, top=top, size=size, keep_with_next=keep_with_next)
            return new

        return self._shaped(("row", height_cm, keep_with_next, tuple(looks)), [c.text for c in cells], build)

    def section(self, content: str) -> _Cell:
        """A full-width section row (一、企业基本情况), 黑体 on the left."""
        def build() -> list[_Cell]:
            (cell,) = self._new_row([self.ncols])
            write_cell(cell, content, east_asia=HEI, size=BODY_SIZE, keep_with_next=True)  # never last on a page
            return [cell]

        return self._shaped(("section",), [content], build)[0]

    def _shaped(self, look: Hashable, texts: Sequence[str], build: Callable[[], list[_Cell]]) -> list[_Cell]:
        """A new row of cells holding `texts`: built (`build`) the first time a row looks like this, after
        that a copy of that one with these texts put in (ROW_SHAPES)."""
        lines = [lines_of(t) for t in texts]
        if any(ch in line for cell in lines for line in cell for ch in "\t\r\n"):
            return build()  # a tab is an element of its own in a run: no shape of ours
        # what python-docx writes differently by the text: a run or none, xml:space="preserve" or not
        shape = tuple(tuple((bool(line), len(line.strip()) < len(line)) for line in cell) for cell in lines)
        key = (self.widths_cm, self.min_row_height, look, shape)
        with _ROWS_LOCK:
            proto = _ROWS.get(key)
            if proto is not None:
                _ROWS.move_to_end(key)
        if proto is None:
            cells = build()
            kept = copy.deepcopy(cells[0]._tc.getparent())
            with _ROWS_LOCK:
                _ROWS[key] = kept
                while len(_ROWS) > ROW_SHAPES:
                    _ROWS.popitem(last=False)
            return cells
        tr = copy.deepcopy(proto)
        for t, line in zip(tr.iter(_T), (line for cell in lines for line in cell if line), strict=True):
            t.text = line
        self.table._tbl.append(tr)  # a table's rows are its last children
        return [_Cell(tc, self.table) for tc in tr.iterchildren(_TC)]

    def merge_first_column(self, rows: Sequence[Sequence[_Cell]], label: str) -> _Cell:
        """One label in the first column over `rows` (需求 1 over its 名称 and 需求内容 rows)."""
        first = rows[0][0]
        merged = first.merge(rows[-1][0]) if len(rows) > 1 else first
        write_cell(merged, label, center=True)
        return merged

    def rows(self, cells: Sequence[Cell], height_cm: float | None = None,
             keep_with_next: bool = False) -> list[list[_Cell]]:
        """One row as a layout declares it. A value too long to stay on one page continues in further rows
        that repeat the row's labels, the one beside it marked （续）. Returns the table rows written."""
        col, pieces, at = 0, [""], -1
        for i, c in enumerate(cells):
            if not c.label:
                cut = chunks(c.text, self.span_width_cm(col, c.span))
                if len(cut) > len(pieces):
                    pieces, at = cut, i
            col += c.span
        if at < 0:
            return [self.row(*cells, height_cm=height_cm, keep_with_next=keep_with_next)]
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
            written.append(self.row(*row_cells, height_cm=None if n else height_cm,
                                    keep_with_next=keep_with_next and last))
        return written
