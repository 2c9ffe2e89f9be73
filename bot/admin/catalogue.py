"""The 需求目录 (the ministry's catalogue of needs): import it from xlsx/CSV, list or search a campaign's
needs, propose a 需求表 confirmed in the bot for it (only when an admin says so), withdraw needs.

    python -m bot admin import-catalogue 2024-national 需求目录.xlsx
    python -m bot admin catalogue 2024-national --search 雷达
    python -m bot admin propose-need 2024-national 57 --code 2024-SH-201
    python -m bot admin withdraw-need 2024-national 2024-SH-201
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlmodel import col

from bot.admin.shared import STATUS_NAMES, AdminError, Declare, existing_file, find_campaign
from bot.catalogue import importer as catalogue_file
from storage.models import Submission
from storage.store import Store


def add_commands(declare: Declare) -> None:
    p = declare("import-catalogue", cmd_import_catalogue,
                help="the ministry's 需求目录 (xlsx/CSV; headers such as 需求编号, 需求名称, 发榜企业, 所属行业, 地区, "
                "需求内容)")
    p.add_argument("campaign")
    p.add_argument("file")
    p.add_argument("--replace", action="store_true", help="withdraw the campaign's needs that are not in the file")
    p = declare("catalogue", cmd_catalogue, help="list a campaign's needs, or search them (--search words or a code)")
    p.add_argument("campaign")
    p.add_argument("--search", help="words (雷达, 电池热失控) or a code")
    p.add_argument("--limit", type=int, default=20)
    p = declare("propose-need", cmd_propose_need,
                help="add a 需求表 confirmed in the bot to the catalogue (不公开: without the firm's name); without "
                "SUBMISSION: list the ones not yet proposed")
    p.add_argument("campaign")
    p.add_argument("submission", nargs="?", type=int, help="the 需求表's submission id (see the list)")
    p.add_argument("--code", action="append", default=[], help="a code per need, in order (default P<id>-<n>)")
    p = declare("withdraw-need", cmd_withdraw_need,
                help="withdraw needs from the catalogue (SMEs can no longer pick them)")
    p.add_argument("campaign")
    p.add_argument("code", nargs="+")


async def cmd_import_catalogue(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from bot.catalogue import repo as catalogue

    c = await find_campaign(store, args.campaign)
    parsed = catalogue_file.parse(catalogue_file.read_table(existing_file(args.file)))
    if not parsed.rows:
        raise AdminError(f"{Path(args.file).name} 里没有需求（{'；'.join(parsed.problems[:3]) or '表头下没有数据'}）")
    async with store.sessions() as session, session.begin():
        written = await catalogue.upsert(session, c.id, parsed.rows, replace=args.replace)
    hidden = sum(1 for r in parsed.rows if not r["publish_name"])
    columns = "、".join(f"{k}←{v}" for k, v in parsed.columns.items())
    print(f"{c.id} 需求目录：读入 {len(parsed.rows)} 条（新增 {written.added}，更新 {written.changed}，"
          f"未变 {written.unchanged}{f'，撤回 {written.withdrawn}' if args.replace else ''}；"
          f"不公开企业名称 {hidden} 条）", file=out)
    print(f"列：{columns}", file=out)
    for line in parsed.problems[:20]:
        print(f"  {line}", file=out)
    if len(parsed.problems) > 20:
        print(f"  …另有 {len(parsed.problems) - 20} 条提示", file=out)
    return 0


def _need_line(n) -> str:
    state = "" if n.published else " [已撤回]"
    return f"{n.code}  {n.name}（{n.firm or '不公开'}，{n.industry or '-'}，{n.region or '-'}）{state}"


async def cmd_catalogue(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from bot import catalogue

    c = await find_campaign(store, args.campaign)
    if args.search:
        found = await catalogue.search(store, c.id, args.search, limit=args.limit)
        exact = await catalogue.by_code(store, c.id, args.search)
        if exact is not None and exact not in found:
            found.insert(0, exact)
        if not found:
            near = await catalogue.nearest_codes(store, c.id, args.search)
            print(f"没有找到“{args.search}”" + (f"；最接近的代码：{'、'.join(n.code for n in near)}" if near else ""),
                  file=out)
            return 0
        for n in found:
            print(_need_line(n), file=out)
        return 0
    needs = await catalogue.needs_of(store, c.id)
    if not needs:
        print(f"{c.id} 还没有需求目录（admin import-catalogue {c.id} 文件.xlsx）", file=out)
        return 0
    published = sum(1 for n in needs if n.published)
    print(f"{c.id} 需求目录：{len(needs)} 条（发布 {published}，撤回 {len(needs) - published}）", file=out)
    for n in needs[:args.limit]:
        print(_need_line(n), file=out)
    if len(needs) > args.limit:
        print(f"…共 {len(needs)} 条（--limit 显示更多）", file=out)
    return 0


async def cmd_propose_need(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    """A confirmed 需求表 → the catalogue, only when an admin says so; 不公开 firms without their name."""
    from sqlalchemy import select

    from bot.catalogue import repo as catalogue

    c = await find_campaign(store, args.campaign)
    async with store.sessions() as session:
        q = select(Submission).where(col(Submission.form_id) == "large_need", col(Submission.status) != "draft")
        confirmed = list((await session.execute(q.order_by(col(Submission.id)))).scalars())
        done = await catalogue.proposed_from(session, [s.id for s in confirmed if s.id is not None])
    if args.submission is None:
        waiting = [s for s in confirmed if s.id not in done]
        if not waiting:
            print("没有待提议的需求表（已确认的需求表都已加入需求目录）。", file=out)
        for s in waiting:
            a = s.answers or {}
            names = "；".join(str(n.get("name")) for n in a.get("needs") or [] if isinstance(n, dict))
            print(f"#{s.id} {a.get('company_name') or '-'}（{a.get('publish_name') or '-'}）"
                  f"{STATUS_NAMES.get(s.status, s.status)}：{names}", file=out)
        return 0
    sub = next((s for s in confirmed if s.id == args.submission), None)
    if sub is None:
        raise AdminError(f"没有已确认的需求表 #{args.submission}（不带编号运行可列出全部）")
    if sub.id in done:
        raise AdminError(f"需求表 #{sub.id} 已加入需求目录")
    needs = [n for n in (sub.answers or {}).get("needs") or [] if isinstance(n, dict) and n.get("name")]
    if not needs:
        raise AdminError(f"需求表 #{sub.id} 没有需求")
    codes = list(args.code) + [f"P{sub.id}-{i}" for i in range(len(args.code) + 1, len(needs) + 1)]
    if len(args.code) > len(needs):
        raise AdminError(f"需求表 #{sub.id} 只有 {len(needs)} 项需求，给了 {len(args.code)} 个代码")
    rows = catalogue.need_rows_of(sub.answers or {}, codes)
    async with store.sessions() as session, session.begin():
        taken = {n.code for n in await catalogue.needs_of(session, c.id)}
        clash = [r["code"] for r in rows if r["code"] in taken]
        if clash:
            raise AdminError(f"代码已被占用：{'、'.join(clash)}")
        await catalogue.upsert(session, c.id, rows, source_submission_id=sub.id)
    firm = rows[0]["firm"] or "不公开企业名称"
    print(f"已加入 {c.id} 需求目录（{firm}）：", file=out)
    for r in rows:
        print(f"  {r['code']}  {r['name']}", file=out)
    return 0


async def cmd_withdraw_need(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from bot.catalogue import repo as catalogue

    c = await find_campaign(store, args.campaign)
    async with store.sessions() as session, session.begin():
        done = await catalogue.set_state(session, c.id, args.code, "withdrawn")
    missing = [x for x in args.code if x not in done]
    print(f"已撤回 {len(done)} 条" + (f"；没有或已撤回：{'、'.join(missing)}" if missing else ""), file=out)
    return 0
