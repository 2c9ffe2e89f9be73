"""One user's messages applied in the order WeChat numbered them, across processes (issue 18).

WeChat numbers a user's messages: CreateTime (seconds), then MsgId (increasing). Behind a load balancer
two messages of one user sent 50 ms apart may reach two processes; the engine's version check applies
them one at a time, but in whichever order their commits land (4 of 69 such pairs came out reversed).
Here each message, before it is handled, is written down in `channel_arrivals` (storage/channel_models.py)
in one transaction that holds the user's `channel_states` row, so the processes decide one after another:

- an older message of the same user waiting, or any of theirs being handled (in any process): wait for it
  (`hold`, 8 s at most; after that it goes anyway, and the engine's version check still applies one at a
  time — said in the log);
- a newer one already applied (`channel_states.applied_seq`): this one is late, and is not applied. Its
  effect would land on a later question (an answer typed for 企业名称 stored as the credit code); the user
  is told to send it again (`Inbound._late` in inbound.py).

What cannot be done fully: a message that reaches us after a newer one started being handled was already
overtaken — that newer one was applied to the state before it. It is then refused, not applied out of
order; nothing can undo the newer one. Events (a follow, a menu click, a scan) carry no MsgId and are not
ordered: none of them answers a question. An entry older than `stale` (a process that died mid-message)
no longer holds anyone back. With the database away, messages go unordered (the engine still applies them
one at a time, or says 系统暂时繁忙).

Within one process the channel's per-user lock already takes a user's deliveries one at a time; the entry
is written before that lock is taken, so the other processes see a message that waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.adapters.wechat.book import who, why
from bot.adapters.wechat.guard import TRANSIENT
from storage.channel_models import ChannelState, arrive, runner, sequence, settle

log = logging.getLogger(__name__)

GO, LATE = "go", "late"


class Order:
    def __init__(self, store, channel: str, clock: Callable[[], float], *, hold: float = 8.0,
                 stale: float = 60.0, polls: tuple[float, ...] = (0.005, 0.01, 0.02, 0.04, 0.08), db=None) -> None:
        self.store = store
        self.db = db or runner(store)
        self.channel = channel
        self.clock = clock
        self.hold = hold
        self.stale = stale
        self.polls = polls
        self.waited = 0  # messages that waited for another (a figure for tests and benchmarks)
        self.late = 0

    @staticmethod
    def seq_of(msg: dict[str, str]) -> str | None:
        return sequence(msg.get("CreateTime", ""), msg.get("MsgId", ""))

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def enter(self, user: str, seq: str, values: dict | None = None) -> tuple[str, ChannelState | None]:
        """GO (apply it now; call `leave` after) or LATE (a newer message of theirs was applied), and the
        user's row with `values` written (the window the message opens; None when the database is away)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + self.hold
        waited = False
        for attempt in range(1_000_000):
            now = self._now()
            force = loop.time() >= until
            try:
                stale = now - timedelta(seconds=self.stale)

                def look(session: Any, now: datetime = now, stale: datetime = stale,
                         force: bool = force) -> Awaitable[tuple[str, ChannelState]]:
                    return arrive(self.store, self.channel, user, seq, now, stale, force=force, values=values,
                                  session=session)

                verdict, state = await self.db.run(look, f"state:{user}")
            except TRANSIENT as exc:
                log.warning("%s %s: message order not checked (database: %s)", self.channel, who(user), why(exc))
                return GO, None
            if verdict == "wait":
                waited = True
                await asyncio.sleep(self.polls[min(attempt, len(self.polls) - 1)])
                continue
            if waited:
                self.waited += 1
            if force and verdict == GO:
                log.warning("%s %s: an earlier message still unfinished after %.0fs; this one goes on",
                            self.channel, who(user), self.hold)
            if verdict == LATE:
                self.late += 1
                log.warning("%s %s: a message arrived after a newer one was applied; not applied",
                            self.channel, who(user))
            return verdict, state
        return GO, None

    async def leave(self, user: str, seq: str) -> None:
        try:
            now = self._now()
            await self.db.run(lambda session: settle(self.store, self.channel, user, seq, now, session=session),
                              f"state:{user}")
        except TRANSIENT as exc:  # until its entry is stale, a next message of theirs waits `hold` at most
            log.warning("%s %s: message order not recorded (database: %s)", self.channel, who(user), why(exc))
