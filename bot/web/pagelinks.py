"""Short, signed, expiring links to a user's pages: JIEBANG_PUBLIC_URL + "/m/<id>", about 40 characters.

    url = await page_url(app, "telegram", "12345", "files")          # 我的文件
    url = await page_url(app, "wecom", "zhangsan", "review:17")        # the full review of submission 17

The id is 12 random characters and a 6-character signature (HMAC-SHA256 with the link secret, cut to
32 bits), 18 characters of [A-Za-z0-9_-]. It names a row of `page_links` (storage/link_models.py) that
says whose pages it opens (channel + user id there), which page it lands on and until when
(JIEBANG_LINK_TTL_SECONDS). Nothing else is in the URL: no path, no owner. A link opens that one user's
pages only; the signature lets anything that is not an id of ours be refused without a database read.

Without JIEBANG_PUBLIC_URL there are no links: `page_url` returns "" (said once in the log) and a channel
leaves its link line out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from storage import link_models

if TYPE_CHECKING:
    from bot.app import App
    from bot.messages import Reply

log = logging.getLogger(__name__)

PREFIX = "/m"
ID = re.compile(r"[A-Za-z0-9_-]{18}")
TARGET = re.compile(r"files|review:\d{1,18}")
_RANDOM_BYTES = 9  # 12 characters
_told_no_url = False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _tag(secret: str, random_part: str) -> str:
    return _b64(hmac.new(secret.encode(), f"page:{random_part}".encode(), hashlib.sha256).digest()[:4])


def new_id(secret: str) -> str:
    random_part = _b64(secrets.token_bytes(_RANDOM_BYTES))
    return random_part + _tag(secret, random_part)


def signed(secret: str, link_id: str) -> bool:
    """True for an id this secret made (any string may arrive: non-ASCII, surrogates, 5,000 characters)."""
    if not isinstance(link_id, str) or not ID.fullmatch(link_id):
        return False
    return hmac.compare_digest(_tag(secret, link_id[:12]), link_id[12:])


def clock(app: App) -> datetime:
    """The app's time (tests inject it through the engine), aware."""
    now = getattr(getattr(app, "engine", None), "now", None)
    value = now() if callable(now) else datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def page_path(link_id: str, *parts: str) -> str:
    return "/".join((PREFIX, link_id, *parts))


async def make_link_id(app: App, channel: str, external_id: str, target: str,
                       now: datetime | None = None) -> str:
    """The id of a link to `target` for this user: one still valid for over half its lifetime, else a new one."""
    if not TARGET.fullmatch(target):
        raise ValueError(f"not a page: {target!r} (files, review:<submission id>)")
    settings = app.settings
    now = now or clock(app)
    ttl = timedelta(seconds=max(60, settings.link_ttl_seconds))
    found = await link_models.reusable_link(app.store, channel, external_id, target, now + ttl / 2)
    if found is not None:
        return found
    link_id = new_id(settings.effective_secret())
    await link_models.add_link(app.store, link_id, channel, external_id, target, now + ttl, now)
    return link_id


async def page_url(app: App, channel: str, external_id: str, target: str, now: datetime | None = None) -> str:
    """The short link to `target` ("files", "review:<submission id>") of the user `external_id` on `channel`;
    "" without JIEBANG_PUBLIC_URL (no link can be given: said once in the log)."""
    global _told_no_url
    base = app.settings.public_url.rstrip("/")
    if not base:
        if not _told_no_url:
            log.warning("JIEBANG_PUBLIC_URL is not set: replies carry no link to 我的文件 or a form's full review")
            _told_no_url = True
        return ""
    return base + page_path(await make_link_id(app, channel, external_id, target, now))


@dataclass(frozen=True)
class Opened:
    """What a link opens: whose pages, which page first, until when; `expired` once that has passed."""

    channel: str
    external_id: str
    target: str
    expires_at: datetime
    expired: bool


class Refused(Exception):
    """A link that opens nothing: 403 not ours (or not an id at all), 410 ours but expired or forgotten."""

    def __init__(self, status: int, reason: str, opened: Opened | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.opened = opened


async def open_link(app: App, link_id: str, now: datetime | None = None) -> Opened:
    """The link's row, or Refused(403) for anything we did not make, Refused(410) once it has expired."""
    if not signed(app.settings.effective_secret(), link_id):
        raise Refused(403, "not a link of ours")
    row = await link_models.find_link(app.store, link_id)
    if row is None:  # signed by us, and deleted long after it expired
        raise Refused(410, "expired and forgotten")
    now = now or clock(app)
    opened = Opened(row.channel, row.external_id, row.target, row.expires_at, now >= row.expires_at)
    if opened.expired:
        raise Refused(410, "expired", opened)
    return opened


async def with_page_link(app: App, channel: str, external_id: str, reply: Reply, limit: int | None = None,
                         length: Callable[[str], int] = len, text: str | None = None) -> str:
    """The text a channel sends for `reply` (or `text`, the channel's own rendering of it, e.g. with
    numbered choices): that and, where the reply has a page, one line with the link, in the reply's
    language. Where that is over `limit` (measured with `length`) and the reply has a summary, the summary
    and the link instead of a long text in many parts. Without a link (no JIEBANG_PUBLIC_URL, or the link
    could not be stored): the text as it is."""
    from bot.web.text import link_line

    body = reply.text if text is None else text
    if not reply.page:
        return body
    try:
        url = await page_url(app, channel, external_id, reply.page)
    except Exception:  # the database unreachable: the reply goes out without its link, not at all is worse
        log.exception("no page link for %s:%s (%s)", channel, external_id, reply.page)
        return body
    if not url:
        return body
    line = link_line(reply.language, reply.page, url)
    whole = f"{body}\n\n{line}" if body else line
    if limit is not None and reply.summary and length(whole) > limit:
        return f"{reply.summary}\n\n{line}"
    return whole
