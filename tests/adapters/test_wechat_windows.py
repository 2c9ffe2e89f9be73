"""WeChat's customer-service windows as data (bot/adapters/wechat/windows.py) and the channel's own table
(storage/channel_models.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.adapters.wechat import windows
from storage.channel_models import (
    Add,
    ChannelState,
    Direct,
    GroupCommit,
    channel_state,
    claim_nonce,
    forget_nonces,
    runner,
    update_state,
)
from storage.models import User

T0 = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)


def row(**values) -> ChannelState:
    return ChannelState(channel="wechat", external_id="o1", **values)


def test_no_window_no_message():
    assert windows.allowance(row(), T0) == windows.Allowance(0)
    assert not windows.allowance(row(notify=True), T0) and windows.allowance(row(notify=True), T0).notify


def test_a_user_message_allows_five_within_48_hours():
    state = row(**windows.open_window("message", T0))
    assert windows.allowance(state, T0 + timedelta(hours=47, minutes=59)) == \
        windows.Allowance(5, T0 + timedelta(hours=48), "message")
    assert windows.allowance(row(message_at=T0, message_sent=4), T0).count == 1
    assert windows.allowance(row(message_at=T0, message_sent=5), T0).count == 0
    assert windows.allowance(state, T0 + timedelta(hours=48)).count == 0
    assert windows.allowance(state, T0 - timedelta(seconds=1)).count == 0  # not before it opened


def test_a_follow_a_click_or_a_scan_allows_three_within_a_minute():
    for event, kind in (("subscribe", "follow"), ("CLICK", "click"), ("SCAN", "scan"), ("scancode_push", "click")):
        assert windows.opened_by("event", event) == kind
        state = row(**windows.open_window(kind, T0.timestamp()))
        assert windows.allowance(state, T0 + timedelta(seconds=59)) == \
            windows.Allowance(3, T0 + timedelta(minutes=1), kind)
        assert not windows.allowance(state, T0 + timedelta(minutes=1))
    assert windows.opened_by("event", "VIEW") is None and windows.opened_by("event", "unsubscribe") is None
    assert windows.opened_by("text") == windows.opened_by("voice") == windows.opened_by("image") == "message"


def test_two_open_windows_give_the_larger_remainder_and_closing_ends_both():
    state = row(message_at=T0, message_sent=4, event_kind="click", event_at=T0, event_sent=0)
    assert windows.allowance(state, T0 + timedelta(seconds=10)) == \
        windows.Allowance(3, T0 + timedelta(minutes=1), "click")
    assert windows.allowance(state, T0 + timedelta(minutes=2)) == \
        windows.Allowance(1, T0 + timedelta(hours=48), "message")
    assert windows.allowance(windows.applied(state, windows.closed()), T0).count == 0
    assert state.message_sent == 4  # applied() makes a copy


async def test_the_channel_state_table_reads_earlier_prefs_once_and_counts_across_writers(app):
    store = app.store
    async with store.user_tx("wechat", "oOld") as tx:  # a user an earlier version knew
        tx.update_prefs(role="sme")
    async with store.sessions() as session, session.begin():
        await session.execute(update(User).where(User.external_id == "oOld").values(prefs={
            "role": "sme", "last_msg_at": T0.timestamp(), "cs_used": 2, "voice_pending": "张三", "notify": False,
            "notify_asked": True, "sent_via": {"custom": 3, "bogus": 9}, "last_sent_via": "custom"}))
    old = await channel_state(store, "wechat", "oOld")
    assert (old.message_at, old.message_sent, old.voice_pending, old.notify, old.notify_asked) == \
        (T0, 2, "张三", False, True)
    assert old.sent_via == {"custom": 3} and old.last_sent_via == "custom"

    fresh = await channel_state(store, "wechat", "oNobody")  # nobody: a default row, not written
    assert fresh.message_at is None and fresh.sent_via == {}

    await asyncio.gather(*(update_state(store, "wechat", "oBusy", message_sent=Add(1))
                           for _ in range(12)))
    assert (await channel_state(store, "wechat", "oBusy")).message_sent == 12
    after = await update_state(store, "wechat", "oBusy", **windows.open_window("scan", T0))
    assert (after.event_kind, after.event_at, after.message_sent) == ("scan", T0, 12)


async def test_a_nonce_is_claimed_once_and_forgotten_later(app):
    store = app.store
    assert await claim_nonce(store, "wechat", 1700000000, "n1", "o1:1", T0) is None
    assert await claim_nonce(store, "wechat", 1700000000, "n1", "o1:2", T0) == "o1:1"
    assert await claim_nonce(store, "wecom", 1700000000, "n1", "o1:2", T0) is None  # another channel's
    assert await claim_nonce(store, "wechat", 1700000001, "n1", "o1:2", T0) is None  # another timestamp
    assert await forget_nonces(store, T0 + timedelta(seconds=1)) == 3
    assert await claim_nonce(store, "wechat", 1700000000, "n1", "o1:3", T0) is None


async def test_many_users_bookkeeping_goes_in_few_transactions_and_one_bad_operation_fails_alone(app):
    """Regression: 200 WeChat users at once on SQLite queued one transaction each behind the channel's one
    connection (a nonce check 1.3 s, a window 1.5 s at the median), which also kept the engine's commits
    waiting for the write lock."""
    store = app.store
    group = GroupCommit(store)
    users = [f"o{i}" for i in range(40)]
    states = await asyncio.gather(*(group.run(lambda s, u=u: update_state(
        store, "wechat", u, session=s, **windows.open_window("message", T0))) for u in users))
    assert [x.external_id for x in states] == users and all(x.message_at == T0 for x in states)
    assert group.operations == 40 and group.transactions < 40  # the ones that came while one ran went together

    async def bad(session):
        raise ValueError("not this one")

    before = group.transactions
    results = await asyncio.gather(group.run(lambda s: claim_nonce(store, "wechat", 1, "a", "o1:1", T0, session=s)),
                                   group.run(bad),
                                   group.run(lambda s: claim_nonce(store, "wechat", 1, "b", "o2:1", T0, session=s)),
                                   return_exceptions=True)
    assert results[0] is None and isinstance(results[1], ValueError) and results[2] is None
    assert group.transactions > before + 1  # undone together, then each alone
    assert await claim_nonce(store, "wechat", 1, "a", "o1:2", T0) == "o1:1"  # the good ones were kept
    assert await claim_nonce(store, "wechat", 1, "b", "o2:2", T0) == "o2:1"
    assert isinstance(runner(store), GroupCommit)


async def test_grouped_operations_take_their_rows_in_one_order(app):
    """Two processes' grouped transactions lock rows in the order of their keys, never in a cycle."""
    group, seen = GroupCommit(app.store), []

    def op(name):
        async def run(session):
            seen.append(name)
            return name
        return run

    got = await asyncio.gather(*(group.run(op(k), key=k) for k in ("state:b", "nonce:2", "state:a", "state:b2")))
    assert got == ["state:b", "nonce:2", "state:a", "state:b2"]  # each caller its own result
    assert seen == ["nonce:2", "state:a", "state:b", "state:b2"]
    assert await Direct(app.store).run(op("x")) == "x"
