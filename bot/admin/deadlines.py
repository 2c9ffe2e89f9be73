"""Deadlines and reminders: set or move a form's deadline (the reminders are re-planned and the users it
concerns told, shared.move_deadline_effects; more than ASK_ABOVE of them is confirmed first, or --yes), and
plan the reminders now.

    python -m bot admin set-deadline 2025-shanghai large_need 2025-07-20
    python -m bot admin plan
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TextIO

from bot.admin.shared import AdminError, Declare, find_campaign, move_deadline_effects, save
from bot.campaigns.model import local_today, parse_date
from bot.campaigns.reminders import ReminderService, concerned
from bot.campaigns.repo import all_user_forms, load_campaigns
from bot.dialogs.forms import FORMS
from storage.store import Store

ASK_ABOVE = 10  # a deadline announced to more users than this is confirmed first (or --yes)


def add_commands(declare: Declare) -> None:
    p = declare("set-deadline", cmd_set_deadline, help="set or move a form's deadline; users it concerns are told")
    p.add_argument("campaign")
    p.add_argument("form", choices=sorted(FORMS))
    p.add_argument("date", help="YYYY-MM-DD, or 'none' (unknown: 另行通知)")
    p.add_argument("--text", help="what to show instead of a date, or beside it (users see it)")
    p.add_argument("--no-announce", action="store_true", help="change quietly")
    p.add_argument("--yes", action="store_true", help=f"announce to more than {ASK_ABOVE} users without asking")
    p.add_argument("--past", action="store_true", help="allow a date that has already passed")
    declare("plan", cmd_plan, help="plan reminders now (the serving process does this every 10 minutes)")


async def cmd_set_deadline(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    c = await find_campaign(store, args.campaign)
    try:
        new = parse_date(args.date)
    except ValueError as exc:
        raise AdminError(f"日期格式应为 YYYY-MM-DD：{args.date}") from exc
    if new is not None and new < local_today(now, c.tz) and not args.past:
        raise AdminError(f"{new} 已经过去（今天是 {local_today(now, c.tz)}）；确需如此请加 --past")
    if args.form not in c.form_ids:
        raise AdminError(f"活动 {c.id} 没有表格 {args.form}（有：{'、'.join(c.form_ids)}）")
    old = c.deadline(args.form)
    changed = old != new or (args.text is not None and args.text != c.deadline_text(args.form))
    if changed and not args.no_announce:
        n = await count_concerned(store, c.id, args.form)
        if n > ASK_ABOVE and not args.yes:
            if not args.ask(f"将通知 {n} 位用户 {c.id} {args.form} 截止时间改为 {new or args.text or '另行通知'}，确定吗？"):
                raise AdminError(f"将通知 {n} 位用户，未确认，截止时间没有改。确认请加 --yes（不通知：--no-announce）")
    await save(store, c.with_deadline(args.form, new, args.text))
    print(f"{c.id} {args.form} 截止：{old or '未定'} → {new or (args.text or '另行通知')}"
          + (f"（{args.text}）" if args.text and new else ""), file=out)
    await move_deadline_effects(store, c.id, args.form, old, now, announce=not args.no_announce and changed,
                                out=out, text=args.text)
    return 0


async def count_concerned(store: Store, campaign_id: str, form_id: str) -> int:
    async with store.sessions() as session:
        campaigns = await load_campaigns(session)
        everyone = await all_user_forms(session, campaigns)
    return sum(1 for uf in everyone if concerned(uf, campaign_id, form_id))


async def cmd_plan(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    n = await ReminderService(store, clock=lambda: now).plan(now)
    print(f"新增提醒 {n} 条", file=out)
    return 0
