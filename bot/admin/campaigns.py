"""The campaigns: list them, show one as JSON, add one (a copy of last year's, a JSON file or the options),
edit its fields, enable or disable it. Deadlines are bot.admin.deadlines's; contacts bot.admin.contacts's.

    python -m bot admin campaigns
    python -m bot admin add-campaign 2025-shanghai --copy-from 2024-shanghai --year 2025 --number 沪经信企〔2025〕…号
    python -m bot admin enable 2025-shanghai
"""

from __future__ import annotations

import argparse
import copy
import json
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.admin.shared import AdminError, Declare, deadline_cell, existing_file, find_campaign, save
from bot.campaigns.model import Campaign, parse_time
from bot.campaigns.repo import get_campaign, load_campaigns
from bot.dialogs.forms import FORMS
from bot.domain import regions
from storage.store import Store


def add_commands(declare: Declare) -> None:
    declare("campaigns", cmd_campaigns, help="list campaigns with their deadlines")
    p = declare("show", cmd_show, help="a campaign as JSON (the keys of a campaign pack)")
    p.add_argument("campaign")
    p = declare("add-campaign", cmd_add_campaign, help="add a campaign (from --copy-from, --file or the options)")
    p.add_argument("campaign", help="id, e.g. 2025-shanghai")
    p.add_argument("--copy-from", help="start from this campaign (deadlines are cleared: 另行通知)")
    p.add_argument("--file", help="a JSON file with the whole campaign")
    _campaign_options(p)
    p.add_argument("--enabled", action="store_true",
                   help="users see it at once (default: disabled until `admin enable`, so next year can be prepared)")
    p = declare("enable", cmd_enable, help="let users see a campaign (one added with add-campaign starts disabled)")
    p.add_argument("campaign")
    p = declare("disable", cmd_disable, help="hide a campaign (users fall back to another)")
    p.add_argument("campaign")
    p = declare("edit-campaign", cmd_edit_campaign, help="change a campaign's fields")
    p.add_argument("campaign")
    _campaign_options(p)
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="any field by dotted path, e.g. forms.large_need.to.phone=23119342 (JSON values allowed)")
    p.add_argument("--disable", action="store_true", help="hide the campaign (users fall back to another)")
    p.add_argument("--enable", action="store_true")


def _campaign_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", type=int)
    p.add_argument("--region", help="全国, a province (上海市), a 计划单列市 (宁波市) or 新疆生产建设兵团")
    p.add_argument("--title", help="the notice's title")
    p.add_argument("--number", help="the notice's number, e.g. 沪经信企〔2025〕…号")
    p.add_argument("--issued", help="the notice's date")
    p.add_argument("--remind-time", help="reminders' time of day, HH:MM local (default 09:00)")


async def cmd_campaigns(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    async with store.sessions() as session:
        campaigns = await load_campaigns(session, include_disabled=True)
    for c in campaigns:
        flag = " [停用]" if c.data.get("disabled") else ""
        print(f"{c.id}  {c.year} {c.region}  {c.number}{flag}", file=out)
        for f in c.form_ids:
            print(f"    {f:<12} 截止 {deadline_cell(c, f, now)}", file=out)
    return 0


async def cmd_show(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    c = await find_campaign(store, args.campaign)
    print(json.dumps(c.data, ensure_ascii=False, indent=2), file=out)
    return 0


def _apply_options(data: dict, args) -> None:
    for key in ("year", "region", "title", "number", "issued", "remind_time"):
        value = getattr(args, key, None)
        if value is None:
            continue
        if key == "region":
            value = _region(value)
        if key == "remind_time":
            value = parse_time(value).strftime("%H:%M")
        data[key] = value


def _region(value: str) -> str:
    if value in (regions.NATIONAL, regions.BINGTUAN, *regions.SEPARATE_PLAN_CITIES):
        return value
    p = regions.province(value) or regions.plan_city(value)
    if p is None:
        raise AdminError(f"不认识的地区：{value}")
    return p


async def cmd_add_campaign(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    async with store.sessions() as session:
        if await get_campaign(session, args.campaign) is not None:
            raise AdminError(f"活动 {args.campaign} 已存在（用 edit-campaign 修改）")
    if args.file:
        data = _read_json(Path(args.file))
    elif args.copy_from:
        data = copy.deepcopy(dict((await find_campaign(store, args.copy_from)).data))
        for f in data.get("forms", {}).values():
            f["deadline"], f["deadline_text"] = None, "另行通知"
        for key in ("disabled", "parent", "title", "issued"):
            data.pop(key, None)  # the old notice's: give --title/--issued for the new one
    else:
        data = {"forms": {f: {"deadline": None, "deadline_text": "另行通知"} for f in FORMS}, "contacts": []}
    data["id"] = args.campaign
    _apply_options(data, args)
    if not data.get("year") or not data.get("region"):
        raise AdminError("需要 --year 和 --region（或 --copy-from / --file）")
    if not args.enabled:
        data["disabled"] = True  # prepared ahead: users keep last year's until it is enabled
    await save(store, Campaign(data))
    state = "已启用" if args.enabled else f"暂未启用（准备好后运行 admin enable {args.campaign}）"
    print(f"已添加 {args.campaign}，{state}；用 set-deadline 设定截止日期。", file=out)
    return 0


async def cmd_enable(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    c = await find_campaign(store, args.campaign)
    data = copy.deepcopy(dict(c.data))
    data.pop("disabled", None)
    await save(store, Campaign(data))
    print(f"已启用 {args.campaign}：用户从现在起看到它。", file=out)
    return 0


async def cmd_disable(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    c = await find_campaign(store, args.campaign)
    await save(store, Campaign({**copy.deepcopy(dict(c.data)), "disabled": True}))
    print(f"已停用 {args.campaign}。", file=out)
    return 0


def _read_json(path: Path) -> dict:
    path = existing_file(str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise AdminError(f"{path.name} 不是有效的 JSON：{exc}") from exc
    if not isinstance(data, dict):
        raise AdminError(f"{path.name} 应是一个 JSON 对象（一个活动）")
    return data


def _set_path(data: dict, path: str, raw: str) -> None:
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    keys = path.split(".")
    node = data
    for k in keys[:-1]:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    node[keys[-1]] = value


async def cmd_edit_campaign(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    c = await find_campaign(store, args.campaign)
    data = copy.deepcopy(dict(c.data))
    _apply_options(data, args)
    for item in args.set:
        path, sep, raw = item.partition("=")
        if not sep or path in ("id",):
            raise AdminError(f"--set 需要 路径=值：{item}")
        _set_path(data, path, raw)
    if args.disable:
        data["disabled"] = True
    if args.enable:
        data.pop("disabled", None)
    await save(store, Campaign(data))
    print(f"已修改 {c.id}", file=out)
    return 0
