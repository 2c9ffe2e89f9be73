"""WeChat's server API: one shared access_token holder and the few calls the channel makes.

The access_token is valid 7200 s, may be fetched 2000 times a day, and a new one retires the old one
(after about 5 minutes): WeChat asks for one central holder. With a store (`store=app.store`) the holder
is the database's `wechat_tokens` row of the account (storage/token_models.py), shared by every process:
a process uses the row's token while it is valid (5 minutes' margin), one process at a time fetches a new
one (the row's lock; after it, the row is read again), and a token WeChat refused (40001/42001/40014) is
replaced only while the row still holds it, so N processes refused at once fetch once. In front of it an
in-process cache, single-flight behind an asyncio.Lock: no database read per call while its token is
valid. The database away: the process fetches for itself and says so in the log, once per outage.
Without a store (tests, tools) the process is its own holder. The JS-SDK jsapi ticket is held the same way.
A call answered with a refused token is retried once with the new one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp

from storage import token_models as shared
from storage.token_models import Held

log = logging.getLogger(__name__)

INVALID_TOKEN = {40001, 40014, 42001}
QUOTA = {45047}  # customer-service messages: "out of response count limit"
OUT_OF_TIME = {45015}  # "response out of time limit or subscription is canceled"
REFRESH_EARLY = 300.0


class ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class _Refused(ApiError):
    """The access_token a ticket was fetched with was refused (the ticket fetch is retried with a new one)."""


class WeChatAPI:
    """kind "oa": /cgi-bin/token with appid+secret; kind "wecom": /cgi-bin/gettoken with corpid+corpsecret."""

    def __init__(self, base_url: str, kind: str, app_id: str, secret: str, *,
                 clock: Callable[[], float] = time.time, timeout: float = 10.0, store: Any = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.kind = kind
        self.app_id = app_id
        self.secret = secret
        self.clock = clock  # epoch seconds: the expiry is shared with other processes through the store
        self.store = store
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.token_fetches = 0  # fetched by this process (figures for tests)
        self.ticket_fetches = 0
        self._ticket: str | None = None
        self._ticket_expires_at = 0.0
        self._ticket_lock = asyncio.Lock()
        self._stale: str | None = None  # the token WeChat refused: replaced only while the row holds it
        self._db_away = False  # said in the log that the database is away (said again after it is back)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- access_token ---------------------------------------------------------------------------

    async def token(self) -> str:
        if self._token and self.clock() < self._expires_at:
            return self._token
        async with self._lock:  # single flight: the others wait and reuse the result
            if self._token and self.clock() < self._expires_at:
                return self._token
            held = await self._held("access_token", self._fetch_token, self._stale)
            self._token, self._expires_at, self._stale = held.token, held.usable_until(REFRESH_EARLY), None
            return held.token

    async def _fetch_token(self) -> tuple[str, float]:
        if self.kind == "wecom":
            url, params = "/cgi-bin/gettoken", {"corpid": self.app_id, "corpsecret": self.secret}
        else:
            url, params = "/cgi-bin/token", {"grant_type": "client_credential", "appid": self.app_id,
                                              "secret": self.secret}
        data = await self._request("GET", url, params=params)
        token = data.get("access_token")
        if not token:
            raise ApiError(int(data.get("errcode") or -1), str(data.get("errmsg") or "no access_token"))
        self.token_fetches += 1
        log.info("wechat %s: new access_token (fetch %d of this process)", self.kind, self.token_fetches)
        return str(token), float(data.get("expires_in") or 7200)

    async def _held(self, what: str, fetch: Callable[[], Awaitable[tuple[str, float]]],
                    stale: str | None) -> Held:
        """The shared token (or ticket) `what` of this account: the store's row when usable, else fetched
        under its lock; the store away (or none): fetched by this process alone."""
        fetched: list[Held] = []

        async def fetch_once() -> tuple[str, float]:
            value, expires_in = await fetch()
            now = self.clock()
            fetched.append(Held(value, now + expires_in, now, fetched=True))
            return value, expires_in

        if self.store is not None:
            kind = f"{self.kind}:{what}"
            try:
                row = await shared.read(self.store, kind, self.app_id)
                if row is None or row.token == stale or self.clock() >= row.usable_until(REFRESH_EARLY):
                    row = await shared.refresh(self.store, kind, self.app_id, self.clock, REFRESH_EARLY,
                                               fetch_once, stale)
            except ApiError:
                raise
            except Exception as exc:  # the database away: WeChat's answer must not wait for it
                if fetched:  # fetched, then the commit failed: use it rather than fetch again
                    return fetched[0]
                if not self._db_away:
                    self._db_away = True
                    log.warning("wechat %s: the database is away (%s): fetching the %s in this process, "
                                "not shared with the other processes until it is back",
                                self.kind, type(exc).__name__, what)
            else:
                if self._db_away:
                    self._db_away = False
                    log.info("wechat %s: the database is back: the %s is shared again", self.kind, what)
                return row
        await fetch_once()
        return fetched[0]

    def _invalidate(self, token: str) -> None:
        if self._token == token:  # only the token that failed; a newer one stays
            self._token = None
            self._expires_at = 0.0
            self._stale = token

    # -- calls ----------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kw: Any) -> dict:
        try:
            async with self.session.request(method, self.base_url + path, **kw) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    raise ApiError(-resp.status, f"HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ApiError(-1, f"network: {exc!r}") from exc
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ApiError(-1, "not JSON") from exc
        return data if isinstance(data, dict) else {}

    async def call(self, path: str, payload: dict | None = None, *, params: dict | None = None,
                   raw: bytes = b"", content_type: str = "application/octet-stream") -> dict:
        """POST `path` with the access_token; raise ApiError on a nonzero errcode."""
        for attempt in (1, 2):
            token = await self.token()
            query = {**(params or {}), "access_token": token}
            if payload is not None:
                raw = json.dumps(payload, ensure_ascii=False).encode()
                content_type = "application/json; charset=utf-8"
            result = await self._request("POST", path, params=query, data=raw,
                                         headers={"Content-Type": content_type})
            code = int(result.get("errcode") or 0)
            if code in INVALID_TOKEN and attempt == 1:
                log.warning("wechat %s: access_token refused (%d), fetching a new one", self.kind, code)
                self._invalidate(token)
                continue
            if code:
                raise ApiError(code, str(result.get("errmsg", "")))
            return result
        raise AssertionError("unreachable")

    async def jsapi_ticket(self) -> str:
        """The JS-SDK ticket (Official Account), held like the access_token: valid 7200 s, fetches
        limited per day, so one holder for every process (the store's row)."""
        if self._ticket and self.clock() < self._ticket_expires_at:
            return self._ticket
        async with self._ticket_lock:
            if self._ticket and self.clock() < self._ticket_expires_at:
                return self._ticket
            for attempt in (1, 2):
                token = await self.token()  # before the ticket's lock: one lock at a time
                try:
                    held = await self._held("jsapi_ticket", partial(self._fetch_ticket, token), None)
                except _Refused:
                    if attempt == 1:
                        self._invalidate(token)
                        continue
                    raise
                self._ticket, self._ticket_expires_at = held.token, held.usable_until(REFRESH_EARLY)
                return held.token
        raise AssertionError("unreachable")

    async def _fetch_ticket(self, token: str) -> tuple[str, float]:
        data = await self._request("GET", "/cgi-bin/ticket/getticket",
                                   params={"access_token": token, "type": "jsapi"})
        code = int(data.get("errcode") or 0)
        if code in INVALID_TOKEN:
            raise _Refused(code, str(data.get("errmsg", "")))
        if code or not data.get("ticket"):
            raise ApiError(code or -1, str(data.get("errmsg") or "no ticket"))
        self.ticket_fetches += 1
        return str(data["ticket"]), float(data.get("expires_in") or 7200)

    # Official Account
    async def custom_send_text(self, openid: str, text: str) -> dict:
        return await self.call("/cgi-bin/message/custom/send",
                               {"touser": openid, "msgtype": "text", "text": {"content": text}})

    async def subscribe_send(self, openid: str, template_id: str, data: dict[str, str], page: str = "") -> dict:
        body: dict[str, Any] = {"touser": openid, "template_id": template_id,
                                "data": {k: {"value": v} for k, v in data.items()}}
        if page:
            body["page"] = page
        return await self.call("/cgi-bin/message/subscribe/bizsend", body)

    async def create_menu(self, menu: dict, agent_id: str | None = None) -> dict:
        return await self.call("/cgi-bin/menu/create", menu, params={"agentid": agent_id} if agent_id else None)

    async def custom_send_image(self, openid: str, media_id: str) -> dict:
        return await self.call("/cgi-bin/message/custom/send",
                               {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}})

    # Both: temporary media (3 days), up and down
    async def upload_media(self, kind: str, filename: str, data: bytes, mime: str = "application/octet-stream") -> str:
        """/cgi-bin/media/upload?type=image|file (images: PNG/JPEG/GIF ≤ 10 MB on both). WeChat reads the
        name only from a raw UTF-8 `filename="…"` (it ignores RFC 2231 `filename*=` and shows %-escapes
        literally), so the multipart body is written here rather than by aiohttp.FormData."""
        boundary = "----jiebang" + secrets.token_hex(12)
        safe_name = filename.replace('"', "'").replace("\r", " ").replace("\n", " ")
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"{safe_name}\"; "
                f"filelength={len(data)}\r\nContent-Type: {mime}\r\n\r\n").encode()
        body = head + data + f"\r\n--{boundary}--\r\n".encode()
        result = await self.call("/cgi-bin/media/upload", params={"type": kind}, raw=body,
                                 content_type=f"multipart/form-data; boundary={boundary}")
        return str(result["media_id"])

    async def upload_file(self, filename: str, data: bytes, mime: str = "application/octet-stream") -> str:
        return await self.upload_media("file", filename, data, mime)

    async def download_media(self, media_id: str, limit: int = 20 * 1024 * 1024) -> tuple[bytes, str, str]:
        """GET /cgi-bin/media/get: (bytes, content type, file name WeChat gives) of a file a user sent
        (an image's MediaId). An answer in JSON is an error (40007: no such media); over `limit`, -2."""
        for attempt in (1, 2):
            token = await self.token()
            try:
                async with self.session.get(self.base_url + "/cgi-bin/media/get",
                                            params={"access_token": token, "media_id": media_id}) as resp:
                    if resp.status != 200:
                        raise ApiError(-resp.status, f"HTTP {resp.status}")
                    if resp.content_length is not None and resp.content_length > limit:
                        raise ApiError(-2, "media too large")
                    body = bytearray()
                    while (chunk := await resp.content.readany()) and len(body) <= limit:
                        body += chunk
                    data = bytes(body)
                    mime = resp.content_type or "application/octet-stream"
                    disposition = resp.headers.get("Content-Disposition", "")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise ApiError(-1, f"network: {exc!r}") from exc
            if len(data) > limit:
                raise ApiError(-2, "media too large")
            if mime in ("application/json", "text/plain") or data[:1] == b"{":
                try:
                    result = json.loads(data)
                except ValueError:
                    result = None
                if isinstance(result, dict):
                    code = int(result.get("errcode") or -1)
                    if code in INVALID_TOKEN and attempt == 1:
                        self._invalidate(token)
                        continue
                    raise ApiError(code, str(result.get("errmsg", "")))
            name = disposition.split("filename=", 1)[1].strip().strip('"') if "filename=" in disposition else ""
            return data, mime, name
        raise AssertionError("unreachable")

    # WeCom
    async def app_send(self, userid: str, agent_id: str, msgtype: str, content: dict) -> dict:
        return await self.call("/cgi-bin/message/send", {"touser": userid, "agentid": int(agent_id)
                                                         if str(agent_id).isdigit() else agent_id,
                                                         "msgtype": msgtype, msgtype: content})
