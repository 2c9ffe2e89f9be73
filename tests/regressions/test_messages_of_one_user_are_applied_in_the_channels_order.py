"""Two processes on one database took one user's messages 50 ms apart and applied 4 of 69 pairs out of
order (issue 18): the answer meant for 企业名称 was stored at the next question. Where the channel numbers
a user's messages (Telegram's update_id: Incoming.seq), a message that arrives after a later one was
applied is not applied, and the user is asked to send it again."""

from __future__ import annotations

from bot.app import open_app
from bot.messages import Incoming
from bot.testing import ChatClient
from tests.test_conversation import start_form


async def test_a_message_overtaken_by_a_later_one_is_not_applied_and_the_user_is_told(settings):
    app1, app2 = await open_app(settings), await open_app(settings)
    try:
        c = ChatClient(app1.engine, user_id="9")
        await start_form(c)
        later = Incoming(channel="test", user_id="9", text="上海后发科技有限公司", message_id="u11", seq=11)
        earlier = Incoming(channel="test", user_id="9", text="上海先发科技有限公司", message_id="u10", seq=10)
        [applied] = await app1.engine.handle(later)  # the later one reached process 1 first
        assert applied.text.startswith("✓ 已保存：企业名称 上海后发科技有限公司")
        [refused] = await app2.engine.handle(earlier)  # the earlier one, late, at process 2
        assert "晚到" in refused.text and "上海先发科技有限公司" in refused.text
        await c.send("预览")
        assert "企业名称：上海后发科技有限公司" in c.text and "统一社会信用代码：（未填）" in c.text
        assert await app2.engine.handle(earlier) == [refused]  # a retry of it: the same reply, no effect
    finally:
        await app1.close()
        await app2.close()


async def test_numbers_that_start_over_after_a_quiet_week_are_not_taken_for_late_messages(tmp_path):
    """Telegram picks the next update_id at random after a week without updates: a lower number then is a
    new message, not a late one."""
    from datetime import UTC, datetime, timedelta

    from bot.config import Settings

    clock = [datetime(2026, 12, 1, tzinfo=UTC)]
    app = await open_app(Settings(data_dir=tmp_path, pdf=False), now=lambda: clock[0])
    try:
        c = ChatClient(app.engine, user_id="7")
        await start_form(c)
        await app.engine.handle(Incoming(channel="test", user_id="7", text="上海甲科技有限公司", message_id="u900",
                                         seq=900))
        clock[0] += timedelta(days=8)
        [reply] = await app.engine.handle(Incoming(channel="test", user_id="7", text="91310000132149237G",
                                                   message_id="u12", seq=12))
        assert reply.text.startswith("✓ 已保存：统一社会信用代码")
    finally:
        await app.close()
