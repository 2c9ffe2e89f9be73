"""Campaigns: each year's (and each region's) forms, deadlines, offices; status, contact, reminders.

    from bot.campaigns import status_for, handle_text, ReminderService

Shipped campaigns: `bot/campaigns/packs/` (one YAML pack a campaign, bot/campaigns/pack.py). Another year's:
`python -m bot admin load-campaign FILE`; edits: `python -m bot admin …`.
"""

from bot.campaigns.model import Campaign
from bot.campaigns.reminders import RESUME, ReminderService
from bot.campaigns.status import contact_for, handle_text, mark_submitted, set_reminders, status_for

__all__ = ["Campaign", "RESUME", "ReminderService", "contact_for", "handle_text", "mark_submitted",
           "set_reminders", "status_for"]
