"""The district office's web console, on `serve`'s aiohttp server (jinja2 templates in ./templates).

    GET  /console/                     the queue of the officer's district (filters: 表格, 状态, 截止, 区, 名称)
    GET  /console/firm/{id}            one firm: each form's answers beside its documents, verdict buttons
    POST /console/firm/{id}/review     已收到纸质件 / 初审通过 / 退回 (with a reason): the firm is told in its chat
    GET  /console/firm/{id}/file/{submission}/{name}   a document (PDF inline)
    GET  /console/export.xlsx          the district's roll-up (one row per firm × 事项), same filters
    GET/POST /console/login, POST /console/logout, GET/POST /console/invite/{token}

Every page but login and invite needs a session cookie (else a redirect to login); every POST carries
the session's CSRF token (login and invite: a double-submit cookie), else 403. A firm outside the
officer's district is 404, whatever the URL.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlparse

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from multidict import MultiDictProxy

from bot.campaigns.model import Campaign, days_left
from bot.campaigns.repo import load_campaigns
from bot.console import auth, firms, review
from bot.dialogs.forms import FORMS
from storage.console_models import Officer
from storage.models import Submission, User

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

PREFIX = "/console"
COOKIE = "jiebang_console"
CSRF_COOKIE = "jiebang_console_csrf"
TEMPLATES = Path(__file__).resolve().parent / "templates"
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'self'; form-action 'self'; object-src 'self'",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OFFICER = web.RequestKey("officer", Officer)
CSRF = web.RequestKey("csrf", str)
FORM = web.RequestKey("form", MultiDictProxy)  # the POSTed form, its CSRF token checked


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(prefix=PREFIX, state_names=firms.STATE_NAMES, actions=review.ACTIONS, forms=FORMS,
                       deadline_filters=firms.DEADLINE_FILTERS, title_of=firms.title_of, quote=quote, local=_local)
    return env


class Console:
    def __init__(self, app: App, now: Callable[[], datetime] | None = None) -> None:
        self.app = app
        self.store = app.store
        self.settings = app.settings
        engine_now = getattr(getattr(app, "engine", None), "now", None)
        self.now = now or engine_now or (lambda: datetime.now(UTC))
        self.env = _env()
        self.secure = self.settings.public_url.startswith("https://")

    # -- plumbing -----------------------------------------------------------------------------------------

    def page(self, name: str, status: int = 200, **values: Any) -> web.Response:
        html = self.env.get_template(name).render(**values)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=HEADERS)

    def refuse(self, status: int, message: str, officer: Officer | None = None) -> web.Response:
        return self.page("message.html", status=status, message=message, officer=officer)

    def _cookie(self, response: web.StreamResponse, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(name, value, path=PREFIX, httponly=True, samesite="Strict", secure=self.secure,
                            max_age=max_age)

    def authed(self, handler: Callable) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            async with self.store.sessions() as session:
                found = await auth.current(session, request.cookies.get(COOKIE), self.now())
            if found is None:
                target = request.path_qs if request.method == "GET" else f"{PREFIX}/"
                raise web.HTTPFound(f"{PREFIX}/login?next={quote(target, safe='')}")
            officer, row = found
            if request.method == "POST":
                form = await request.post()
                if not auth.same(str(form.get("csrf") or ""), row.csrf):
                    log.warning("console: CSRF token refused for officer %s on %s", officer.id, request.path)
                    return self.refuse(403, "表单已失效，请返回刷新页面后重试。", officer)
                request[FORM] = form
            request[OFFICER], request[CSRF] = officer, row.csrf
            return await handler(request)

        return wrapped

    # -- login, invites -------------------------------------------------------------------------------------

    def _with_csrf_cookie(self, request: web.Request, name: str, **values: Any) -> web.Response:
        token = request.cookies.get(CSRF_COOKIE) or auth.new_token()
        response = self.page(name, csrf=token, **values)
        self._cookie(response, CSRF_COOKIE, token)
        return response

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        return self._with_csrf_cookie(request, "login.html", next=_safe_next(request.query.get("next")), error="")

    async def login_post(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        nxt = _safe_next(str(form.get("next") or ""))
        if not auth.same(str(form.get("csrf") or ""), request.cookies.get(CSRF_COOKIE)):
            return self.refuse(403, "表单已失效，请重新打开登录页。")
        name, password = str(form.get("login") or ""), str(form.get("password") or "")
        async with self.store.sessions() as session, session.begin():
            result = await auth.login(session, name, password, _address(request), self.now(),
                                      metrics=self.app.metrics)
            if result.officer is not None:
                token, _csrf = await auth.open_session(session, result.officer, self.now())
        if result.officer is None:
            status, error = (429, "尝试次数过多，请 15 分钟后再试。") if result.problem == "limited" \
                else (200, "登录名或密码不对。")
            response = self._with_csrf_cookie(request, "login.html", next=nxt, error=error, login=name)
            response.set_status(status)
            return response
        response = web.HTTPFound(nxt or f"{PREFIX}/")
        self._cookie(response, COOKIE, token, max_age=auth.SESSION_HOURS * 3600)
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        async with self.store.sessions() as session, session.begin():
            await auth.close_session(session, request.cookies.get(COOKIE))
        response = web.HTTPFound(f"{PREFIX}/login")
        response.del_cookie(COOKIE, path=PREFIX)
        raise response

    async def invite_page(self, request: web.Request) -> web.StreamResponse:
        async with self.store.sessions() as session:
            officer = await auth.invited(session, request.match_info["token"], self.now())
        if officer is None:
            return self.refuse(410, "邀请链接无效或已过期，请联系管理员重新邀请。")
        return self._with_csrf_cookie(request, "invite.html", invitee=officer, error="")

    async def invite_post(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if not auth.same(str(form.get("csrf") or ""), request.cookies.get(CSRF_COOKIE)):
            return self.refuse(403, "表单已失效，请重新打开邀请链接。")
        password, again = str(form.get("password") or ""), str(form.get("again") or "")
        async with self.store.sessions() as session, session.begin():
            officer = await auth.invited(session, request.match_info["token"], self.now())
            if officer is None:
                return self.refuse(410, "邀请链接无效或已过期，请联系管理员重新邀请。")
            problem = auth.password_problem(password, officer.login) or (
                "两次输入的密码不一样" if password != again else None)
            if problem is None:
                auth.accept(officer, password)
                session.add(officer)
                token, _csrf = await auth.open_session(session, officer, self.now())
        if problem is not None:
            return self._with_csrf_cookie(request, "invite.html", invitee=officer, error=problem)
        response = web.HTTPFound(f"{PREFIX}/")
        self._cookie(response, COOKIE, token, max_age=auth.SESSION_HOURS * 3600)
        raise response

    # -- the queue ------------------------------------------------------------------------------------------

    async def _district(self, officer: Officer, filters: firms.Filters | None = None,
                        ) -> tuple[Campaign | None, list[firms.Firm], list[firms.Firm]]:
        async with self.store.sessions() as session:
            campaigns = await load_campaigns(session)
            found = await firms.firms_for(session, officer, campaigns)
        campaign = next((c for c in campaigns if c.id == officer.campaign_id), None)
        now = self.now()
        chosen = [f for f in found if filters is None or firms.matches(f, filters, now)]
        return campaign, found, chosen

    async def queue(self, request: web.Request) -> web.StreamResponse:
        officer = request[OFFICER]
        filters = firms.Filters.from_query(request.query)
        campaign, everyone, chosen = await self._district(officer, filters)
        pages = max(1, -(-len(chosen) // firms.PAGE_SIZE))
        filters.page = min(filters.page, pages)
        start = (filters.page - 1) * firms.PAGE_SIZE
        now = self.now()
        rows = []
        for f in chosen[start:start + firms.PAGE_SIZE]:
            lefts = [x for x in f.deadlines(now) if x is not None]
            rows.append({"firm": f, "answers": f.answers, "left": min(lefts, key=abs) if lefts else None,
                         "latest": f.latest.astimezone(f.campaign.tz).strftime("%m-%d %H:%M") if f.latest else ""})
        areas = sorted({f.area for f in everyone if f.area})
        form_ids = [fid for fid in FORMS if any(s.form_id == fid for f in everyone for s in f.subs)]
        return self.page("queue.html", officer=officer, csrf=request[CSRF], campaign=campaign, rows=rows,
                         total=len(everyone), shown=len(chosen), filters=filters, pages=pages, areas=areas,
                         form_ids=form_ids)

    async def export(self, request: web.Request) -> web.StreamResponse:
        officer = request[OFFICER]
        filters = firms.Filters.from_query(request.query)
        _campaign, _everyone, chosen = await self._district(officer, filters)
        data = firms.rollup_xlsx(chosen, title=officer.district)
        name = f"揭榜汇总-{officer.district}-{self.now().astimezone(_tz(_campaign)).strftime('%Y%m%d')}.xlsx"
        return web.Response(body=data, headers={
            **HEADERS, "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": _disposition("attachment", name)})

    # -- one firm -------------------------------------------------------------------------------------------

    async def _firm(self, request: web.Request) -> firms.Firm:
        try:
            user_id = int(request.match_info["user_id"])
        except ValueError:
            raise web.HTTPNotFound() from None
        async with self.store.sessions() as session:
            firm = await firms.firm_for(session, request[OFFICER], user_id)
        if firm is None:
            raise web.HTTPNotFound(text="没有这家企业。", headers=HEADERS)
        return firm

    async def firm(self, request: web.Request) -> web.StreamResponse:
        firm = await self._firm(request)
        async with self.store.sessions() as session:
            events = await firms.events_of(session, [s.id for s in firm.subs if s.id is not None])
        now = self.now()
        cards = []
        for sub in firm.subs:
            form = FORMS.get(sub.form_id)
            if form is None or sub.id is None:
                continue
            d = firm.campaign.deadline(sub.form_id)
            cards.append({
                "sub": sub, "form": form, "title": firms.title_of(sub),
                "sections": firms.answer_sections(form.at(sub.form_version), sub.answers or {}),
                "files": await firms.documents_of(self.settings, self.store, firm.user_id, sub),
                "events": events.get(sub.id, []),
                "deadline": d, "left": None if d is None else days_left(d, now, firm.campaign.tz),
                "deadline_text": firm.campaign.deadline_text(sub.form_id),
            })
        return self.page("firm.html", officer=request[OFFICER], csrf=request[CSRF], firm=firm, cards=cards,
                         answers=firm.answers, flash=request.query.get("done", ""))

    async def review(self, request: web.Request) -> web.StreamResponse:
        firm = await self._firm(request)
        form = request[FORM]
        try:
            sub_id = int(str(form.get("submission") or ""))
        except ValueError:
            return self.refuse(400, "缺少表格编号。", request[OFFICER])
        if sub_id not in {s.id for s in firm.subs}:
            raise web.HTTPNotFound(text="没有这份表格。", headers=HEADERS)
        action, note = str(form.get("action") or ""), str(form.get("note") or "")
        now = self.now()
        async with self.store.sessions() as session, session.begin():
            sub = await session.get(Submission, sub_id)
            user = await session.get(User, firm.user_id)
            if sub is None or user is None:  # the firm erased its data a moment ago
                raise web.HTTPNotFound(text="没有这份表格。", headers=HEADERS)
            try:
                verdict = review.apply(session, request[OFFICER], sub, action, note, now, user.language)
            except review.ReviewRefused as exc:
                return self.refuse(400, str(exc), request[OFFICER])
        await review.tell(self.store, firm.user_id, [verdict], now)
        raise web.HTTPFound(f"{PREFIX}/firm/{firm.user_id}?done={quote(action)}#s{sub_id}")

    async def file(self, request: web.Request) -> web.StreamResponse:
        firm = await self._firm(request)
        try:
            sub_id = int(request.match_info["submission"])
        except ValueError:
            raise web.HTTPNotFound() from None
        sub = next((s for s in firm.subs if s.id == sub_id), None)
        if sub is None:
            raise web.HTTPNotFound()
        name = request.match_info["name"]
        ref = next((f for f in await firms.documents_of(self.settings, self.store, firm.user_id, sub)
                    if f.name == name), None)
        if ref is None:
            raise web.HTTPNotFound(text="文件不存在。", headers=HEADERS)
        mime = {"pdf": "application/pdf",
                "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}.get(
            ref.kind, "application/octet-stream")
        inline = ref.kind == "pdf"
        return web.FileResponse(ref.path, headers={
            **HEADERS, "Content-Type": mime,
            "Content-Disposition": _disposition("inline" if inline else "attachment", ref.name)})

    async def home(self, _request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"{PREFIX}/")

    async def css(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(TEMPLATES / "console.css", headers={"Content-Type": "text/css",
                                                                      "Cache-Control": "max-age=3600"})


def _local(ts: datetime, tz: tzinfo) -> str:
    """A stored time in the campaign's zone (SQLite hands back naive UTC)."""
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _tz(campaign: Campaign | None) -> tzinfo:
    from zoneinfo import ZoneInfo

    return campaign.tz if campaign is not None else ZoneInfo("Asia/Shanghai")


def _address(request: web.Request) -> str:
    """Who is logging in, for the rate limit: behind a reverse proxy on this host (every request from
    loopback) the address the proxy saw, else the peer's."""
    remote = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and remote in ("127.0.0.1", "::1"):
        return forwarded.split(",")[-1].strip()[:64] or remote
    return remote


def _disposition(kind: str, filename: str) -> str:
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _safe_next(target: str | None) -> str:
    """Only a path of the console itself (no other host): an open redirect is a phishing tool."""
    if not target:
        return ""
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith(PREFIX + "/") or "\\" in target:
        return ""
    return target


def add_routes(web_app: web.Application, app: App, now: Callable[[], datetime] | None = None) -> Console:
    """Mount the console under /console on `web_app` (serve's server)."""
    c = Console(app, now)
    r = web_app.router
    r.add_get(PREFIX, c.home)
    r.add_get(f"{PREFIX}/", c.authed(c.queue))
    r.add_get(f"{PREFIX}/login", c.login_page)
    r.add_post(f"{PREFIX}/login", c.login_post)
    r.add_post(f"{PREFIX}/logout", c.authed(c.logout))
    r.add_get(f"{PREFIX}/invite/{{token}}", c.invite_page)
    r.add_post(f"{PREFIX}/invite/{{token}}", c.invite_post)
    r.add_get(f"{PREFIX}/export.xlsx", c.authed(c.export))
    r.add_get(f"{PREFIX}/firm/{{user_id}}", c.authed(c.firm))
    r.add_post(f"{PREFIX}/firm/{{user_id}}/review", c.authed(c.review))
    r.add_get(f"{PREFIX}/firm/{{user_id}}/file/{{submission}}/{{name}}", c.authed(c.file))
    r.add_get(f"{PREFIX}/static/console.css", c.css)
    return c
