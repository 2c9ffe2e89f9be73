"""The credit code's province (positions 3–4) against 企业注册地（省）: the check never fired on the normal
path, because the province is asked after the code. It is a rule of the form now, run when both are known."""

from __future__ import annotations

from bot.testing import ChatClient
from tests.test_conversation import start_form


async def test_a_province_that_differs_from_the_codes_is_pointed_out_when_it_is_answered(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.send("江苏测试科技有限公司")
    await c.send("91310000132149237G")  # registered in Shanghai (31)
    assert "登记地" not in c.text
    await c.send("江苏")
    assert c.text.startswith("✓ 已保存：企业注册地（省） 江苏省")
    assert "代码显示登记地为上海市，与所填注册地江苏省不同" in c.text
    assert c.step == "reg_city"  # a question, not a refusal


async def test_a_matching_province_says_nothing(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.send("上海测试科技有限公司")
    await c.send("91310000132149237G")
    await c.send("上海")
    assert "登记地" not in c.text
