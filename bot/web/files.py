"""What 我的文件 shows of one user's forms, read from the database (documents through the folder, their cache).

Each form (the newest of each, one 申请书 per current 事项, as 状态 lists them) with its state as the
user reads it, the documents its confirm kept (`kept_documents`), the page-1 picture of its PDF (made
once with `page_preview` and kept beside the PDF as <same name>.png, made again when the PDF is newer)
and, while it is still to be handed in, where and by when.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.campaigns.repo import user_forms
from bot.campaigns.status import deadline_line, where_line
from bot.config import Settings
from bot.dialogs import walker as w
from bot.dialogs.forms import FORMS
from bot.dialogs.printed import print_state
from bot.documents.preview import page_preview, preview_available
from bot.handlers.session import kept_documents
from bot.i18n import gettext
from bot.messages import PDF_MIME
from bot.web.text import state_name, word
from storage.hot import SubmissionLike
from storage.models import Submission, User

if TYPE_CHECKING:
    from bot.app import App
    from storage.store import Store

log = logging.getLogger(__name__)

TO_HAND_IN = ("draft", "complete", "changed", "returned")  # states whose card says where and by when


@dataclass
class Card:
    sub_id: int
    title: str
    item: str  # the 事项 a 申请书 is for
    state: str
    state_name: str
    note: str  # the reason a form was returned
    progress: str  # a draft's "已答 12/30"
    pdf: Path | None
    docx: Path | None
    deadline: str
    where: str

    @property
    def has_preview(self) -> bool:
        return self.pdf is not None and preview_available()


def title_of(lang: str, sub: SubmissionLike) -> tuple[str, str]:
    form = FORMS[sub.form_id]
    item = (sub.answers or {}).get("item_name") if form.per_item else ""
    return gettext(lang, form.title), str(item or "")


async def documents(settings: Settings, store: Store, sub: SubmissionLike) -> tuple[Path | None, Path | None]:
    """The kept PDF and .docx of a submission (None where there is none), as local files (the database's
    copies, cached in this process's data folder)."""
    pdf = docx = None
    for doc in await kept_documents(settings, store, sub.user_id, sub):
        if doc.mime == PDF_MIME:
            pdf = doc.path
        else:
            docx = doc.path
    return pdf, docx


async def card(settings: Settings, store: Store, lang: str, sub: Submission, deadline: str = "",
               where: str = "") -> Card:
    assert sub.id is not None, "a card shows a stored submission"
    form = FORMS[sub.form_id]
    state = print_state(sub)
    title, item = title_of(lang, sub)
    progress = ""
    if state == "draft":
        done, total, _missing = w.answered_sub(form, sub)
        progress = word(lang, "progress", done=done, total=total)
    note = (sub.status_note or word(lang, "no_note")) if state == "returned" else ""
    pdf, docx = await documents(settings, store, sub) if state != "draft" else (None, None)
    return Card(sub.id, title, item, state, state_name(lang, state), note, progress, pdf, docx,
                deadline if state in TO_HAND_IN else "", where if state in TO_HAND_IN else "")


async def cards(app: App, user: User | None, lang: str, now: datetime) -> list[Card]:
    """The user's forms, in the order the bot lists them."""
    if user is None:
        return []
    async with app.store.sessions() as session:
        uf = await user_forms(session, user)
    out: list[Card] = []
    for form_id in FORMS:
        subs = uf.forms.get(form_id) or ()
        if not subs:
            continue
        campaign = uf.campaign(form_id)
        deadline = deadline_line(lang, campaign, form_id, now)
        where = where_line(lang, uf, campaign, form_id)
        out.extend([await card(app.settings, app.store, lang, sub, deadline, where) for sub in subs])
    return out


async def submission_of(app: App, user: User | None, sub_id: str) -> Submission | None:
    """The user's own submission `sub_id` (digits); None for anyone else's, or none at all."""
    if user is None or not sub_id.isdigit() or len(sub_id) > 18:
        return None
    async with app.store.sessions() as session:
        sub = await session.get(Submission, int(sub_id))
    if sub is None or sub.user_id != user.id or sub.form_id not in FORMS:
        return None
    return sub


# -- the page-1 picture ------------------------------------------------------------------------------

_making: dict[Path, asyncio.Lock] = {}


def preview_path(pdf: Path) -> Path:
    return pdf.with_suffix(".png")


def _stale(pdf: Path, png: Path) -> bytes | None:
    """The PDF's bytes when its picture is missing or older than it; None when the picture is current."""
    if png.exists() and png.stat().st_mtime >= pdf.stat().st_mtime:
        return None
    return pdf.read_bytes()


def _write(png: Path, data: bytes) -> None:
    tmp = png.with_name(f".{png.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, png)


async def cached_preview(pdf: Path) -> Path | None:
    """Page 1 of `pdf` as a PNG beside it, made when missing or older than the PDF; None when it cannot be made."""
    png = preview_path(pdf)
    if len(_making) > 1000:
        _making.clear()
    async with _making.setdefault(png, asyncio.Lock()):
        try:
            data = await asyncio.to_thread(_stale, pdf, png)
            if data is None:
                return png
            made = await page_preview(data)
            if made is None:
                return None
            await asyncio.to_thread(_write, png, made)
        except OSError as e:
            log.warning("no page preview of %s: %s", pdf.name, e)
            return None
        return png
