"""The users: their progress per form (the roll-up, listed or exported as .xlsx), a form's state set by the
operator (the user is told), and 删除我的数据 done for a user.

    python -m bot admin users --campaign 2025-shanghai
    python -m bot admin export rollup.xlsx
    python -m bot admin set-status telegram:12345 sme_match returned --note "缺营业执照复印件"
    python -m bot admin delete-user telegram:12345
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.admin.shared import STATUS_NAMES, AdminError, Declare, deadline_cell, writable
from bot.campaigns.reminders import ReminderService
from bot.campaigns.repo import STATUSES, all_user_forms, load_campaigns, per_item
from bot.console.review import status_notice
from bot.dialogs import walker as w
from bot.dialogs.forms import FORMS
from storage.models import Submission, User
from storage.store import Store

ROLLUP_HEADER = ["用户", "渠道", "企业名称", "省份", "区", "活动", "表格", "事项", "已答", "总数", "待填", "状态",
                 "说明", "截止", "更新时间"]
NEEDS_FINISHED = ("submitted", "received", "approved")  # states a form still being filled cannot have


def add_commands(declare: Declare) -> None:
    p = declare("delete-user", cmd_delete_user, help="删除我的数据 for a user: every answer, file and document of theirs")
    p.add_argument("user", help="channel:external_id (or the user id)")
    p.add_argument("--yes", action="store_true", help="without asking")
    p = declare("users", cmd_users, help="users and their progress, per campaign")
    p.add_argument("--campaign")
    p = declare("export", cmd_export, help="the roll-up as .xlsx")
    p.add_argument("file")
    p.add_argument("--campaign")
    p = declare("set-status", cmd_set_status,
                help="a form's state: submitted | received | approved | returned (with --note)")
    p.add_argument("user", help="user id, or channel:external_id")
    p.add_argument("form", choices=sorted(FORMS))
    p.add_argument("status", choices=[x for x in STATUSES if x != "draft"])
    p.add_argument("--note", help="the reason (退回) or a remark, shown to the user")
    p.add_argument("--item", type=int, help="for per-item forms: item number, from 1 (default: all)")
    p.add_argument("--no-announce", action="store_true")


async def rollup(store: Store, campaign_id: str | None, now: datetime) -> list[list[Any]]:
    """One row per user, form and item: progress, state, deadline (the roll-up)."""
    async with store.sessions() as session:
        campaigns = await load_campaigns(session)
        everyone = await all_user_forms(session, campaigns)
    rows = []
    for uf in sorted(everyone, key=lambda u: u.user_id):
        profile = (uf.user.prefs or {}).get("profile") or {}
        for form_id, subs in uf.forms.items():
            form = FORMS.get(form_id)
            c = uf.campaign(form_id)
            if form is None or (campaign_id and (c is None or c.id != campaign_id)):
                continue
            district = uf.district(c)
            for sub in subs:
                a = sub.answers or {}
                done, total, missing = w.answered_sub(form, sub)
                rows.append([
                    uf.user.id, f"{uf.user.channel}:{uf.user.external_id}",
                    a.get("company_name") or profile.get("company_name") or "", uf.region.get("province") or "",
                    (district or {}).get("district", ""), c.id if c else "", form_id, a.get("item_name") or "",
                    done, total, "、".join(s.field.label for s in missing), STATUS_NAMES.get(sub.status, sub.status),
                    sub.status_note or "", deadline_cell(c, form_id, now) if c else "",
                    sub.updated_at.astimezone(c.tz if c else UTC).strftime("%Y-%m-%d %H:%M") if sub.updated_at else "",
                ])
    return rows


async def cmd_users(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    rows = await rollup(store, args.campaign, now)
    if not rows:
        print("没有用户填写过表格。", file=out)
    for r in rows:
        item = f"《{r[7]}》" if r[7] else ""
        print(f"#{r[0]} {r[1]} {r[2] or '-'} {r[3]}{r[4]} | {r[5] or '-'} {r[6]}{item} {r[8]}/{r[9]} "
              f"{r[11]}{'：' + r[12] if r[12] else ''} | 截止 {r[13] or '-'}", file=out)
    return 0


async def cmd_export(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from openpyxl import Workbook

    path = writable(args.file)
    rows = await rollup(store, args.campaign, now)
    wb = Workbook()
    ws = wb.active
    ws.title = "进度"
    ws.append(ROLLUP_HEADER)
    for r in rows:
        ws.append(r)
    ws.freeze_panes = "A2"
    for letter, width in zip("ABCDEFGHIJKLMNO", (6, 22, 28, 10, 10, 16, 12, 20, 6, 6, 40, 12, 20, 16, 17), strict=True):
        ws.column_dimensions[letter].width = width
    wb.save(path)
    print(f"已导出 {len(rows)} 行到 {path}", file=out)
    return 0


async def _find_user(session: AsyncSession, ref: str) -> User | None:
    """A user by id, or by channel:external_id."""
    from sqlalchemy import select

    if ref.isdigit():
        return await session.get(User, int(ref))
    channel, _, external = ref.partition(":")
    return (await session.execute(
        select(User).where(col(User.channel) == channel, col(User.external_id) == external))).scalar_one_or_none()


async def cmd_set_status(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from sqlalchemy import select

    async with store.sessions() as session, session.begin():
        user = await _find_user(session, args.user)
        if user is None:
            raise AdminError(f"没有用户 {args.user}")
        subs = (await session.execute(select(Submission).where(
            col(Submission.user_id) == user.id).order_by(col(Submission.id)))).scalars().all()
        linked = per_item(subs).get(args.form, {})
        if args.item is not None:
            latest = [linked[args.item - 1]] if args.item - 1 in linked else []
        else:
            latest = [linked[i] for i in sorted(linked, key=lambda i: -1 if i is None else i)]
        if not latest:
            raise AdminError(f"用户 {args.user} 没有 {args.form}")
        if args.status == "returned" and not args.note:
            raise AdminError("退回需要 --note 说明原因")
        unfinished = [x for x in latest if x.status == "draft"]
        if args.status in NEEDS_FINISHED and unfinished:
            form = FORMS[args.form]
            done, total, _missing = w.answered_sub(form, unfinished[0])
            raise AdminError(f"《{form.short_title}》还没填完（已答 {done}/{total}），不能设为{STATUS_NAMES[args.status]}")
        for s in latest:
            s.status, s.status_note, s.updated_at = args.status, args.note, now
            session.add(s)
        user_id, lang = user.id, user.language
        assert user_id is not None, "read from the database"
        notices = [status_notice(lang, s) for s in latest]
    print(f"已设为 {STATUS_NAMES[args.status]}：{len(latest)} 份", file=out)
    if not args.no_announce:
        service = ReminderService(store, clock=lambda: now)
        await service.announce([(user_id, notices)], f"status:{args.form}", "", args.form, now)
    return 0


async def cmd_delete_user(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from bot.engine import remove_user_files
    from storage.erase import erase_user

    async with store.sessions() as session:
        user = await _find_user(session, args.user)
    if user is None:
        raise AdminError(f"没有用户 {args.user}")
    if not args.yes and not args.ask(f"删除用户 {user.channel}:{user.external_id} 的全部答案、文件和表格？"):
        print("没有删除（加 --yes 不再询问）。", file=out)
        return 1
    uid = await erase_user(store, user.channel, user.external_id)
    if uid is not None:
        remove_user_files(args.settings, uid)
    print(f"已删除用户 {user.channel}:{user.external_id} 的全部数据。", file=out)
    return 0
