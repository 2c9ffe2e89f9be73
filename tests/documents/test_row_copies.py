"""A row of a shape printed before is a copy of that row with the new text put in (tables.ROW_SHAPES): the
paper must be the very paper python-docx builds from nothing, byte for byte, whatever the answers look like:
leading and trailing spaces (xml:space), empty values (no run), tabs, several lines, values long enough to
be cut into rows, phone numbers shrunk to fit, on every form, after any other firm's paper was printed."""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from bot.documents import application, large_need, sme_match, tables
from tests.documents.test_docx_application import ANSWERS as APPLICATION_ANSWERS
from tests.documents.test_docx_large_need import ANSWERS as LARGE_ANSWERS
from tests.documents.test_docx_sme_match import ANSWERS as SME_ANSWERS

FORMS = [
    pytest.param(sme_match.render, SME_ANSWERS, id="sme_match"),
    pytest.param(large_need.render, LARGE_ANSWERS, id="large_need"),
    pytest.param(application.render, APPLICATION_ANSWERS, id="application"),
]
CHANGES: dict[str, Callable[[str], str]] = {
    "other_text": lambda s: s + "（变更）",
    "spaces_around": lambda s: "  " + s + " ",
    "empty": lambda s: "",
    "tab": lambda s: s + "\t附",
    "several_lines": lambda s: s + "\n第二行\n\n 第四行 ",
    "long": lambda s: (s + "，") * 60,
    "wide_number": lambda s: s + "-0000-1111-2222-3333" if any(c.isdigit() for c in s) else s,
}


def body(docx: bytes) -> bytes:
    return zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml")


def changed(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [changed(v, change) for v in value]
    if isinstance(value, dict):
        return {k: changed(v, change) for k, v in value.items()}
    return value


def answers_with(answers: dict, changes: list[Callable[[str], str]]) -> dict:
    """Each answer the firm typed changed by the next of `changes` in turn (bookkeeping keys left alone)."""
    turn = itertools.cycle(changes)
    return {k: v if k.startswith("_") or "#" in k else changed(v, next(turn)) for k, v in answers.items()}


def built_from_nothing(render, answers, monkeypatch) -> bytes:
    with monkeypatch.context() as m:
        m.setattr(tables, "ROW_SHAPES", 0)  # every row kept is dropped at once: each one built
        tables._ROWS.clear()
        return body(render(answers))


@pytest.mark.parametrize(("render", "answers"), FORMS)
@pytest.mark.parametrize("change", [*CHANGES, "mixed"])
def test_a_copied_row_prints_what_a_built_row_prints(render, answers, change, monkeypatch):
    changes = list(CHANGES.values()) if change == "mixed" else [CHANGES[change]]
    theirs = answers_with(answers, changes)
    expected = built_from_nothing(render, theirs, monkeypatch)
    if not (change == "spaces_around" and render is application.render):  # 申请书 trims what was typed
        assert expected != built_from_nothing(render, answers, monkeypatch)  # the change shows on the paper

    tables._ROWS.clear()
    body(render(answers))  # another firm's paper first: its rows are the ones kept
    assert body(render(theirs)) == expected
    assert body(render(theirs)) == expected  # and again, every row now a copy
    assert body(render(answers)) == built_from_nothing(render, answers, monkeypatch)


def test_rows_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(tables, "ROW_SHAPES", 5)
    tables._ROWS.clear()
    sme_match.render(answers_with(SME_ANSWERS, list(CHANGES.values())))
    assert len(tables._ROWS) == 5


def test_table_grid_is_that_style():
    """Tables name their style by id (tables.TABLE_GRID): it is the template's "Table Grid", as if by name."""
    from bot.documents.typeset import new_document

    doc = new_document()
    assert doc.styles["Table Grid"].style_id == tables.TABLE_GRID
    table = tables.FormTable(doc, [3.0, 5.0]).table
    assert table.style.name == "Table Grid"


def test_a_new_document_is_a_blank_of_its_own():
    """new_document copies one blank: every part of the package is the one built step by step, and what is
    written into one paper never shows in the next."""
    from bot.documents.typeset import build_document, new_document, to_bytes

    def parts(docx: bytes) -> dict[str, bytes]:
        z = zipfile.ZipFile(io.BytesIO(docx))
        return {name: z.read(name) for name in z.namelist()}

    first = new_document()
    assert parts(to_bytes(first)) == parts(to_bytes(build_document()))
    first.add_paragraph("上海某某科技有限公司")
    first.core_properties.title = "对接表"
    second = new_document()
    assert second.paragraphs == [] and second.core_properties.title != "对接表"
    assert parts(to_bytes(second)) == parts(to_bytes(build_document()))
