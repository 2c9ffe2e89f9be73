"""The Telegram channel (aiogram 3): the same conversation as the terminal, with Telegram's controls.

- Updates arrive by long polling (default) or a webhook (TELEGRAM_WEBHOOK_URL). Each private chat's
  updates are handled in order by a worker of its own; chats do not wait for each other. Group chats
  get a polite pointer to the private chat and nothing else.
- Nothing received is lost to a crash. Polling confirms an update to the Bot API (the next getUpdates
  offset) only once it is handled: the engine committed it and its replies went out. A process killed
  before that gets it again at its next start. So the offset never passes an update still in hand; the
  updates after it come back with every poll and are skipped here, and while only those come back the
  next poll waits for one to finish (or `busy_poll_interval`, so other chats' new messages still come
  in). An update in hand for over `hold_limit` seconds (a hang) is given up on and confirmed, so one
  stuck update cannot stop the bot. A webhook request is answered 200 only once its update is handled
  (503 if the channel stopped first: Telegram sends it again); with the right secret, a body that is not
  an update is answered 400 and logged in one line; a wrong or missing secret 403.
- `Incoming.message_id` is `u<update_id>`: the engine stores it, so an update has one effect even if
  Telegram delivers it again after a restart (its replies are sent again); a repeat within one run is
  dropped here.
- Choices are inline keyboards; multi-select buttons show ☑/☐ and a tap re-draws the same message's
  keyboard. Whether to re-draw is read off the reply alone — a multi-select reply with the tapped
  keyboard's labels (and the same question, where known) — never off a button's payload, which is the
  engine's. A tapped keyboard is answered at once (answerCallbackQuery) and taken off its message, so it
  cannot be tapped twice into two answers; so are the keyboards of earlier questions.
- Replies longer than 4096 characters are split at line breaks (the keyboard on the last part); a finished
  form is sent as a document with a caption of at most 1024 characters.
- A reply with a page (`Reply.page`: 我的文件, a form's full review) ends with one line linking to it
  (`bot.web.page_url`, in the user's language); one that would need several messages and has a summary
  is sent as the summary and that link instead. No JIEBANG_PUBLIC_URL: no link, the text as it is.
  A reply's picture (`Reply.image`, page 1 of the form as it will print) goes as a photo (sendPhoto),
  before its documents, or carrying the text as its caption when the reply has no documents.
- Every call that sends something goes through one `Outbox`: about 30 calls a second overall and one
  message a second per chat (a short burst allowed; `bot.adapters.ratelimit`); a 429 is waited out
  (`retry_after`) and the call repeated, never dropped; any other error is logged with the update it
  answered and the bot carries on.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    EditMessageReplyMarkup,
    EditMessageText,
    GetUpdates,
    SendChatAction,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    SetWebhook,
    TelegramMethod,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp import web

from bot.adapters.base import numbered
from bot.adapters.ratelimit import TokenBucket
from bot.i18n import normalise_language
from bot.messages import Attachment, Incoming, Reply
from bot.web.pagelinks import with_page_link

if TYPE_CHECKING:
    from bot.app import App
    from bot.config import Settings

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096  # Telegram counts UTF-16 code units
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API's getFile limit
ALLOWED_UPDATES = ["message", "callback_query"]
TICKED, UNTICKED = "☑ ", "☐ "

COMMANDS = ("start", "status", "files", "help", "cancel", "lang")
COMMAND_DESCRIPTIONS = {
    "zh": {"start": "开始 / 选择要填写的表格", "help": "帮助：随时可用的指令", "status": "我的进度：已填和缺少的项目",
           "files": "我的文件：再发一次已生成的表格", "cancel": "暂停填写（答案都会保留）", "lang": "切换语言 中文 / English"},
    "en": {"start": "Start / choose a form", "help": "Help: words that work at any question",
           "status": "Where am I: what is filled in and what is missing",
           "files": "My documents: the finished forms again", "cancel": "Pause (every answer is kept)",
           "lang": "Switch language 中文 / English"},
}
TEXTS = {
    "group": {
        "zh": "您好！为保护贵单位的资料，表格只在私聊中填写：请点我的头像，再点“发消息”。",
        "en": "Hello! To keep your company's answers private, forms are filled in a private chat only: "
              "tap my name, then “Send message”.",
    },
    "too_big": {
        "zh": "这个文件有 {mb:.1f} MB，超过了 Telegram 机器人能接收的 20 MB。请压缩后再发，或分成几个文件发送。",
        "en": "This file is {mb:.1f} MB, more than the 20 MB a Telegram bot can receive. "
              "Please compress it or send it in several parts.",
    },
    "download_failed": {
        "zh": "抱歉，文件没有收到，请再发一次。之前的回答都已保存。",
        "en": "Sorry, the file did not come through. Please send it again; your answers are all saved.",
    },
}


def _text(key: str, lang: str, **params: Any) -> str:
    table = TEXTS[key]
    return table["en" if lang == "en" else "zh"].format(**params)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> tuple[str, str]:
    """The longest head of `text` within `limit` UTF-16 units, and the rest."""
    if utf16_len(text) <= limit:
        return text, ""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:i], text[i:]
    return text, ""


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split at line breaks into parts within `limit`; a single longer line is cut where it must be."""
    parts: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        while utf16_len(line) > limit:
            if current is not None:
                parts.append(current)
                current = None
            head, line = _cut(line, limit)
            parts.append(head)
        candidate = line if current is None else f"{current}\n{line}"
        if utf16_len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current or "")
            current = line
    if current is not None:
        parts.append(current)
    return [p.strip("\n") for p in parts if p.strip()]


def caption_of(text: str) -> str:
    """One line for a document's caption: the first non-empty line, within 1024."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    head, rest = _cut(first, MAX_CAPTION)
    return head if not rest else _cut(first, MAX_CAPTION - 1)[0] + "…"


def command_text(text: str) -> str:
    """`/help@jiebang_bot` → `/help`: our commands as the engine knows them; other text as is. A deep link
    (t.me/<bot>?start=sme_pudong) arrives as `/start sme_pudong` and keeps its payload."""
    if not text.startswith("/"):
        return text
    head, _, rest = text.partition(" ")
    word = head[1:].split("@", 1)[0].lower()
    if word not in COMMANDS:
        return text
    payload = rest.strip()
    return f"/start {payload}" if word == "start" and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", payload) else f"/{word}"


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard; None when it has none (or a payload is too long)."""
    if not reply.buttons:
        return None
    for b in reply.buttons:
        if not 1 <= len(b.payload.encode()) <= MAX_CALLBACK_DATA:
            log.error("button payload over %d bytes, sending numbered lines instead: %r", MAX_CALLBACK_DATA, b.payload)
            return None
    buttons = [InlineKeyboardButton(text=_label(b.label, b.selected), callback_data=b.payload) for b in reply.buttons]
    per_row = 2 if all(len(b.label) <= 8 for b in reply.buttons) and not reply.multi else 1
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i:i + per_row] for i in range(0, len(buttons), per_row)])


def _label(label: str, selected: bool | None) -> str:
    if selected is None:
        return label
    return (TICKED if selected else UNTICKED) + label


def _unmark(text: str) -> str:
    return text.removeprefix(TICKED).removeprefix(UNTICKED)


def _markup_labels(markup: InlineKeyboardMarkup | None) -> list[str]:
    return [b.text for row in (markup.inline_keyboard if markup else []) for b in row]



class Outbox:
    """The one way out: every call that sends something waits its turn here.

    Overall `global_rate` calls a second; messages to one chat `chat_rate` a second (`chat_burst` at
    once). A 429 is waited out and the same call made again — never dropped; a network or server error
    is retried a few times; anything else is raised to the caller, which logs it and carries on.
    """

    def __init__(self, bot: Bot, *, global_rate: float = 30.0, chat_rate: float = 1.0, chat_burst: float = 3.0,
                 network_retries: int = 3) -> None:
        self.bot = bot
        self.global_bucket = TokenBucket(global_rate, global_rate)
        self.chat_rate, self.chat_burst = chat_rate, chat_burst
        self.network_retries = network_retries
        self._chats: dict[int, TokenBucket] = {}

    def _chat(self, chat_id: int) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) > 10_000:  # forget chats whose bucket has filled up again
                self._chats = {k: b for k, b in self._chats.items() if not b.idle()}
            bucket = self._chats[chat_id] = TokenBucket(self.chat_rate, self.chat_burst)
        return bucket

    async def call(self, method: TelegramMethod, *, chat_id: int | None = None, paced: bool = True) -> Any:
        """Make one Bot API call in turn. `paced`: counts against the chat's one-a-second budget."""
        failures = 0
        while True:
            if paced and chat_id is not None:
                await self._chat(chat_id).take()
            await self.global_bucket.take()
            try:
                return await self.bot(method)
            except TelegramRetryAfter as e:
                log.warning("telegram %s to chat %s: 429, waiting %ss and sending again", method.__api_method__,
                            chat_id, e.retry_after)
                if chat_id is not None:
                    self._chat(chat_id).pause(e.retry_after)
                await asyncio.sleep(e.retry_after)
            except (TelegramNetworkError, TelegramServerError) as e:
                failures += 1
                if failures > self.network_retries:
                    raise
                delay = min(0.5 * 2 ** failures, 10.0)
                log.warning("telegram %s to chat %s failed (%s), retry %d in %.1fs", method.__api_method__, chat_id,
                            e, failures, delay)
                await asyncio.sleep(delay)


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
        self._send_locks: dict[int, asyncio.Lock] = {}
        self._keyboards: dict[int, dict[int, str]] = {}  # chat → our messages still showing a keyboard → step
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
        """Long polling, confirming only what is handled (see the module's docstring)."""
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
                await self._deliver(chat_id, [Reply(_text("group", normalise_language(hint)))], where=where)
            return
        attachment = None
        file = message.document or (max(message.photo, key=lambda p: p.file_size or 0) if message.photo else None)
        if file is not None:
            size = file.file_size or 0
            if size > self.max_download:
                lang = await self._language(chat_id, hint)
                await self._deliver(chat_id, [Reply(_text("too_big", lang, mb=size / 1024 / 1024))], where=where)
                return
            try:
                attachment = await self._download(message)
            except (TelegramAPIError, OSError, ValueError) as e:
                log.error("telegram: %s: download failed: %s", where, e)
                lang = await self._language(chat_id, hint)
                await self._deliver(chat_id, [Reply(_text("download_failed", lang))], where=where)
                return
        incoming = Incoming(channel=CHANNEL, user_id=str(chat_id), text=command_text(message.text or message.caption
                                                                                     or ""),
                            message_id=f"u{update_id}", attachment=attachment, language=hint, seq=update_id)
        async with self._typing(chat_id):
            replies = await self.engine.handle(incoming)
        await self._deliver(chat_id, replies, where=where)

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
            text = _text("group", normalise_language(cq.from_user.language_code))
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
        await self._deliver(chat_id, replies, tapped=tapped, where=f"update {update_id}")

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
        return await self._deliver(chat_id, list(replies), where="push", answer=False)

    def _send_lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._send_locks.get(chat_id)
        if lock is None:
            if len(self._send_locks) > 10_000:
                self._send_locks = {k: v for k, v in self._send_locks.items() if v.locked()}
            lock = self._send_locks[chat_id] = asyncio.Lock()
        return lock

    async def _deliver(self, chat_id: int, replies: Sequence[Reply], *, where: str, tapped: Message | None = None,
                       answer: bool = True) -> bool:
        """Render replies in order. `answer`: they answer the user's last message, so earlier keyboards go."""
        async with self._send_lock(chat_id):
            in_place = False
            if tapped is not None and tapped.reply_markup is not None:
                in_place = self._toggles_in_place(chat_id, tapped, replies)
                if not in_place:
                    await self._remove_keyboard(chat_id, tapped.message_id, where)
            if answer:
                for message_id in self._keyboards.pop(chat_id, {}):
                    if tapped is None or message_id != tapped.message_id:
                        await self._remove_keyboard(chat_id, message_id, where)
            if in_place and tapped is not None:
                return await self._redraw(chat_id, tapped, replies[0], where)
            ok = True
            for reply in replies:
                ok = await self._send_reply(chat_id, reply, where) and ok
            return ok

    def _toggles_in_place(self, chat_id: int, tapped: Message, replies: Sequence[Reply]) -> bool:
        """A multi-select toggle: the same question comes back with new ticks, to draw on the same message.
        Read off the reply: one multi-select reply whose buttons have the tapped keyboard's labels (and,
        where this run drew that keyboard, the same step)."""
        if len(replies) != 1 or not replies[0].multi or replies[0].all_documents():
            return False
        reply = replies[0]
        old = _markup_labels(tapped.reply_markup)
        if not any(x.startswith((TICKED, UNTICKED)) for x in old):
            return False
        drawn_for = self._keyboards.get(chat_id, {}).get(tapped.message_id)
        if drawn_for and reply.step and drawn_for != reply.step:
            return False
        return [_unmark(x) for x in old] == [b.label for b in reply.buttons] and utf16_len(reply.text) <= MAX_TEXT

    async def _redraw(self, chat_id: int, tapped: Message, reply: Reply, where: str) -> bool:
        markup = keyboard(reply)
        old_text = tapped.text or ""
        if markup is not None and old_text.endswith(reply.text):
            method: TelegramMethod = EditMessageReplyMarkup(chat_id=chat_id, message_id=tapped.message_id,
                                                            reply_markup=markup)
        else:
            method = EditMessageText(chat_id=chat_id, message_id=tapped.message_id,
                                     text=reply.text if markup else numbered(reply), reply_markup=markup)
        try:
            await self.outbox.call(method, chat_id=chat_id, paced=False)
        except TelegramBadRequest as e:
            if "not modified" not in str(e):
                log.warning("telegram: %s: could not redraw message %s (%s); sending it anew", where,
                            tapped.message_id, e)
                await self._remove_keyboard(chat_id, tapped.message_id, where)
                return await self._send_reply(chat_id, reply, where)
        except TelegramAPIError as e:
            log.error("telegram: %s: %s failed: %s", where, method.__api_method__, e)
            return False
        self._keyboards.setdefault(chat_id, {})[tapped.message_id] = reply.step
        return True

    async def _remove_keyboard(self, chat_id: int, message_id: int, where: str) -> None:
        try:
            await self.outbox.call(EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id), chat_id=chat_id,
                                   paced=False)
        except TelegramAPIError as e:  # already without keyboard, deleted, too old: nothing to tap anyway
            log.debug("telegram: %s: keyboard of message %s stays: %s", where, message_id, e)

    async def _send_reply(self, chat_id: int, reply: Reply, where: str) -> bool:
        markup = keyboard(reply)
        text = reply.text if markup is not None or not reply.buttons else numbered(reply)
        text = await with_page_link(self.app, CHANNEL, str(chat_id), reply, MAX_TEXT, utf16_len, text)
        docs = reply.all_documents()
        image = reply.image if reply.image is not None and reply.image.data else None
        parts = split_text(text) if text.strip() else []
        caption = ""
        if docs or image:
            if len(parts) == 1 and utf16_len(parts[0]) <= MAX_CAPTION:
                caption, parts = parts[0], []
            elif parts and docs:
                caption = caption_of(text)
        methods: list[SendMessage | SendPhoto | SendDocument] = [SendMessage(chat_id=chat_id, text=p) for p in parts]
        if image is not None:  # page 1 as it will print; it carries the text where no document does
            methods.append(SendPhoto(chat_id=chat_id, photo=BufferedInputFile(image.data, filename=image.filename),
                                     caption=caption if caption and not docs else None))
        for i, doc in enumerate(docs):
            methods.append(SendDocument(chat_id=chat_id, document=BufferedInputFile(doc.data, filename=doc.filename),
                                        caption=caption if i == 0 and caption else None))
        if not methods:
            return True
        methods[-1].reply_markup = markup  # the keyboard goes on the last part
        ok = True
        for method in methods:
            try:
                sent = await self.outbox.call(method, chat_id=chat_id)
            except TelegramAPIError as e:
                log.error("telegram: %s: %s to chat %s failed: %s", where, method.__api_method__, chat_id, e)
                ok = False
                continue
            if getattr(method, "reply_markup", None) is not None and isinstance(sent, Message):
                self._keyboards.setdefault(chat_id, {})[sent.message_id] = reply.step
        return ok

    async def _call_logged(self, method: TelegramMethod, what: str) -> Any:
        try:
            return await self.outbox.call(method, paced=False)
        except TelegramAPIError as e:
            log.error("telegram: %s failed: %s", what, e)
            return None


__all__ = ["TelegramChannel", "Outbox", "split_text", "keyboard", "command_text"]
