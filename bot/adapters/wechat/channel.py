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

Who may post (guard.py): with an EncodingAESKey only encrypted, msg_signature-verified messages (unless
WECHAT_MODE=compatible); a timestamp within 5 minutes; each (timestamp, nonce) once. Logs never carry a
query string, an openid in full or a download token.

How replies travel: WeChat waits 5 s for the HTTP answer and retries 3 times. What one message brings back
is planned within a budget (budget.py): the passive reply (one message ≤ 2048 bytes, if ready within
`reply_window`, 4.5 s) and `cs_per_message` customer-service messages (OA, while a window is open:
windows.py) or `app_per_message` application messages (WeCom): the current answer and any document first,
then what waited in the outbox, newest first, then the picture of page 1; what waited and is superseded is
dropped. What does not fit, or cannot be sent, and is still worth sending goes to the outbox, which the
engine shows before its next reply; with the database away it is held here (book.py). One delivery (MsgId,
or FromUserName:CreateTime:Event for events) has one effect: an in-process map of jobs answers retries,
and the engine remembers handled ids. One user's messages are applied in the order WeChat numbered them,
across processes on one database (order.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import jinja2
from aiohttp import web

from bot.adapters.base import numbered
from bot.adapters.wechat import budget, windows
from bot.adapters.wechat.api import OUT_OF_TIME, QUOTA, ApiError, WeChatAPI
from bot.adapters.wechat.book import Book, who, why
from bot.adapters.wechat.budget import TEXT_LIMIT, Out, Plan, Unit, merge, split_bytes
from bot.adapters.wechat.crypto import CryptoError, MsgCrypt, check_signature
from bot.adapters.wechat.guard import TRANSIENT, Guard, Verdict, resolve_mode
from bot.adapters.wechat.order import GO, LATE, Order
from bot.adapters.wechat.windows import Allowance
from bot.adapters.wechat.xml import BadXml, fields, parse_element, template_statuses, text_reply
from bot.i18n import N_, gettext
from bot.messages import Attachment, Document, Incoming, Reply, reply_to_dict
from bot.web import downloads
from storage.channel_models import ChannelState, runner

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_PICTURE = 10 * 1024 * 1024  # WeChat's own limit for an image
LONG_SCREENS = ("review", "preview")  # never more than one message on WeChat (cut to a summary)
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

__all__ = ["TEXT_LIMIT", "WeChatChannel", "build_menu", "create_menu", "merge", "split_bytes"]


# -- the channel ----------------------------------------------------------------------------------

@dataclass
class _Job:
    """One delivery from WeChat being handled; retries of it find it here."""

    rendered: asyncio.Future  # the Plan once the engine has answered
    decided: asyncio.Event = field(default_factory=asyncio.Event)
    mode: str | None = None  # "passive": answered in the HTTP reply; "api": everything through the API
    task: asyncio.Task | None = None

    @property
    def passive(self) -> str | None:
        if not self.rendered.done() or self.rendered.cancelled() or self.rendered.exception():
            return None
        return self.rendered.result().passive


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


PICTURE_EXT = {"image/png": ".png", "image/gif": ".gif", "image/webp": ".webp", "image/bmp": ".bmp"}
_SCENE = re.compile(r"[A-Za-z0-9_.:@~+=-]{1,64}")


def scene_of(key: str) -> str | None:
    """A QR code's scene (WeChat: scene_id 1–100000 or scene_str of 1–64 characters) as it may be kept and
    passed on: letters, digits and a few marks; anything else is no scene."""
    key = key.strip()
    return key if _SCENE.fullmatch(key) else None


def page_line(lang: str, target: str, url: str) -> str:
    """The chat's line with the link to a page ("查看全部：…", "我的文件：…"), as every channel writes it."""
    try:
        from bot.web.text import link_line
    except ImportError:
        return url
    return link_line(lang, target, url)


def start_text(scene: str | None, word: Callable[[str], tuple[str, str] | None]) -> str:
    """What a follow or a scan says to the engine: `/start <scene>` once the engine takes a scene there
    (`word`, the engine's reading of a text, names `/start <scene>` "start"), else `/start` — so that, until
    then, a scan in the middle of a form is never taken as the answer to its question. The scene is kept
    either way."""
    if scene:
        said = f"/start {scene}"
        found = word(said)
        if found is not None and found[0] == "start":
            return said
    return "/start"


def taken_outbox(answered: Sequence[Reply], waiting: Sequence[Reply]) -> tuple[list[Reply], list[Reply]]:
    """Split the engine's replies into what waited in the outbox (it shows that first: `waiting`, as read
    just before) and the answer to this message."""
    n = 0
    while n < len(waiting) and n < len(answered) and reply_to_dict(answered[n]) == reply_to_dict(waiting[n]):
        n += 1
    return list(answered[:n]), list(answered[n:])


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
        self.db = runner(app.store)  # the channel's own calls: many users' in one transaction
        self.guard = Guard(app.store, self.name, clock, max_age=max_age, db=self.db)
        self.book = Book(app.store, self.name, retry_delays, held_retry=held_retry, db=self.db)
        self.book.locks = self._lock
        self.cs_per_message = max(0, cs_per_message)
        self.app_per_message = max(1, app_per_message)
        ordered = app.store.dialect == "postgresql" if order is None else order
        self.order = Order(app.store, self.name, clock, hold=order_hold, db=self.db) if ordered else None
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
        if self.order is not None:
            self.order.clock = clock

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
            assert self.crypt is not None, "WeCom's callbacks are always encrypted: __init__ requires the key"
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
        arrived = asyncio.get_running_loop().time()  # WeChat's 5 s run from its sending, not from our work
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
        encrypted: MsgCrypt | None = None  # what decrypted the message: the reply is encrypted with it
        if self.crypt is not None and outer.get("Encrypt"):
            if not self.crypt.verify(q.get("msg_signature"), ts, nonce, outer["Encrypt"]):
                return _forbidden()
            try:
                root = parse_element(self.crypt.decrypt(outer["Encrypt"]))
            except (CryptoError, BadXml) as exc:
                log.warning("%s: a signed message that does not decrypt (EncodingAESKey?): %s", self.name, exc)
                return _bad()
            encrypted = self.crypt
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
            content = await self._respond(msg, root, retry=verdict is Verdict.RETRY,
                                          deadline=arrived + self.reply_window)
        except Exception:  # never a traceback to WeChat; the job logs its own failures
            log.exception("%s: failed to answer %s", self.name, self._for_log(msg))
            content = None
        if content is None:
            return web.Response(text="success")
        xml = text_reply(msg["FromUserName"], msg.get("ToUserName", ""), content, int(self.clock()))
        if encrypted is not None:
            xml = encrypted.encrypt_reply(xml, str(int(self.clock())), nonce)
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

    async def _respond(self, msg: dict[str, str], root, retry: bool = False, deadline: float | None = None
                       ) -> str | None:
        """The passive reply text, or None for `success` (the rest goes through the API). `retry`: the
        same request came before; answered from its job if this process has it, else `success`.
        `deadline` (loop time): when the passive reply must be on its way, `reply_window` after the
        request arrived (checking it took some of that)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_window if deadline is None else deadline
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
            await asyncio.wait_for(asyncio.shield(job.rendered), max(0.0, deadline - loop.time()))
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
                    replies, waited, state = await self._handle(key, msg, root, late=verdict == LATE,
                                                                written=written)
                except TRANSIENT as exc:  # the channel's own database calls, retried already
                    log.error("%s: database unavailable for %s: %s", self.name, self._for_log(msg), why(exc))
                    replies = [self._apology(user, busy=True)]
                except Exception:
                    log.exception("%s: failed to handle %s", self.name, self._for_log(msg))
                    replies = [self._apology(user, busy=False)]
                if replies:
                    self._langs[user] = replies[-1].language  # for a busy reply while the database is away
                plan = await self._plan(user, replies, [*held, *waited], state)
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
                    await self._deliver(user, messages, reason=f"reply to {key.split(':', 1)[-1]}", state=state)
        finally:
            if leave is not None:
                await leave()
            if not job.rendered.done():  # cancelled mid-way: waiters answer `success`
                job.rendered.set_result(Plan([]))
            asyncio.get_running_loop().call_later(self.job_ttl, self._jobs.pop, key, None)

    async def _handle(self, key: str, msg: dict[str, str], root, late: bool = False,
                      written: ChannelState | None = None) -> tuple[list[Reply], list[Reply], ChannelState]:
        """One WeChat message or event: (the replies to it, the replies that waited for it in the outbox
        and the engine handed back with its answer, the user's row as it is now). `late`: a newer message
        of the user was applied already (order.py): this one is not. `written`: the row as ordering wrote
        it, with the window this message opens."""
        user = msg["FromUserName"]
        mtype = msg.get("MsgType", "").lower()
        event = msg.get("Event", "").lower() if mtype == "event" else ""
        now = self.clock()
        opened = windows.opened_by(mtype, event) if self.kind == "oa" else None
        values: dict = windows.open_window(opened, now) if opened else {}
        text: str | None = None
        heard = ""
        picture: Attachment | None = None
        replies: list[Reply] = []
        if late:
            state = written or (await self.book.write(user, values, must=True) if values else self.book.copy(user))
            return [self._late(msg, await self._language(user))], [], state
        if event in ("subscribe", "scan"):  # a follow (by a QR code: qrscene_…) or a follower's scan
            raw = msg.get("EventKey", "")
            scene = scene_of(raw.removeprefix("qrscene_") if event == "subscribe" else raw)
            if event == "subscribe" and not raw.startswith("qrscene_"):
                scene = None
            if scene:
                values.update(scene=scene, scene_at=datetime.fromtimestamp(now, UTC))
                log.info("%s %s: came by a QR code (scene %s)", self.name, who(user), scene)
            text = start_text(scene, self.app.engine.word)
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
        elif mtype == "image":
            picture = await self._picture(user, msg)
        waiting: list[Reply] = []
        if text is not None or picture is not None:
            state, waiting = await self.book.begin(user, values, written)
        elif values:
            state = await self.book.write(user, values, must=True)
        else:
            state = self.book.copy(user)
        if mtype not in ("text", "event") and picture is None:
            lang = await self._language(user)
            if heard:
                replies = [Reply(self._t(N_("我听到的是：{text}。回复 1 确认，2 重说"), lang, text=heard), language=lang,
                                 screen="voice")]
            elif mtype == "voice":
                replies = [Reply(self._t(N_("这条语音没有识别出文字，请直接打字回答。"), lang), language=lang,
                                 screen="voice")]
            elif mtype == "image":
                replies = [Reply(self._t(N_("这张图片没有收到，请再发一次。"), lang), language=lang, screen="picture")]
            else:
                replies = [Reply(self._t(N_("暂时只能处理文字、语音和图片，请直接打字回答。"), lang), language=lang,
                                 screen="other")]
        pending = state.voice_pending
        if pending and mtype == "text" and text is not None:
            await self.book.write(user, {"voice_pending": None}, must=True)
            answer = text.strip().rstrip(".、。")
            if answer in CONFIRM:
                text = pending
            elif answer in RETRY:
                text = None
                lang = await self._language(user)
                replies = [Reply(self._t(N_("好的，请再说一遍，或直接打字回答。"), lang), language=lang, screen="voice")]
        if text is None and picture is None:
            return replies, [], state
        answered = await self.app.engine.handle(
            Incoming(channel=self.name, user_id=user, text=text or "", message_id=key, attachment=picture))
        waited, replies = taken_outbox(answered, waiting)
        if any(r.section_done for r in replies) and self._may_ask_consent(state):
            await self.book.write(user, {"notify_asked": True})
            lang = replies[-1].language  # the engine knows it now (a language switch, a first message)
            page = self.subscribe_url + ("?lang=en" if lang == "en" else "")
            replies = [*replies, Reply(self._t(N_("想在截止前收到微信提醒吗？点这里开启（随时可退订）：\n{url}"),
                                               lang, url=page), language=lang)]
        return replies, waited, state

    def _late(self, msg: dict[str, str], lang: str) -> Reply:
        said = msg.get("Content", "").strip() if msg.get("MsgType", "").lower() == "text" else ""
        if said:
            said = said if len(said) <= 20 else said[:20] + "…"
            text = self._t(N_("“{text}”比您之后发的消息晚到，没有保存。如仍需要，请再发一次。"), lang, text=said)
        else:
            text = self._t(N_("这条消息比您之后发的消息晚到，没有保存。如仍需要，请再发一次。"), lang)
        return Reply(text, language=lang, screen="late")

    async def _picture(self, user: str, msg: dict[str, str]) -> Attachment | None:
        """A picture the user sent, fetched from WeChat by its MediaId (the media API: valid 3 days). The
        PicUrl beside it is not fetched: any address could be written there."""
        media_id = msg.get("MediaId", "").strip()
        if not media_id or len(media_id) > 256:
            return None
        try:
            data, mime, _name = await self.api.download_media(media_id, MAX_PICTURE)
        except ApiError as exc:
            log.warning("%s %s: a picture could not be fetched: %s", self.name, who(user), exc)
            return None
        if not data:
            return None
        mime = mime if mime.startswith("image/") else "image/jpeg"
        return Attachment(f"图片{PICTURE_EXT.get(mime, '.jpg')}", data, mime)

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
        """The page with WeChat's subscribe button (JS-SDK open tag wx-open-subscribe; the page's host must
        be a JS接口安全域名 of the account). The button's style is inside the tag's <template> (the open tag
        does not take the page's styles); where the tag cannot be used (WeixinOpenTagsError, wx.error, no
        JS-SDK) the page says so instead of showing nothing. The consent itself arrives as a
        subscribe_msg_popup_event at the callback URL."""
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
            failed=self._t(N_("没有开启成功，可稍后再试；不开启也会在您下次发消息时提醒。"), lang),
            fallback=self._t(N_("这里无法显示开启按钮（请在微信中打开，或升级微信后再试）。不开启也会在您下次发消息时提醒。"),
                             lang),
            html_lang="en" if lang == "en" else "zh-CN")
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    # -- rendering and sending ------------------------------------------------------------------

    def _text_of(self, user: str, reply: Reply, buttons: bool = True) -> str:
        """The reply as one WeChat text: its numbered choices (`buttons=False` for one that waited: only the
        current question's numbers answer), and on the OA a download link per document."""
        text = numbered(reply) if buttons else reply.text
        if self.kind == "wecom":
            return text  # documents go as files
        for doc in reply.all_documents():
            line = self._link_line(user, doc, reply.language)
            text = f"{text}\n{line}" if text else line
        return text

    def _link_line(self, user: str, doc: Document, lang: str = "zh_CN") -> str:
        if doc.path is None:
            return self._t(N_("《{name}》已生成，但暂时无法提供下载，请稍后再试。"), lang, name=doc.filename)
        url = downloads.make_link(self.settings, doc.path, f"{self.name}:{user}", now=self.clock())
        hours = max(1, self.settings.link_ttl_seconds // 3600)
        return self._t(N_("下载《{name}》（{hours}小时内有效）：\n{url}"), lang, name=doc.filename, hours=hours,
                       url=url)

    async def _page_link(self, user: str, target: str) -> str:
        """The link to a page with the whole of a long reply (bot.web): on the OA through WeChat's OAuth
        (snsapi_base: the page knows the user by WeChat, no token to expire) where set up, else a short
        signed link. "" where no page can be given (no JIEBANG_PUBLIC_URL, no pages)."""
        try:
            from bot.web.oauth import oauth_url
            from bot.web.pagelinks import page_url
        except ImportError:
            return ""
        try:
            if self.kind == "oa":
                url = oauth_url(self.settings, target)
                if url:
                    return url
            return await page_url(self.app, self.name, user, target)
        except Exception as exc:  # a page link is a convenience: the summary still goes
            log.warning("%s %s: no link to the page %s: %s", self.name, who(user), target.split(":")[0], why(exc))
            return ""

    async def _fitted(self, user: str, reply: Reply, buttons: bool = True) -> str:
        """The reply's text as it may go. A reply with a page (the whole of it, 我的文件) carries the link to
        it (bot.web.text.link_line). Where that is more than one message and the reply has a short version
        — a summary, a page, or it is a review or a preview: never more than one message on WeChat — it
        goes as its summary (or, without one, each line's start), the link, its choices and document
        links, in one message. Other long replies go whole, in as many messages as the budget allows."""
        link = await self._page_link(user, reply.page) if reply.page else ""
        line = page_line(reply.language, reply.page, link) if link else ""
        full = self._text_of(user, reply, buttons)
        whole = f"{full}\n\n{line}" if line and full else line or full
        if len(whole.encode()) <= TEXT_LIMIT or not (reply.summary or reply.page or reply.screen in LONG_SCREENS):
            return whole
        lang = reply.language
        tail = [line] if line else [] if reply.summary else [self._t(N_("（内容较长，每项只显示开头。）"), lang)]
        if buttons and reply.buttons:
            tail.append(numbered(Reply("", reply.buttons)).lstrip("\n"))
        if self.kind == "oa":
            tail += [self._link_line(user, d, lang) for d in reply.all_documents()]
        rest = "\n".join(tail)
        room = max(TEXT_LIMIT // 4, TEXT_LIMIT - len(rest.encode()) - 1)
        body = reply.summary or reply.text
        if len(body.encode()) > room:
            body = budget.condense(body, room)
        return f"{body}\n{rest}" if rest else body

    async def _units(self, user: str, reply: Reply, old: bool) -> list[Unit]:
        units: list[Unit] = []
        docs = reply.all_documents()
        tier = budget.CURRENT if not old else budget.OLD_DOCS if docs else budget.OLD_NOTES
        text = await self._fitted(user, reply, buttons=not old)
        if text:
            units += [Unit(tier, "text", reply, text=piece, old=old) for piece in split_bytes(text)]
        if self.kind == "wecom":
            units += [Unit(budget.OLD_DOCS if old else budget.FILES, "file", reply, doc=d, old=old) for d in docs]
        if reply.image is not None and not old:
            units.append(Unit(budget.IMAGES, "image", reply, doc=reply.image))
        return units

    def _budget(self, state: ChannelState | None, prompted: bool) -> int:
        """How many messages may go: the passive reply (`prompted`) and, beside it, what the API may carry."""
        passive = 1 if prompted else 0
        if self.kind == "wecom":
            return passive + self.app_per_message
        open_now = windows.allowance(state, self.clock()).count if state is not None else 0
        return passive + (min(self.cs_per_message, open_now) if prompted else open_now)

    async def _plan(self, user: str, replies: Sequence[Reply], waited: Sequence[Reply],
                    state: ChannelState | None, prompted: bool = True) -> Plan:
        """What goes out (budget.py): the replies to this message, then what waited and is still worth it."""
        kept, dropped = budget.still_worth(waited)
        if dropped:
            log.info("%s %s: %d waiting replies superseded, not sent", self.name, who(user), dropped)
        units: list[Unit] = []
        for r in replies:
            units += await self._units(user, r, old=False)
        for r in kept:
            units += await self._units(user, r, old=True)
        plan = budget.plan(units, self._budget(state, prompted), dropped=dropped)
        if plan.left:
            log.info("%s %s: %d replies over the budget wait for the next message", self.name, who(user),
                     len(plan.left))
        return plan

    async def _deliver(self, user: str, messages: Sequence[Out], reason: str, keep: bool = True,
                       state: ChannelState | None = None) -> bool:
        """Send through the API. What cannot be sent goes to the outbox (judged and shown at the next
        message), or, with the database away, is held here; `keep=False`: left to the caller. A picture
        that cannot go is left out. Never raises."""
        def left_from(i: int) -> list[Reply]:
            found: list[Reply] = []
            for out in messages[i:]:
                if out.kind != "image":
                    found += [r for r in out.sources if not any(r is x for x in found)]
            return found

        i = 0
        try:
            if state is None and self.kind == "oa":
                state = await self.book.read(user)
            for i, out in enumerate(messages):
                failed, state = await self._send_out(user, out, state)
                if failed and out.kind == "image" and not failed.startswith("closed"):
                    log.warning("%s %s: a picture left out (%s)", self.name, who(user), failed)
                    continue
                if failed:
                    left = left_from(i)
                    log.warning("%s %s: %d replies kept for the next message (%s)", self.name, who(user),
                                len(left), failed)
                    return await self._keep(user, left, f"{reason}: {failed}", keep)
            return True
        except Exception:
            log.exception("%s %s: delivery failed", self.name, who(user))
            return await self._keep(user, left_from(i), f"{reason}: failed", keep)

    async def _keep(self, user: str, replies: list[Reply], reason: str, keep: bool) -> bool:
        if keep:
            await self.book.keep(user, replies, reason)
        return False

    async def _send_out(self, user: str, out: Out, state: ChannelState | None) -> tuple[str | None, ChannelState | None]:
        """Send one message: (None when sent, else why not — "closed…" when no more may go now; the
        user's row as it is now)."""
        oa = self.kind == "oa"
        if oa:
            assert state is not None, "an OA's delivery reads the user's row first (_deliver)"
            allowed = windows.allowance(state, self.clock())
            if not allowed:
                return ("closed: customer-service quota used" if allowed.until
                        else "closed: outside the customer-service window"), state
        try:
            if out.kind == "text":
                if oa:
                    await self.api.custom_send_text(user, out.text)
                else:
                    await self.api.app_send(user, self.settings.wecom_agent_id, "text", {"content": out.text})
            else:
                assert out.doc is not None
                media_id = await self.api.upload_media(out.kind, out.doc.filename, out.doc.data, out.doc.mime)
                if oa:
                    await self.api.custom_send_image(user, media_id)
                else:
                    await self.api.app_send(user, self.settings.wecom_agent_id, out.kind, {"media_id": media_id})
        except ApiError as exc:
            if oa and exc.errcode in QUOTA | OUT_OF_TIME:  # WeChat is the judge: nothing more in these windows
                return f"closed: api {exc}", await self.book.write(user, windows.closed())
            return f"api {exc}", state
        if oa:
            assert state is not None  # as above: the row, and every row this function hands back
            state = await self.book.count_sent(user, state)
        return None, state

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
        if self.kind == "wecom":
            plan = await self._plan(user, replies, [], None, prompted=False)
            ok = not plan.left and await self._deliver(user, plan.messages, reason="reminder", keep=False)
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
        plan = await self._plan(user, replies, [], state, prompted=False)
        if plan.messages and not plan.left:  # all of it within the windows open now, or none of it
            ok = await self._deliver(user, plan.messages, reason="reminder", keep=False, state=state)
            return ("custom" if ok else "outbox"), ok
        return "outbox", False


def default_notification_data(replies: Sequence[Reply]) -> dict[str, str]:
    """Template fields for a reminder: thing1 = first line, thing2 = second line (each ≤ 20 characters,
    the `thing` limit). Pass `notification_data=` to match your template's keywords."""
    lines = [x.strip() for r in replies for x in r.text.splitlines() if x.strip()] or ["揭榜助手提醒"]
    return {"thing1": lines[0][:20], "thing2": (lines[1] if len(lines) > 1 else "回复任意消息查看详情")[:20]}
