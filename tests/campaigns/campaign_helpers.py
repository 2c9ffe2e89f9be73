"""Helpers for the campaign tests: a movable clock, a recording channel, users with forms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.messages import Reply
from storage.models import Submission
from storage.store import Store


class Clock:
    """Time that tests move: `clock()` is now; `clock.at("2027-07-15 09:00")` is Shanghai time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, local: str) -> datetime:
        self.now = datetime.fromisoformat(local + "+08:00").astimezone(UTC)
        return self.now

    def advance(self, **kw) -> datetime:
        self.now += timedelta(**kw)
        return self.now


class RecordingChannel:
    def __init__(self, name: str = "test", ok: bool = True) -> None:
        self.name = name
        self.ok = ok
        self.sent: list[tuple[str, list[Reply]]] = []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, user_id: str, replies: Sequence[Reply]) -> bool:
        self.sent.append((user_id, list(replies)))
        return self.ok

    def texts(self, user_id: str | None = None) -> list[str]:
        return [r.text for uid, rs in self.sent if user_id in (None, uid) for r in rs]


SH_DRAFT = {"company_name": "上海测试科技有限公司", "reg_province": "上海市", "reg_city": "浦东新区"}


async def add_user(store: Store, external_id: str, forms: Sequence[tuple[str, str, dict]] = (),
                   channel: str = "test", **prefs) -> int:
    """A user with submissions [(form id, status, answers)]; returns the user's id."""
    async with store.user_tx(channel, external_id) as tx:
        if prefs:
            tx.update_prefs(**prefs)
        for form_id, status, answers in forms:
            sub = await tx.new_submission(form_id, dict(answers))
            if status != "draft":
                tx.set_status(sub, status)
        return tx.user.id


async def submissions(store: Store, external_id: str, channel: str = "test") -> list[Submission]:
    async with store.user_tx(channel, external_id) as tx:
        return await tx.submissions()
