"""有新通知时告诉我: a wish waits in the reminders table until a newer campaign for the user's region is
loaded; then one message per user, once — also when two processes load packs at the same moment."""

from __future__ import annotations

import asyncio

from campaign_helpers import SH_DRAFT, add_user

from bot.campaigns import ReminderService, waiting
from bot.campaigns.model import Campaign
from bot.campaigns.pack import shipped
from bot.campaigns.repo import save_campaign

SH, NATIONAL = (Campaign(c) for c in sorted(shipped(), key=lambda c: c["id"], reverse=True))


def _next(c: Campaign, year: int = 2027) -> Campaign:
    return Campaign({**c.data, "id": f"{year}-{c.id.partition('-')[2]}", "year": year, "number": f"…〔{year}〕1号"})


async def _wish(store, user: str, answers: dict, after: Campaign, clock) -> int:
    uid = await add_user(store, user, [("sme_match", "draft", answers)])
    assert await waiting.wait(store, uid, after, "sme_match", clock())
    assert not await waiting.wait(store, uid, after, "sme_match", clock())  # asked twice: one wish
    return uid


async def test_only_the_users_of_the_new_campaigns_region_are_told_and_only_once(store, clock):
    await _wish(store, "sh", SH_DRAFT, SH, clock)
    await _wish(store, "js", {"reg_province": "江苏省"}, NATIONAL, clock)
    service = ReminderService(store, clock=clock)
    new_shanghai = _next(SH)
    async with store.sessions() as session, session.begin():
        await save_campaign(session, new_shanghai)
    assert await service.tell_waiting(new_shanghai) == 1
    [told] = await store.outbox_take("test", "sh")
    assert told.text.startswith("📢 新通知已发布：2027年度上海（…〔2027〕1号）")
    assert await store.outbox_take("test", "js") == []
    assert await service.tell_waiting(new_shanghai) == 0  # told once
    assert await service.tell_waiting(_next(NATIONAL)) == 1  # the Jiangsu firm's is the national one
    assert [r.text.splitlines()[0] for r in await store.outbox_take("test", "js")] == ["📢 新通知已发布：2027年度全国（…〔2027〕1号）"]


async def test_a_campaign_no_newer_than_the_one_waited_after_tells_no_one(store, clock):
    await _wish(store, "sh", SH_DRAFT, SH, clock)
    assert await ReminderService(store, clock=clock).tell_waiting(NATIONAL) == 0  # 2024 again: not a new notice
    assert await store.outbox_take("test", "sh") == []


async def test_two_loads_at_the_same_moment_tell_a_user_once(store, clock):
    for i in range(5):
        await _wish(store, f"sh{i}", SH_DRAFT, SH, clock)
    new = _next(SH)
    told = await asyncio.gather(*(ReminderService(store, clock=clock).tell_waiting(new) for _ in range(3)))
    assert sum(told) == 5
    for i in range(5):
        assert len(await store.outbox_take("test", f"sh{i}")) == 1
