"""A company name of 80–100 characters (the form allows 100) made the file name too long: the confirm
waited and said 系统暂时繁忙 forever. Control characters and NUL were accepted, then every confirm failed
("All strings must be XML compatible"). What is accepted prints (issue 18)."""

from __future__ import annotations

from bot.testing import ChatClient
from tests.conftest import SME_STEPS
from tests.regressions.journey import cells
from tests.test_conversation import start_form

LONG = "上海" + "长名字" * 31 + "有限公司"  # 99 characters


async def test_a_hundred_character_company_name_confirms_and_prints_whole(sqlite_app):
    c = ChatClient(sqlite_app.engine)
    await start_form(c)
    await c.fill({**SME_STEPS, "company_name": LONG})
    done, _next = await c.click("确认并生成文件")
    assert done.document is not None and len(done.document.filename.encode()) <= 150
    assert done.document.path.exists() and LONG in cells(done.document.data)


async def test_control_characters_typed_in_a_terminal_are_stripped_and_the_form_prints(sqlite_app):
    c = ChatClient(sqlite_app.engine)
    await start_form(c)
    await c.send("上海\x00某公司")  # a NUL cannot be printed: refused, said so
    assert c.text.startswith("✗") and c.step == "company_name"
    await c.send("上海abc\x1b[D\x1b[D公司\x07")  # arrow keys and a bell, as a raw terminal sends them
    assert c.text.startswith("✓ 已保存：企业名称") and "\x1b" not in c.text and c.step == "credit_code"
    await c.fill(SME_STEPS)
    done, _next = await c.click("确认并生成文件")
    text = cells(done.document.data)
    assert "上海abc" in text and "\x1b" not in text and "\x07" not in text
