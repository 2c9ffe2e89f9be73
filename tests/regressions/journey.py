"""Helpers for the journey regressions: a firm's forms confirmed, documents read back."""

from __future__ import annotations

import io

import docx

from bot.testing import ChatClient
from tests.conftest import SME_STEPS, past_start
from tests.test_conversation import start_form

TWO_ITEMS = {**SME_STEPS, "items.1.name": "柔性装配机器人", "items.1.code": "2024-SH-033"}


def cells(data: bytes) -> str:
    """Every table cell and paragraph of a .docx, as a person reading the printout sees them."""
    d = docx.Document(io.BytesIO(data))
    return "\n".join([p.text for p in d.paragraphs] + [c.text for t in d.tables for r in t.rows for c in r.cells])


async def confirmed_match(app, user: str = "u1", answers=SME_STEPS, items: int = 1) -> ChatClient:
    """An SME whose 对接表 is confirmed (one 事项, or two)."""
    c = ChatClient(app.engine, user_id=user)
    await start_form(c)
    answers = TWO_ITEMS if items == 2 else answers
    await c.fill(answers, until="items.#more")
    if items == 2:
        await c.send("是")
        await c.fill(answers, until="items.#more")
    await c.send("否")
    await c.click("确认并生成文件")
    return c


async def open_item(c: ChatClient, n: int) -> None:
    """From anywhere: the menu, then 事项n's 申请书 (past its campaign's note), at its current question."""
    await c.send("菜单")
    await c.click(f"事项{n}")
    await past_start(c)


async def write_application(c: ChatClient, n: int, text: str = "本公司专注视觉检测。") -> None:
    """事项n's 申请书, every section one paragraph, to its review."""
    await open_item(c, n)
    if c.step == "not_affiliated":
        await c.click("确认")
    while c.last.screen != "review":
        if c.last.buttons and any(b.label == "修改" for b in c.last.buttons):
            await c.click("修改")  # an offered earlier text: write this one's own
        if c.step == "evidence":
            await c.send("完成")
            continue
        await c.send(text)
        await c.send("完成")
