"""Incoming → words / screens → Replies, one commit per message.

- One commit per message: a message's rows are read in one statement, the dialog thinks in memory, and
  everything it changed is written in one transaction before the replies leave `handle` (storage/hot/).
- One message at a time per user: an asyncio lock in this process; across processes the conversation's
  version — a commit that finds another version writes nothing, and the message is handled again on the
  state the other process left.
- A repeated message id has one effect and gets the same replies (channels retry).
- A database that is briefly away is retried; a file that cannot be written is said so; a user never
  sees a traceback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import shutil
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime

from bot.campaigns.reminders import follow_pdf
from bot.config import PRIVATE_DIR, PRIVATE_FILE, Settings
from bot.dialogs import actions as a
from bot.dialogs import words
from bot.dialogs.state import ConversationState, Screen
from bot.documents.produce import PdfToFollow, ProducedCache
from bot.documents.render_queue import RenderQueue
from bot.documents.worker import render_pool
from bot.handlers import commands, menu, navigate
from bot.handlers.context import STALE, Ctx, FileWrite
from bot.handlers.form.draw import question
from bot.handlers.session import follow_items, open_session
from bot.i18n import N_, gettext, normalise_language
from bot.logsafe import who
from bot.messages import Incoming, Reply
from bot.metrics import Metrics
from storage.erase import erase_user
from storage.hot import transient_errors
from storage.store import Store, UserTx

log = logging.getLogger(__name__)

MAX_TEXT = 4000  # one message; long sections arrive in several
CONFLICT_TRIES = 20  # another process kept writing this user's conversation first
QUIET = 0.05  # seconds without a message: the next one is likely alone
ORDER_WINDOW = 600.0  # seconds within which a channel's numbers of one user's messages are compared


class FileWriteError(Exception):
    """A document or a received file could not be written (disk full, name too long, permissions)."""


class Engine:
    def __init__(self, store: Store, settings: Settings, now: Callable[[], datetime] | None = None,
                 retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 4.0), metrics: Metrics | None = None) -> None:
        self.store = store
        self.metrics = metrics or Metrics()  # answers and their latency, by channel (memory only: no statement)
        self.settings = settings
        self.now = now or (lambda: datetime.now(UTC))
        self.retry_delays = retry_delays
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()
        self.renderer = render_pool(settings.render_processes)  # its process starts at the first review
        # PostgreSQL: render workers make the files (`python -m bot worker`); it connects at the first review
        self.queue = RenderQueue(settings.effective_database_url) if settings.queue_renders else None
        self._made = ProducedCache(renderer=self.renderer, queue=self.queue, making=self.metrics.rendering)
        self._last: tuple[tuple[str, str], float] = (("", ""), 0.0)  # the last message's user, when it ended
        # called with its submission when a PDF that follows a confirm is made (serve: the reminder service's
        # pdf_made, which sends it)
        self.pdf_made: Callable[[int], None] | None = None

    def _lock(self, channel: str, user_id: str) -> asyncio.Lock:
        key = (channel, user_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def _alone(self, incoming: Incoming) -> bool:
        """Is this message likely the only one in hand? The same user as the last message, or the first in
        a quiet moment. Then the store reads and commits on this thread at once (a hop to its threads costs
        more than the work); with several users' messages interleaving it uses the threads, which commit
        many users' answers together."""
        (last, ended) = self._last
        return last == (incoming.channel, incoming.user_id) or time.monotonic() - ended > QUIET

    async def produce(self, form, answers, submission: int | None = None):
        return await self._made.get(form, answers, self.settings.pdf, submission)

    async def hand_over(self, form, answers, submission: int):
        """A confirm's files: the .docx at once when a render worker's PDF is not there within
        JIEBANG_CONFIRM_PDF_SECONDS; the PDF follows (`_follow`) where something sends it (`pdf_made`:
        serve's reminder service; the terminal waits for the PDF, as on SQLite)."""
        if self.pdf_made is None:
            return await self.produce(form, answers, submission)
        return await self._made.first(form, answers, self.settings.pdf, submission, self.settings.confirm_pdf_seconds)

    def _follow(self, pdfs: list[PdfToFollow]) -> None:
        """After the confirm's commit, which planned a row per PDF to send when it is made (any serve process
        sends it, bot/campaigns/reminders.py follow_pdf): a wake-up of this one's reminders when its wait for
        the PDF ends."""
        hook = self.pdf_made
        if hook is None:
            return
        for pdf in pdfs:
            making = self._made.task_of(pdf.version)
            if making is not None:
                making.add_done_callback(functools.partial(_tell, hook, pdf.submission))

    async def close(self) -> None:
        await self._made.close()
        if self.queue is not None:
            await self.queue.close()

    def prefetch(self, form, answers, submission: int | None = None) -> None:
        """Start making a form's files now (at its review), for the confirm that is likely to follow."""
        self._made.start(form, dict(answers), self.settings.pdf, submission)

    @staticmethod
    def word(text: str) -> tuple[str, str] | None:
        """The word that works at any question `text` is, as (name, argument) ("/start pudong" is ("start",
        "pudong")), or None for an answer: bot.dialogs.words, for a channel that writes a text of its own
        making for the engine and must know how it will be read (the channels never import the screens)."""
        return words.lookup(text)

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """The replies to one message (counted, with the time it took, in `metrics` by channel)."""
        started = time.perf_counter()
        replies = await self._handle(incoming)
        self.metrics.answered(incoming.channel, time.perf_counter() - started)
        return replies

    async def _handle(self, incoming: Incoming) -> list[Reply]:
        lang = normalise_language(incoming.language)
        async with self._lock(incoming.channel, incoming.user_id):
            delays = iter(self.retry_delays)
            attempt = conflicts = 0
            while True:
                attempt += 1
                self.store.hot.solo = self._alone(incoming)
                try:
                    replies = await self._handle_once(incoming)
                except transient_errors() as exc:
                    delay = next(delays, None)
                    if delay is None:
                        log.error("database unavailable, gave up after %d tries: %s", attempt, exc)
                        return [Reply(gettext(lang, N_("系统暂时繁忙，这条消息没有保存。请稍后再发一次；之前的回答都已保存。")),
                                      language=lang)]
                    log.warning("database error (try %d), retrying in %.1fs: %s", attempt, delay, exc)
                    await asyncio.sleep(delay)
                    continue
                except FileWriteError as exc:
                    log.error("%s/%s: %s", incoming.channel, who(incoming.user_id), exc)
                    return [Reply(gettext(lang, N_("文件没有保存成功，这条消息没有处理。请稍后再试；之前的回答都已保存。")),
                                  language=lang)]
                except Exception:
                    log.exception("failed to handle %s/%s message %s", incoming.channel, who(incoming.user_id),
                                  incoming.message_id)
                    return [Reply(gettext(lang, N_("抱歉，这条消息没有处理成功，请再发一次。之前的回答都已保存。")),
                                  language=lang)]
                finally:
                    self._last = ((incoming.channel, incoming.user_id), time.monotonic())
                if replies is not None:
                    return replies
                conflicts += 1  # another process wrote this user's conversation first: again, on its state
                if conflicts >= CONFLICT_TRIES:
                    log.error("%s/%s: gave up after %d conflicting commits", incoming.channel, who(incoming.user_id),
                              conflicts)
                    return [Reply(gettext(lang, N_("系统暂时繁忙，这条消息没有保存。请稍后再发一次；之前的回答都已保存。")),
                                  language=lang)]
                await asyncio.sleep(0.005 * conflicts)

    async def _handle_once(self, incoming: Incoming) -> list[Reply] | None:
        """The replies, committed; None when another process committed this user's conversation first."""
        tx = await self.store.begin(incoming.channel, incoming.user_id, normalise_language(incoming.language),
                                    incoming.message_id)
        if tx.replayed is not None:
            return tx.replayed
        ctx = self.context(tx, incoming)
        now = self.now().timestamp()
        recent = now - ctx.state.seq_at < ORDER_WINDOW
        if incoming.seq is not None and recent and incoming.seq < ctx.state.seq:
            routed = [self.late(ctx)]  # a later message was applied first (another process): not this one
        else:
            routed = await self.route(ctx)
            if incoming.seq is not None:
                # Telegram numbers updates in order, but after a week without any it starts anywhere
                # (Bot API, getUpdates): only messages minutes apart are compared.
                ctx.state.seq = max(ctx.state.seq, incoming.seq) if recent else incoming.seq
                ctx.state.seq_at = now
        notes = await follow_items(ctx)  # a renamed 事项: its 申请书 follows
        if notes:
            routed.append(Reply("\n".join(notes)))
        replies = [dataclasses.replace(r, language=ctx.lang) for r in routed]
        if ctx.erase:
            await self.erase(tx)
            return replies
        replies = await tx.take_outbox() + replies
        tx.state = ctx.state.to_json()
        if ctx.writes:
            await asyncio.to_thread(_write_files, ctx.writes)
        if incoming.message_id:
            tx.remember(replies)
        if ctx.pdfs_to_follow:
            follow_pdf(tx, ctx.pdfs_to_follow, self.now())  # with the confirm's commit, or not at all
        if not await tx.commit():
            return None
        if ctx.pdfs_to_follow:
            self._follow(ctx.pdfs_to_follow)
        return replies

    async def erase(self, tx: UserTx) -> None:
        """删除我的数据: the user's rows, then their folders of documents and received files."""
        uid = await erase_user(self.store, tx.user.channel, tx.user.external_id)
        if uid is not None:
            await asyncio.to_thread(remove_user_files, self.settings, uid)

    def context(self, tx: UserTx, incoming: Incoming) -> Ctx:
        return Ctx(tx=tx, settings=self.settings, incoming=incoming, now=self.now,
                   state=ConversationState.from_json(tx.state), lang=tx.user.language, produce=self.produce,
                   prefetch=self.prefetch, hand_over=self.hand_over)

    async def route(self, ctx: Ctx) -> list[Reply]:
        """Length guard, the words that work anywhere, stale taps, then the current screen."""
        if len(ctx.text) > MAX_TEXT:
            return [await self.too_long(ctx)]
        act = ctx.tapped()
        if act is STALE:
            return [await navigate.resume(ctx, ctx.t(N_("这个问题已经过去了。当前是：")))]
        act = act or ctx.typed()
        word = words.named(act.name) if isinstance(act, a.Command) else None if act else words.lookup(ctx.text)
        if word is not None and ctx.state.drafting and word[0] not in words.WHILE_WRITING:
            word = None  # a paragraph that is just "进度" is text in a long section
        if word is not None:
            done = await commands.run(ctx, *word)
            if isinstance(done, list):
                return done
            act = done
        screen = ctx.state.screen
        if screen is None:  # a new user's first message, whatever it says: the greeting, who they are
            return [await menu.show(ctx)]
        return await navigate.handle(ctx, screen, act, ctx.text)

    def late(self, ctx: Ctx) -> Reply:
        said = ctx.text or ctx.t(N_("（按钮）"))
        return Reply(ctx.t(N_("这条消息比您后来发的消息晚到，没有保存：“{text}”。如还需要，请再发一次。"), text=said[:40]))

    async def too_long(self, ctx: Ctx) -> Reply:
        msg = "✗ " + ctx.t(N_("这条消息太长（{n}字），请分几次发送，每次不超过{max}字。"), n=len(ctx.text), max=MAX_TEXT)
        session = await open_session(ctx) if ctx.state.screen is Screen.ASK else None
        return question(session, msg) if session else Reply(msg)


def _tell(hook: Callable[[int], None], submission: int, _made: object) -> None:
    hook(submission)


def remove_user_files(settings: Settings, user_id: int) -> None:
    for root in (settings.documents_dir, settings.files_dir):
        shutil.rmtree(root / str(user_id), ignore_errors=True)


def _write_files(writes: list[FileWrite]) -> None:
    """Atomically each (a crash leaves no half file under the real name), before the commit that names them."""
    for w in writes:
        try:
            w.path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
            tmp = w.path.with_name(w.path.name + ".part")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)  # a firm's papers: 0600
            with os.fdopen(fd, "wb") as f:
                f.write(w.data)
            os.replace(tmp, w.path)
        except OSError as exc:
            raise FileWriteError(f"could not write {w.path.name}: {exc}") from exc
