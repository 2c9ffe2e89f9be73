"""WeChat's server API: one cached access_token fetcher and the few calls the channel makes.

The access_token is valid 7200 s, may be fetched 2000 times a day, and a new one retires the old:
so one fetcher per account, single-flight behind an asyncio.Lock, refreshed 5 minutes early and
when a call answers 40001/42001/40014 (then the call is retried once with the new token).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import aiohttp

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


class WeChatAPI:
    """kind "oa": /cgi-bin/token with appid+secret; kind "wecom": /cgi-bin/gettoken with corpid+corpsecret."""

    def __init__(self, base_url: str, kind: str, app_id: str, secret: str, *,
                 clock: Callable[[], float] = time.monotonic, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.kind = kind
        self.app_id = app_id
        self.secret = secret
        self.clock = clock
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.token_fetches = 0
        self._ticket: str | None = None
        self._ticket_expires_at = 0.0
        self._ticket_lock = asyncio.Lock()

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
            self._token = token
            self._expires_at = self.clock() + max(60.0, float(data.get("expires_in") or 7200) - REFRESH_EARLY)
            log.info("wechat %s: new access_token (fetch %d)", self.kind, self.token_fetches)
            return token

    def _invalidate(self, token: str) -> None:
        if self._token == token:  # only the token that failed; a newer one stays
            self._token = None
            self._expires_at = 0.0

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
        """The JS-SDK ticket (Official Account), cached like the access_token: valid 7200 s, fetches
        limited per day, so one fetcher for the process."""
        if self._ticket and self.clock() < self._ticket_expires_at:
            return self._ticket
        async with self._ticket_lock:
            if self._ticket and self.clock() < self._ticket_expires_at:
                return self._ticket
            for attempt in (1, 2):
                token = await self.token()
                data = await self._request("GET", "/cgi-bin/ticket/getticket",
                                           params={"access_token": token, "type": "jsapi"})
                code = int(data.get("errcode") or 0)
                if code in INVALID_TOKEN and attempt == 1:
                    self._invalidate(token)
                    continue
                if code or not data.get("ticket"):
                    raise ApiError(code or -1, str(data.get("errmsg") or "no ticket"))
                self._ticket = str(data["ticket"])
                self._ticket_expires_at = self.clock() + max(
                    60.0, float(data.get("expires_in") or 7200) - REFRESH_EARLY)
                return self._ticket
        raise AssertionError("unreachable")

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
