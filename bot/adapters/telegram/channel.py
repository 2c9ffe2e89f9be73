"""The TelegramChannel: updates received (long polling or a webhook), each chat's in order, and handled.

- Lifecycle: `start` (getMe, the command menu, setWebhook or deleteWebhook and the polling task) and
  `stop` (finish what was received, bounded; confirm what was handled; close).
- Polling confirms an update (the next getUpdates offset) only once it is handled; the updates after one
  still in hand come back with every poll and are skipped; one in hand past `hold_limit` is given up on
  and confirmed (`_next_offset`). A webhook request is answered once its update is handled.
- `_accept` queues an update for its chat's worker (a repeat within one run is dropped); the worker
  handles the chat's updates one after the other: a message (a file downloaded first, within 20 MB) or a
  button tapped (answered at once) goes to the engine as an `Incoming`, "typing…" shown while it takes a
  while, and its replies to `Delivery` (delivery.py). Group chats get the pointer to the private chat.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    GetUpdates,
    SendChatAction,
    SetMyCommands,
    SetWebhook,
    TelegramMethod,
)
from aiogram.types import BotCommand, CallbackQuery, Message, Update
from aiohttp import web

from bot.adapters.telegram.delivery import Delivery
from bot.adapters.telegram.outbox import Outbox
from bot.adapters.telegram.render import CHANNEL, COMMAND_DESCRIPTIONS, COMMANDS, channel_text, command_text
from bot.i18n import normalise_language
from bot.messages import Attachment, Incoming, Reply

if TYPE_CHECKING:
    from bot.app import App
    from bot.config import Settings

log = logging.getLogger("bot.adapters.telegram")  # the channel's one logger, whichever module logs

MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API's getFile limit
ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _first_line(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"[:200]


class TelegramChannel:
    """`TelegramChannel(app)`; `add_routes(web_app)` (webhook only), then `await start()` … `await stop()`."""

    name = CHANNEL

    def __init__(self, app: App, *, polling_timeout: int = 30, global_rate: float = 30.0, chat_rate: float = 1.0,
                 chat_burst: float = 3.0, drain_timeout: float = 10.0, max_download: int = MAX_DOWNLOAD,
                 busy_poll_interval: float = 0.5, hold_limit: float = 300.0, typing_after: float = 0.8) -> None:
        settings = app.settings
        if not settings.telegram_token:
            raise ValueError("TELEGRAM_TOKEN is not set: create a bot with @BotFather and put its token there")
        self.app = app
        self.engine = app.engine
        api = TelegramAPIServer.from_base(settings.telegram_api_base_url) if settings.telegram_api_base_url \
            else PRODUCTION
        self.bot = Bot(settings.telegram_token, session=AiohttpSession(api=api))
        self.outbox = Outbox(self.bot, global_rate=global_rate, chat_rate=chat_rate, chat_burst=chat_burst)
        self.delivery = Delivery(app, self.outbox)
        self.polling_timeout = polling_timeout
        self.busy_poll_interval = busy_poll_interval
        self.hold_limit = hold_limit
        self.drain_timeout = drain_timeout
        self.typing_after = typing_after  # seconds before a slow answer shows "typing…"
        self.max_download = max_download
        self.webhook_url = settings.telegram_webhook_url
        self.webhook_secret = settings.telegram_webhook_secret or self._derived_secret(settings)
        self._seen: OrderedDict[int, None] = OrderedDict()  # update ids received this run: a repeat is dropped
        self._unfinished: dict[int, float] = {}  # update id → when it came (monotonic), until handled
        self._done: dict[int, asyncio.Future] = {}  # update id → resolved once handled (webhook answers wait)
        self._overdue: set[int] = set()  # unfinished past hold_limit: already confirmed to Telegram
        self._last_update_id: int | None = None
        self._progress = asyncio.Event()  # set whenever an update is finished
        self._inbox: dict[int, deque[Update]] = {}  # chat → its updates, handled in order by one worker
        self._workers: set[asyncio.Task] = set()
        self._tasks: set[asyncio.Task] = set()  # callback answers, group notices
        self._told_groups: set[int] = set()
        self._polling: asyncio.Task | None = None
        self._stopping = False

    @staticmethod
    def _derived_secret(settings: Settings) -> str:
        """No TELEGRAM_WEBHOOK_SECRET: one derived from the app's secret (stable across restarts)."""
        if not settings.telegram_webhook_url:
            return ""
        key = settings.effective_secret().encode()
        return hmac.new(key, b"telegram-webhook", hashlib.sha256).hexdigest()

    # ---- lifecycle ----------------------------------------------------------------------------
    @property
    def webhook_path(self) -> str:
        path = urlparse(self.webhook_url).path
        return path if path and path != "/" else "/telegram"

    def add_routes(self, web_app: web.Application) -> None:
        """Webhook mode: the POST route Telegram calls. Long polling needs none."""
        if self.webhook_url:
            web_app.router.add_post(self.webhook_path, self._on_webhook)

    async def start(self) -> None:
        self._stopping = False
        try:
            me = await self.bot.me()
            log.info("telegram: bot @%s (%s)", me.username, "webhook " + self.webhook_url if self.webhook_url
                     else "long polling")
        except TelegramUnauthorizedError:
            await self.bot.session.close()
            raise ValueError("TELEGRAM_TOKEN was refused by the Bot API server (401 Unauthorized)") from None
        except TelegramAPIError as e:
            log.error("telegram: getMe failed (%s); carrying on, polling retries", e)
        await self._set_commands()
        if self.webhook_url:
            await self._call_logged(SetWebhook(url=self.webhook_url, secret_token=self.webhook_secret,
                                               allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False),
                                    "setWebhook")
        else:
            await self._call_logged(DeleteWebhook(drop_pending_updates=False), "deleteWebhook")
            self._polling = asyncio.create_task(self._poll(), name="telegram-polling")

    async def _set_commands(self) -> None:
        for lang, descriptions in COMMAND_DESCRIPTIONS.items():
            commands = [BotCommand(command=c, description=descriptions[c]) for c in COMMANDS]
            await self._call_logged(SetMyCommands(commands=commands, language_code=None if lang == "zh" else lang),
                                    f"setMyCommands {lang}")

    def _next_offset(self) -> int | None:
        """The getUpdates offset: confirms every update handled so far and none still in hand."""
        now = time.monotonic()
        held = []
        for uid, since in self._unfinished.items():
            if now - since < self.hold_limit:
                held.append(uid)
            elif uid not in self._overdue:
                self._overdue.add(uid)
                log.error("telegram: update %s has been in hand for over %.0fs; confirming it to Telegram so that "
                          "later updates keep coming", uid, self.hold_limit)
        if held:
            return min(held)
        return None if self._last_update_id is None else self._last_update_id + 1

    async def _poll(self) -> None:
        """Long polling, confirming only what is handled (see the package's docstring)."""
        delay = 1.0
        request_timeout = int(self.bot.session.timeout + self.polling_timeout)
        while not self._stopping:
            self._progress.clear()
            offset = self._next_offset()
            try:
                updates = await self.bot(GetUpdates(offset=offset, timeout=self.polling_timeout,
                                                    allowed_updates=ALLOWED_UPDATES), request_timeout=request_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # an outage, a 409 (another instance polls), a token revoked: keep trying
                log.error("telegram: getUpdates failed (%s); trying again in %.0fs", _first_line(e), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            delay = 1.0
            fresh = [u for u in updates if u.update_id not in self._seen]
            for update in fresh:
                self._accept(update)
            if not fresh and self._unfinished:
                # only updates still in hand came back: wait for one to finish, or a moment for other chats
                try:
                    await asyncio.wait_for(self._progress.wait(), self.busy_poll_interval)
                except TimeoutError:
                    pass

    async def stop(self) -> None:
        """Stop receiving, finish what was received (bounded), confirm what was handled to Telegram, close.
        What is still unhandled then stays on the Bot API server and comes again at the next start."""
        self._stopping = True
        if self._polling is not None:
            self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)
        if not await self.join(self.drain_timeout):
            log.warning("telegram: %d updates still unhandled at stop; Telegram will deliver them again",
                        len(self._unfinished))
        for task in (*self._workers, *self._tasks):
            task.cancel()
        await asyncio.gather(*self._workers, *self._tasks, return_exceptions=True)
        for done in self._done.values():  # webhook requests waiting on them answer 503: sent again later
            done.cancel()
        if self._polling is not None and self._last_update_id is not None:
            await self._confirm()
        self._polling = None
        await self.bot.session.close()

    async def _confirm(self) -> None:
        """Tell Telegram which updates are done (getUpdates with the offset), so a restart does not get
        them again; anything unhandled stays on the server."""
        offset = self._next_offset()
        try:
            await asyncio.wait_for(self.bot(GetUpdates(offset=offset, limit=1, timeout=0)), 5)
        except (TelegramAPIError, TimeoutError) as e:
            log.warning("telegram: could not confirm updates below %s: %s", offset, e)

    async def join(self, seconds: float = 10.0) -> bool:
        """Wait until every update received so far is handled and answered. False after `seconds`."""
        deadline = time.monotonic() + seconds
        while self._inbox or self._tasks:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    # ---- receiving ----------------------------------------------------------------------------
    async def _on_webhook(self, request: web.Request) -> web.Response:
        """POST from Telegram: 200 once the update is handled; 400 not an update; 403 wrong secret."""
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not self.webhook_secret or not hmac.compare_digest(given, self.webhook_secret.encode()):
            log.warning("telegram webhook: wrong secret token from %s", request.remote)
            return web.Response(status=403, text="Forbidden")
        if self._stopping:
            return web.Response(status=503, text="Stopping; send it again")
        try:
            update = Update.model_validate(json.loads(await request.read()), context={"bot": self.bot})
        except ValueError as e:  # not JSON, not UTF-8, not an update (pydantic's ValidationError is one too)
            log.warning("telegram webhook: a request that is not an update, answered 400 (%s)", _first_line(e))
            return web.Response(status=400, text="Bad Request")
        done = self._accept(update)
        try:
            await asyncio.shield(done)  # Telegram waits; a dropped connection does not stop the handling
        except asyncio.CancelledError:
            if not done.cancelled():
                raise
            return web.Response(status=503, text="Not handled; send it again")
        return web.json_response({})

    @staticmethod
    def _chat_of(update: Update) -> int | None:
        if update.message is not None:
            return update.message.chat.id
        if update.callback_query is not None:
            cq = update.callback_query
            return cq.message.chat.id if cq.message else cq.from_user.id
        return None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _accept(self, update: Update) -> asyncio.Future:
        """Queue an update for its chat's worker; never waits. The future resolves once it is handled."""
        uid = update.update_id
        in_hand = self._done.get(uid)
        if in_hand is not None:  # polled again while in hand, or Telegram retrying a webhook
            return in_hand
        done = asyncio.get_running_loop().create_future()
        if uid in self._seen:
            log.info("telegram: update %s delivered again; it has been handled", uid)
            done.set_result(True)
            return done
        self._seen[uid] = None
        while len(self._seen) > 10_000:
            self._seen.popitem(last=False)
        self._last_update_id = uid if self._last_update_id is None else max(self._last_update_id, uid)
        chat_id = self._chat_of(update)
        if chat_id is None:  # a kind of update this bot does not ask for
            done.set_result(True)
            return done
        if update.callback_query is not None:  # answered at once, before the engine and whatever the chat waits on
            self._spawn(self._answer_callback(update.callback_query))
        self._unfinished[uid] = time.monotonic()
        self._done[uid] = done
        queue = self._inbox.get(chat_id)
        if queue is None:
            queue = self._inbox[chat_id] = deque()
            task = asyncio.create_task(self._chat_worker(chat_id, queue), name=f"telegram-chat-{chat_id}")
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)
        queue.append(update)
        return done

    def _finish(self, uid: int) -> None:
        self._unfinished.pop(uid, None)
        self._overdue.discard(uid)
        done = self._done.pop(uid, None)
        if done is not None and not done.done():
            done.set_result(True)
        self._progress.set()

    async def _chat_worker(self, chat_id: int, queue: deque[Update]) -> None:
        try:
            while queue:
                update = queue[0]
                try:
                    await self._handle(update)
                except asyncio.CancelledError:
                    raise  # stopped mid-way: left unconfirmed, Telegram delivers it again
                except Exception:  # handled, badly: logged, and not retried forever
                    log.exception("telegram: update %s for chat %s failed", update.update_id, chat_id)
                queue.popleft()
                self._finish(update.update_id)
        finally:
            if self._inbox.get(chat_id) is queue:
                del self._inbox[chat_id]

    async def _handle(self, update: Update) -> None:
        if update.message is not None:
            await self._handle_message(update.update_id, update.message)
        elif update.callback_query is not None:
            await self._handle_callback(update.update_id, update.callback_query)

    async def _language(self, chat_id: int, hint: str | None) -> str:
        user = await self.app.store.user(CHANNEL, str(chat_id))
        return user.language if user is not None else normalise_language(hint)

    async def _handle_message(self, update_id: int, message: Message) -> None:
        chat_id = message.chat.id
        hint = message.from_user.language_code if message.from_user else None
        where = f"update {update_id}"
        if message.chat.type != "private":
            if chat_id not in self._told_groups:
                self._told_groups.add(chat_id)
                notice = Reply(channel_text("group", normalise_language(hint)))
                await self.delivery.deliver(chat_id, [notice], where=where)
            return
        attachment = None
        file = message.document or (max(message.photo, key=lambda p: p.file_size or 0) if message.photo else None)
        if file is not None:
            size = file.file_size or 0
            if size > self.max_download:
                lang = await self._language(chat_id, hint)
                too_big = Reply(channel_text("too_big", lang, mb=size / 1024 / 1024))
                await self.delivery.deliver(chat_id, [too_big], where=where)
                return
            try:
                attachment = await self._download(message)
            except (TelegramAPIError, OSError, ValueError) as e:
                log.error("telegram: %s: download failed: %s", where, e)
                lang = await self._language(chat_id, hint)
                failed = Reply(channel_text("download_failed", lang))
                await self.delivery.deliver(chat_id, [failed], where=where)
                return
        incoming = Incoming(channel=CHANNEL, user_id=str(chat_id), text=command_text(message.text or message.caption
                                                                                     or ""),
                            message_id=f"u{update_id}", attachment=attachment, language=hint, seq=update_id)
        async with self._typing(chat_id):
            replies = await self.engine.handle(incoming)
        await self.delivery.deliver(chat_id, replies, where=where)

    async def _download(self, message: Message) -> Attachment:
        if message.document is not None:
            doc = message.document
            file_id, name = doc.file_id, doc.file_name or f"{doc.file_unique_id}"
            mime = doc.mime_type or "application/octet-stream"
        else:
            photo = max(message.photo or [], key=lambda p: p.file_size or 0)
            file_id, name, mime = photo.file_id, f"photo_{photo.file_unique_id}.jpg", "image/jpeg"
        buffer = io.BytesIO()
        await self.bot.download(file_id, destination=buffer, timeout=120)
        return Attachment(filename=name, data=buffer.getvalue(), mime=mime)

    async def _answer_callback(self, cq: CallbackQuery) -> None:
        chat = cq.message.chat if cq.message else None
        text = None
        if chat is not None and chat.type != "private":
            text = channel_text("group", normalise_language(cq.from_user.language_code))
        try:
            await self.outbox.call(AnswerCallbackQuery(callback_query_id=cq.id, text=text),
                                   chat_id=chat.id if chat else None, paced=False)
        except TelegramAPIError as e:  # too late (over ~15 s) or already answered: nothing to do
            log.info("telegram: answerCallbackQuery %s: %s", cq.id, e)

    async def _handle_callback(self, update_id: int, cq: CallbackQuery) -> None:
        msg = cq.message
        chat_id = msg.chat.id if msg else cq.from_user.id
        if msg is not None and msg.chat.type != "private":
            return
        incoming = Incoming(channel=CHANNEL, user_id=str(chat_id), payload=cq.data or "", message_id=f"u{update_id}",
                            seq=update_id,
                            language=cq.from_user.language_code)
        async with self._typing(chat_id):
            replies = await self.engine.handle(incoming)
        tapped = msg if isinstance(msg, Message) else None  # InaccessibleMessage: too old to edit
        await self.delivery.deliver(chat_id, replies, tapped=tapped, where=f"update {update_id}")

    @asynccontextmanager
    async def _typing(self, chat_id: int) -> AsyncIterator[None]:
        """While a message takes a while (a form's documents: LibreOffice can take seconds), the chat shows
        "typing…" (Telegram shows an action for 5 s, so it is sent again every 4 s); a quick answer sends
        nothing."""

        async def keep_typing() -> None:
            await asyncio.sleep(self.typing_after)
            while True:
                try:
                    await self.outbox.call(SendChatAction(chat_id=chat_id, action="typing"), chat_id=chat_id,
                                           paced=False)
                except TelegramAPIError as e:
                    log.debug("telegram: chat action for %s: %s", chat_id, e)
                await asyncio.sleep(4.0)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    # ---- sending ------------------------------------------------------------------------------
    async def send(self, user_id: str, replies: Sequence[Reply]) -> bool:
        """Push replies unprompted (reminders). False if Telegram would not take all of them."""
        try:
            chat_id = int(user_id)
        except ValueError:
            log.error("telegram: %r is not a chat id; nothing sent", user_id)
            return False
        return await self.delivery.deliver(chat_id, list(replies), where="push", answer=False)

    async def _call_logged(self, method: TelegramMethod, what: str) -> Any:
        try:
            return await self.outbox.call(method, paced=False)
        except TelegramAPIError as e:
            log.error("telegram: %s failed: %s", what, e)
            return None

