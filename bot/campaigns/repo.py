"""Campaigns and users' forms, read from the database (shipped packs merged with admin rows)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.campaigns.model import Campaign, pick
from bot.campaigns.pack import shipped
from bot.dialogs.forms import FORMS
from bot.dialogs.items import S, link_items, parent_items
from bot.dialogs.printed import print_state
from bot.domain import regions
from storage.campaign_models import CampaignRow
from storage.hot import SubmissionLike, UserLike
from storage.models import Submission, User, utcnow

OPEN = ("draft", "complete")  # unfinished, or finished but not yet marked 已盖章报送
STATUSES = ("draft", "complete", "submitted", "received", "approved", "returned")


async def load_campaigns(session: AsyncSession, *, include_disabled: bool = False) -> list[Campaign]:
    by_id: dict[str, dict] = {c["id"]: dict(c) for c in shipped()}
    for row in (await session.execute(select(CampaignRow))).scalars():
        by_id[row.id] = {**row.data, "id": row.id, "year": row.year, "region": row.region}
    out = [Campaign(d) for d in by_id.values() if include_disabled or not d.get("disabled")]
    return sorted(out, key=lambda c: (c.year, c.specificity(), c.id))


async def get_campaign(session: AsyncSession, campaign_id: str) -> Campaign | None:
    for c in await load_campaigns(session, include_disabled=True):
        if c.id == campaign_id:
            return c
    return None


async def save_campaign(session: AsyncSession, campaign: Campaign) -> None:
    """(A process that keeps campaigns cached, `Store.cached`, calls `store.forget()` after this.)"""
    data = dict(campaign.data)
    row = await session.get(CampaignRow, campaign.id)
    if row is None:
        row = CampaignRow(id=campaign.id, year=campaign.year, region=campaign.region, data=data)
    else:
        row.year, row.region, row.data = campaign.year, campaign.region, data
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()


def latest_per_item(subs: Iterable[S]) -> dict[str, list[S]]:
    """form id → its newest submission; for a per-item form, the one of each current item of its parent
    form in item order (an application whose item was removed from the 对接表 is left out)."""
    return {form_id: [linked[i] for i in sorted(linked, key=lambda i: -1 if i is None else i)]  # None: alone
            for form_id, linked in per_item(subs).items() if linked}


def per_item(subs: Iterable[S]) -> dict[str, dict[int | None, S]]:
    """form id → {item position (None for a form of its own) → its newest submission}."""
    by_form: dict[str, list[S]] = {}
    for s in sorted(subs, key=lambda s: s.id or 0):
        by_form.setdefault(s.form_id, []).append(s)
    out: dict[str, dict[int | None, S]] = {}
    for form_id, mine in by_form.items():
        form = FORMS.get(form_id)
        if form is None or not form.per_item:
            out[form_id] = {None: mine[-1]}
            continue
        parent_id, _, group = form.per_item.partition(".")
        parents = by_form.get(parent_id) or []
        items = parent_items(parents[-1].answers or {}, group) if parents else []
        out[form_id] = {i: s for i, s in link_items(items, mine).items()}
    return out


def region_of(prefs: Mapping[str, Any] | None, subs: Sequence[SubmissionLike]) -> dict[str, str | None]:
    newest_first = sorted(subs, key=lambda s: -(s.id or 0))
    return regions.user_region([(prefs or {}).get("profile") or {}, *[(s.answers or {}) for s in newest_first]])


@dataclass
class UserForms(Generic[S]):
    """One user's forms and the campaign each belongs to: `storage.models` rows as a session read them, or
    `SubRow`s of a message's own view (`tx_user_forms`)."""

    user: UserLike
    region: dict[str, str | None]
    forms: dict[str, list[S]]
    campaigns: dict[str, Campaign | None] = field(default_factory=dict)

    @classmethod
    def build(cls, user: UserLike, subs: Sequence[S], campaigns: Sequence[Campaign]) -> UserForms[S]:
        region = region_of(user.prefs, subs)
        forms = latest_per_item(subs)
        by_id = {c.id: c for c in campaigns}

        def campaign_of(form_id: str) -> Campaign | None:
            # a confirmed form keeps the campaign it was made for (next year's does not take it over)
            fixed = next((by_id[s.campaign_id] for s in forms[form_id] if s.campaign_id in by_id), None)
            return fixed or pick(campaigns, form_id, region)

        return cls(user, region, forms, {f: campaign_of(f) for f in forms})

    @property
    def user_id(self) -> int:
        uid = self.user.id
        assert uid is not None, "a user's forms are read from the database: the user has an id"
        return uid

    def campaign(self, form_id: str) -> Campaign | None:
        return self.campaigns.get(form_id)

    def district(self, campaign: Campaign | None) -> Mapping[str, Any] | None:
        return campaign.district_for(self.region) if campaign else None

    def open_forms(self) -> list[str]:
        """Forms still to finish, to confirm again after a change, or to hand in."""
        return [f for f, subs in self.forms.items()
                if any(s.status in OPEN or print_state(s) == "changed" for s in subs)]

    @property
    def reminders_on(self) -> bool:
        return (self.user.prefs or {}).get("reminders", True) is not False


async def user_forms(session: AsyncSession, user: User,
                     campaigns: Sequence[Campaign] | None = None) -> UserForms[Submission]:
    subs = (await session.execute(select(Submission).where(col(Submission.user_id) == user.id))).scalars().all()
    if campaigns is None:
        campaigns = await load_campaigns(session)
    return UserForms.build(user, list(subs), campaigns)


async def all_user_forms(session: AsyncSession, campaigns: Sequence[Campaign],
                         user_ids: Iterable[int] | None = None) -> list[UserForms[Submission]]:
    """Every user who has a form (or those of `user_ids`), with their forms' campaigns: two queries."""
    uq, sq = select(User), select(Submission)
    if user_ids is not None:
        ids = list(user_ids)
        uq, sq = uq.where(col(User.id).in_(ids)), sq.where(col(Submission.user_id).in_(ids))
    users = {u.id: u for u in (await session.execute(uq)).scalars()}
    subs: dict[int, list[Submission]] = {}
    for s in (await session.execute(sq.order_by(col(Submission.id)))).scalars():
        subs.setdefault(s.user_id, []).append(s)
    return [UserForms.build(users[uid], mine, campaigns) for uid, mine in subs.items() if uid in users]
