"""Incoming → handlers / form walker → Replies.

- One transaction per message: the answer is committed before the reply (and so the next question)
  leaves this function.
- One message at a time per user: an asyncio lock in this process, and the user's conversation row
  locked in the database for other processes.
- A repeated message id has one effect and gets the same replies (channels retry).
- A database that is briefly away is retried; a user never sees a traceback.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import weakref
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.campaigns import handlers as campaigns
from bot.config import Settings
from bot.context import COMMAND_PREFIX, Ctx
from bot.documents.produce import Produced, produce
from bot.handlers import commands as cmd
from bot.i18n import N_, gettext, normalise_language
from bot.messages import Incoming, Reply
from storage.store import Store

log = logging.getLogger(__name__)

MAX_TEXT = 4000  # one message; long sections arrive in several
TRANSIENT = (OperationalError, DBAPIError, PoolTimeout, ConnectionError, OSError)


class Engine:
    def __init__(self, store: Store, settings: Settings, now: Callable[[], datetime] | None = None,
                 retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 4.0)) -> None:
        self.store = store
        self.settings = settings
        self.now = now or (lambda: datetime.now(UTC))
        self.retry_delays = retry_delays
        self._reviewing: set[tuple[str, str]] = set()  # users looking at their answers, to confirm
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, channel: str, user_id: str) -> asyncio.Lock:
        key = (channel, user_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def handle(self, incoming: Incoming) -> list[Reply]:
        lang = normalise_language(incoming.language)
        async with self._lock(incoming.channel, incoming.user_id):
            produced = await self._prepare(incoming)
            for attempt, delay in enumerate((*self.retry_delays, None)):
                try:
                    return await self._handle_once(incoming, produced)
                except TRANSIENT as exc:
                    if delay is None:
                        log.error("database unavailable, gave up after %d tries: %s", attempt + 1, exc)
                        return [Reply(gettext(lang, N_("系统暂时繁忙，这条消息没有保存。请稍后再发一次；之前的回答都已保存。")),
                                      language=lang)]
                    log.warning("database error (try %d), retrying in %.1fs: %s", attempt + 1, delay, exc)
                    await asyncio.sleep(delay)
                except Exception:
                    log.exception("failed to handle %s/%s message %s", incoming.channel, incoming.user_id,
                                  incoming.message_id)
                    return [Reply(gettext(lang, N_("抱歉，这条消息没有处理成功，请再发一次。之前的回答都已保存。")),
                                  language=lang)]
        raise AssertionError("unreachable")

    async def _prepare(self, incoming: Incoming) -> Produced | None:
        """For a "confirm" tap, the form's files, made before the message's transaction opens: a PDF
        takes a second, and on SQLite a transaction holds the one writer's lock for everybody."""
        key = (incoming.channel, incoming.user_id)
        tapped = bool(incoming.payload and incoming.payload.endswith(":confirm"))
        if not tapped and key not in self._reviewing:  # typed "1"/"确认" only counts at the review
            return None
        try:
            async with self.store.user_tx(incoming.channel, incoming.user_id) as tx:
                if incoming.message_id and await tx.processed(incoming.message_id) is not None:
                    return None
                ctx = Ctx(tx=tx, settings=self.settings, incoming=incoming, now=self.now, lang=tx.user.language)
                action, stale = ctx.action_from(incoming)
                session = None if stale or action != "confirm" else await cmd.open_session(ctx)
                tx.state = copy.deepcopy(tx.conversation.state or {})  # a look, not a change
                if session is None or session.step() is not None:
                    return None
                form, answers = session.form, copy.deepcopy(session.answers)
            return await produce(form, answers, self.settings.pdf)
        except Exception:  # the transaction proper will render (and report) if this could not
            log.warning("could not prepare the documents ahead", exc_info=True)
            return None

    async def _handle_once(self, incoming: Incoming, produced: Produced | None = None) -> list[Reply]:
        hint = normalise_language(incoming.language)
        async with self.store.user_tx(incoming.channel, incoming.user_id, hint) as tx:
            if incoming.message_id:
                earlier = await tx.processed(incoming.message_id)
                if earlier is not None:
                    return earlier
            ctx = Ctx(tx=tx, settings=self.settings, incoming=incoming, now=self.now, lang=tx.user.language)
            if produced is not None:
                ctx.extras["produced"] = produced
            replies = list(await self.route(ctx))
            key = (incoming.channel, incoming.user_id)
            if ctx.state.get("mode") == "review":
                self._reviewing.add(key)
            else:
                self._reviewing.discard(key)
            replies = [dataclasses.replace(r, language=ctx.lang) for r in replies]
            waiting = await tx.take_outbox()
            replies = waiting + replies
            if incoming.message_id:
                tx.remember(incoming.message_id, replies)
        return replies

    async def route(self, ctx: Ctx) -> list[Reply]:
        inc = ctx.incoming
        text = inc.text.strip()
        t = ctx.t
        if len(text) > MAX_TEXT:
            session = await cmd.open_session(ctx)
            msg = "✗ " + t(N_("这条消息太长（{n}字），请分几次发送，每次不超过{max}字。"), n=len(text), max=MAX_TEXT)
            return [session.question(msg) if session and ctx.state.get("mode") == "ask" else Reply(msg)]
        action, stale = ctx.action_from(inc)
        if action is None and not stale and ctx.state.get("mode") == "menu" and not cmd.command_of(text):
            action = ctx.loose_action(text)  # "对接表", "我是中小企业"
        if stale:
            return [await self._resume(ctx, t(N_("这个问题已经过去了。当前是：")))]
        command = None if action else cmd.command_of(text)
        if inc.payload and inc.payload.startswith(COMMAND_PREFIX):
            command = cmd.command_of(inc.payload[len(COMMAND_PREFIX):]) or cmd.command_of("/" + inc.payload[4:])
        mode = ctx.state.get("mode")

        if action and action.startswith("role:"):
            role = action[5:]
            ctx.tx.update_prefs(role=None if role == "switch" else role)
            return [await cmd.menu(ctx)]
        if action and action.startswith("f:"):
            session = await cmd.open_session(ctx, action[2:])
            if session is None:
                return [await cmd.menu(ctx)]
            ctx.state.pop("at", None)
            return [session.question()]
        if command == "start" or (not ctx.state and not command):
            return [await cmd.menu(ctx)]
        if command in ("lang", "lang_en", "lang_zh"):
            new = {"lang_en": "en", "lang_zh": "zh_CN"}.get(command) or ("zh_CN" if ctx.lang == "en" else "en")
            ctx.tx.set_language(new)
            ctx.lang = new
            return [await self._resume(ctx, t(N_("已切换为中文。")) if new == "zh_CN" else
                                       ctx.t(N_("已切换为英文。")), greet=True)]
        if command == "resume":
            if not ctx.state:
                return [await cmd.menu(ctx)]
            return [await self._resume(ctx, t(N_("欢迎回来，您的答案都在。")))]
        if command == "files":
            files = await cmd.files_reply(ctx)
            if files is None:
                return [await self._resume(ctx, t(N_("还没有生成的文件：填完表格并确认后就会生成。")))]
            return [files, await self._resume(ctx, "")]
        if command == "help":
            return [await self._resume(ctx, cmd.help_text(ctx))]
        if command == "status":
            return [await self._resume(ctx, await campaigns.status_for(ctx.tx, ctx.lang, ctx.now()))]
        if not action:
            said = inc.payload[len(COMMAND_PREFIX):] if inc.payload and inc.payload.startswith(COMMAND_PREFIX) \
                else text
            said_reply = await campaigns.handle_text(ctx.tx, ctx.lang, said, ctx.now())
            if said_reply is not None:
                return [await self._resume(ctx, said_reply)]

        if mode == "menu" and not action and not command:
            return [await cmd.menu(ctx, "✗ " + t(N_("没有这个选项，请从下面选择：")))]
        session = await cmd.open_session(ctx)
        if session is None:
            if command in ("back", "skip", "edit", "preview", "cancel"):
                return [await cmd.menu(ctx, t(N_("还没有打开表格，请先选择：")))]
            return [await cmd.menu(ctx)]
        if mode == "cancel":
            if action == "cy":
                ctx.state["mode"] = "paused"
                return [Reply(t(N_("已暂停填写，答案都已保存。发送“开始”可继续。")))]
            if action == "cn":
                return [session.question()]
            command = command or "cancel"
        if command == "cancel":
            ctx.state["mode"] = "cancel"
            return [ctx.reply(t(N_("确定要暂停填写吗？已填的答案会保留。")),
                              [(t(N_("是，暂停")), "cy"), (t(N_("否，继续填写")), "cn")])]
        if command == "back":
            return [session.back()]
        if command == "skip":
            return [session.skip()]
        if command == "edit":
            return [session.edit_list()]
        if command == "preview":
            return [session.preview()]
        if action and action.startswith("e:"):
            return [session.pick_edit(action[2:])]
        if action and action.split(":", 1)[0] in ("g", "gd", "gu", "ga"):
            return [session.group_action(action)]
        if action == "edit":
            return [session.edit_list()]
        if mode == "edit" and not action:
            return [session.edit_list()]
        if action == "confirm":
            return [await session.confirm()]
        if mode in ("review", "done") or (mode == "paused" and session.step() is None):
            if action == "edit":
                return [session.edit_list()]
            return [session.review()]
        if mode in ("menu", "paused"):
            return [session.question()]
        return [session.answer(text, action)]

    async def _resume(self, ctx: Ctx, prefix: str, greet: bool = False) -> Reply:
        """`prefix`, then where the user stands: the current question, or the menu (with the greeting
        when `greet` and they have not chosen yet)."""
        mode = ctx.state.get("mode")
        if mode in ("ask", "review", "edit", "cancel"):
            session = await cmd.open_session(ctx)
            if session is not None:
                return session.question(prefix)
        return await cmd.menu(ctx, prefix, greet=greet)
