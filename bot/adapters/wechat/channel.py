"""The WeChat channels: an Official Account (公众号, kind "oa") and a WeCom app (企业微信, kind "wecom").

What a user sees:
- Following the account is `/start` (the greeting); menu clicks are `/start`, `/status`, `/help`.
- Every question is one message; choices are numbered lines, answered by number or by text.
- A voice answer is echoed back ("我听到的是：…。回复 1 确认，2 重说") and stored only once confirmed.
- A finished form arrives as a signed download link (OA), or as a file (WeCom).
- With the database away: "系统暂时繁忙…之前的回答都已保存", never a lost reply.

Who may post (guard.py): with an EncodingAESKey only encrypted, msg_signature-verified messages (unless
WECHAT_MODE=compatible); a timestamp within 5 minutes; each (timestamp, nonce) once. Logs never carry a
query string, an openid in full or a download token.

How replies travel: WeChat waits 5 s for the HTTP answer and retries 3 times. A reply that is ready
within `reply_window` (4.5 s) goes back passively (one message ≤ 2048 bytes); what does not fit or is
not ready in time continues through the customer-service API while a window is open (OA: windows.py)
or application messages (WeCom). What cannot be sent is put in the outbox, which the engine shows
before the next reply; with the database away it is held here (book.py). One delivery (MsgId, or
FromUserName:CreateTime:Event for events) has one effect: an in-process map of jobs answers retries,
and the engine remembers handled ids.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import jinja2
from aiohttp import web

from bot.adapters import links
from bot.adapters.base import numbered
from bot.adapters.wechat import windows
from bot.adapters.wechat.api import OUT_OF_TIME, QUOTA, ApiError, WeChatAPI
from bot.adapters.wechat.book import Book, who, why
from bot.adapters.wechat.crypto import CryptoError, MsgCrypt, check_signature
from bot.adapters.wechat.guard import TRANSIENT, Guard, Verdict, resolve_mode
from bot.adapters.wechat.windows import Allowance
from bot.adapters.wechat.xml import BadXml, fields, parse_element, template_statuses, text_reply
from bot.i18n import N_, gettext
from bot.messages import Document, Incoming, Reply
from storage.channel_models import ChannelState

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
TEXT_LIMIT = 2048  # bytes (UTF-8) of one passive reply / customer-service text
MENU = (("填表", "start"), ("我的进度", "status"), ("帮助", "help"))
MENU_COMMANDS = {"start": "/start", "resume": "/resume", "status": "/status", "help": "/help"}
CONFIRM = ("1", "确认", "对", "是")
RETRY = ("2", "重说", "不对", "否")


# -- the custom menu ------------------------------------------------------------------------------

def _width(name: str) -> int:
    return sum(1 if ord(c) < 128 else 2 for c in name)


def build_menu(items: Sequence[tuple[str, str | Sequence[tuple[str, str]]]] = MENU) -> dict:
    """The /cgi-bin/menu/create body. `items`: (name, key) for a click button, or (name, [(name, key)…])
    for a top button with a sub-menu. WeChat's limits: 3 top buttons of ≤ 4 汉字 (16 bytes), 5 under
    each of ≤ 8 汉字 (60 bytes), keys ≤ 128 bytes."""
    if not 1 <= len(items) <= 3:
        raise ValueError("a menu has 1 to 3 top buttons")

    def click(name: str, key: str, width: int, size: int) -> dict:
        if not name or _width(name) > width or len(name.encode()) > size:
            raise ValueError(f"menu name {name!r} is too long")
        if not key or len(key.encode()) > 128:
            raise ValueError(f"menu key {key!r} must be 1 to 128 bytes")
        return {"type": "click", "name": name, "key": key}

    buttons = []
    for name, value in items:
        if isinstance(value, str):
            buttons.append(click(name, value, 8, 16))
            continue
        if not 1 <= len(value) <= 5:
            raise ValueError(f"menu {name!r} has 1 to 5 sub-buttons")
        click(name, "x", 8, 16)
        buttons.append({"name": name, "sub_button": [click(n, k, 16, 60) for n, k in value]})
    return {"button": buttons}


async def create_menu(api: WeChatAPI, menu: dict | None = None, agent_id: str | None = None) -> dict:
    """Install the menu (/cgi-bin/menu/create; WeCom needs the agent id)."""
    return await api.create_menu(menu or build_menu(), agent_id=agent_id)


# -- rendering ------------------------------------------------------------------------------------

@dataclass
class Chunk:
    """One WeChat text message and the replies it carries (to outbox them whole if it fails)."""

    text: str
    sources: list[Reply] = field(default_factory=list)


def split_bytes(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of ≤ `limit` UTF-8 bytes, cut at line ends where possible."""
    if len(text.encode()) <= limit:
        return [text]
    pieces: list[str] = []
    cur = ""
    for line in text.split("\n"):
        while len(line.encode()) > limit:  # one very long line: cut by characters
            if cur:
                pieces.append(cur)
                cur = ""
            cut, size = 0, 0
            while cut < len(line) and size + len(line[cut].encode()) <= limit:
                size += len(line[cut].encode())
                cut += 1
            pieces.append(line[:cut])
            line = line[cut:]
        candidate = f"{cur}\n{line}" if cur else line
        if len(candidate.encode()) <= limit:
            cur = candidate
        else:
            pieces.append(cur)
            cur = line
    if cur:
        pieces.append(cur)
    return pieces


def merge(items: Sequence[tuple[str, Reply]], limit: int = TEXT_LIMIT) -> list[Chunk]:
    """As few messages as possible, each ≤ `limit` bytes: replies joined by a blank line."""
    chunks: list[Chunk] = []
    for text, source in items:
        for piece in split_bytes(text, limit):
            if chunks and len(f"{chunks[-1].text}\n\n{piece}".encode()) <= limit:
                chunks[-1].text = f"{chunks[-1].text}\n\n{piece}"
                if source not in chunks[-1].sources:
                    chunks[-1].sources.append(source)
            else:
                chunks.append(Chunk(piece, [source]))
    return chunks


def _unique(replies: Sequence[Reply]) -> list[Reply]:
    out: list[Reply] = []
    for r in replies:
        if not any(r is x for x in out):
            out.append(r)
    return out


# -- the channel ----------------------------------------------------------------------------------

@dataclass
class _Job:
    """One delivery from WeChat being handled; retries of it find it here."""

    rendered: asyncio.Future  # (chunks, files) once the engine has answered
    decided: asyncio.Event = field(default_factory=asyncio.Event)
    mode: str | None = None  # "passive": answered in the HTTP reply; "api": everything through the API
    task: asyncio.Task | None = None

    @property
    def passive(self) -> str | None:
        if not self.rendered.done() or self.rendered.cancelled() or self.rendered.exception():
            return None
        chunks, _files = self.rendered.result()
        return chunks[0].text if chunks else None


_SUBSCRIBE_PAGE = jinja2.Environment(
    loader=jinja2.PackageLoader("bot.adapters.wechat", "templates"), autoescape=True,
).get_template("subscribe.html")


def jsapi_signature(ticket: str, nonce: str, timestamp: str, url: str) -> str:
    """JS-SDK wx.config signature: sha1 of the four fields in this order, the URL without its #fragment."""
    raw = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url.split('#', 1)[0]}"
    return hashlib.sha1(raw.encode()).hexdigest()


def _forbidden() -> web.Response:
    return web.Response(status=403, text="forbidden")


def _bad() -> web.Response:
    return web.Response(status=400, text="bad request")


class WeChatChannel:
    """`WeChatChannel(app, kind="oa" | "wecom")`; `add_routes(web_app)` mounts the callback URL.

    `clock` (epoch seconds) is the channel's time for timestamps, windows and links; `retry_delays`
    bound the retries of its own database calls; `max_age` is how old a callback's timestamp may be."""

    def __init__(self, app, kind: str = "oa", *, reply_window: float = 4.5, overflow_delay: float = 0.3,
                 job_ttl: float = 300.0, clock: Callable[[], float] = time.time,
                 notification_data: Callable[[Sequence[Reply]], dict[str, str]] | None = None,
                 retry_delays: Sequence[float] = (0.2, 0.5, 1.0, 2.0), max_age: float = 300.0,
                 held_retry: float = 5.0) -> None:
        if kind not in ("oa", "wecom"):
            raise ValueError("kind is 'oa' or 'wecom'")
        self.app = app
        self.settings = s = app.settings
        self.kind = kind
        self.reply_window = reply_window
        self.overflow_delay = overflow_delay
        self.job_ttl = job_ttl
        self.notification_data = notification_data or default_notification_data
        if kind == "wecom":
            self.name = "wecom"
            self.token, aes_key, self.receive_id = s.wecom_token, s.wecom_encoding_aes_key, s.wecom_corp_id
            self.path = s.wecom_path
            self.api = WeChatAPI(s.wecom_api_base_url, "wecom", s.wecom_corp_id, s.wecom_secret)
            if not aes_key:
                raise ValueError("WeCom needs WECOM_ENCODING_AES_KEY (its callbacks are always encrypted)")
        else:
            self.name = "wechat"
            self.token, aes_key, self.receive_id = s.wechat_token, s.wechat_encoding_aes_key, s.wechat_app_id
            self.path = s.wechat_path
            self.api = WeChatAPI(s.wechat_api_base_url, "oa", s.wechat_app_id, s.wechat_app_secret)
        if not self.token:  # an empty token would let anyone compute the signature
            raise ValueError(f"{self.name}: set {'WECOM' if kind == 'wecom' else 'WECHAT'}_TOKEN")
        self.mode = resolve_mode(kind, getattr(s, "wechat_mode", ""), bool(aes_key))
        self.crypt = MsgCrypt(self.token, aes_key, self.receive_id) if aes_key else None
        self.guard = Guard(app.store, self.name, clock, max_age=max_age)
        self.book = Book(app.store, self.name, retry_delays, held_retry=held_retry)
        self.book.locks = self._lock
        self._clock = clock
        self.sent_via: Counter[str] = Counter()  # how `send` delivered: subscribe / custom / app / outbox
        self._jobs: dict[str, _Job] = {}
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tasks: set[asyncio.Task] = set()
        self._langs: dict[str, str] = {}

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:  # tests move time; the guard follows
        self._clock = clock
        self.guard.clock = clock

    # -- lifecycle ------------------------------------------------------------------------------

    def add_routes(self, web_app: web.Application) -> None:
        web_app.router.add_get(self.path, self._on_get)
        web_app.router.add_post(self.path, self._on_post)
        if self.kind == "oa":
            web_app.router.add_get(f"{self.path}/subscribe", self._on_subscribe_page)

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

    @staticmethod
    def _t(message: str, lang: str = "zh_CN", **params) -> str:
        """The channel's own lines, in the user's language once known (WeChat does not tell it)."""
        return gettext(lang, message, **params)

    # -- HTTP -----------------------------------------------------------------------------------

    async def _on_get(self, request: web.Request) -> web.Response:
        """URL verification. OA: plain signature, echostr back. WeCom: echostr encrypted, plaintext back
        (a decryption, so its timestamp must be fresh too)."""
        q = request.query
        ts, nonce, echostr = q.get("timestamp", ""), q.get("nonce", ""), q.get("echostr", "")
        if self.kind == "wecom":
            if not self.guard.fresh(ts):
                return _forbidden()
            try:
                plain = self.crypt.decrypt_verified(q.get("msg_signature"), ts, nonce, echostr)
            except CryptoError as exc:
                log.warning("wecom URL verification refused: %s", exc)
                return _forbidden()
            return web.Response(text=plain)
        if not check_signature(q.get("signature"), self.token, ts, nonce):
            return _forbidden()
        return web.Response(text=echostr)

    async def _read_body(self, request: web.Request) -> bytes | None:
        if request.content_length is not None and request.content_length > MAX_BODY:
            return None
        body = bytearray()
        while chunk := await request.content.readany():
            body += chunk
            if len(body) > MAX_BODY:
                return None
        return bytes(body)

    async def _on_post(self, request: web.Request) -> web.Response:
        q = request.query
        ts, nonce = q.get("timestamp", ""), q.get("nonce", "")
        if not self.guard.fresh(ts) or not nonce or len(nonce) > 64:
            log.info("%s: a callback with a stale or missing timestamp or nonce refused", self.name)
            return _forbidden()
        if self.kind == "oa" and not check_signature(q.get("signature"), self.token, ts, nonce):
            return _forbidden()
        body = await self._read_body(request)
        if body is None:
            return web.Response(status=413, text="too large")
        try:
            root = parse_element(body)
        except BadXml as exc:
            log.info("%s: malformed XML refused: %s", self.name, exc)
            return _bad()
        outer = fields(root)
        encrypted = False
        if self.crypt is not None and outer.get("Encrypt"):
            if not self.crypt.verify(q.get("msg_signature"), ts, nonce, outer["Encrypt"]):
                return _forbidden()
            try:
                root = parse_element(self.crypt.decrypt(outer["Encrypt"]))
            except (CryptoError, BadXml) as exc:
                log.warning("%s: a signed message that does not decrypt (EncodingAESKey?): %s", self.name, exc)
                return _bad()
            encrypted = True
        elif self.mode == "safe":  # the plain signature proves nothing about the body: refuse it
            log.warning("%s: an unencrypted message refused (safe mode; WECHAT_MODE=compatible accepts them)",
                        self.name)
            return _forbidden()
        elif outer.get("Encrypt") and not outer.get("MsgType"):
            log.warning("%s: encrypted message but no EncodingAESKey configured", self.name)
            return _bad()
        msg = fields(root)
        if not msg.get("FromUserName") or not msg.get("MsgType"):
            return _bad()
        verdict = await self.guard.check(ts, nonce, self.delivery_id(msg))
        if verdict is Verdict.REPLAY:
            log.warning("%s: a replayed timestamp and nonce refused", self.name)
            return _forbidden()
        try:
            content = await self._respond(msg, root, retry=verdict is Verdict.RETRY)
        except Exception:  # never a traceback to WeChat; the job logs its own failures
            log.exception("%s: failed to answer %s", self.name, self._for_log(msg))
            content = None
        if content is None:
            return web.Response(text="success")
        xml = text_reply(msg["FromUserName"], msg.get("ToUserName", ""), content, int(self.clock()))
        if encrypted:
            xml = self.crypt.encrypt_reply(xml, str(int(self.clock())), nonce)
        return web.Response(text=xml, content_type="application/xml")

    # -- one delivery ---------------------------------------------------------------------------

    @staticmethod
    def delivery_id(msg: dict[str, str]) -> str:
        if msg.get("MsgId"):  # unique per account; with the user too, so no two users ever share a key
            return f"{msg.get('FromUserName')}:{msg['MsgId']}"
        return f"{msg.get('FromUserName')}:{msg.get('CreateTime')}:{msg.get('Event', '')}"

    @staticmethod
    def _for_log(msg: dict[str, str]) -> str:
        """A delivery as logs may name it: no openid in full."""
        return f"{who(msg.get('FromUserName', ''))} {msg.get('MsgId') or msg.get('Event') or msg.get('MsgType')}"

    async def _respond(self, msg: dict[str, str], root, retry: bool = False) -> str | None:
        """The passive reply text, or None for `success` (the rest goes through the API). `retry`: the
        same request came before; answered from its job if this process has it, else `success`."""
        key = self.delivery_id(msg)
        job = self._jobs.get(key)
        if job is None:
            if retry:
                return None
            job = _Job(rendered=asyncio.get_running_loop().create_future())
            self._jobs[key] = job
            job.task = self._spawn(self._run(job, key, msg, root))
        elif job.mode == "api":
            return None  # a retry of a delivery already handed to the API: one effect
        try:
            await asyncio.wait_for(asyncio.shield(job.rendered), self.reply_window)
        except TimeoutError:
            if job.mode is None:
                job.mode = "api"
                job.decided.set()
            return job.passive if job.mode == "passive" else None
        if job.mode is None:
            job.mode = "passive"
            job.decided.set()
        return job.passive if job.mode == "passive" else None

    def _apology(self, user: str, busy: bool) -> Reply:
        """What a user is told when their message could not be handled (in their last known language)."""
        lang = self._langs.get(user, "zh_CN")
        text = (N_("系统暂时繁忙，这条消息没有保存。请稍后再发一次；之前的回答都已保存。") if busy else
                N_("抱歉，这条消息没有处理成功，请再发一次。之前的回答都已保存。"))
        return Reply(self._t(text, lang), language=lang)

    async def _run(self, job: _Job, key: str, msg: dict[str, str], root) -> None:
        user = msg["FromUserName"]
        try:
            async with self._lock(user):  # one delivery of a user at a time, in order
                held = self.book.take_held(user)  # computed earlier, neither sent nor stored: first
                try:
                    replies = await self._handle(key, msg, root)
                except TRANSIENT as exc:  # the channel's own database calls, retried already
                    log.error("%s: database unavailable for %s: %s", self.name, self._for_log(msg), why(exc))
                    replies = [self._apology(user, busy=True)]
                except Exception:
                    log.exception("%s: failed to handle %s", self.name, self._for_log(msg))
                    replies = [self._apology(user, busy=False)]
                if replies:
                    self._langs[user] = replies[-1].language  # for a busy reply while the database is away
                rendered = self._render(user, [*held, *replies])
                job.rendered.set_result(rendered)
                try:  # the HTTP side decides within its window; bounded in case it went away
                    await asyncio.wait_for(job.decided.wait(), self.reply_window + 2.0)
                except TimeoutError:
                    job.mode = job.mode or "api"
                chunks, files = rendered
                if job.mode == "passive":
                    chunks = chunks[1:]
                    if chunks or files:
                        await asyncio.sleep(self.overflow_delay)  # after the passive reply reaches the user
                if chunks or files:
                    await self._deliver(user, chunks, files, reason=f"reply to {key.split(':', 1)[-1]}")
        finally:
            if not job.rendered.done():  # cancelled mid-way: waiters answer `success`
                job.rendered.set_result(([], []))
            asyncio.get_running_loop().call_later(self.job_ttl, self._jobs.pop, key, None)

    async def _handle(self, key: str, msg: dict[str, str], root) -> list[Reply]:
        """Turn one WeChat message or event into replies (via the engine where it is an answer)."""
        user = msg["FromUserName"]
        mtype = msg.get("MsgType", "").lower()
        event = msg.get("Event", "").lower() if mtype == "event" else ""
        now = self.clock()
        opened = windows.opened_by(mtype, event) if self.kind == "oa" else None
        values: dict = windows.open_window(opened, now) if opened else {}
        text: str | None = None
        heard = ""
        replies: list[Reply] = []
        if event == "subscribe":
            text = "/start"
        elif event == "click":
            text = MENU_COMMANDS.get(msg.get("EventKey", ""))
        elif event in ("subscribe_msg_popup_event", "subscribe_msg_change_event"):
            template = self.settings.wechat_reminder_template_id
            status = template_statuses(root).get(template) if template else None
            if status:
                values["notify"] = status == "accept"
                log.info("%s %s: subscription notifications %s", self.name, who(user), status)
        elif event == "unsubscribe":
            values.update(notify=False, voice_pending=None, **windows.closed())
        elif mtype == "text":
            text = msg.get("Content", "")
        elif mtype == "voice":
            heard = msg.get("Recognition", "").strip().rstrip("。.!！")
            if heard:
                values["voice_pending"] = heard
        if values:
            state = await self.book.write(user, values, must=True)
        elif text is not None:
            state = await self.book.read(user, must=True)
        else:
            state = self.book.copy(user)
        if mtype == "voice" or (mtype not in ("text", "event")):
            lang = await self._language(user)
            if heard:
                replies = [Reply(self._t(N_("我听到的是：{text}。回复 1 确认，2 重说"), lang, text=heard), language=lang)]
            elif mtype == "voice":
                replies = [Reply(self._t(N_("这条语音没有识别出文字，请直接打字回答。"), lang), language=lang)]
            else:
                replies = [Reply(self._t(N_("暂时只能处理文字和语音消息，请直接打字回答。"), lang), language=lang)]
        pending = state.voice_pending
        if pending and mtype == "text" and text is not None:
            await self.book.write(user, {"voice_pending": None}, must=True)
            answer = text.strip().rstrip(".、。")
            if answer in CONFIRM:
                text = pending
            elif answer in RETRY:
                text = None
                lang = await self._language(user)
                replies = [Reply(self._t(N_("好的，请再说一遍，或直接打字回答。"), lang), language=lang)]
        if text is not None:
            replies = await self.app.engine.handle(
                Incoming(channel=self.name, user_id=user, text=text, message_id=key))
            if any(r.section_done for r in replies) and self._may_ask_consent(state):
                await self.book.write(user, {"notify_asked": True})
                lang = replies[-1].language  # the engine knows it now (a language switch, a first message)
                page = self.subscribe_url + ("?lang=en" if lang == "en" else "")
                replies = [*replies, Reply(self._t(N_("想在截止前收到微信提醒吗？点这里开启（随时可退订）：\n{url}"),
                                                   lang, url=page), language=lang)]
        return replies

    async def _language(self, user: str) -> str:
        known = await self.book.retry("user", lambda: self.app.store.user(self.name, user))
        return known.language if known else "zh_CN"

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

    # -- consent to reminder notifications (订阅通知) --------------------------------------------

    @property
    def subscribe_url(self) -> str:
        return f"{self.settings.public_url}{self.path}/subscribe"

    def _may_ask_consent(self, state: ChannelState) -> bool:
        """Once per user, after a finished section; only where notifications are set up (OA + template)
        and the page can be reached, and not from users who already said yes or no."""
        return (self.kind == "oa" and bool(self.settings.wechat_reminder_template_id)
                and bool(self.settings.public_url) and state.notify is None and not state.notify_asked)

    async def _on_subscribe_page(self, request: web.Request) -> web.Response:
        """The page with WeChat's subscribe button (JS-SDK open tag wx-open-subscribe). The consent
        itself arrives as a subscribe_msg_popup_event at the callback URL."""
        template = self.settings.wechat_reminder_template_id
        if self.kind != "oa" or not template:
            raise web.HTTPNotFound()
        url = self.subscribe_url + (f"?{request.query_string}" if request.query_string else "")
        lang = "en" if request.query.get("lang") == "en" else "zh_CN"
        try:
            ticket = await self.api.jsapi_ticket()
        except ApiError as exc:
            log.warning("%s: no JS-SDK ticket for the subscribe page: %s", self.name, exc)
            return web.Response(status=503, text=self._t(N_("暂时无法开启提醒，请稍后再试。"), lang),
                                content_type="text/plain", charset="utf-8")
        nonce, timestamp = secrets.token_hex(8), str(int(self.clock()))
        html = _SUBSCRIBE_PAGE.render(
            title=self._t(N_("截止提醒"), lang), template_id=template, app_id=self.settings.wechat_app_id,
            timestamp=timestamp, nonce=nonce, signature=jsapi_signature(ticket, nonce, timestamp, url),
            explain=self._t(N_("开启后，表格截止前7天、3天、1天和当天，我们会通过服务通知提醒您。"), lang),
            button=self._t(N_("开启截止提醒"), lang), done=self._t(N_("已开启，回到对话继续填写即可。"), lang),
            failed=self._t(N_("没有开启成功，可稍后再试；不开启也会在您下次发消息时提醒。"), lang))
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    # -- rendering and sending ------------------------------------------------------------------

    def _text_of(self, user: str, reply: Reply) -> str:
        text = numbered(reply)
        if self.kind == "wecom":
            return text  # documents go as files
        for doc in reply.all_documents():
            text += "\n" + self._link_line(user, doc, reply.language)
        return text

    def _link_line(self, user: str, doc: Document, lang: str = "zh_CN") -> str:
        if doc.path is None:
            return self._t(N_("《{name}》已生成，但暂时无法提供下载，请稍后再试。"), lang, name=doc.filename)
        url = links.make_link(self.settings, doc.path, f"{self.name}:{user}", now=self.clock())
        hours = max(1, self.settings.link_ttl_seconds // 3600)
        return self._t(N_("下载《{name}》（{hours}小时内有效）：\n{url}"), lang, name=doc.filename, hours=hours,
                       url=url)

    def _render(self, user: str, replies: Sequence[Reply]) -> tuple[list[Chunk], list[tuple[Document, Reply]]]:
        chunks = merge([(self._text_of(user, r), r) for r in replies if r.text or r.buttons or
                        (self.kind == "oa" and r.all_documents())])
        files = [(d, r) for r in replies for d in r.all_documents()] if self.kind == "wecom" else []
        return chunks, files

    async def _deliver(self, user: str, chunks: Sequence[Chunk], files: Sequence[tuple[Document, Reply]],
                       reason: str, keep: bool = True, state: ChannelState | None = None) -> bool:
        """Send through the API. What cannot be sent goes to the outbox (shown at the next message), or,
        with the database away, is held here; `keep=False`: left to the caller. Never raises."""
        left: list[Reply] = _unique([r for c in chunks for r in c.sources] + [r for _d, r in files])
        try:
            if state is None and self.kind == "oa" and chunks:
                state = await self.book.read(user)
            for i, chunk in enumerate(chunks):
                failed, state = await self._send_text(user, chunk.text, state)
                if failed:
                    left = _unique([r for c in chunks[i:] for r in c.sources] + [r for _d, r in files])
                    log.warning("%s %s: %d replies kept for the next message (%s)", self.name, who(user),
                                len(left), failed)
                    return await self._keep(user, left, f"{reason}: {failed}", keep)
            for i, (doc, _source) in enumerate(files):
                failed = await self._send_file(user, doc)
                if failed:
                    left = [Reply(d.filename, document=d) for d, _r in files[i:]]
                    return await self._keep(user, left, f"{reason}: {failed}", keep)
            return True
        except Exception:
            log.exception("%s %s: delivery failed", self.name, who(user))
            return await self._keep(user, left, f"{reason}: failed", keep)

    async def _keep(self, user: str, replies: list[Reply], reason: str, keep: bool) -> bool:
        if keep:
            await self.book.keep(user, replies, reason)
        return False

    async def _send_text(self, user: str, text: str, state: ChannelState | None) -> tuple[str | None, ChannelState | None]:
        """(None when sent, else why not; the user's row as it is now)."""
        if self.kind == "wecom":
            try:
                await self.api.app_send(user, self.settings.wecom_agent_id, "text", {"content": text})
            except ApiError as exc:
                return f"api {exc}", state
            return None, state
        assert state is not None
        allowed = windows.allowance(state, self.clock())
        if not allowed:
            return ("customer-service quota used" if allowed.until else "outside the customer-service window"), state
        try:
            await self.api.custom_send_text(user, text)
        except ApiError as exc:
            if exc.errcode in QUOTA | OUT_OF_TIME:  # WeChat is the judge: nothing more in these windows
                state = await self.book.write(user, windows.closed())
            return f"api {exc}", state
        return None, await self.book.count_sent(user, state)

    async def _send_file(self, user: str, doc: Document) -> str | None:
        try:
            media_id = await self.api.upload_file(doc.filename, doc.data, doc.mime)
            await self.api.app_send(user, self.settings.wecom_agent_id, "file", {"media_id": media_id})
        except ApiError as exc:
            return f"api {exc}"
        return None

    # -- unprompted messages (reminders) --------------------------------------------------------

    async def send(self, user_id: str, replies: Sequence[Reply]) -> bool:
        """Push replies. OA: a subscription notification when the user consented, else customer-service
        messages while a window is open (windows.py). WeCom: application messages. False: not delivered
        now; the caller keeps them for the user's next message (the reminder service's outbox)."""
        replies = list(replies)
        if not replies:
            return True
        async with self._lock(user_id):
            path, ok = await self._send_unprompted(user_id, replies)
            self.sent_via[path] += 1
            log.info("%s %s: reminder sent via %s", self.name, who(user_id), path)
            await self.book.count_via(user_id, path)
        return ok

    async def _send_unprompted(self, user: str, replies: list[Reply]) -> tuple[str, bool]:
        chunks, files = self._render(user, replies)
        if self.kind == "wecom":
            ok = await self._deliver(user, chunks, files, reason="reminder", keep=False)
            return ("app" if ok else "outbox"), ok
        state = await self.book.read(user)
        template = self.settings.wechat_reminder_template_id
        if template and state.notify:
            try:
                await self.api.subscribe_send(user, template, self.notification_data(replies))
            except ApiError as exc:
                log.warning("wechat %s: subscription notification failed: %s", who(user), exc)
            else:  # the notification is a summary: the whole text waits for their next message
                await self.book.keep(user, replies, "after a notification")
                return "subscribe", True
        if windows.allowance(state, self.clock()):
            ok = await self._deliver(user, chunks, files, reason="reminder", keep=False, state=state)
            return ("custom" if ok else "outbox"), ok
        return "outbox", False


def default_notification_data(replies: Sequence[Reply]) -> dict[str, str]:
    """Template fields for a reminder: thing1 = first line, thing2 = second line (each ≤ 20 characters,
    the `thing` limit). Pass `notification_data=` to match your template's keywords."""
    lines = [x.strip() for r in replies for x in r.text.splitlines() if x.strip()] or ["揭榜助手提醒"]
    return {"thing1": lines[0][:20], "thing2": (lines[1] if len(lines) > 1 else "回复任意消息查看详情")[:20]}
