"""Signed download links for finished forms, for channels that cannot send a file (WeChat OA).

A link names one document of one user and expires:

    token = base64url(JSON {"p": path under documents_dir, "o": "<channel>:<user id>", "e": expiry})
            + "." + base64url(HMAC-SHA256(settings.effective_secret(), first part))

`GET /files/{token}` answers 403 for a token that does not verify (or names a file that is not
that user's, or is not a token at all: any characters may arrive in a URL), 410 once it has expired
and 404 when the file is gone; never a 500. Each refusal is the phone page of `bot.web.pages` (what
happened and what to do: reply 文件 in the chat), in the user's language where the token names them.
The file goes out with its UTF-8 name in Content-Disposition (RFC 5987 / RFC 6266: `bot.web.filenames`).

These links were sent before the short links of `bot.web.pagelinks` (/m/<id>) and go on working until they
expire. `add_routes` mounts both: the downloads and the pages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import time
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from aiohttp import web

from bot.web.filenames import content_disposition, download_name
from storage.file_models import DOCUMENT, local_copy

if TYPE_CHECKING:
    from bot.app import App
    from bot.config import Settings

log = logging.getLogger(__name__)

ROUTE = "/files/{token}"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,4096}\.[A-Za-z0-9_-]{43}")  # what make_token writes, and nothing else


class LinkError(Exception):
    def __init__(self, status: int, reason: str, owner: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.owner = owner  # "channel:user id" where the token verified (expired), for the page's language


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def _epoch(now: float | datetime | None) -> float:
    if now is None:
        return time.time()
    return now.timestamp() if isinstance(now, datetime) else float(now)


def make_token(settings: Settings, path: Path | str, owner: str, now: float | datetime | None = None) -> str:
    """A token for `path` (a file under settings.documents_dir) owned by `owner` ("channel:user id")."""
    root = settings.documents_dir.resolve()
    rel = Path(path).resolve().relative_to(root)  # ValueError for a file outside the folder
    payload = {"p": PurePosixPath(*rel.parts).as_posix(), "o": owner,
               "e": int(_epoch(now) + settings.link_ttl_seconds)}
    body = _b64(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    return f"{body}.{_sign(settings.effective_secret(), body)}"


def make_link(settings: Settings, path: Path | str, owner: str, now: float | datetime | None = None) -> str:
    """The full download URL (settings.public_url + /files/<token>)."""
    if not settings.public_url:
        log.warning("JIEBANG_PUBLIC_URL is not set: download links will be relative")
    return f"{settings.public_url.rstrip('/')}/files/{make_token(settings, path, owner, now)}"


def read_token(settings: Settings, token: str, now: float | datetime | None = None) -> dict:
    """The payload of a valid token; LinkError(403) tampered or not a token at all, LinkError(410) expired."""
    if not _TOKEN.fullmatch(token):  # non-ASCII, a lone surrogate, the wrong shape: never signed by us
        raise LinkError(403, "not a token")
    body, _dot, sig = token.partition(".")
    if not hmac.compare_digest(_sign(settings.effective_secret(), body), sig):
        raise LinkError(403, "bad signature")
    try:
        payload = json.loads(_unb64(body))
        path, owner, expires = str(payload["p"]), str(payload["o"]), int(payload["e"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise LinkError(403, "bad token") from exc
    if _epoch(now) > expires:
        raise LinkError(410, "expired", owner)
    return {"path": path, "owner": owner, "expires": expires}


async def _resolve(app: App, token: str) -> Path:
    settings = app.settings
    data = read_token(settings, token)
    root = settings.documents_dir.resolve()
    rel = PurePosixPath(data["path"])
    if rel.is_absolute() or ".." in rel.parts or len(rel.parts) < 2:
        raise LinkError(403, "bad path")
    channel, _, external_id = data["owner"].partition(":")
    user = await app.store.user(channel, external_id)
    if user is None or rel.parts[0] != str(user.id):
        raise LinkError(403, "not this user's document")  # a valid signature, someone else's file
    path = (root / Path(*rel.parts)).resolve()
    if root not in path.parents:
        raise LinkError(403, "bad path")
    # the database's copy (any process made it), through this process's folder
    local = await local_copy(app.store, root, DOCUMENT, rel.as_posix())
    if local is None or not local.is_file():
        raise LinkError(404, "gone")
    return local


async def _language(app: App, request: web.Request, owner: str) -> str:
    from bot.i18n import normalise_language
    from bot.web.pages import request_language

    channel, _, external_id = owner.partition(":")
    user = await app.store.user(channel, external_id) if external_id else None
    return normalise_language(user.language) if user is not None else request_language(request)


def add_routes(web_app: web.Application, app: App) -> None:
    """GET /files/{token}: the signed download; and the phone pages (/m/…, `bot.web.pages`)."""
    from bot.web.pages import add_routes as add_pages

    pages = add_pages(web_app, app)

    async def download(request: web.Request) -> web.StreamResponse:
        try:
            path = await _resolve(app, request.match_info["token"])
        except LinkError as exc:
            log.info("download refused (%d): %s", exc.status, exc)
            kind = {403: "invalid", 404: "gone", 410: "expired"}.get(exc.status, "invalid")
            return pages.message(await _language(app, request, exc.owner), exc.status, kind)
        return web.FileResponse(path, headers={
            "Content-Disposition": content_disposition(download_name(path)),
            "Content-Type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            if path.suffix == ".docx" else "application/octet-stream",
            "Cache-Control": "private, no-store",
        })

    web_app.router.add_get(ROUTE, download)
