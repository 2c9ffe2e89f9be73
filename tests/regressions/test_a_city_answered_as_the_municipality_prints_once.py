"""A WeChat review printed 「企业注册地（打印为）：上海市市浦东新区」: the city was answered 上海市 (the 直辖市 again,
which stripped to a lone 市) and the district 浦东 in the 县 blank. 上海市 is the province-level name and is
printed once; its district takes the 市(区) blank. The review line and the .docx print the same words."""

from __future__ import annotations

import io
import re

import docx
import pytest

from bot.domain.places import registered_place
from bot.testing import ChatClient
from tests.conftest import SME_STEPS
from tests.test_conversation import start_form

LABEL = "企业注册地（打印为）"


def beside(data: bytes, label: str) -> str:
    """The text of the .docx table cell right of the cell that reads `label` (merged cells counted once)."""
    found = []
    for table in docx.Document(io.BytesIO(data)).tables:
        for row in table.rows:
            cells = [c for i, c in enumerate(row.cells) if i == 0 or c._tc is not row.cells[i - 1]._tc]
            found += [cells[i + 1].text for i, c in enumerate(cells[:-1]) if c.text == label]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("province", "city", "county", "line"), [
    ("上海市", "上海市", "浦东", "上海市浦东新区_____县"),  # the issue
    ("北京", "北京市", "海淀区", "北京市海淀区_____县"),
    ("重庆", "重庆", "城口", "重庆市_____市(区)城口县"),
    ("江苏", "苏州", "昆山市", "江苏省苏州市昆山市"),
])
async def test_a_city_answered_as_the_municipality_prints_once(app, province, city, county, line):
    c = ChatClient(app.engine)
    await start_form(c)
    review = await c.fill({**SME_STEPS, "reg_province": province, "reg_city": city, "reg_county": county})
    shown = re.search(f"{LABEL}：(\\S+)", review.text)
    assert shown is not None, review.text
    assert shown.group(1) == line
    assert "市市" not in review.text
    done, _next = await c.click("确认并生成文件")
    assert beside(done.document.data, "企业注册地") == shown.group(1)  # the printout says what the review said


def test_the_review_line_and_the_document_call_the_same_function():
    from bot.dialogs.forms.sme_match import FORM
    from bot.documents.sme_match import LAYOUT

    assert dict(FORM.review_lines)[LABEL] is registered_place
    shows = [v.show for block in LAYOUT.blocks for v in _values(block) if v.key == "reg_province"]
    assert shows == [registered_place]


def _values(block):
    from bot.documents.layouts import Value

    if isinstance(block, Value):
        yield block
    for child in getattr(block, "rows", None) or getattr(block, "cells", None) or getattr(block, "blocks", None) or ():
        yield from _values(child)
