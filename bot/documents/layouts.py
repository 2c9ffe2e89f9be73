"""A document as data, naming the form's fields, and the one renderer that prints it (附件2/3/4).

A document is a ``Layout``: blocks from top to bottom (the 附件 mark, the title, lines, headings, tables
of rows of cells, notes) that name the form's fields by key (see sme_match.py). The label, the choices and
the display of each come from the form's ``Field`` (Django's BoundField habit: ``Bound``), so a label or a
choice changed in the form is printed without touching the layout; literal text is only for words that
are not a field: titles, headings, notes. A field of the form that no row places and that is not listed
in ``not_printed`` gets a row of its own at the end of its section (next year's new field).

``render_document(form, layout, answers)`` makes the .docx with the page and paragraphs of typeset.py and
the table of tables.py; those know no form. The form is taken as one version asks it (``Form.at``: a
submission's own): labels and choices are that version's, a field it adds gets its row, and a cell naming a
field it removed is left out, its columns going to the row's last answer (a row left with no field goes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt
from docx.table import _Cell

from bot.dialogs import validators as v
from bot.dialogs.fields import Field, Form, Group
from bot.documents.tables import Cell, FormTable
from bot.documents.typeset import (
    add_run,
    attachment_label,
    body_paragraphs,
    checkboxes,
    cn_date,
    heading,
    labelled_line,
    new_document,
    note,
    paragraphs_of,
    text,
    title,
    to_bytes,
)

# -- the layout: blocks, rows and cells naming field keys -------------------------------------------


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
        give it a place in the layout to print it elsewhere. `form` at one version (default: its newest)."""
        named, sections = set(self.keys()) | set(self.not_printed), set(self.sections())
        return [f for f in form.at().items if isinstance(f, Field) and f.key not in named and f.section in sections]


# -- printing it: each field bound to its answer ----------------------------------------------------


def items_of(answers: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """A repeated group's entries in order (a missing group is an empty list)."""
    value = answers.get(key) or []
    return [entry for entry in value if isinstance(entry, Mapping)]


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
        self.form = form = form.at()  # one version: its labels, choices and fields
        self.answers = answers
        self.fields, self.groups = _fields_of(form)
        self.doc = new_document()
        self.unplaced_fields: list[Field] = []

    def removed(self, key: str, group: str = "") -> bool:
        """A field of another version of the form, not asked (nor printed) in this one."""
        fields = self.fields if not group else {f.key: f for f in self.groups[group].fields}
        return key not in fields and self.form.declares(f"{group}.{key}" if group else key)

    def kept(self, r: Row, group: str = "") -> Row | None:
        """The row as this version prints it: cells naming a field it removed left out, their columns given
        to the row's last answer (else its last cell); None when no field of the row is left."""
        cells = [c for c in r.cells if not (isinstance(c, Label | Value) and self.removed(c.key, group))]
        if len(cells) == len(r.cells):
            return r
        if not any(isinstance(c, Label | Value) for c in cells):
            return None
        freed = sum(c.span for c in r.cells) - sum(c.span for c in cells)
        last = max((i for i, c in enumerate(cells) if isinstance(c, Value)), default=len(cells) - 1)
        cells[last] = dataclasses.replace(cells[last], span=cells[last].span + freed)
        return Row(tuple(cells), r.height_cm)

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
            if isinstance(block, CompanyLine | Line | Statement | Body | Listing) and self.removed(block.key):
                continue
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
                kept = self.kept(r)
                if kept is not None:
                    t.rows(self.cells(kept, self.fields, self.answers), kept.height_cm)
            else:
                self.repeat(t, r)
        self.unplaced(t, block, section)

    def unplaced(self, t: FormTable, block: TableOf, section: str | None) -> None:
        """The fields of `section` the layout does not place (see Layout.unplaced): a row each."""
        if section is None:
            return
        for f in self.unplaced_fields:
            if f.section == section:
                cells = (Label(f.key), Value(f.key, len(block.widths_cm) - 1))
                t.rows(self.cells(Row(cells), self.fields, self.answers))

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
            if spec.detail and spec.detail in fields:
                detail = " ".join(paragraphs_of(self.bound(spec.detail, fields, answers).display()))
            shown = b.boxes(spec.sep, detail)
        else:
            shown = b.display()
        content = spec.prefix + shown if shown or spec.prefix else ""
        return Cell(content or spec.empty, spec.span, nowrap=b.nowrap)

    def repeat(self, t: FormTable, r: Repeat) -> None:
        group = self.groups.get(r.key)
        if group is None:
            raise KeyError(f"the layout repeats {r.key!r}, which form {self.form.id!r} does not have as a group")
        fields = {f.key: f for f in group.fields}
        rows = [k for k in (self.kept(declared, r.key) for declared in r.rows) if k is not None]
        items = items_of(self.answers, r.key) or [{}]  # a blank item to write in by hand rather than none
        for n, item in enumerate(items, start=1):
            number = f"{group.label}{n}"
            if not r.numbered:
                for declared in rows:
                    t.rows(self.cells(declared, fields, item, number), declared.height_cm)
                continue
            written: list[list[_Cell]] = []
            whole = 0  # the item's rows before one continues: the number's merged cell covers these
            for i, declared in enumerate(rows):
                cells = [Cell(number, 1, label=True), *self.cells(declared, fields, item, number)]
                if len(written) == whole:
                    whole += 1
                written.extend(t.rows(cells, declared.height_cm, keep_with_next=i < len(rows) - 1))
            t.merge_first_column(written[:whole], number)


def render_document(form: Form, layout: Layout, answers: Mapping[str, Any]) -> bytes:
    """The .docx of `layout` for `answers`, with labels, choices and display taken from `form`'s fields."""
    return _Renderer(form, answers).render(layout)
