"""无 / 没有 at a phone or 传真: the validators say "nothing to fill in" (Ok(None)). At an optional question
that is 跳过; at a required one it must be refused, not stored as skipped."""

from __future__ import annotations

import pytest

from bot.testing import ChatClient
from tests.conftest import SME_STEPS, past_start


async def _at(app, step: str) -> ChatClient:
    c = ChatClient(app.engine)
    await c.send("/start")
    await c.click("中小企业")
    await c.click("对接表")
    await past_start(c)
    await c.fill(SME_STEPS, until=step)
    return c


@pytest.mark.parametrize("word", ["无", "没有"])
async def test_no_fax_is_a_skip(app, word):
    c = await _at(app, "fax")
    await c.send(word)
    assert c.step == "email"
    assert "跳过" in c.text and "传真" in c.text


async def test_no_phone_at_a_required_phone_is_refused(app):
    c = await _at(app, "contact_phone")
    await c.send("无")
    assert c.step == "contact_phone"
    assert c.text.startswith("✗ 这一项必须填写")
