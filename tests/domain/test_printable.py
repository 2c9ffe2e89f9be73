"""Nothing accepted that cannot be printed: control characters, NUL bytes and lone surrogates (from
terminals and some clients) were accepted and acknowledged, then every confirm failed with python-docx's
"All strings must be XML compatible". Every text check takes controls out and refuses the rest."""

from __future__ import annotations

import io

import pytest
from docx import Document

from bot.dialogs import validators as v
from bot.dialogs.results import Invalid, Ok
from bot.documents.application import render


def test_arrow_keys_typed_in_a_terminal_are_not_stored():
    """`abcdef←←X` arrived as 'abcdef\\x1b[D\\x1b[DX' and was saved so."""
    assert v.text(100)("abcdef\x1b[D\x1b[DX", {}) == Ok("abcdefX")


@pytest.mark.parametrize(("typed", "stored"), [
    ("上海\x07某某\x08科技", "上海某某科技"), ("A\x85B\x9fC", "ABC"), ("名\t称", "名 称"), ("\ufeff名称", "名称"),
    ("一行\n两行", "一行 两行"), ("X\x7fY", "XY"), ("\x1bOA上海", "上海"),
])
def test_control_characters_are_taken_out_of_one_line_answers(typed, stored):
    assert v.text(100)(typed, {}) == Ok(stored)


def test_long_text_keeps_its_line_breaks_and_loses_its_controls():
    result = v.long_text(500)("第一段\x0c\r\n第二段\x00"[:-1] + "\x1b[2K", {})
    assert isinstance(result, Ok) and result.value == "第一段\n第二段"


@pytest.mark.parametrize("typed", ["名称\x00", "名称\ud800", "\udfff"])
def test_what_no_document_can_hold_is_refused(typed):
    assert v.text(100)(typed, {}) == Invalid("unprintable")
    assert v.long_text(500)(typed, {}) == Invalid("unprintable")


def test_an_accepted_answer_prints_into_a_real_docx():
    name = v.text(100)("上海\x1b[D某某\x07科技\x85有限公司\x0b", {}).value
    body = v.long_text(6000)("我们的方案\x1b[A\r\n分两步\x02完成。\t详见附件。", {}).value
    control = "".join(chr(c) for c in range(32) if c not in (9, 10, 13))
    assert not any(ch in control for ch in name + body)
    data = render({"company_name": name, "item_name": v.text(100)("事项\x1f一", {}).value, "plan_route": body})
    text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
    cells = "\n".join(c.text for t in Document(io.BytesIO(data)).tables for r in t.rows for c in r.cells)
    assert "上海某某科技有限公司" in text + cells
    assert "分两步完成。 详见附件。" in text + cells


def test_the_raw_answer_would_not_have_printed():
    """The test above can fail: python-docx refuses the raw text."""
    with pytest.raises(ValueError, match="XML compatible"):
        render({"company_name": "上海\x07某某", "item_name": "x"})
