"""Reminders: 7/3/1/0 days before at 09:00 Shanghai, once; quiet hours; opt-out; submitted; leases; races."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, timedelta

from campaign_helpers import SH_DRAFT, RecordingChannel, add_user
from sqlalchemy import select

from bot.admin.shared import move_deadline_effects
from bot.campaigns import RESUME, ReminderService
from bot.campaigns.model import Campaign
from bot.campaigns.pack import shipped
from bot.campaigns.repo import get_campaign, save_campaign
from storage.campaign_models import Reminder
from storage.store import Store

SH = next(c for c in shipped() if c["id"] == "2024-shanghai")
DEADLINE = date(2027, 3, 10)


async def _open_2027(store, deadline=DEADLINE, form="sme_match"):
    async with store.sessions() as session, session.begin():
        await save_campaign(session, Campaign({**SH, "id": "2027-shanghai", "year": 2027}).with_deadline(form, deadline))


async def _rows(store):
    async with store.sessions() as session:
        return list((await session.execute(select(Reminder).order_by(Reminder.due_at))).scalars())


async def test_2024_deadlines_are_closed_so_nothing_is_planned(store, clock, channel):
    await add_user(store, "u1", [("large_need", "draft", {"reg_province": "上海市"})])
    svc = ReminderService(store, {"test": channel}, clock=clock)
    assert await svc.plan() == 0
    clock.at("2024-07-21 09:00")  # even were the clock back then, the rows do not exist
    assert (await svc.run_due()).sent == 0 and channel.sent == []


async def test_each_offset_sends_once_at_nine_with_missing_labels_and_a_resume_button(store, clock, channel):
    await _open_2027(store)
    await add_user(store, "u1", [("sme_match", "draft", SH_DRAFT)])
    svc = ReminderService(store, {"test": channel}, clock=clock)
    assert await svc.plan() == 4
    assert await svc.plan() == 0  # planning again adds nothing
    expected = {"2027-03-03": "还有 7 天", "2027-03-07": "还有 3 天", "2027-03-09": "还有 1 天", "2027-03-10": "今天"}
    for day, words in expected.items():
        clock.at(f"{day} 08:59")
        assert (await svc.run_due()).sent == 0
        clock.at(f"{day} 09:00")
        assert (await svc.run_due()).sent == 1
        assert (await svc.run_due()).sent == 0  # not twice
        uid, [reply] = channel.sent[-1]
        assert uid == "u1" and words in reply.text
        assert "《对接表》还缺" in reply.text and "统一社会信用代码" in reply.text
        assert "浦东 中小企业推进服务中心" in reply.text
        assert [(b.label, b.payload) for b in reply.buttons] == [("继续填写", RESUME)]
    clock.at("2027-03-11 09:00")
    assert (await svc.run_due()).sent == 0 and len(channel.sent) == 4


async def test_quiet_hours_hold_a_due_reminder_until_morning(store, clock, channel):
    await _open_2027(store)
    await add_user(store, "u1", [("sme_match", "draft", SH_DRAFT)])
    svc = ReminderService(store, {"test": channel}, clock=clock)
    clock.at("2027-03-03 08:00")
    await svc.plan()
    clock.at("2027-03-03 21:30")  # the bot was down all day; now it is late
    assert (await svc.run_due()).quiet and channel.sent == []
    clock.at("2027-03-04 07:59")
    assert (await svc.run_due()).quiet and channel.sent == []
    clock.at("2027-03-04 08:00")
    assert (await svc.run_due()).sent == 1 and "还有 6 天" in channel.texts()[0]


async def test_opted_out_and_submitted_users_get_nothing_complete_ones_are_told_to_hand_in(store, clock, channel):
    await _open_2027(store)
    await add_user(store, "off", [("sme_match", "draft", SH_DRAFT)], reminders=False)
    await add_user(store, "done", [("sme_match", "submitted", SH_DRAFT)])
    await add_user(store, "later", [("sme_match", "draft", SH_DRAFT)])
    await add_user(store, "paper", [("sme_match", "complete", SH_DRAFT)])
    svc = ReminderService(store, {"test": channel}, clock=clock)
    await svc.plan()
    await store.update_prefs("test", "later", reminders=False)  # opted out after planning
    clock.at("2027-03-03 09:00")
    await svc.run_due()
    assert [uid for uid, _ in channel.sent] == ["paper"]
    assert "已填完：请打印盖章后报送" in channel.texts()[0]


async def test_a_late_starter_gets_one_reminder_not_the_missed_ones(store, clock, channel):
    await _open_2027(store)
    svc = ReminderService(store, {"test": channel}, clock=clock)
    clock.at("2027-03-08 15:00")  # the 7- and 3-day reminders are past
    await add_user(store, "u1", [("sme_match", "draft", SH_DRAFT)])
    await svc.plan()
    result = await svc.run_due()
    assert (result.sent, result.skipped) == (1, 1) and "还有 2 天" in channel.texts()[0]
    clock.at("2027-03-09 09:00")
    assert (await svc.run_due()).sent == 1


async def test_no_channel_running_queues_the_reminder_for_the_next_message(store, clock):
    await _open_2027(store)
    await add_user(store, "u1", [("sme_match", "draft", SH_DRAFT)])
    svc = ReminderService(store, {}, clock=clock)
    await svc.plan()
    clock.at("2027-03-03 09:00")
    assert (await svc.run_due()).queued == 1
    [waiting] = await store.outbox_take("test", "u1")
    assert "还有 7 天" in waiting.text and waiting.buttons[0].payload == RESUME


async def test_a_moved_deadline_replans_and_tells_the_user(store, clock, channel):
    await _open_2027(store)
    await add_user(store, "u1", [("sme_match", "draft", SH_DRAFT)])
    svc = ReminderService(store, {"test": channel}, clock=clock)
    await svc.plan()
    clock.at("2027-03-01 10:00")
    async with store.sessions() as session, session.begin():
        c = await get_campaign(session, "2027-shanghai")
        await save_campaign(session, c.with_deadline("sme_match", date(2027, 3, 20)))
    told = await move_deadline_effects(store, "2027-shanghai", "sme_match", DEADLINE, clock(), service=svc)
    assert told == 1
    assert "截止时间调整（原：2027-03-10）" in channel.texts()[0] and "2027-03-20，还有 19 天" in channel.texts()[0]
    assert await store.outbox_take("test", "u1") == []  # pushed: not shown again at the next message
    clock.at("2027-03-03 09:00")  # the old 7-day reminder
    assert (await svc.run_due()).sent == 0
    clock.at("2027-03-13 09:00")
    assert (await svc.run_due()).sent == 1 and "2027-03-20截止，还有 7 天" in channel.texts()[-1]
    states = {(r.deadline, r.kind): r.state for r in await _rows(store) if r.kind.startswith("d")}
    assert states[(DEADLINE, "d7")] == "cancelled" and states[(date(2027, 3, 20), "d7")] == "sent"


async def test_a_crash_between_claim_and_send_is_retried_after_the_lease(store, clock, channel):
    await _open_2027(store)
    await add_user(store, "u1", [("sme_match", "draft", SH_DRAFT)])
    clock.at("2027-03-03 09:00")
    dead = ReminderService(store, {"test": RecordingChannel()}, clock=clock, lease=timedelta(minutes=5))
    await dead.plan()
    assert len(await dead.claim(clock())) == 1  # …and the process is killed here, before sending
    alive = ReminderService(store, {"test": channel}, clock=clock, lease=timedelta(minutes=5))
    clock.advance(minutes=4)
    assert (await alive.run_due()).sent == 0  # still leased to the dead one
    clock.advance(minutes=2)
    assert (await alive.run_due()).sent == 1
    assert (await alive.run_due()).sent == 0 and len(channel.sent) == 1


async def test_a_send_that_fails_is_retried_not_lost(store, clock):
    class Flaky(RecordingChannel):
        async def send(self, user_id, replies):
            if not self.sent:
                self.sent.append(("boom", []))
                raise ConnectionError("network")
            return await super().send(user_id, replies)

    await _open_2027(store)
    await add_user(store, "u1", [("sme_match", "draft", SH_DRAFT)])
    flaky = Flaky()
    svc = ReminderService(store, {"test": flaky}, clock=clock, lease=timedelta(minutes=5))
    clock.at("2027-03-03 09:00")
    await svc.plan()
    assert (await svc.run_due()).retry == 1
    clock.advance(minutes=6)
    assert (await svc.run_due()).sent == 1 and [u for u, _ in flaky.sent] == ["boom", "u1"]


async def test_reminders_go_to_several_users_at_once_but_one_users_in_turn(store, clock):
    """A real channel waits on the network for each send: users are served side by side (the 09:00
    morning of a deadline), while one user's two reminders never overlap (per-user bookkeeping)."""

    class Slow(RecordingChannel):
        def __init__(self) -> None:
            super().__init__()
            self.flying: list[str] = []
            self.peak = 0
            self.overlap_same_user = False
            self.full = asyncio.Event()  # four sends in flight at once: the network answers them all

        async def send(self, user_id, replies):
            self.overlap_same_user |= user_id in self.flying
            self.flying.append(user_id)
            self.peak = max(self.peak, len(self.flying))
            if self.peak == 4:
                self.full.set()
            with contextlib.suppress(TimeoutError):  # one at a time never fills it: peak 1, and the test fails
                await asyncio.wait_for(self.full.wait(), 10)
            self.flying.remove(user_id)
            return await super().send(user_id, replies)

    async with store.sessions() as session, session.begin():
        both = Campaign({**SH, "id": "2027-shanghai", "year": 2027})
        await save_campaign(session, both.with_deadline("sme_match", DEADLINE).with_deadline("large_need", DEADLINE))
    for n in range(6):
        await add_user(store, f"u{n}", [("sme_match", "draft", SH_DRAFT)])
    await add_user(store, "two", [("sme_match", "draft", SH_DRAFT),
                                  ("large_need", "draft", {"reg_province": "上海市"})])
    slow = Slow()
    svc = ReminderService(store, {"test": slow}, clock=clock, parallel=4)
    await svc.plan()
    clock.at("2027-03-03 09:00")
    assert (await svc.run_due()).sent == 8
    assert sorted(uid for uid, _ in slow.sent) == sorted([f"u{n}" for n in range(6)] + ["two", "two"])
    assert slow.peak == 4  # the `parallel` bound, not one at a time
    assert not slow.overlap_same_user


async def test_two_processes_on_postgresql_send_each_reminder_exactly_once(pg_url, clock):
    setup = Store(pg_url)
    from storage.migrate import upgrade

    await upgrade(setup.engine)
    await _open_2027(setup)
    for i in range(60):
        await add_user(setup, f"u{i}", [("sme_match", "draft", SH_DRAFT)])
    clock.at("2027-03-03 09:00")

    class Slow(RecordingChannel):
        async def send(self, user_id, replies):
            await asyncio.sleep(0.002)
            return await super().send(user_id, replies)

    stores = [Store(pg_url), Store(pg_url)]
    channels = [Slow(), Slow()]
    services = [ReminderService(s, {"test": ch}, clock=clock, batch=7) for s, ch in zip(stores, channels, strict=True)]
    try:
        await asyncio.gather(*(svc.plan() for svc in services))

        async def drain(svc):
            while (r := await svc.run_due()).sent or r.skipped:
                pass

        await asyncio.gather(*(drain(svc) for svc in services))
        sent = [uid for ch in channels for uid, _ in ch.sent]
        assert sorted(sent) == sorted(f"u{i}" for i in range(60))  # everyone once, nobody twice
        assert all(ch.sent for ch in channels), [len(ch.sent) for ch in channels]  # both took a share
    finally:
        for s in (*stores, setup):
            await s.close()


async def test_a_reminder_whose_user_erased_their_data_after_the_claim_is_skipped_not_an_error(store, clock, caplog):
    """删除我的数据 takes the user's reminders with it: one claimed a moment before is gone when its turn
    comes. It was an AttributeError on the vanished row, logged with a traceback and counted as a retry."""
    from storage.erase import erase_user

    class ErasesB(RecordingChannel):
        async def send(self, user_id, replies):
            if user_id == "a":
                await erase_user(store, "test", "b")  # b sends 删除我的数据 while a's reminder goes out
            return await super().send(user_id, replies)

    await _open_2027(store)
    await add_user(store, "a", [("sme_match", "draft", SH_DRAFT)])
    await add_user(store, "b", [("sme_match", "draft", SH_DRAFT)])
    channel = ErasesB()
    svc = ReminderService(store, {"test": channel}, clock=clock, parallel=1)  # a's turn, then b's
    await svc.plan()
    clock.at("2027-03-03 09:00")
    result = await svc.run_due()
    assert (result.sent, result.skipped, result.retry) == (1, 1, 0)
    assert [uid for uid, _ in channel.sent] == ["a"]
    assert "could not prepare" not in caplog.text


async def test_reminders_are_counted_by_channel_and_outcome(store, clock):
    """What run_due reports is what the metrics count: sent, queued (the channel would not deliver now),
    failed (tried again after the lease)."""

    class Failing(RecordingChannel):
        async def send(self, user_id, replies):
            raise ConnectionError("network")

    from bot.metrics import Metrics

    await _open_2027(store)
    for user, channel in (("u1", "test"), ("u2", "test"), ("u3", "refusing"), ("u4", "failing")):
        await add_user(store, user, [("sme_match", "draft", SH_DRAFT)], channel=channel)
    metrics = Metrics(process=False)
    senders = {"test": RecordingChannel(), "refusing": RecordingChannel("refusing", ok=False),
               "failing": Failing("failing")}
    svc = ReminderService(store, senders, clock=clock, metrics=metrics)
    await svc.plan()
    clock.at("2027-03-03 09:00")
    result = await svc.run_due()
    assert (result.sent, result.queued, result.retry) == (2, 1, 1)

    def counted(channel: str, outcome: str) -> float | None:
        return metrics.registry.get_sample_value("jiebang_reminders_total", {"channel": channel, "outcome": outcome})

    assert (counted("test", "sent"), counted("refusing", "queued"), counted("failing", "failed")) == (2, 1, 1)
    assert counted("test", "queued") is None and counted("failing", "sent") is None
