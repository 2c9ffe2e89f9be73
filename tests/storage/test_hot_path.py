"""The per-message path costs what it should: one statement to read, one commit to write.

A regression guard on counts, not on time (these machines are shared): a change that adds a query or a
commit per answer shows here.
"""

from __future__ import annotations

from bot.testing import ChatClient
from tests.test_conversation import start_form


def _counts(app) -> dict[str, int]:
    return dict(app.store.counters)


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in ("statements", "commits", "hops")}


async def test_an_answer_is_one_read_and_one_commit(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.send("上海测试科技有限公司")  # the profile learns it too: one more row in the same commit
    before = _counts(app)
    await c.send("91310000132149237G")
    d = _delta(before, _counts(app))
    assert d["commits"] == 1
    if app.store.dialect == "sqlite":
        # read; then conversation, submission, the user's profile, the retry record, in one transaction
        assert d["statements"] == 5 and d["hops"] <= 2  # 0 when nothing else is in flight: no thread hop
    else:  # one SELECT, and one statement whose CTEs write everything
        assert d["statements"] == 2


async def test_a_retried_delivery_is_one_read_and_no_commit(app):
    c = ChatClient(app.engine)
    await start_form(c)
    first = await c.send("上海测试科技有限公司", message_id="again")
    before = _counts(app)
    assert await c.send("上海测试科技有限公司", message_id="again") == first
    d = _delta(before, _counts(app))
    assert d["statements"] == 1 and d["commits"] == 0


async def test_the_cost_of_an_answer_does_not_grow_with_the_users_present(app):
    async def one_answer(user: str) -> dict[str, int]:
        c = ChatClient(app.engine, user_id=user)
        await start_form(c)
        before = _counts(app)
        await c.send("上海测试科技有限公司")
        return _delta(before, _counts(app))

    first = await one_answer("first")
    for n in range(30):
        c = ChatClient(app.engine, user_id=f"other{n}")
        await start_form(c)
        await c.send("某公司")
    assert await one_answer("last") == first


async def test_a_commit_that_fails_loses_nothing_the_user_saw_accepted(app, monkeypatch):
    """The reply leaves only after its commit: a commit that fails says so, and the answer is asked again."""
    c = ChatClient(app.engine)
    await start_form(c)
    await c.send("上海测试科技有限公司")
    app.engine.retry_delays = ()

    async def fails(*args, **kwargs):
        raise ConnectionResetError("the database went away mid-commit")

    monkeypatch.setattr(app.store.hot, "commit", fails)
    await c.send("91310000132149237G")
    assert "没有保存" in c.text
    monkeypatch.undo()
    await c.send("预览")
    assert "统一社会信用代码：（未填）" in c.text and "企业名称：上海测试科技有限公司" in c.text


async def test_a_reminder_planned_by_a_message_is_written_with_its_commit_or_not_at_all(app):
    """A confirm's PDF to follow (UserTx.plan_reminder) is a row the reminder service reads as it reads its
    own, on either database; a commit that lost to another process's write of the conversation plans none."""
    from datetime import UTC, datetime

    from sqlalchemy import select
    from sqlmodel import col

    from storage.campaign_models import Reminder

    due = datetime(2026, 6, 2, 6, 0, 30, 123456, tzinfo=UTC)
    first, second = await app.store.begin("test", "firm"), await app.store.begin("test", "firm")
    first.plan_reminder("sme_match", "pdf:7", ["v1", "对接表.pdf"], due)
    assert await first.commit()
    second.plan_reminder("sme_match", "pdf:8", ["v2", "对接表.pdf"], due)
    assert not await second.commit()  # read before the first's write: nothing of it is written
    async with app.store.sessions() as session:
        rows = list((await session.execute(select(Reminder).where(col(Reminder.kind).like("pdf:%")))).scalars())
    [row] = rows
    assert (row.user_id, row.campaign_id, row.form_id, row.kind, row.deadline, row.state, row.body) == \
        (first.user.id, "", "sme_match", "pdf:7", None, "pending", ["v1", "对接表.pdf"])
    assert row.due_at.replace(tzinfo=row.due_at.tzinfo or UTC) == due and row.attempts == 0
