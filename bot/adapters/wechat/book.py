"""The WeChat channel's own database calls (its bookkeeping and the outbox), retried, with nothing lost.

The engine retries a database that is briefly away; these calls do too (bounded, `retry_delays`).
Bookkeeping that still cannot be written is kept in this process's copy of the user's row, which
stands in for the database until it answers again. Replies that could be neither sent nor stored in
the outbox are held here and shown at the user's next message (or stored by a background retry).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from bot.adapters.wechat import windows
from bot.adapters.wechat.guard import TRANSIENT
from bot.logsafe import who  # noqa: F401  (the channel logs through book.who)
from bot.messages import Reply
from storage.channel_models import Add, ChannelState, begin_message, channel_state, runner, update_state
from storage.times import aware

log = logging.getLogger(__name__)

T = TypeVar("T")
REWRITE_AFTER = 60.0  # seconds


def _opened_lately(state: ChannelState, plain: dict[str, Any]) -> bool:
    """`plain` only opens the long window again, and the copy has it opened under REWRITE_AFTER ago with
    nothing sent in it."""
    if set(plain) != {"message_at", "message_sent"} or state.message_sent or state.message_at is None:
        return False
    age = (plain["message_at"] - aware(state.message_at)).total_seconds()
    return 0 <= age < REWRITE_AFTER


def why(exc: BaseException) -> str:
    """The error's kind and the driver's words: never SQLAlchemy's text, which quotes the statement's
    parameters (openids)."""
    inner = getattr(exc, "orig", None) or exc
    return f"{type(inner).__name__}: {str(inner).splitlines()[0][:120] if str(inner) else ''}"




class Book:
    def __init__(self, store, channel: str, retry_delays: Sequence[float] = (0.2, 0.5, 1.0, 2.0),
                 held_retry: float = 5.0, memory: int = 10000, db=None) -> None:
        self.store = store
        self.db = db or runner(store)  # one transaction for many users' bookkeeping (GroupCommit)
        self.quick = store.dialect == "sqlite"  # one process: this process's copy of a row is the row
        self.channel = channel
        self.retry_delays = tuple(retry_delays)
        self.held_retry = held_retry
        self.memory = memory
        self._copies: OrderedDict[str, ChannelState] = OrderedDict()
        self.held: dict[str, list[Reply]] = {}  # replies neither sent nor stored, by user
        self._flusher: asyncio.Task | None = None
        self.locks: Callable[[str], asyncio.Lock] | None = None  # the channel's per-user locks

    async def retry(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        for attempt, delay in enumerate((*self.retry_delays, None)):
            try:
                return await call()
            except TRANSIENT as exc:
                if delay is None:
                    log.error("%s: database unavailable (%s), gave up after %d tries: %s", self.channel, what,
                              attempt + 1, why(exc))
                    raise
                log.warning("%s: database error (%s, try %d), retrying in %.1fs: %s", self.channel, what,
                            attempt + 1, delay, why(exc))
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    # -- the user's row ---------------------------------------------------------------------------

    def _keep_copy(self, state: ChannelState) -> ChannelState:
        self._copies[state.external_id] = state
        self._copies.move_to_end(state.external_id)
        while len(self._copies) > self.memory:
            self._copies.popitem(last=False)
        return state

    def copy(self, user: str) -> ChannelState:
        return self._copies.get(user) or ChannelState(channel=self.channel, external_id=user)

    async def read(self, user: str, *, must: bool = False) -> ChannelState:
        """The row from the database; while it is away, this process's copy (or raise, with `must`)."""
        try:
            return self._keep_copy(await self.retry("read", lambda: self.db.run(
                lambda session: channel_state(self.store, self.channel, user, session=session), f"state:{user}")))
        except TRANSIENT:
            if must:
                raise
            return self.copy(user)

    async def write(self, user: str, plain: dict[str, Any], sql: dict[str, Any] | None = None, *,
                    must: bool = False) -> ChannelState:
        """Set `plain` values (and `sql` ones in the database instead: `Add(1)`, a count +1). This
        process's copy follows whatever happens; with `must`, a database still away raises."""
        local = self._keep_copy(windows.applied(self.copy(user), plain))
        try:
            state = await self.retry("write", lambda: self.db.run(lambda session: update_state(
                self.store, self.channel, user, session=session, **{**plain, **(sql or {})}), f"state:{user}"))
        except TRANSIENT:
            if must:
                raise
            return local
        return self._keep_copy(state)

    async def begin(self, user: str, plain: dict[str, Any], written: ChannelState | None = None
                    ) -> tuple[ChannelState, list[Reply]]:
        """At a message the engine will answer: the user's row with `plain` set (the window it opened …) and
        the replies waiting for them in the outbox, oldest first (not marked: the engine shows and marks
        them with its answer). A database still away raises: the message cannot be handled now.

        The outbox is read on the store's reader (storage/hot/: on SQLite no write lock, where every
        transaction of the SQLAlchemy engine takes one). On SQLite (one process) a window opened by a
        message of theirs under `REWRITE_AFTER` ago, with nothing sent in it, is not written again: it is
        then taken to close up to that much early, the safe side. `written`: the row as ordering (order.py)
        wrote it a moment ago, with the window opened."""
        copy = self._copies.get(user)
        if written is not None and set(plain) <= {"message_at", "message_sent"}:
            state = self._keep_copy(written)  # written already, with the message's window (order.py)
        elif copy is not None and self.quick and _opened_lately(copy, plain):
            state = copy
        elif plain:
            state = await self.write(user, plain, must=True)
        else:
            state = await self.read(user, must=True)
        return state, await self.retry("outbox", lambda: self._waiting(user))

    async def _waiting(self, user: str) -> list[Reply]:
        hot = getattr(self.store, "hot", None)
        if hot is not None:
            return await self.store.replies_of(d for _id, replies in await hot.outbox(self.channel, user)
                                               for d in replies or ())
        _state, waiting = await self.db.run(lambda session: begin_message(self.store, self.channel, user,
                                                                          session=session), f"state:{user}")
        return waiting

    async def count_sent(self, user: str, state: ChannelState) -> ChannelState:
        """One customer-service message sent: it counts in every open window (see windows.py)."""
        return await self.write(
            user, {"message_sent": state.message_sent + 1, "event_sent": state.event_sent + 1},
            {"message_sent": Add(1), "event_sent": Add(1)})

    async def count_via(self, user: str, path: str) -> None:
        column = f"sent_{path}"
        state = self.copy(user)
        await self.write(user, {column: getattr(state, column) + 1, "last_sent_via": path},
                         {column: Add(1)})

    # -- replies that wait for the user's next message ----------------------------------------------

    async def keep(self, user: str, replies: Sequence[Reply], reason: str) -> None:
        """Into the outbox (the engine shows it at the next message); the database away: held here."""
        replies = list(replies)
        if not replies:
            return
        try:
            await self.retry("outbox", lambda: self.store.outbox_put(self.channel, user, replies, reason=reason))
        except TRANSIENT:
            self.hold(user, replies)

    def hold(self, user: str, replies: Sequence[Reply]) -> None:
        self.held.setdefault(user, []).extend(replies)
        log.error("%s %s: %d replies held in memory until the database is back", self.channel, who(user),
                  len(self.held[user]))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    def take_held(self, user: str) -> list[Reply]:
        return self.held.pop(user, [])

    async def _flush_loop(self) -> None:
        while self.held:
            await asyncio.sleep(self.held_retry)
            await self.flush()

    async def flush(self) -> bool:
        """Store every held reply in the outbox (one try each); True when none is left."""
        for user in list(self.held):
            lock = self.locks(user) if self.locks else asyncio.Lock()
            async with lock:  # not while a message of theirs is being answered (it shows them itself)
                replies = self.held.pop(user, None)
                if not replies:
                    continue
                try:
                    await self.store.outbox_put(self.channel, user, replies, reason="held while the database was away")
                except TRANSIENT:
                    self.held[user] = replies + self.held.pop(user, [])
                    return False
                log.info("%s %s: %d held replies stored in the outbox", self.channel, who(user), len(replies))
        return not self.held

    async def close(self) -> None:
        if self.held and not await self.flush():
            log.error("%s: %d users' replies could not be stored before stopping", self.channel, len(self.held))
        if self._flusher is not None:
            self._flusher.cancel()
