"""Taps as phones send them: a second tap before the redraw arrives, a double tap, an old keyboard.

Before typed actions, every multi-select redraw changed the token, so a box tapped before the redraw
arrived, or 完成 right after a box, was answered "这个问题已经过去了" and lost.
"""

from __future__ import annotations

from bot.dialogs import actions as a
from bot.testing import ChatClient
from tests.conftest import SME_STEPS
from tests.test_conversation import start_form


def _button(reply, label):
    return next(b for b in reply.buttons if label in b.label)


async def _at_enterprise_types(app) -> ChatClient:
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill(SME_STEPS, until="enterprise_types")
    return c


async def test_two_boxes_tapped_on_the_same_keyboard_both_count(app):
    c = await _at_enterprise_types(app)
    keyboard = c.last  # both taps come from this drawing, as from a phone that has not seen the redraw
    for label in ("专精特新", "创新型"):
        b = _button(keyboard, label)
        await c.deliver(c.incoming(b.label, payload=b.payload))
        assert "已经过去" not in c.text
    assert [x.selected for x in c.last.buttons[:3]] == [True, False, True]
    done = _button(keyboard, "完成")  # 完成 from the first drawing too
    await c.deliver(c.incoming(done.label, payload=done.payload))
    assert c.text.startswith("✓ 已保存：企业类型(可多选) 专精特新“小巨人”企业、创新型中小企业")


async def test_a_box_tapped_twice_from_one_drawing_stays_ticked(app):
    c = await _at_enterprise_types(app)
    b = _button(c.last, "其他")
    for _ in range(2):
        await c.deliver(c.incoming(b.label, payload=b.payload))
    assert _button(c.last, "其他").selected is True


async def test_a_double_tapped_choice_is_one_answer(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill(SME_STEPS, until="ownership")
    b = _button(c.last, "民营")
    await c.deliver(c.incoming(b.label, payload=b.payload))
    assert c.text.startswith("✓ 已保存：企业性质 民营") and c.step == "enterprise_types"
    await c.deliver(c.incoming(b.label, payload=b.payload))  # the second tap of the double tap
    assert "已经过去" in c.text and c.step == "enterprise_types"
    await c.send("预览")
    assert c.text.count("企业性质：民营") == 1


async def test_a_double_tapped_confirm_makes_the_documents_once(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill(SME_STEPS)
    b = _button(c.last, "确认")
    first, _next = await c.deliver(c.incoming(b.label, payload=b.payload))
    [second] = await c.deliver(c.incoming(b.label, payload=b.payload))
    assert first.document is not None and second.document is None and "已经过去" in second.text
    assert len(list(app.settings.documents_dir.rglob("*.docx"))) == 1


async def test_a_forged_payload_gets_the_ordinary_stale_reply(app):
    """Another user's button, a made-up action, an over-long payload: never an answer, never 抱歉."""
    c = ChatClient(app.engine)
    await start_form(c)
    for data in (a.payload(a.Confirm(), 1), a.payload(a.EditField("company_name"), 2), "9999:ok", "x" * 200,
                 "1:cmd:start", "c0"):
        await c.deliver(c.incoming("", payload=data))
        assert "已经过去" in c.text and "抱歉" not in c.text and c.step == "company_name", data
    await c.send("预览")
    assert "企业名称：（未填）" in c.text
