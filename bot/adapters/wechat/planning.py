"""What one message of a user brings back, as WeChat messages: the replies written as WeChat texts (numbered
choices, a download link per document on the OA, the link to a page with the whole of a long reply) and
planned within the budget of that message (budget.py).

The budget is the passive reply (one message ≤ 2048 bytes, if ready within the reply window) and, beside
it, `cs_per_message` customer-service messages (OA, while a window is open: windows.py) or
`app_per_message` application messages (WeCom). The current answer and any document come first, then what
waited in the outbox, newest first, then the picture of page 1; what waited and is superseded is dropped;
what does not fit is left for the next message (`Plan.left`). A review or preview is never more than one
message: its summary, or the start of each line, with the link to the whole of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.adapters.base import numbered
from bot.adapters.wechat import budget, windows
from bot.adapters.wechat.book import who, why
from bot.adapters.wechat.budget import TEXT_LIMIT, Plan, Unit, split_bytes
from bot.i18n import N_, gettext
from bot.messages import Document, Reply
from bot.web import downloads
from bot.web.oauth import oauth_url
from bot.web.pagelinks import page_url
from bot.web.text import link_line
from storage.channel_models import ChannelState

log = logging.getLogger(__name__)

LONG_SCREENS = ("review", "preview")  # never more than one message on WeChat (cut to a summary)


class Planner:
    """The replies of one account's users as the messages that may go. `app` makes the page links,
    `clock` (epoch seconds) dates the download links and judges the windows."""

    def __init__(self, app, settings, name: str, kind: str, clock: Callable[[], float], *,
                 cs_per_message: int = 2, app_per_message: int = 6) -> None:
        self.app = app
        self.settings = settings
        self.name = name
        self.kind = kind
        self.clock = clock
        self.cs_per_message = max(0, cs_per_message)
        self.app_per_message = max(1, app_per_message)

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
            return gettext(lang, N_("《{name}》已生成，但暂时无法提供下载，请稍后再试。"), name=doc.filename)
        url = downloads.make_link(self.settings, doc.path, f"{self.name}:{user}", now=self.clock())
        hours = max(1, self.settings.link_ttl_seconds // 3600)
        return gettext(lang, N_("下载《{name}》（{hours}小时内有效）：\n{url}"), name=doc.filename, hours=hours,
                       url=url)

    async def _page_link(self, user: str, target: str) -> str:
        """The link to a page with the whole of a long reply (bot.web): on the OA through WeChat's OAuth
        (snsapi_base: the page knows the user by WeChat, no token to expire) where set up, else a short
        signed link. "" where no page can be given (no JIEBANG_PUBLIC_URL)."""
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
        line = link_line(reply.language, reply.page, link) if link else ""  # as every channel writes it
        full = self._text_of(user, reply, buttons)
        whole = f"{full}\n\n{line}" if line and full else line or full
        if len(whole.encode()) <= TEXT_LIMIT or not (reply.summary or reply.page or reply.screen in LONG_SCREENS):
            return whole
        lang = reply.language
        tail = [line] if line else [] if reply.summary else [gettext(lang, N_("（内容较长，每项只显示开头。）"))]
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

    async def plan(self, user: str, replies: Sequence[Reply], waited: Sequence[Reply],
                   state: ChannelState | None, prompted: bool = True) -> Plan:
        """What goes out (budget.py): the replies to this message, then what waited and is still worth it.
        `prompted`: an answer to a message of the user's (a passive reply may carry its first message)."""
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
