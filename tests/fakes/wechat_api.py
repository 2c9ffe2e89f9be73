"""A small fake WeChat / WeCom server API: real HTTP on 127.0.0.1, the real wire format.

    async with FakeWeChatAPI() as fake:
        settings = Settings(..., wechat_api_base_url=fake.url, wecom_api_base_url=fake.url)
        ...
        fake.calls_of("/cgi-bin/message/custom/send")

It issues access_tokens (/cgi-bin/token, /cgi-bin/gettoken) and the JS-SDK ticket
(/cgi-bin/ticket/getticket), checks them on every call (a new token
retires the old one at once — stricter than WeChat's 5 minutes), records every call, and can be told
to fail: `fail_next(path, 45047)`, or `expire_tokens()` so the next call gets 40001.

Media: uploads (`type=image` takes PNG, JPEG or GIF only, `type=file` anything) are kept by media_id;
an image message refers to one of them; `/cgi-bin/media/get` hands a kept one back (`add_media` puts
in what a user's phone uploaded, for an image message the test then sends).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PATHS = ("/cgi-bin/message/custom/send", "/cgi-bin/message/subscribe/bizsend", "/cgi-bin/media/upload",
         "/cgi-bin/message/send", "/cgi-bin/menu/create")
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


@dataclass
class Call:
    path: str
    query: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    errcode: int = 0
    at: float = field(default_factory=time.monotonic)


class FakeWeChatAPI:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.token_fetches: list[dict[str, str]] = []
        self.valid_tokens: set[str] = set()
        self.media: dict[str, tuple[str, bytes]] = {}
        self.media_types: dict[str, str] = {}
        self.on_call: Callable[[Call], None] | None = None  # told of every call answered (benchmarks wait on it)
        self._failures: dict[str, list[int]] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.jsapi_ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"

    async def __aenter__(self) -> FakeWeChatAPI:
        app = web.Application(client_max_size=25 * 1024 * 1024)
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_get("/cgi-bin/gettoken", self._token)
        app.router.add_get("/cgi-bin/ticket/getticket", self._ticket)
        app.router.add_get("/sns/oauth2/access_token", self._oauth)  # web authorisation (bot/web/oauth.py)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        for path in PATHS:
            app.router.add_post(path, self._api)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- control --------------------------------------------------------------------------------

    def fail_next(self, path: str, errcode: int, times: int = 1) -> None:
        self._failures.setdefault(path, []).extend([errcode] * times)

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def calls_of(self, path: str, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls if c.path == path and (c.errcode == 0 or not ok_only)]

    def add_media(self, data: bytes, filename: str = "", mime: str = "image/jpeg") -> str:
        """A file as a user's phone uploads it to WeChat: its MediaId, for the message that carries it."""
        media_id = f"UMEDIA{next(self._ids)}"
        self.media[media_id] = (filename or f"{media_id}.jpg", data)
        self.media_types[media_id] = mime
        return media_id

    def images_to(self, user: str) -> list[bytes]:
        """The bytes of every image message (customer-service or application) the user received."""
        return [self.media[c.body["image"]["media_id"]][1] for c in self.calls
                if c.errcode == 0 and c.body.get("touser") == user and c.body.get("msgtype") == "image"]

    def sent_to(self, user: str) -> list[str]:
        """What the user received through the API, in order: each text, or "[image]" / "[file name]"."""
        out = []
        for c in self.calls:
            if c.errcode or c.body.get("touser") != user:
                continue
            kind = c.body.get("msgtype")
            if kind == "text":
                out.append(c.body["text"]["content"])
            elif kind == "image":
                out.append("[image]")
            elif kind == "file":
                out.append(f"[{self.media[c.body['file']['media_id']][0]}]")
        return out

    def texts_to(self, user: str) -> list[str]:
        """The text of every customer-service / application text message the user received."""
        out = []
        for c in self.calls:
            if c.errcode == 0 and c.body.get("touser") == user and c.body.get("msgtype") == "text":
                out.append(c.body["text"]["content"])
        return out

    # -- handlers -------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.token_fetches.append(q)
        if request.path == "/cgi-bin/token" and (q.get("grant_type") != "client_credential" or not q.get("appid")
                                                 or not q.get("secret")):
            return web.json_response({"errcode": 40002, "errmsg": "invalid grant_type"})
        if request.path == "/cgi-bin/gettoken" and not (q.get("corpid") and q.get("corpsecret")):
            return web.json_response({"errcode": 40013, "errmsg": "invalid corpid"})
        token = f"TOKEN{len(self.token_fetches)}"
        self.valid_tokens = {token}
        return web.json_response({"access_token": token, "expires_in": 7200}
                                 | ({"errcode": 0, "errmsg": "ok"} if request.path == "/cgi-bin/gettoken" else {}))

    async def _ticket(self, request: web.Request) -> web.Response:
        call = Call(path=request.path, query=dict(request.query))
        if call.query.get("access_token") not in self.valid_tokens:
            return self._answer(call, 40001, "invalid credential, access_token is invalid or not latest")
        if call.query.get("type") != "jsapi":
            return self._answer(call, 40097, "invalid args")
        return self._answer(call, 0, "ok", {"ticket": self.jsapi_ticket, "expires_in": 7200})

    async def _api(self, request: web.Request) -> web.Response:
        call = Call(path=request.path, query=dict(request.query))
        if request.content_type.startswith("multipart/"):
            raw = await request.read()
            if b"filename*=" in raw:  # WeChat ignores RFC 2231 names: "empty media data"
                return self._answer(call, 44001, "empty media data")
            call.files = _multipart(raw, request.headers["Content-Type"])
        else:
            try:
                call.body = json.loads(await request.read() or b"{}")
            except ValueError:
                return self._answer(call, 47001, "data format error")
        if call.query.get("access_token") not in self.valid_tokens:
            return self._answer(call, 40001, "invalid credential, access_token is invalid or not latest")
        pending = self._failures.get(request.path)
        if pending:
            code = pending.pop(0)
            return self._answer(call, code, {45047: "out of response count limit"}.get(code, "fake failure"))
        extra: dict[str, Any] = {}
        if request.path == "/cgi-bin/media/upload":
            kind = call.query.get("type")
            if kind not in ("file", "image") or "media" not in call.files:
                return self._answer(call, 40004, "invalid media type")
            if kind == "image" and not call.files["media"][1].startswith(IMAGE_MAGIC):
                return self._answer(call, 40005, "invalid file type")
            media_id = f"MEDIA{next(self._ids)}"
            self.media[media_id] = call.files["media"]
            extra = {"type": kind, "media_id": media_id, "created_at": str(int(time.time()))}
        elif request.path in ("/cgi-bin/message/custom/send", "/cgi-bin/message/send"):
            kind = call.body.get("msgtype")
            content = call.body.get("text", {}).get("content", "")
            if kind == "text" and len(content.encode()) > 2048:
                return self._answer(call, 45002, "content size out of limit")
            if kind in ("image", "file") and call.body.get(kind, {}).get("media_id") not in self.media:
                return self._answer(call, 40007, "invalid media_id")
        elif request.path == "/cgi-bin/menu/create":
            buttons = call.body.get("button", [])
            if not 1 <= len(buttons) <= 3 or any(len(b.get("sub_button", [])) > 5 for b in buttons):
                return self._answer(call, 40016, "invalid button size")
        return self._answer(call, 0, "ok", extra)

    async def _media_get(self, request: web.Request) -> web.Response:
        call = Call(path=request.path, query=dict(request.query))
        if call.query.get("access_token") not in self.valid_tokens:
            return self._answer(call, 40001, "invalid credential, access_token is invalid or not latest")
        found = self.media.get(call.query.get("media_id", ""))
        if found is None:
            return self._answer(call, 40007, "invalid media_id")
        self.calls.append(call)
        name, data = found
        mime = self.media_types.get(call.query["media_id"], "application/octet-stream")
        return web.Response(body=data, content_type=mime,
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})

    # -- web authorisation (snsapi_base): a code, once, stands for an openid ------------------------------

    def oauth_code(self, openid: str, snapshot: bool = False) -> str:
        """The code WeChat would put on the redirect for this user (`snapshot`: a 朋友圈 snapshot page's
        virtual account); good for one exchange."""
        codes = self.__dict__.setdefault("oauth_codes", {})
        code = f"CODE{next(self._ids)}x{len(codes)}"
        codes[code] = (openid, snapshot)
        return code

    async def _oauth(self, request: web.Request) -> web.Response:
        call = Call(path=request.path, query=dict(request.query))
        q, codes = call.query, self.__dict__.setdefault("oauth_codes", {})
        if q.get("grant_type") != "authorization_code" or not q.get("appid") or not q.get("secret"):
            return self._answer(call, 40002, "invalid grant_type")
        if q.get("code") not in codes:
            used = q.get("code") in self.__dict__.setdefault("oauth_used", set())
            return self._answer(call, 40163 if used else 40029, "code been used" if used else "invalid code")
        openid, snapshot = codes.pop(q["code"])
        self.__dict__.setdefault("oauth_used", set()).add(q["code"])
        return self._answer(call, 0, "ok", {"access_token": f"WEBTOKEN{next(self._ids)}", "expires_in": 7200,
                                            "refresh_token": "REFRESH", "openid": openid, "scope": "snsapi_base"}
                            | ({"is_snapshotuser": 1} if snapshot else {}))

    def _answer(self, call: Call, errcode: int, errmsg: str, extra: dict | None = None) -> web.Response:
        call.errcode = errcode
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        return web.json_response({"errcode": errcode, "errmsg": errmsg, **(extra or {})})


def _multipart(raw: bytes, content_type: str) -> dict[str, tuple[str, bytes]]:
    """field → (file name, bytes), reading the header the way WeChat does: `filename="…"` as raw UTF-8."""
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    out = {}
    for part in raw.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, body = part.partition(b"\r\n\r\n")
        disposition = head.decode("utf-8", "replace")
        name = re.search(r'name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name:
            out[name.group(1)] = (filename.group(1) if filename else "", body[:-2] if body.endswith(b"\r\n") else body)
    return out
