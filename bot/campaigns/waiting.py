"""Users between two campaigns who asked to be told when the next notice is loaded ("有新通知时告诉我").

A wish is a row of the reminders table (storage/campaign_models.py Reminder): kind `new_notice`, state
`waiting`, for the campaign that was over when it was made. `admin load-campaign` of a newer campaign for the
user's region (bot/campaigns/reminders.py ReminderService.tell_waiting) turns each matching row to `queued`
and queues one message per user in the outbox, in one transaction: told once, however often a pack is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.campaigns.model import Campaign
from bot.campaigns.repo import load_campaigns, region_of
from storage.campaign_models import Reminder
from storage.models import Submission, User
from storage.store import Store

KIND = "new_notice"
WAITING = "waiting"


async def is_waiting(store: Store, user_id: int) -> bool:
    async with store.sessions() as session:
        found = (await session.execute(select(col(Reminder.id)).where(
            col(Reminder.user_id) == user_id, col(Reminder.kind) == KIND, col(Reminder.state) == WAITING).limit(1)
        )).first()
    return found is not None


async def wait(store: Store, user_id: int, campaign: Campaign, form_id: str, now: datetime) -> bool:
    """Note that the user wants to hear of the notice after `campaign`; False when they already wait."""
    if await is_waiting(store, user_id):
        return False
    async with store.sessions() as session, session.begin():
        session.add(Reminder(user_id=user_id, campaign_id=campaign.id, form_id=form_id, kind=KIND, deadline=None,
                             due_at=now, state=WAITING, created_at=now))
    return True


async def waiting_for(session: AsyncSession, new: Campaign) -> dict[int, list[int]]:
    """user id → their waiting rows that `new` answers: it is for their region (as their answers place them)
    and of a later year than the campaign they waited after."""
    rows = (await session.execute(select(Reminder).where(
        col(Reminder.kind) == KIND, col(Reminder.state) == WAITING).order_by(col(Reminder.id)))).scalars().all()
    if not rows:
        return {}
    campaigns: Mapping[str, Campaign] = {c.id: c for c in await load_campaigns(session, include_disabled=True)}
    ids = sorted({r.user_id for r in rows})
    users = {u.id: u for u in (await session.execute(select(User).where(col(User.id).in_(ids)))).scalars()}
    subs: dict[int, list[Submission]] = {}
    for s in (await session.execute(select(Submission).where(col(Submission.user_id).in_(ids)))).scalars():
        subs.setdefault(s.user_id, []).append(s)
    out: dict[int, list[int]] = {}
    for r in rows:
        user = users.get(r.user_id)
        if user is None or r.id is None:
            continue
        after = campaigns.get(r.campaign_id)
        if new.applies_to(region_of(user.prefs, subs.get(r.user_id, []))) and (after is None or new.year > after.year):
            out.setdefault(r.user_id, []).append(r.id)
    return out
