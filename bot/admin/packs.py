"""Load a campaign pack (one YAML file, bot/campaigns/pack.py): check it, show what it changes against the
database — a new campaign, or for an existing id the fields, forms, deadlines, offices that change and the
users who would be told, moved or reminded, and those waiting to hear of a new notice — then ask and apply.

    python -m bot admin load-campaign 2025-shanghai.yaml --dry-run
    python -m bot admin load-campaign 2025-shanghai.yaml            # asks y/N; --yes for scripts

A moved deadline is applied as set-deadline applies one (shared.move_deadline_effects: the
reminders re-planned, the users it concerns told); the pack's `catalogue` is imported as import-catalogue
imports one. The pack replaces the campaign's row whole: an edit made with edit-campaign that the file does not
have shows as a change, and is undone.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.admin.shared import AdminError, Declare, deadline_cell, existing_file, move_deadline_effects, save
from bot.campaigns import waiting
from bot.campaigns.model import Campaign
from bot.campaigns.pack import Pack, PackError, read_pack
from bot.campaigns.reminders import ReminderService, concerned
from bot.campaigns.repo import UserForms, all_user_forms, load_campaigns
from bot.catalogue import importer as catalogue_file
from storage.store import Store

FIELDS = (("year", "年度"), ("region", "地区"), ("parent", "上级通知"), ("title", "标题"), ("number", "文号"),
          ("issued", "成文日期"), ("closes", "结束日期"), ("timezone", "时区"), ("remind_time", "提醒时间"),
          ("remind_days", "提醒天数"))


def add_commands(declare: Declare) -> None:
    p = declare("load-campaign", cmd_load_campaign,
                help="load a campaign pack (YAML): check it, show what changes, ask, apply")
    p.add_argument("file", help="the pack, e.g. 2025-shanghai.yaml")
    p.add_argument("--dry-run", action="store_true", help="check and show what would change; write nothing")
    p.add_argument("--yes", action="store_true", help="apply without asking (needed without a terminal)")
    p.add_argument("--no-announce", action="store_true",
                   help="tell no user (of moved deadlines, or of the new notice they wait for)")


@dataclass
class Effects:
    """What loading the pack does to users (from the database as it is now)."""

    moved_in: Counter[str] = field(default_factory=Counter)  # forms coming from campaign id → count
    moved_in_users: set[int] = field(default_factory=set)
    moved_out: Counter[str] = field(default_factory=Counter)  # forms going to campaign id (or 无) → count
    told: dict[str, int] = field(default_factory=dict)  # form id → users told of its moved deadline
    reminded: int = 0  # users whose open forms get deadline reminders
    waiting: int = 0  # users who asked to be told of the next notice, and for whom this is it


def moved_deadlines(old: Campaign | None, new: Campaign) -> list[str]:
    if old is None:
        return []
    return [f for f in new.form_ids if f in old.form_ids
            and (old.deadline(f) != new.deadline(f) or old.deadline_text(f) != new.deadline_text(f))]


def _place(to: Any) -> str:
    if to == "district":
        return "所在区中小企业主管部门"
    if isinstance(to, Mapping):
        return "，".join(str(to[k]) for k in ("district", "office", "address", "postcode", "phone", "email")
                        if to.get(k))
    return "（未写）"


def _deadline(c: Campaign, form_id: str, now: datetime) -> str:
    cell, text = deadline_cell(c, form_id, now), c.deadline_text(form_id)
    return f"{cell}（{text}）" if text and text != cell else cell


def _contact_key(c: Mapping[str, Any]) -> str:
    return str(c.get("district") or c.get("office"))


def _shown(value: Any) -> str:
    if value in (None, "", []):
        return "（无）"
    if isinstance(value, list):
        return "、".join(str(x) for x in value)
    return str(value)


def describe(old: Campaign | None, new: Campaign, now: datetime) -> list[str]:
    """The changes, one line each (a new campaign: what it is)."""
    if old is None:
        lines = [f"新活动 {new.id}：{new.short_name}（{new.number}），{new.title}"]
        for f in new.form_ids:
            lines.append(f"  {f:<12} 截止 {_deadline(new, f, now)}；报送 {_place((new.form(f) or {}).get('to'))}")
        districts = sum(1 for c in new.contacts if c.get("district"))
        lines.append(f"  区联系人 {districts} 个，市级联系人 {len(new.contacts) - districts} 个")
        return lines
    lines = []
    if old.data.get("disabled"):
        lines.append("  启用（现在是停用的）")
    for key, label in FIELDS:
        a, b = old.data.get(key), new.data.get(key)
        if key == "remind_days":
            a, b = list(old.remind_days), list(new.remind_days)
        if a != b:
            lines.append(f"  {label}：{_shown(a)} → {_shown(b)}")
    added = [f for f in new.form_ids if f not in old.form_ids]
    removed = [f for f in old.form_ids if f not in new.form_ids]
    if added:
        lines.append(f"  新增表格：{'、'.join(added)}")
    if removed:
        lines.append(f"  删除表格：{'、'.join(removed)}")
    for f in (x for x in new.form_ids if x in old.form_ids):
        if f in moved_deadlines(old, new):
            lines.append(f"  截止 {f}：{_deadline(old, f, now)} → {_deadline(new, f, now)}")
        a, b = (old.form(f) or {}).get("to"), (new.form(f) or {}).get("to")
        if a != b:
            lines.append(f"  报送 {f}：{_place(a)} → {_place(b)}")
        if old.form_version(f) != new.form_version(f):
            lines.append(f"  版本 {f}：{_shown(old.form_version(f))} → {_shown(new.form_version(f))}")
    if old.data.get("mail_to") != new.data.get("mail_to"):
        lines.append(f"  邮寄地址：{_place(old.data.get('mail_to'))} → {_place(new.data.get('mail_to'))}")
    before = {_contact_key(c): c for c in old.contacts}
    after = {_contact_key(c): c for c in new.contacts}
    parts = []
    if gone := [k for k in before if k not in after]:
        parts.append(f"删除 {'、'.join(gone)}")
    if came := [k for k in after if k not in before]:
        parts.append(f"新增 {'、'.join(came)}")
    for k in (k for k in after if k in before and after[k] != before[k]):
        was, now_ = before[k], after[k]
        what = "，".join(f"{key} {_shown(was.get(key))} → {_shown(now_.get(key))}"
                        for key in dict.fromkeys([*was, *now_]) if was.get(key) != now_.get(key))
        parts.append(f"修改 {k}（{what}）")
    if parts:
        lines.append(f"  联系人：{'；'.join(parts)}")
    return lines


def _after(campaigns: Sequence[Campaign], new: Campaign) -> list[Campaign]:
    out = [c for c in campaigns if c.id != new.id] + [new]
    return sorted(out, key=lambda c: (c.year, c.specificity(), c.id))


async def effects_of(store: Store, old: Campaign | None, new: Campaign, now: datetime) -> Effects:
    async with store.sessions() as session:
        before = await load_campaigns(session)
        users_before = {uf.user_id: uf for uf in await all_user_forms(session, before)}
        users_after = await all_user_forms(session, _after(before, new))
        out = Effects(waiting=len(await waiting.waiting_for(session, new)))
    moved = moved_deadlines(old, new)
    service = ReminderService(store, clock=lambda: now)
    for uf in users_after:
        was: UserForms = users_before[uf.user_id]
        for f in uf.open_forms():
            a, b = was.campaign(f), uf.campaign(f)
            a_id, b_id = (a.id if a else "无"), (b.id if b else "无")
            if b_id == new.id and a_id != new.id:
                out.moved_in[a_id] += len(uf.forms[f])
                out.moved_in_users.add(uf.user_id)
            elif a_id == new.id and b_id != new.id:
                out.moved_out[b_id] += len(uf.forms[f])
        for f in moved:
            if concerned(uf, new.id, f):
                out.told[f] = out.told.get(f, 0) + 1
        if any(r["campaign_id"] == new.id for r in service.rows_for(uf, now)):
            out.reminded += 1
    return out


def effect_lines(new: Campaign, effects: Effects, announce: bool) -> list[str]:
    lines = []
    for f, n in effects.told.items():
        lines.append(f"  {f} 截止改变：{'将通知' if announce else '不通知（--no-announce）'} {n} 位用户，并重新安排提醒")
    if effects.moved_in:
        came = "、".join(f"{cid} {n} 份" for cid, n in sorted(effects.moved_in.items()))
        lines.append(f"  {len(effects.moved_in_users)} 位用户的 {sum(effects.moved_in.values())} 份未完成表格将归入 "
                     f"{new.id}（原属 {came}）")
    if effects.moved_out:
        went = "、".join(f"{cid} {n} 份" for cid, n in sorted(effects.moved_out.items()))
        lines.append(f"  {sum(effects.moved_out.values())} 份未完成表格将离开 {new.id}（改属 {went}）")
    if effects.reminded:
        days = "、".join(str(d) for d in new.remind_days)
        lines.append(f"  {effects.reminded} 位用户会收到截止提醒（{days} 天前，{new.remind_time:%H:%M}）")
    if effects.waiting:
        lines.append(f"  {effects.waiting} 位用户在等新通知：{'将告诉他们' if announce else '不告诉（--no-announce）'}")
    return lines or ["  没有用户受影响"]


def read(path: Path) -> Pack:
    try:
        return read_pack(path)
    except PackError as exc:
        n = len(exc.problems)
        raise AdminError("\n".join([f"{path.name} 有 {n} 处问题，没有载入：", *exc.problems])) from None


async def cmd_load_campaign(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    path = existing_file(args.file)
    pack = read(path)
    new = Campaign(pack.campaign)
    async with store.sessions() as session:
        known = {c.id: c for c in await load_campaigns(session, include_disabled=True)}
    parent = new.data.get("parent")
    if parent and parent not in known:
        raise AdminError(f"{pack.line('parent')}: parent: {parent} 不是已有的活动（先载入它；admin campaigns 列出全部）")
    catalogue = None
    if pack.catalogue is not None:
        catalogue = catalogue_file.parse(catalogue_file.read_table(pack.catalogue))
        if not catalogue.rows:
            raise AdminError(f"{pack.line('catalogue')}: catalogue: {pack.catalogue.name} 里没有需求"
                             f"（{'；'.join(catalogue.problems[:3]) or '表头下没有数据'}）")
    old = known.get(new.id)
    print(f"{path.name}：检查通过", file=out)
    for warning in pack.warnings:
        print(f"提示：{warning}", file=out)
    if old is not None and dict(old.data) == dict(new.data) and catalogue is None:
        print(f"没有变化：{new.id} 与文件相同。", file=out)
        return 0
    changes = describe(old, new, now)
    if old is not None:
        print(f"{new.id}（{new.short_name}，{new.number}）已有，将修改：", file=out)
    print("\n".join(changes or ["  （活动本身没有变化）"]), file=out)
    if catalogue is not None:
        print(f"  需求目录：{pack.catalogue.name if pack.catalogue else ''}，{len(catalogue.rows)} 条", file=out)
    effects = await effects_of(store, old, new, now)
    print("用户：", file=out)
    print("\n".join(effect_lines(new, effects, announce=not args.no_announce)), file=out)
    if args.dry_run:
        print("（试运行：没有写入。去掉 --dry-run 即载入）", file=out)
        return 0
    told = sum(effects.told.values()) + effects.waiting if not args.no_announce else 0
    question = f"载入 {new.id}{f'，并通知 {told} 位用户' if told else ''}，确定吗？"
    if not args.yes and not args.ask(question):
        raise AdminError(f"未确认，{new.id} 没有载入。确认请加 --yes（先看变化：--dry-run）")
    await apply(store, pack, old, new, now, out, announce=not args.no_announce, catalogue=catalogue)
    return 0


async def apply(store: Store, pack: Pack, old: Campaign | None, new: Campaign, now: datetime, out: TextIO,
                announce: bool = True, catalogue: Any = None) -> None:
    await save(store, new)
    print(f"已载入 {new.id}（{new.short_name}，{new.number}）", file=out)
    if catalogue is not None:
        from bot.catalogue import repo as catalogue_repo

        async with store.sessions() as session, session.begin():
            written = await catalogue_repo.upsert(session, new.id, catalogue.rows)
        print(f"需求目录：新增 {written.added}，更新 {written.changed}，未变 {written.unchanged}", file=out)
    service = ReminderService(store, clock=lambda: now)
    for f in moved_deadlines(old, new):
        text = new.deadline_text(f) if new.deadline_text(f) not in ("", "另行通知") else None
        await move_deadline_effects(store, new.id, f, old.deadline(f) if old else None, now, announce=announce,
                                    out=out, service=service, text=text)
    planned = await service.plan(now)
    if planned:
        print(f"新增提醒 {planned} 条", file=out)
    if announce and (n := await service.tell_waiting(new, now)):
        print(f"已告诉 {n} 位在等新通知的用户", file=out)
