"""The district office's console: a one-time invitation link for an officer (it sets their password; the
same login invited again is a password reset), and the list of officers with their districts.

    python -m bot admin invite-officer 2024-shanghai 浦东 zhang@pudong.gov.cn
    python -m bot admin officers
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TextIO

from bot.admin.shared import AdminError, Declare, find_campaign
from bot.config import Settings
from storage.store import Store


def add_commands(declare: Declare) -> None:
    p = declare("invite-officer", cmd_invite_officer,
                help="a one-time link for a district officer to set a password and log in to the console")
    p.add_argument("campaign")
    p.add_argument("district", help="a 附件1 区 (浦东, 黄浦 …); for a national campaign a province (江苏省)")
    p.add_argument("login", help="the officer's e-mail or name (what they log in with)")
    p.add_argument("--days", type=int, default=7, help="how long the link works (default 7 days)")
    declare("officers", cmd_officers, help="the console's officers and their districts")


def console_url(settings: Settings, path: str) -> str:
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return f"{base.rstrip('/')}{path}"


async def cmd_invite_officer(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from bot.console import auth

    c = await find_campaign(store, args.campaign)
    district = auth.district_for(c, args.district)
    if district is None:
        raise AdminError(f"{c.id} 没有“{args.district}”（可选：{'、'.join(auth.districts_of(c))}）")
    login = args.login.strip()
    if not login or len(login) > 120:
        raise AdminError("登录名（邮箱或姓名）应为 1–120 个字符")
    if args.days < 1:
        raise AdminError("--days 至少为 1")
    async with store.sessions() as session, session.begin():
        token = await auth.invite(session, c.id, district, login, now, days=args.days)
    print(f"已邀请 {login}（{c.id} {district}），链接 {args.days} 天内有效、只能用一次：", file=out)
    print(console_url(args.settings, f"/console/invite/{token}"), file=out)
    return 0


async def cmd_officers(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from sqlalchemy import select

    from storage.console_models import Officer

    async with store.sessions() as session:
        officers = list((await session.execute(select(Officer).order_by(Officer.campaign_id, Officer.district,
                                                                          Officer.login))).scalars())
    if not officers:
        print("还没有邀请任何人（admin invite-officer 活动 区 邮箱或姓名）。", file=out)
    for o in officers:
        state = "停用" if o.disabled else ("已设密码" if o.password_hash else "待接受邀请")
        print(f"{o.login}  {o.campaign_id} {o.district}  {state}", file=out)
    return 0
