"""Which firms an officer sees, their queue with filters, one firm's answers and documents, the roll-up.

A firm's district comes from its answers (注册地省份 / 市(区), as `bot.campaigns.repo.region_of` reads
them): for a campaign with 附件1 district offices (Shanghai), the office whose 区 the firm names; for one
without (national), the province — the provincial authority. An officer sees the firms of their campaign
and district, and of those only the forms the office receives (`to: district`; every form where the
campaign has no district offices). Anything else is not found, whatever the URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.campaigns.model import Campaign, days_left
from bot.campaigns.repo import UserForms, all_user_forms, load_campaigns
from bot.config import Settings
from bot.dialogs.fields import Field, Form, Group
from bot.dialogs.forms import FORMS
from bot.domain.industries import industry
from bot.domain.places import place_parts
from bot.handlers.session import kept_documents
from bot.messages import PDF_MIME
from storage.console_models import Officer, ReviewEvent
from storage.file_models import EVIDENCE, local_copy
from storage.models import Submission

if TYPE_CHECKING:
    from storage.store import Store

STATE_NAMES = {"draft": "填写中", "complete": "已填完待报送", "submitted": "已盖章报送", "received": "已收到纸质件",
               "approved": "初审通过", "returned": "退回"}
DEADLINE_FILTERS = {"open": "未截止", "soon": "7天内截止", "closed": "已截止", "none": "未定"}
PAGE_SIZE = 50


def receives(campaign: Campaign, form_id: str) -> bool:
    """Whether the campaign's district office (or, without districts, the provincial authority) gets this form."""
    if not any(c.get("district") for c in campaign.contacts):
        return True
    return (campaign.form(form_id) or {}).get("to") == "district"


def scope_of(uf: UserForms, campaign: Campaign) -> str | None:
    if any(c.get("district") for c in campaign.contacts):
        found = uf.district(campaign)
        return found.get("district") if found else None
    return uf.region.get("province")


@dataclass
class Firm:
    uf: UserForms
    campaign: Campaign
    subs: list[Submission]  # the forms the office receives, parent form first, items in order
    area: str  # 市(区) (or 县) by its official name, as the 对接表 prints it (bot.domain.places), for the 区 filter
    latest: datetime | None = None

    @property
    def user_id(self) -> int:
        return self.uf.user_id

    @property
    def answers(self) -> dict[str, Any]:
        """The firm's facts: the newest of its forms' answers that has them, profile beneath."""
        out: dict[str, Any] = dict(((self.uf.user.prefs or {}).get("profile")) or {})
        for sub in sorted(self.subs, key=lambda s: s.id or 0):
            out.update({k: v for k, v in (sub.answers or {}).items() if v not in (None, "", [])})
        return out

    @property
    def name(self) -> str:
        return str(self.answers.get("company_name") or f"#{self.user_id}")

    def deadlines(self, now: datetime) -> list[int | None]:
        out = []
        for sub in self.subs:
            d = self.campaign.deadline(sub.form_id)
            out.append(None if d is None else days_left(d, now, self.campaign.tz))
        return out


def _order(subs: Iterable[Submission]) -> list[Submission]:
    rank = {f: i for i, f in enumerate(FORMS)}
    return sorted(subs, key=lambda s: (rank.get(s.form_id, 99), (s.answers or {}).get("_item", 0), s.id or 0))


async def firms_for(session: AsyncSession, officer: Officer, campaigns: Sequence[Campaign] | None = None,
                    user_ids: Iterable[int] | None = None) -> list[Firm]:
    """Every firm of the officer's campaign and district, with the forms the office receives."""
    campaigns = list(campaigns) if campaigns is not None else await load_campaigns(session)
    out = []
    for uf in await all_user_forms(session, campaigns, user_ids):
        mine: list[Submission] = []
        campaign = None
        for form_id, subs in uf.forms.items():
            c = uf.campaign(form_id)
            if c is None or c.id != officer.campaign_id or not receives(c, form_id):
                continue
            if scope_of(uf, c) != officer.district:
                continue
            campaign = c
            mine.extend(subs)
        if campaign is None or not mine:
            continue
        # 区: the city for a provincial authority; within a district office, the firm's 县/镇 if it gave one
        districted = any(x.get("district") for x in campaign.contacts)
        _prov, city, county = place_parts({"reg_province": uf.region.get("province"),
                                           "reg_city": uf.region.get("city"), "reg_county": uf.region.get("county")})
        area = (county if districted else None) or city or county  # 重庆 + 城口: its 县 is the area
        latest = max((s.updated_at for s in mine if s.updated_at), default=None)
        out.append(Firm(uf, campaign, _order(mine), area, latest))
    out.sort(key=lambda f: (f.name, f.user_id))
    return out


async def firm_for(session: AsyncSession, officer: Officer, user_id: int) -> Firm | None:
    """One firm, only if it is in the officer's district (else None: not found, whatever the URL)."""
    found = await firms_for(session, officer, user_ids=[user_id])
    return found[0] if found else None


@dataclass
class Filters:
    form: str = ""
    state: str = ""
    deadline: str = ""
    area: str = ""
    q: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        try:
            page = max(1, int(query.get("page") or 1))
        except ValueError:
            page = 1
        f = cls(form=query.get("form", ""), state=query.get("state", ""), deadline=query.get("deadline", ""),
                area=query.get("area", ""), q=query.get("q", "").strip(), page=page)
        f.form = f.form if f.form in FORMS else ""
        f.state = f.state if f.state in STATE_NAMES else ""
        f.deadline = f.deadline if f.deadline in DEADLINE_FILTERS else ""
        return f

    def query(self, **changes: Any) -> str:
        from urllib.parse import urlencode

        values = {"form": self.form, "state": self.state, "deadline": self.deadline, "area": self.area,
                  "q": self.q, "page": self.page, **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})


def _deadline_fits(kind: str, left: int | None) -> bool:
    if kind == "none":
        return left is None
    if left is None:
        return False
    return {"open": left >= 0, "soon": 0 <= left <= 7, "closed": left < 0}[kind]


def matches(firm: Firm, f: Filters, now: datetime) -> bool:
    subs = [s for s in firm.subs if not f.form or s.form_id == f.form]
    if not subs:
        return False
    if f.state and not any(s.status == f.state for s in subs):
        return False
    if f.deadline:
        lefts = [firm.campaign.deadline(s.form_id) for s in subs]
        if not any(_deadline_fits(f.deadline, None if d is None else days_left(d, now, firm.campaign.tz))
                   for d in lefts):
            return False
    if f.area and firm.area != f.area:
        return False
    if f.q:
        a = firm.answers
        hay = " ".join(str(a.get(k) or "") for k in ("company_name", "credit_code", "contact"))
        if f.q.lower() not in hay.lower():
            return False
    return True


# -- one firm's answers and documents ------------------------------------------------------------------

@dataclass
class Row:
    label: str
    value: str
    long: bool = False


@dataclass
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)


def _display(f: Field, value: Any) -> str:
    if value in (None, "", []):
        return ""
    if f.show is not None:
        try:
            return f.show(value)
        except Exception:  # a display helper must never hide an answer
            return str(value)
    if isinstance(value, list):
        return "、".join(str(x.get("text", x) if isinstance(x, dict) else x) for x in value)
    return str(value)


def answer_sections(form: Form, answers: Mapping[str, Any]) -> list[Section]:
    """The form's answers under its own section headings, labels verbatim."""
    sections: list[Section] = []

    def section(title: str) -> Section:
        if not sections or sections[-1].title != title:
            sections.append(Section(title))
        return sections[-1]

    for item in form.items:
        if isinstance(item, Group):
            for i, row in enumerate(answers.get(item.key) or []):
                if not isinstance(row, dict):
                    continue
                for f in item.fields:
                    section(item.section).rows.append(
                        Row(f"{item.label} {i + 1} · {f.label}", _display(f, row.get(f.key)), bool(f.long_text)))
            continue
        value = answers.get(item.key)
        if value in (None, "", []) and not item.applies(answers):
            continue
        section(item.section).rows.append(Row(item.label, _display(item, value), bool(item.long_text)))
    if form.review_lines:  # as the review shows them last: how the document prints them (企业注册地（打印为）)
        sections.append(Section("", [Row(label, show(answers)) for label, show in form.review_lines]))
    return sections


@dataclass
class FileRef:
    name: str
    path: Path
    kind: str  # "pdf" | "docx" | "file"


async def documents_of(settings: Settings, store: Store, user_id: int, sub: Submission) -> list[FileRef]:
    """The files kept for a submission: its .docx and PDF (stored as "<submission id>-<name>" in the
    user's folder, as bot.handlers.session keeps them) and the evidence files the firm sent — the
    database's copies through this process's data folder (storage/file_models.py), or, kept before they
    were stored there, the folder's own."""
    out: list[FileRef] = [FileRef(doc.filename, doc.path, "pdf" if doc.mime == PDF_MIME else "docx")
                          for doc in await kept_documents(settings, store, user_id, sub) if doc.path is not None]
    files_dir = Path(settings.files_dir)
    root = (files_dir / str(user_id)).resolve()
    for item in (sub.answers or {}).get("_files") or []:
        if not isinstance(item, dict) or not item.get("filename"):
            continue
        name = str(item["filename"])
        path = await local_copy(store, files_dir, EVIDENCE, f"{user_id}/{sub.id}/{name}")
        if path is None:  # kept where an older version of the bot wrote it
            path = await asyncio.to_thread(_kept_at, root, item.get("path"))
            if path is None:
                continue
        out.append(FileRef(name, path, "pdf" if path.suffix.lower() == ".pdf" else "file"))
    return out


def _kept_at(root: Path, where: Any) -> Path | None:
    try:
        path = Path(where).resolve()
    except TypeError:
        return None
    return path if root in path.parents and path.is_file() else None


async def events_of(session: AsyncSession, submission_ids: Sequence[int]) -> dict[int, list[ReviewEvent]]:
    if not submission_ids:
        return {}
    rows = (await session.execute(select(ReviewEvent).where(col(ReviewEvent.submission_id).in_(list(submission_ids)))
                                  .order_by(col(ReviewEvent.at), col(ReviewEvent.id)))).scalars()
    out: dict[int, list[ReviewEvent]] = {}
    for r in rows:
        out.setdefault(r.submission_id, []).append(r)
    return out


def title_of(sub: Submission) -> str:
    form = FORMS.get(sub.form_id)
    title = form.short_title if form else sub.form_id
    item = (sub.answers or {}).get("item_name")
    return f"{title}《{item}》" if form is not None and form.per_item and item else title


# -- the roll-up ----------------------------------------------------------------------------------------

ROLLUP_HEADER = ["企业名称", "统一社会信用代码", "企业规模", "所属行业", "联系人", "联系电话", "区", "表格", "事项名称", "代码",
                 "状态", "说明", "更新时间"]


def rollup_rows(firms: Sequence[Firm]) -> list[list[Any]]:
    """One row per firm × 事项 (拟揭榜事项 of the 对接表, with its 申请书's state; a 需求表's needs), with the
    firm's answers; form names, not ids."""
    rows: list[list[Any]] = []
    for firm in firms:
        a = firm.answers
        ind = industry(str(a.get("industry") or ""))
        phone = a.get("contact_mobile") or a.get("mobile") or a.get("contact_phone") or ""
        if a.get("contact_phone") and a.get("contact_phone") != phone:
            phone = f"{a['contact_phone']} / {phone}" if phone else a["contact_phone"]
        base = [firm.name if a.get("company_name") else "", a.get("credit_code") or "", a.get("size") or "",
                ind.display if ind else (a.get("industry") or ""), a.get("contact") or "", phone, firm.area]
        apps = {(s.answers or {}).get("_item_id") or (s.answers or {}).get("item_name"): s
                for s in firm.subs if s.form_id == "application"}
        for sub in firm.subs:
            form = FORMS.get(sub.form_id)
            if form is None or form.per_item:
                continue
            answers = sub.answers or {}
            items = [r for r in answers.get("items") or answers.get("needs") or [] if isinstance(r, dict)]
            if not items:
                rows.append([*base, form.short_title, "", "", STATE_NAMES.get(sub.status, sub.status),
                             sub.status_note or "", _when(sub, firm)])
                continue
            for row in items:
                app = apps.get(row.get("_id")) or apps.get(row.get("name"))
                state = app if app is not None else sub
                label = f"{form.short_title}+申请书" if app is not None else form.short_title
                rows.append([*base, label, row.get("name") or "", row.get("code") or "",
                             STATE_NAMES.get(state.status, state.status), state.status_note or "", _when(state, firm)])
    return rows


def _when(sub: Submission, firm: Firm) -> str:
    return sub.updated_at.astimezone(firm.campaign.tz).strftime("%Y-%m-%d %H:%M") if sub.updated_at else ""


def rollup_xlsx(firms: Sequence[Firm], title: str = "汇总") -> bytes:
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(ROLLUP_HEADER)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rollup_rows(firms):
        ws.append(r)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for letter, width in zip("ABCDEFGHIJKLM", (30, 22, 8, 26, 18, 26, 12, 14, 30, 16, 12, 24, 17), strict=True):
        ws.column_dimensions[letter].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
