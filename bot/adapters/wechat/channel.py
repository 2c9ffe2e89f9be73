"""The WeChat channels: an Official Account (公众号, kind "oa") and a WeCom app (企业微信, kind "wecom").

What a user sees:
- Following the account is `/start` (the greeting); menu clicks are `/start`, `/status`, `/help`. A follow
  or a scan of a QR code with a scene (a district's code) keeps the scene and is `/start <scene>`.
- Every question is one message; choices are numbered lines, answered by number or by text.
- A voice answer is echoed back ("我听到的是：…。回复 1 确认，2 重说") and stored only once confirmed.
- A picture sent (at 佐证材料) is fetched from WeChat and kept like a file sent elsewhere.
- A finished form arrives as a signed download link (OA), or as a file (WeCom), with a picture of page 1.
- A long review comes as its summary with a link to the whole of it on a page: never more than one message.
- With the database away: "系统暂时繁忙…之前的回答都已保存", never a lost reply.

`WeChatChannel` wires one message through the modules beside it: the callback URL checks the request and
keeps one job per delivery (callbacks.py); the message becomes the engine's Incoming (inbound.py); the
replies are planned within what WeChat delivers for one message (planning.py, budget.py) — the first as
the passive reply if ready within `reply_window` — and the rest sent through the API (delivery.py). What
does not fit, or cannot be sent, and is still worth sending goes to the outbox, which the engine shows
before its next reply; with the database away it is held here (book.py). One user's messages are handled
one at a time, in the order WeChat numbered them across processes on one database (order.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial

from aiohttp import web

from bot.adapters.wechat import windows
from bot.adapters.wechat.api import WeChatAPI
from bot.adapters.wechat.book import Book, who, why
from bot.adapters.wechat.callbacks import Callbacks, Job, for_log
from bot.adapters.wechat.consent import Consent
from bot.adapters.wechat.crypto import MsgCrypt
from bot.adapters.wechat.delivery import Delivery
from bot.adapters.wechat.guard import TRANSIENT, Guard, resolve_mode
from bot.adapters.wechat.inbound import Inbound
from bot.adapters.wechat.menu import create_menu
from bot.adapters.wechat.order import GO, LATE, Order
from bot.adapters.wechat.planning import Planner
from bot.adapters.wechat.windows import Allowance
from bot.i18n import N_, gettext
from bot.messages import Reply
from storage.channel_models import ChannelState, runner

log = logging.getLogger(__name__)

__all__ = ["WeChatChannel"]


class WeChatChannel:
    """`WeChatChannel(app, kind="oa" | "wecom")`; `add_routes(web_app)` mounts the callback URL.

    `clock` (epoch seconds) is the channel's time for timestamps, windows and links; `retry_delays`
    bound the retries of its own database calls; `max_age` is how old a callback's timestamp may be.
    `cs_per_message` (OA) / `app_per_message` (WeCom): how many messages beside the passive reply one
    message of a user may bring back (the OA's other 3 of the 5 within 48 h stay for reminders).
    `order`: apply a user's messages in WeChat's order across processes (order.py); None: on where the
    database is PostgreSQL (several processes share one), off on SQLite (one process)."""

    def __init__(self, app, kind: str = "oa", *, reply_window: float = 4.5, overflow_delay: float = 0.3,
                 job_ttl: float = 300.0, clock: Callable[[], float] = time.time,
                 notification_data: Callable[[Sequence[Reply]], dict[str, str]] | None = None,
                 retry_delays: Sequence[float] = (0.2, 0.5, 1.0, 2.0), max_age: float = 300.0,
                 held_retry: float = 5.0, cs_per_message: int = 2, app_per_message: int = 6,
                 order: bool | None = None, order_hold: float = 8.0) -> None:
        if kind not in ("oa", "wecom"):
            raise ValueError("kind is 'oa' or 'wecom'")
        self.app = app
        self.settings = s = app.settings
        self.kind = kind
        self.reply_window = reply_window
        self.overflow_delay = overflow_delay
        if kind == "wecom":
            self.name = "wecom"
            self.token, aes_key, self.receive_id = s.wecom_token, s.wecom_encoding_aes_key, s.wecom_corp_id
            self.path = s.wecom_path
            self.api = WeChatAPI(s.wecom_api_base_url, "wecom", s.wecom_corp_id, s.wecom_secret,
                                 store=app.store)
            if not aes_key:
                raise ValueError("WeCom needs WECOM_ENCODING_AES_KEY (its callbacks are always encrypted)")
        else:
            self.name = "wechat"
            self.token, aes_key, self.receive_id = s.wechat_token, s.wechat_encoding_aes_key, s.wechat_app_id
            self.path = s.wechat_path
            self.api = WeChatAPI(s.wechat_api_base_url, "oa", s.wechat_app_id, s.wechat_app_secret,
                                 store=app.store)
        if not self.token:  # an empty token would let anyone compute the signature
            raise ValueError(f"{self.name}: set {'WECOM' if kind == 'wecom' else 'WECHAT'}_TOKEN")
        self.mode = resolve_mode(kind, getattr(s, "wechat_mode", ""), bool(aes_key))
        self.crypt = MsgCrypt(self.token, aes_key, self.receive_id) if aes_key else None
        self.db = runner(app.store)  # the channel's own calls: many users' in one transaction
        self.guard = Guard(app.store, self.name, clock, max_age=max_age, db=self.db)
        self.book = Book(app.store, self.name, retry_delays, held_retry=held_retry, db=self.db)
        self.book.locks = self._lock
        ordered = app.store.dialect == "postgresql" if order is None else order
        self.order = Order(app.store, self.name, clock, hold=order_hold, db=self.db) if ordered else None
        self.callbacks = Callbacks(self.name, kind, self.token, self.crypt, self.mode, self.guard, clock,
                                   self._run, self._spawn, reply_window=reply_window, job_ttl=job_ttl,
                                   metrics=app.metrics)
        self.consent = Consent(s, kind, self.name, self.path, self.api, clock)
        self.inbound = Inbound(app, s, self.name, kind, self.api, self.book, self.consent, clock)
        self.planner = Planner(app, s, self.name, kind, clock, cs_per_message=cs_per_message,
                               app_per_message=app_per_message)
        self.delivery = Delivery(self.api, self.book, self.planner, s, self.name, kind, clock,
                                 notification_data, metrics=app.metrics)
        self._clock = clock
        self.sent_via: Counter[str] = Counter()  # how `send` delivered: subscribe / custom / app / outbox
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tasks: set[asyncio.Task] = set()
        self._langs: dict[str, str] = {}

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:  # tests move time; every part follows
        self._clock = clock
        for part in (self.guard, self.order, self.callbacks, self.consent, self.inbound, self.planner,
                     self.delivery):
            if part is not None:
                part.clock = clock

    # -- lifecycle ------------------------------------------------------------------------------

    def add_routes(self, web_app: web.Application) -> None:
        web_app.router.add_get(self.path, self.callbacks.on_get)
        web_app.router.add_post(self.path, self.callbacks.on_post)
        if self.kind == "oa":
            web_app.router.add_get(f"{self.path}/subscribe", self.consent.page)

    async def install_menu(self) -> dict:
        """Install the custom menu (填表 / 我的进度 / 帮助); once per account, or after changing it."""
        return await create_menu(self.api, agent_id=self.settings.wecom_agent_id if self.kind == "wecom" else None)

    async def start(self) -> None:
        log.info("%s channel at %s (%s mode)", self.name, self.path, self.mode)

    async def stop(self, grace: float = 10.0) -> None:
        """Let deliveries under way finish (bounded), store what is held, then close the HTTP session."""
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            _done, late = await asyncio.wait(pending, timeout=grace)
            for t in late:
                t.cancel()
        await self.book.close()
        await self.api.close()

    async def join(self, seconds: float = 10.0) -> None:
        """Wait until every delivery under way is done (tests)."""
        deadline = time.monotonic() + seconds
        while (pending := [t for t in self._tasks if not t.done()]) and time.monotonic() < deadline:
            await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _lock(self, user: str) -> asyncio.Lock:
        lock = self._locks.get(user)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user] = lock
        return lock

    # -- one delivery ---------------------------------------------------------------------------

    def _apology(self, user: str, busy: bool) -> Reply:
        """What a user is told when their message could not be handled (in their last known language)."""
        lang = self._langs.get(user, "zh_CN")
        text = (N_("系统暂时繁忙，这条消息没有保存。请稍后再发一次；之前的回答都已保存。") if busy else
                N_("抱歉，这条消息没有处理成功，请再发一次。之前的回答都已保存。"))
        return Reply(gettext(lang, text), language=lang)

    async def _run(self, job: Job, key: str, msg: dict[str, str], root) -> None:
        """One delivery (callbacks.py started it): in its turn, handled (inbound.py), planned (planning.py),
        `job.rendered` set for the passive reply, and the rest sent once the HTTP side has decided."""
        user = msg["FromUserName"]
        order = self.order
        seq = order.seq_of(msg) if order is not None else None
        leave: Callable[[], Awaitable[None]] | None = None  # entered: once applied, the next message may go
        try:
            # Written down before this process's own lock: the other processes see it waiting (order.py).
            verdict, written = GO, None
            # A message of theirs (events are not ordered): it opens the long window, written here.
            if order is not None and seq:
                opening = windows.open_window("message", self.clock()) if self.kind == "oa" else {}
                verdict, written = await order.enter(user, seq, opening)
                if verdict == GO:
                    leave = partial(order.leave, user, seq)
            async with self._lock(user):  # one delivery of a user at a time, in order
                held = self.book.take_held(user)  # computed earlier, neither sent nor stored: first
                waited: list[Reply] = []
                state: ChannelState | None = None
                try:
                    replies, waited, state = await self.inbound.handle(key, msg, root, late=verdict == LATE,
                                                                       written=written)
                except TRANSIENT as exc:  # the channel's own database calls, retried already
                    log.error("%s: database unavailable for %s: %s", self.name, for_log(msg), why(exc))
                    replies = [self._apology(user, busy=True)]
                except Exception:
                    log.exception("%s: failed to handle %s", self.name, for_log(msg))
                    replies = [self._apology(user, busy=False)]
                if replies:
                    self._langs[user] = replies[-1].language  # for a busy reply while the database is away
                plan = await self.planner.plan(user, replies, [*held, *waited], state)
                job.rendered.set_result(plan)
                if leave is not None:  # applied: the next message of theirs may go (after this reply is on its way)
                    left, leave = leave, None
                    await left()
                try:  # the HTTP side decides within its window; bounded in case it went away
                    await asyncio.wait_for(job.decided.wait(), self.reply_window + 2.0)
                except TimeoutError:
                    job.mode = job.mode or "api"
                messages = plan.messages
                if job.mode == "passive" and plan.passive is not None:
                    messages = messages[1:]
                if plan.left:
                    await self.book.keep(user, plan.left, "over one message's budget")
                if messages:
                    if job.mode == "passive":
                        await asyncio.sleep(self.overflow_delay)  # after the passive reply reaches the user
                    await self.delivery.deliver(user, messages, reason=f"reply to {key.split(':', 1)[-1]}",
                                                state=state)
        finally:
            if leave is not None:
                await leave()

    # -- unprompted messages (reminders) --------------------------------------------------------

    async def send(self, user_id: str, replies: Sequence[Reply]) -> bool:
        """Push replies. OA: a subscription notification when the user consented, else customer-service
        messages while a window is open (windows.py). WeCom: application messages. False: not delivered
        now; the caller keeps them for the user's next message (the reminder service's outbox)."""
        replies = list(replies)
        if not replies:
            return True
        async with self._lock(user_id):
            path, ok = await self.delivery.unprompted(user_id, replies)
            self.sent_via[path] += 1
            log.info("%s %s: reminder sent via %s", self.name, who(user_id), path)
            await self.book.count_via(user_id, path)
        return ok

    async def allowance(self, user_id: str, at: float | datetime | None = None) -> Allowance:
        """Whether, and how many, messages may be pushed to the user at `at` (default now) without a
        message of theirs to answer: WeChat's customer-service windows (windows.py), plus whether a
        subscription notification may go instead. WeCom: application messages, at most 30 a minute to
        one member (https://developer.work.weixin.qq.com/document/path/90454), not counted here."""
        at = self.clock() if at is None else at
        if self.kind == "wecom":
            start = windows._at(at)
            return Allowance(30, start + timedelta(minutes=1), "app")
        state = await self.book.read(user_id)
        a = windows.allowance(state, at)
        template = bool(self.settings.wechat_reminder_template_id)
        return a if template else Allowance(a.count, a.until, a.opened_by, notify=False)
