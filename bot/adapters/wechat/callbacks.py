"""The callback URL of a WeChat account: what makes a request WeChat's, once, and the passive reply.

Who may post (guard.py): with an EncodingAESKey only encrypted, msg_signature-verified messages (unless
WECHAT_MODE=compatible); a timestamp within 5 minutes; each (timestamp, nonce) once. Logs never carry a
query string, an openid in full or a download token. GET is WeChat's URL verification (OA: the plain
signature, echostr back; WeCom: echostr encrypted, its plaintext back).

WeChat waits 5 s for the HTTP answer and retries 3 times. One delivery (MsgId, or
FromUserName:CreateTime:Event for events: `delivery_id`) is one `Job`, handled once in the background by
the channel; the HTTP answer waits for it until `reply_window` after the request arrived. Ready by then,
the job's first message is the passive reply ("passive"); else the answer is `success` and the API
carries all of it ("api"). A retry of the same delivery finds its job here and gets the same answer; the
engine remembers the ids it handled, so one delivery has one effect across processes too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.adapters.wechat.book import who
from bot.adapters.wechat.budget import Plan
from bot.adapters.wechat.crypto import CryptoError, MsgCrypt, check_signature
from bot.adapters.wechat.guard import Guard, Verdict
from bot.adapters.wechat.xml import BadXml, fields, parse_element, text_reply
from bot.metrics import Metrics

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024


@dataclass
class Job:
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


Run = Callable[[Job, str, dict[str, str], Any], Awaitable[None]]  # job, its key, the message, its XML


def delivery_id(msg: dict[str, str]) -> str:
    if msg.get("MsgId"):  # unique per account; with the user too, so no two users ever share a key
        return f"{msg.get('FromUserName')}:{msg['MsgId']}"
    return f"{msg.get('FromUserName')}:{msg.get('CreateTime')}:{msg.get('Event', '')}"


def for_log(msg: dict[str, str]) -> str:
    """A delivery as logs may name it: no openid in full."""
    return f"{who(msg.get('FromUserName', ''))} {msg.get('MsgId') or msg.get('Event') or msg.get('MsgType')}"


def _forbidden() -> web.Response:
    return web.Response(status=403, text="forbidden")


def _bad() -> web.Response:
    return web.Response(status=400, text="bad request")


class Callbacks:
    """`on_get` and `on_post` of one account's callback URL. `run(job, key, msg, root)` handles a new
    delivery (the channel: it fulfils `job.rendered` with the Plan), started with `spawn`; `clock` (epoch
    seconds) stamps the reply; a job is forgotten `job_ttl` seconds after it ended."""

    def __init__(self, name: str, kind: str, token: str, crypt: MsgCrypt | None, mode: str, guard: Guard,
                 clock: Callable[[], float], run: Run,
                 spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task], *,
                 reply_window: float = 4.5, job_ttl: float = 300.0, metrics: Metrics | None = None) -> None:
        self.name = name
        self.metrics = metrics  # passive replies sent vs missed (their window passed: the API carries them)
        self.kind = kind
        self.token = token
        self.crypt = crypt
        self.mode = mode
        self.guard = guard
        self.clock = clock
        self.run = run
        self.spawn = spawn
        self.reply_window = reply_window
        self.job_ttl = job_ttl
        self.jobs: dict[str, Job] = {}

    async def on_get(self, request: web.Request) -> web.Response:
        """URL verification. OA: plain signature, echostr back. WeCom: echostr encrypted, plaintext back
        (a decryption, so its timestamp must be fresh too)."""
        q = request.query
        ts, nonce, echostr = q.get("timestamp", ""), q.get("nonce", ""), q.get("echostr", "")
        if self.kind == "wecom":
            if not self.guard.fresh(ts):
                return _forbidden()
            assert self.crypt is not None, "WeCom's callbacks are always encrypted: the channel needs the key"
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

    async def on_post(self, request: web.Request) -> web.Response:
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
        verdict = await self.guard.check(ts, nonce, delivery_id(msg))
        if verdict is Verdict.REPLAY:
            log.warning("%s: a replayed timestamp and nonce refused", self.name)
            return _forbidden()
        try:
            content = await self.respond(msg, root, retry=verdict is Verdict.RETRY,
                                         deadline=arrived + self.reply_window)
        except Exception:  # never a traceback to WeChat; the job logs its own failures
            log.exception("%s: failed to answer %s", self.name, for_log(msg))
            content = None
        if content is None:
            return web.Response(text="success")
        xml = text_reply(msg["FromUserName"], msg.get("ToUserName", ""), content, int(self.clock()))
        if encrypted is not None:
            xml = encrypted.encrypt_reply(xml, str(int(self.clock())), nonce)
        return web.Response(text=xml, content_type="application/xml")

    async def respond(self, msg: dict[str, str], root, retry: bool = False, deadline: float | None = None
                      ) -> str | None:
        """The passive reply text, or None for `success` (the rest goes through the API). `retry`: the
        same request came before; answered from its job if this process has it, else by the engine again
        (which replays what it stored for that message: one effect).
        `deadline` (loop time): when the passive reply must be on its way, `reply_window` after the
        request arrived (checking it took some of that)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_window if deadline is None else deadline
        key = delivery_id(msg)
        job = self.jobs.get(key)
        if job is None:
            # New, or WeChat retrying a delivery another process took (it may have died with it, or its
            # answer was lost on the way): handled here, the engine answers a message id it has seen from
            # what it stored for it (one effect), so the user gets the reply instead of nothing.
            job = Job(rendered=asyncio.get_running_loop().create_future())
            self.jobs[key] = job
            job.task = self.spawn(self._run(job, key, msg, root))
        elif job.mode == "api":
            return None  # a retry of a delivery already handed to the API: one effect
        try:
            await asyncio.wait_for(asyncio.shield(job.rendered), max(0.0, deadline - loop.time()))
        except TimeoutError:
            if job.mode is None:
                job.mode = "api"
                job.decided.set()
                self._count(passive=False)
            return job.passive if job.mode == "passive" else None
        if job.mode is None:
            job.mode = "passive"
            job.decided.set()
            self._count(passive=True)
        return job.passive if job.mode == "passive" else None

    def _count(self, passive: bool) -> None:
        if self.metrics is not None:
            self.metrics.wechat_passive_reply(self.name, passive)

    async def _run(self, job: Job, key: str, msg: dict[str, str], root) -> None:
        try:
            await self.run(job, key, msg, root)
        finally:
            if not job.rendered.done():  # cancelled mid-way: waiters answer `success`
                job.rendered.set_result(Plan([]))
            asyncio.get_running_loop().call_later(self.job_ttl, self.jobs.pop, key, None)
