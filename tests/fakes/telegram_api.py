"""A small fake Telegram Bot API server: real HTTP on 127.0.0.1, the real wire protocol.

    async with FakeBotAPI() as fake:
        settings = Settings(..., telegram_token=fake.token, telegram_api_base_url=fake.url)
        fake.push(fake.text_update(chat_id=1, text="/start"))
        ...
        fake.calls_of("sendMessage")

It keeps what a real server keeps and no more: pending updates (confirmed by `offset`), the messages
the bot sent (with their keyboards, so a test can tap them), the files either side sent, and every
call it answered. `fail_next("sendMessage", 1, retry_after=1)` answers the next call with 429;
`hold("download")` keeps every file download (or call of a method) waiting until `release("download")`.
Requests may be JSON, urlencoded or multipart, as the real server accepts.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

JSON_FIELDS = {"reply_markup", "commands", "scope", "allowed_updates", "entities", "caption_entities",
               "link_preview_options", "reply_parameters"}
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # field → (file name, bytes)
    at: float = field(default_factory=time.monotonic)
    status: int = 200

    @property
    def chat_id(self) -> int | None:
        raw = self.params.get("chat_id")
        return int(raw) if raw is not None and str(raw).lstrip("-").isdigit() else None


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


class FakeBotAPI:
    def __init__(self, token: str = "123:ABC", bot_username: str = "jiebang_test_bot") -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.calls: list[Call] = []
        self.pending: list[dict] = []
        self.pushed: list[dict] = []  # every update a test pushed, in order
        self.messages: dict[tuple[int, int], dict] = {}  # (chat, message id) → message as last edited
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id → (file path, bytes)
        self.webhook: dict[str, Any] | None = None
        self.commands: dict[str, list[dict]] = {}  # language_code ("" default) → commands
        self._failures: dict[str, list[Failure]] = {}
        self._held: dict[str, asyncio.Event] = {}  # method (or "download") → released when set
        self.waiting: dict[str, int] = {}  # how many requests wait on a hold now
        self._update_ids = itertools.count(1000)
        self._message_ids: dict[int, itertools.count] = {}
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ---- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> FakeBotAPI:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        self._wake.set()
        for held in self._held.values():
            held.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- what a test does -----------------------------------------------------------------------
    def fail_next(self, method: str, n: int = 1, *, retry_after: int | None = 1, status: int | None = None,
                  description: str | None = None) -> None:
        """Answer the next `n` calls of `method` with 429 + retry_after (or another error status)."""
        status = status or (429 if retry_after is not None else 400)
        text = description or (f"Too Many Requests: retry after {retry_after}" if status == 429 else "Bad Request")
        self._failures.setdefault(method, []).extend(
            Failure(status, text, retry_after if status == 429 else None) for _ in range(n))

    def hold(self, method: str) -> None:
        """Keep calls of `method` ("download" for file downloads) waiting until `release(method)`."""
        self._held[method] = asyncio.Event()

    def release(self, method: str) -> None:
        held = self._held.pop(method, None)
        if held is not None:
            held.set()

    async def _wait_if_held(self, method: str) -> None:
        held = self._held.get(method)
        if held is None:
            return
        self.waiting[method] = self.waiting.get(method, 0) + 1
        self._changed.set()
        try:
            await held.wait()
        finally:
            self.waiting[method] -= 1

    def push(self, *updates: dict) -> None:
        """Queue updates for getUpdates (several at once arrive in one batch)."""
        self.pending.extend(updates)
        self.pushed.extend(updates)
        self._wake.set()

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _user(self, chat_id: int, language: str | None) -> dict:
        user = {"id": chat_id if chat_id > 0 else 4242, "is_bot": False, "first_name": "测试用户"}
        if language:
            user["language_code"] = language
        return user

    def _chat(self, chat_id: int, chat_type: str) -> dict:
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": "测试用户"}
        return {"id": chat_id, "type": chat_type, "title": "测试群"}

    def _user_message(self, chat_id: int, language: str | None, chat_type: str, **content: Any) -> dict:
        msg = {"message_id": self._next_message_id(chat_id), "date": int(time.time()),
               "chat": self._chat(chat_id, chat_type), "from": self._user(chat_id, language), **content}
        self.messages[(chat_id, msg["message_id"])] = msg
        return msg

    def text_update(self, chat_id: int, text: str, *, language: str | None = "zh-hans", chat_type: str = "private",
                    update_id: int | None = None) -> dict:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": update_id or next(self._update_ids),
                "message": self._user_message(chat_id, language, chat_type, **content)}

    def add_file(self, data: bytes, path: str) -> str:
        file_id = f"F{next(self._file_ids)}"
        self.files[file_id] = (path, data)
        return file_id

    def document_update(self, chat_id: int, data: bytes, file_name: str, *, caption: str | None = None,
                        mime_type: str = "application/pdf", file_size: int | None = None,
                        language: str | None = "zh-hans") -> dict:
        file_id = self.add_file(data, f"documents/{file_name}")
        doc = {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_name": file_name,
               "mime_type": mime_type, "file_size": len(data) if file_size is None else file_size}
        content: dict[str, Any] = {"document": doc}
        if caption:
            content["caption"] = caption
        return {"update_id": next(self._update_ids), "message": self._user_message(chat_id, language, "private",
                                                                                    **content)}

    def photo_update(self, chat_id: int, data: bytes, *, caption: str | None = None,
                     language: str | None = "zh-hans") -> dict:
        small = self.add_file(data[:10], "photos/small.jpg")
        big = self.add_file(data, "photos/big.jpg")
        sizes = [{"file_id": small, "file_unique_id": f"U{small}", "width": 90, "height": 90, "file_size": 10},
                 {"file_id": big, "file_unique_id": f"U{big}", "width": 1280, "height": 960,
                  "file_size": len(data)}]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return {"update_id": next(self._update_ids), "message": self._user_message(chat_id, language, "private",
                                                                                    **content)}

    def callback_update(self, chat_id: int, message_id: int, data: str, *, language: str | None = "zh-hans",
                        update_id: int | None = None) -> dict:
        """A tap on a button of a message the bot sent (the message as it looks now)."""
        message = self.messages[(chat_id, message_id)]
        return {"update_id": update_id or next(self._update_ids),
                "callback_query": {"id": f"cb{next(self._callback_ids)}", "from": self._user(chat_id, language),
                                   "chat_instance": f"ci{chat_id}", "message": message, "data": data}}

    async def deliver_webhook(self, update: dict, secret: str | None = None) -> int:
        """POST an update to the webhook the bot set, as Telegram does; returns the HTTP status."""
        assert self.webhook is not None, "the bot has not called setWebhook"
        token = self.webhook.get("secret_token") if secret is None else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        async with aiohttp.ClientSession() as s, s.post(self.webhook["url"], json=update, headers=headers) as r:
            await r.read()
            return r.status

    # ---- what a test reads --------------------------------------------------------------------
    def calls_of(self, *methods: str, chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method in methods and c.status == 200
                and (chat_id is None or c.chat_id == chat_id)]

    def bot_messages(self, chat_id: int) -> list[dict]:
        """Messages the bot sent to a chat, as they look now (edits applied), oldest first."""
        return [m for (c, _), m in sorted(self.messages.items()) if c == chat_id and m.get("from", {}).get("is_bot")]

    async def wait_for(self, predicate, seconds: float = 30.0, what: str = "condition") -> Any:
        """Wait until `predicate()` is truthy (re-checked after every call the server answers)."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    result = predicate()
                    if result:
                        return result
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"waited {seconds}s for {what}") from None

    # ---- the protocol -------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            params.update(await request.json())
            return params, files
        if request.method == "POST" and request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                else:
                    params[key] = value
        for key in JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                params[key] = json.loads(params[key])
        return params, files

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await self._params(request)
        call = Call(method, params, files)
        if request.match_info["token"] != self.token:
            return self._error(call, 401, "Unauthorized")
        await self._wait_if_held(method)
        queued = self._failures.get(method)
        if queued:
            f = queued.pop(0)
            extra = {"parameters": {"retry_after": f.retry_after}} if f.retry_after is not None else {}
            return self._error(call, f.status, f.description, **extra)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(call, 404, "Not Found: method not found")
        try:
            result = await handler(params, files)
        except _Conflict as e:
            return self._error(call, 409, str(e))
        except _Bad as e:
            return self._error(call, 400, f"Bad Request: {e}")
        # getUpdates is recorded after its wait, so a test sees the offset that confirmed updates
        self._record(call)
        return web.json_response({"ok": True, "result": result})

    def _error(self, call: Call, status: int, description: str, **extra: Any) -> web.Response:
        call.status = status
        self._record(call)
        return web.json_response({"ok": False, "error_code": status, "description": description, **extra},
                                 status=status)

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        await self._wait_if_held("download")
        for file_path, data in self.files.values():
            if file_path == path:
                self._record(Call("download", {"path": path}))
                return web.Response(body=data)
        return web.Response(status=404)

    def _bot_user(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": "揭榜助手", "username": self.bot_username}

    async def _m_getMe(self, p: dict, f: dict) -> dict:
        return {**self._bot_user(), "can_join_groups": False, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _m_getUpdates(self, p: dict, f: dict) -> list[dict]:
        if self.webhook is not None:
            raise _Conflict
        offset = int(p.get("offset") or 0)
        limit = int(p.get("limit") or 100)
        timeout = float(p.get("timeout") or 0)
        if offset:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]  # confirmed
        if not self.pending and timeout > 0:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass
        return self.pending[:limit]

    async def _m_deleteWebhook(self, p: dict, f: dict) -> bool:
        self.webhook = None
        if str(p.get("drop_pending_updates", "")).lower() == "true":
            self.pending.clear()
        return True

    async def _m_setWebhook(self, p: dict, f: dict) -> bool:
        secret = p.get("secret_token")
        if secret is not None and not (1 <= len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)):
            raise _Bad("secret token contains unallowed characters")
        self.webhook = {"url": p["url"], "secret_token": secret}
        return True

    async def _m_getWebhookInfo(self, p: dict, f: dict) -> dict:
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.pending)}

    async def _m_setMyCommands(self, p: dict, f: dict) -> bool:
        for c in p["commands"]:
            if not (1 <= len(c["command"]) <= 32 and 1 <= len(c["description"]) <= 256):
                raise _Bad("invalid command")
        self.commands[p.get("language_code") or ""] = p["commands"]
        return True

    def _check_markup(self, markup: dict | None) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for b in row:
                if "callback_data" in b and not 1 <= len(b["callback_data"].encode()) <= MAX_CALLBACK_DATA:
                    raise _Bad("BUTTON_DATA_INVALID")
                if not b.get("text"):
                    raise _Bad("button text is empty")

    def _new_bot_message(self, p: dict, **content: Any) -> dict:
        chat_id = int(p["chat_id"])
        msg = {"message_id": self._next_message_id(chat_id), "date": int(time.time()), "from": self._bot_user(),
               "chat": self._chat(chat_id, "private" if chat_id > 0 else "group"), **content}
        if p.get("reply_markup"):
            msg["reply_markup"] = p["reply_markup"]
        self.messages[(chat_id, msg["message_id"])] = msg
        return msg

    async def _m_sendMessage(self, p: dict, f: dict) -> dict:
        text = p.get("text") or ""
        if not text.strip():
            raise _Bad("message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise _Bad("message is too long")
        self._check_markup(p.get("reply_markup"))
        return self._new_bot_message(p, text=text)

    def _sent_file(self, p: dict, files: dict, field: str) -> tuple[str, bytes, dict]:
        """The file of a sendDocument / sendPhoto (a part of its own, or `attach://<part>`), checked as
        Telegram checks it, and the caption to keep (as message fields)."""
        ref = str(p.get(field) or "")
        if ref.startswith("attach://") and ref[9:] in files:  # a file posted as another part of the form
            files[field] = files[ref[9:]]
        if field not in files:
            raise _Bad(f"there is no {field} in the request")
        caption = p.get("caption")
        if caption and utf16_len(caption) > MAX_CAPTION:
            raise _Bad("message caption is too long")
        self._check_markup(p.get("reply_markup"))
        name, data = files[field]
        return name, data, ({"caption": caption} if caption else {})

    async def _m_sendDocument(self, p: dict, files: dict) -> dict:
        name, data, caption = self._sent_file(p, files, "document")
        file_id = self.add_file(data, f"documents/sent_{name}")
        doc = {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_name": name, "file_size": len(data)}
        return self._new_bot_message(p, document=doc, **caption)

    async def _m_sendPhoto(self, p: dict, files: dict) -> dict:
        """A picture as Telegram takes one: JPEG or PNG here, up to 10 MB, sides adding up to at most
        10,000 px and one at most 20 times the other; kept as sizes (a thumbnail and the whole)."""
        name, data, caption = self._sent_file(p, files, "photo")
        size = _image_size(data)
        if size is None:
            raise _Bad("IMAGE_PROCESS_FAILED")
        width, height = size
        if len(data) > 10 * 1024 * 1024 or width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise _Bad("PHOTO_INVALID_DIMENSIONS")
        big = self.add_file(data, f"photos/sent_{name}")
        sizes = [{"file_id": f"{big}s", "file_unique_id": f"U{big}s", "width": 90, "height": 90 * height // width},
                 {"file_id": big, "file_unique_id": f"U{big}", "width": width, "height": height,
                  "file_size": len(data)}]
        return self._new_bot_message(p, photo=sizes, **caption)

    def _message(self, p: dict) -> dict:
        key = (int(p["chat_id"]), int(p["message_id"]))
        if key not in self.messages:
            raise _Bad("message to edit not found")
        return self.messages[key]

    async def _m_editMessageReplyMarkup(self, p: dict, f: dict) -> dict:
        msg = self._message(p)
        markup = p.get("reply_markup") or None
        if markup == msg.get("reply_markup"):
            raise _Bad("message is not modified: specified new message content and reply markup are exactly "
                       "the same as a current content and reply markup of the message")
        self._check_markup(markup)
        msg.pop("reply_markup", None)
        if markup:
            msg["reply_markup"] = markup
        return msg

    async def _m_editMessageText(self, p: dict, f: dict) -> dict:
        msg = self._message(p)
        markup = p.get("reply_markup") or None
        if p["text"] == msg.get("text") and markup == msg.get("reply_markup"):
            raise _Bad("message is not modified")
        if utf16_len(p["text"]) > MAX_TEXT:
            raise _Bad("message is too long")
        self._check_markup(markup)
        msg["text"] = p["text"]
        msg.pop("reply_markup", None)
        if markup:
            msg["reply_markup"] = markup
        return msg

    async def _m_answerCallbackQuery(self, p: dict, f: dict) -> bool:
        return True

    CHAT_ACTIONS = ("typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
                    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note")

    async def _m_sendChatAction(self, p: dict, f: dict) -> bool:
        if p.get("action") not in self.CHAT_ACTIONS:
            raise _Bad("wrong parameter action in request")
        return True

    async def _m_getFile(self, p: dict, f: dict) -> dict:
        file_id = p["file_id"]
        if file_id not in self.files:
            raise _Bad("invalid file_id")
        path, data = self.files[file_id]
        if len(data) > MAX_DOWNLOAD:
            raise _Bad("file is too big")
        return {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_size": len(data), "file_path": path}


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG (None for anything else)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
            i += 2 + length
    return None


class _Bad(Exception):
    pass


class _Conflict(_Bad):
    def __str__(self) -> str:
        return "Conflict: can't use getUpdates method while webhook is active"
