"""The phone pages on `serve`'s aiohttp server: a user's 我的文件 and a form's full review.

    GET /m/{link}                      the page the link was made for (我的文件, or a review)
    GET /m/{link}/review/{sid}         the whole of one form, as the chat's review lists it
    GET /m/{link}/pdf/{sid}            its PDF, shown in the browser (inline)
    GET /m/{link}/docx/{sid}           its Word file (attachment, UTF-8 file name)
    GET /m/{link}/preview/{sid}        page 1 of its PDF as a PNG
    GET /m/{link}/copy/{sid}           网上填报: a confirmed form's answers in the official order, each to copy
    POST /m/{link}/copy/{sid}/mark     {"path": "company_name", "on": true}: its 已填 mark (bot.web.copying)
    GET /m/wx?code=…&state=…           WeChat OAuth (snsapi_base): the OA user's pages, kept in a cookie;
                                       /m/wx/… is then /m/{link}/… with the link taken from that cookie

`{link}` is a short link's id (bot.web.pagelinks). Whatever arrives there, the answer is a page: a link we did
not make, or a form that is not the link's user's, is 403; an expired link 410, each a real phone page
saying what to do (reply 文件 in the chat); an error of ours 503, never a traceback. A page is in the user's
language, or the one `?lang=en` / `?lang=zh` asks for.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.config import local_zone
from bot.dialogs.forms import FORMS
from bot.dialogs.printed import print_state
from bot.dialogs.summary import review_rows
from bot.i18n import gettext, normalise_language
from bot.messages import DOCX_MIME, PDF_MIME, PNG_MIME
from bot.web import copying, files, oauth
from bot.web.filenames import content_disposition, download_name
from bot.web.pagelinks import PREFIX, Opened, Refused, clock, make_link_id, open_link
from bot.web.text import state_name, word
from storage import copy_models
from storage.models import User

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
COOKIE = "jiebang_wx"
WX = "wx"  # /m/wx: the Official Account's pages, the link in the cookie
HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the page's own URL is the key to it: never sent on
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}
MESSAGES = {  # kind → the words (bot.web.text) of its heading and its explanation
    "expired": ("expired_title", "expired_body"), "invalid": ("invalid_title", "invalid_body"),
    "gone": ("gone_title", "gone_body"), "wx": ("wx_title", "wx_body"), "snapshot": ("wx_title", "snapshot_body"),
    "busy": ("busy_title", "busy_body"), "unconfirmed": ("unconfirmed_title", "unconfirmed_body"),
}
# The 网上填报 page runs its own script (a nonce a response) and posts its marks to itself.
COPY_CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
JSON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def asked_language(request: web.Request) -> str | None:
    """The language `?lang=` asks for (en, zh), over the user's own; None when it asks for none we have."""
    asked = request.query.get("lang", "").lower().replace("-", "_")
    if asked == "en":
        return "en"
    if asked in ("zh", "zh_cn"):
        return "zh_CN"
    return None


def request_language(request: web.Request) -> str:
    """zh_CN, or en when ?lang=en or the browser asks for English before Chinese (pages that know no user)."""
    asked = asked_language(request)
    if asked:
        return asked
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return "zh_CN"


class Seen:
    """Who a request is for: the link, its user (None before their first message), their language and
    the URL prefix of their pages ("/m/<id>" or "/m/wx")."""

    def __init__(self, opened: Opened, user: User | None, lang: str, base: str) -> None:
        self.opened, self.user, self.lang, self.base = opened, user, lang, base


class Pages:
    def __init__(self, app: App) -> None:
        self.app = app
        self.env = _env()
        self._http: aiohttp.ClientSession | None = None
        self._guarded_landing = self.guarded(self._landing)

    # -- plumbing -------------------------------------------------------------------------------------

    def page(self, name: str, lang: str, status: int = 200, headers: dict[str, str] | None = None,
             **values: Any) -> web.Response:
        html = self.env.get_template(name).render(
            lang=lang, html_lang=HTML_LANG.get(lang, "zh-CN"), _=lambda key, **k: word(lang, key, **k),
            t=lambda s, **k: gettext(lang, s, **k), **values)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                            headers={**HEADERS, **(headers or {})})

    def message(self, lang: str, status: int, kind: str, back: str = "") -> web.Response:
        """A refusal as a page: `kind` is expired, invalid, gone, wx, snapshot, busy or unconfirmed; `back`
        the 我的文件 it may link back to."""
        heading, body = MESSAGES[kind]
        return self.page("message.html", lang, status, kind=kind, heading=word(lang, heading), body=word(lang, body),
                         back=back)

    def guarded(self, handler: Callable[[web.Request, Seen], Awaitable[web.StreamResponse]]) -> Handler:
        """The link resolved (or its refusal page), then `handler`; anything unexpected is a 503 page."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            lang = request_language(request)
            try:
                seen = await self.seen(request)
                if isinstance(seen, web.StreamResponse):
                    return seen
                return await handler(request, seen)
            except web.HTTPException:
                raise
            except Exception:
                log.exception("page %s failed", request.match_info.route.resource.canonical
                              if request.match_info.route.resource else request.path)
                return self.message(lang, 503, "busy")

        return wrapped

    async def seen(self, request: web.Request) -> Seen | web.Response:
        link = request.match_info.get("link", "")
        from_cookie = link == WX
        link_id = request.cookies.get(COOKIE, "") if from_cookie else link
        lang = request_language(request)
        if from_cookie and not link_id:
            return self.message(lang, 403, "wx")
        try:
            opened = await open_link(self.app, link_id)
        except Refused as e:
            log.info("page link refused (%d): %s", e.status, e)
            if e.opened is not None and not asked_language(request):
                user = await self.app.store.user(e.opened.channel, e.opened.external_id)
                lang = normalise_language(user.language) if user else lang
            return self.message(lang, e.status, "expired" if e.status == 410 else "invalid")
        user = await self.app.store.user(opened.channel, opened.external_id)
        if user is not None and not asked_language(request):
            lang = normalise_language(user.language)
        return Seen(opened, user, lang, f"{PREFIX}/{WX if from_cookie else link_id}")

    def until(self, seen: Seen) -> str:
        return seen.opened.expires_at.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")

    # -- pages ----------------------------------------------------------------------------------------

    async def landing(self, request: web.Request) -> web.StreamResponse:
        if request.match_info.get("link") == WX and "code" in request.query:
            return await self.wechat_callback(request)
        return await self._guarded_landing(request)

    async def _landing(self, request: web.Request, seen: Seen) -> web.StreamResponse:
        kind, _, sid = seen.opened.target.partition(":")
        if kind == "review":
            return await self._review(request, seen, sid)
        return await self._files(request, seen)

    async def _files(self, request: web.Request, seen: Seen) -> web.StreamResponse:
        cards = await files.cards(self.app, seen.user, seen.lang, clock(self.app))
        return self.page("files.html", seen.lang, cards=cards, base=seen.base, until=self.until(seen))

    async def review(self, request: web.Request, seen: Seen) -> web.StreamResponse:
        return await self._review(request, seen, request.match_info["sid"])

    async def _review(self, request: web.Request, seen: Seen, sid: str) -> web.StreamResponse:
        sub = await files.submission_of(self.app, seen.user, sid)
        if sub is None:
            return self.message(seen.lang, 403, "invalid")
        form = FORMS[sub.form_id]
        rows = review_rows(form, sub.answers, sub.form_version, seen.lang)
        title, item = files.title_of(seen.lang, sub)
        state = print_state(sub)
        pdf, docx = (await files.documents(self.app.settings, self.app.store, sub) if state != "draft"
                     else (None, None))
        notes = [gettext(seen.lang, n) for n in form.notes]
        return self.page("review.html", seen.lang, title=title, item=item, state=state,
                         state_name=state_name(seen.lang, state), note=sub.status_note or "", rows=rows,
                         notes=notes, sub_id=sub.id, pdf=pdf, docx=docx, base=seen.base, until=self.until(seen))

    async def _document(self, request: web.Request, seen: Seen, pick: str) -> web.StreamResponse:
        sub = await files.submission_of(self.app, seen.user, request.match_info["sid"])
        if sub is None:
            return self.message(seen.lang, 403, "invalid")
        pdf, docx = await files.documents(self.app.settings, self.app.store, sub)
        if pick == "preview":
            png = await files.cached_preview(pdf) if pdf is not None else None
            if png is None:
                return self.message(seen.lang, 404, "gone")
            return web.FileResponse(png, headers={**HEADERS, "Content-Type": PNG_MIME})
        path = pdf if pick == "pdf" else docx
        if path is None or not path.is_file():
            return self.message(seen.lang, 404, "gone")
        disposition = "inline" if pick == "pdf" else "attachment"
        return web.FileResponse(path, headers={
            **HEADERS, "Content-Type": PDF_MIME if pick == "pdf" else DOCX_MIME,
            "Content-Disposition": content_disposition(download_name(path), disposition)})

    async def pdf(self, request: web.Request, seen: Seen) -> web.StreamResponse:
        return await self._document(request, seen, "pdf")

    async def docx(self, request: web.Request, seen: Seen) -> web.StreamResponse:
        return await self._document(request, seen, "docx")

    async def preview(self, request: web.Request, seen: Seen) -> web.StreamResponse:
        return await self._document(request, seen, "preview")

    # -- 网上填报 ---------------------------------------------------------------------------------------

    async def copy(self, request: web.Request, seen: Seen) -> web.StreamResponse:
        """The answers one by one, each with 复制 and 已填; a draft is a page saying to confirm it first (404)."""
        sub = await files.submission_of(self.app, seen.user, request.match_info["sid"])
        if sub is None:
            return self.message(seen.lang, 403, "invalid")
        if sub.status == "draft":
            return self.message(seen.lang, 404, "unconfirmed", back=seen.base)
        assert sub.id is not None
        rows = copying.copy_rows(FORMS[sub.form_id], sub, seen.lang, await copy_models.marked_paths(self.app.store, sub.id))
        marked, total = copying.progress(rows)
        title, item = files.title_of(seen.lang, sub)
        state = print_state(sub)
        nonce = secrets.token_urlsafe(18)
        return self.page("copy.html", seen.lang, headers={"Content-Security-Policy": COPY_CSP.format(nonce=nonce)},
                         nonce=nonce, title=title, item=item, state=state, state_name=state_name(seen.lang, state),
                         rows=rows, marked=marked, total=total, sub_id=sub.id, base=seen.base,
                         until=self.until(seen))

    async def mark(self, request: web.Request, seen: Seen) -> web.StreamResponse:
        """POST {"path": …, "on": true|false} from the page itself: the mark kept; the count back as JSON."""
        if not copying.same_origin(request, self.app.settings.public_url):
            log.info("copy mark refused: not from the page (Sec-Fetch-Site %r, Origin %r)",
                     request.headers.get("Sec-Fetch-Site"), request.headers.get("Origin"))
            return _json({"error": "not_same_origin"}, 403)
        if request.content_type != "application/json":
            return _json({"error": "json_expected"}, 415)
        try:
            body = json.loads(await request.text())
        except ValueError:
            body = None
        path, on = (body.get("path"), body.get("on")) if isinstance(body, dict) else (None, None)
        if not isinstance(path, str) or not isinstance(on, bool) or len(path) > copying.MAX_PATH:
            return _json({"error": "bad_request"}, 400)
        sub = await files.submission_of(self.app, seen.user, request.match_info["sid"])
        if sub is None:
            return _json({"error": "not_yours"}, 403)
        if sub.status == "draft":
            return _json({"error": "unconfirmed"}, 404)
        assert sub.id is not None
        rows = copying.copy_rows(FORMS[sub.form_id], sub, seen.lang)
        if not any(r.path == path and not r.missing for r in rows):
            return _json({"error": "no_such_answer"}, 400)
        await copy_models.set_mark(self.app.store, sub.id, path, on, clock(self.app))
        marks = await copy_models.marked_paths(self.app.store, sub.id)
        marked, total = copying.progress(copying.copy_rows(FORMS[sub.form_id], sub, seen.lang, marks))
        return _json({"path": path, "on": on, "marked": marked, "total": total})

    async def unknown(self, request: web.Request) -> web.StreamResponse:
        return self.message(request_language(request), 404, "invalid")

    # -- WeChat OAuth ---------------------------------------------------------------------------------

    def http(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        return self._http

    async def close(self, _web_app: web.Application | None = None) -> None:
        if self._http is not None:
            await self._http.close()

    async def wechat_callback(self, request: web.Request) -> web.StreamResponse:
        """?code=…&state=…: the openid behind the code; its page link goes in a cookie; on to /m/wx."""
        lang = request_language(request)
        try:
            openid = await oauth.openid_for(self.http(), self.app.settings, request.query.get("code", ""))
        except oauth.NotAuthorised as e:
            log.info("wechat oauth refused: %s", e)
            return self.message(lang, 403, "snapshot" if e.snapshot else "wx")
        try:
            link_id = await make_link_id(self.app, oauth.CHANNEL, openid, "files")
        except Exception:
            log.exception("wechat oauth: no page link for the user")
            return self.message(lang, 503, "busy")
        target = oauth.target_of(request.query.get("state", ""))
        kind, _, sid = target.partition(":")
        location = f"{PREFIX}/{WX}" + (f"/review/{sid}" if kind == "review" else "")
        response = web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store",
                                                     "Referrer-Policy": "no-referrer"})
        settings = self.app.settings
        response.set_cookie(COOKIE, link_id, path=f"{PREFIX}/{WX}", httponly=True, samesite="Lax",
                            secure=settings.public_url.startswith("https://"), max_age=max(60, settings.link_ttl_seconds))
        return response


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers=JSON_HEADERS)


def add_routes(web_app: web.Application, app: App) -> Pages:
    """Mount the phone pages (/m/…) on `web_app`."""
    pages = Pages(app)
    r = web_app.router
    r.add_get(PREFIX + "/{link}", pages.landing)
    r.add_get(PREFIX + "/{link}/review/{sid}", pages.guarded(pages.review))
    r.add_get(PREFIX + "/{link}/pdf/{sid}", pages.guarded(pages.pdf))
    r.add_get(PREFIX + "/{link}/docx/{sid}", pages.guarded(pages.docx))
    r.add_get(PREFIX + "/{link}/preview/{sid}", pages.guarded(pages.preview))
    r.add_get(PREFIX + "/{link}/copy/{sid}", pages.guarded(pages.copy))
    r.add_post(PREFIX + "/{link}/copy/{sid}/mark", pages.guarded(pages.mark))
    r.add_get(PREFIX + "/{tail:.*}", pages.unknown)
    web_app.on_cleanup.append(pages.close)
    return pages
