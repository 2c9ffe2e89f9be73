"""`python -m bot admin …`: campaigns, deadlines, contacts, users' progress, the roll-up, form states.

    python -m bot admin campaigns
    python -m bot admin add-campaign 2025-shanghai --copy-from 2024-shanghai --year 2025 --number 沪经信企〔2025〕…号
    python -m bot admin set-deadline 2025-shanghai large_need 2025-07-20
    python -m bot admin import-contacts 2025-shanghai 附件1.xlsx
    python -m bot admin users --campaign 2025-shanghai
    python -m bot admin export rollup.xlsx
    python -m bot admin set-status telegram:12345 sme_match returned --note "缺营业执照复印件"
    python -m bot admin import-catalogue 2024-national 需求目录.xlsx
    python -m bot admin propose-need 2024-national 57 --code 2024-SH-201
    python -m bot admin invite-officer 2024-shanghai 浦东 zhang@pudong.gov.cn

A deadline change or a new form state is announced to the users it concerns (outbox + a push by the
serving process); a deadline announced to more than ASK_ABOVE users is confirmed first (or --yes).
Every command upgrades the database schema first. Bad input (a missing file, a date in the past) gets
one line starting with 错误：, never a traceback.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.campaigns.model import Campaign, days_left, local_today, parse_date, parse_time
from bot.campaigns.reminders import ReminderService, concerned, deadline_notice
from bot.campaigns.repo import STATUSES, all_user_forms, get_campaign, load_campaigns, per_item, save_campaign
from bot.catalogue import importer as catalogue_file
from bot.config import Settings
from bot.console.review import status_notice
from bot.dialogs import walker as w
from bot.dialogs.forms import FORMS
from bot.domain import regions
from bot.messages import Reply
from storage.migrate import upgrade
from storage.models import Submission, User
from storage.store import Store

CONTACT_COLUMNS = {  # header (附件1's own, or English) → key
    "区": "district", "district": "district", "部门": "office", "office": "office", "电话": "phone",
    "phone": "phone", "单位地址": "address", "地址": "address", "address": "address", "邮箱": "email",
    "email": "email", "e-mail": "email", "别名": "aliases", "aliases": "aliases",
}
ROLLUP_HEADER = ["用户", "渠道", "企业名称", "省份", "区", "活动", "表格", "事项", "已答", "总数", "待填", "状态",
                 "说明", "截止", "更新时间"]
STATUS_NAMES = {"draft": "填写中", "complete": "已填完待报送", "submitted": "已盖章报送", "received": "已收到纸质件",
                "approved": "初审通过", "returned": "退回"}
ASK_ABOVE = 10  # a deadline announced to more users than this is confirmed first (or --yes)
NEEDS_FINISHED = ("submitted", "received", "approved")  # states a form still being filled cannot have


def _common() -> argparse.ArgumentParser:
    """The global options, accepted after `admin` and after its subcommand too."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--data-dir", default=argparse.SUPPRESS, help="data folder (default ./data or JIEBANG_DATA_DIR)")
    p.add_argument("--database-url", default=argparse.SUPPRESS, help="SQLAlchemy async URL")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log to stderr")
    return p


def add_parser(subparsers: Any) -> None:
    common = _common()
    a = subparsers.add_parser("admin", help="campaigns, deadlines, contacts, progress, export", parents=[common])
    s = a.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")

    def sub(name: str, **kw: Any) -> argparse.ArgumentParser:
        return s.add_parser(name, parents=[common], **kw)

    sub("campaigns", help="list campaigns with their deadlines")
    p = sub("show", help="a campaign as JSON (the shape of bot/campaigns/data/)")
    p.add_argument("campaign")
    p = sub("add-campaign", help="add a campaign (from --copy-from, --file or the options)")
    p.add_argument("campaign", help="id, e.g. 2025-shanghai")
    p.add_argument("--copy-from", help="start from this campaign (deadlines are cleared: 另行通知)")
    p.add_argument("--file", help="a JSON file with the whole campaign")
    _campaign_options(p)
    p.add_argument("--enabled", action="store_true",
                   help="users see it at once (default: disabled until `admin enable`, so next year can be prepared)")
    p = sub("enable", help="let users see a campaign (one added with add-campaign starts disabled)")
    p.add_argument("campaign")
    p = sub("disable", help="hide a campaign (users fall back to another)")
    p.add_argument("campaign")
    p = sub("delete-user", help="删除我的数据 for a user: every answer, file and document of theirs")
    p.add_argument("user", help="channel:external_id (or the user id)")
    p.add_argument("--yes", action="store_true", help="without asking")
    p = sub("edit-campaign", help="change a campaign's fields")
    p.add_argument("campaign")
    _campaign_options(p)
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="any field by dotted path, e.g. forms.large_need.to.phone=23119342 (JSON values allowed)")
    p.add_argument("--disable", action="store_true", help="hide the campaign (users fall back to another)")
    p.add_argument("--enable", action="store_true")
    p = sub("set-deadline", help="set or move a form's deadline; users it concerns are told")
    p.add_argument("campaign")
    p.add_argument("form", choices=sorted(FORMS))
    p.add_argument("date", help="YYYY-MM-DD, or 'none' (unknown: 另行通知)")
    p.add_argument("--text", help="what to show instead of a date, or beside it (users see it)")
    p.add_argument("--no-announce", action="store_true", help="change quietly")
    p.add_argument("--yes", action="store_true", help=f"announce to more than {ASK_ABOVE} users without asking")
    p.add_argument("--past", action="store_true", help="allow a date that has already passed")
    p = sub("import-contacts", help="district offices from CSV/xlsx: 区,部门,电话,单位地址[,邮箱]")
    p.add_argument("campaign")
    p.add_argument("file")
    p.add_argument("--replace", action="store_true", help="drop the contacts not in the file")
    p = sub("users", help="users and their progress, per campaign")
    p.add_argument("--campaign")
    p = sub("export", help="the roll-up as .xlsx")
    p.add_argument("file")
    p.add_argument("--campaign")
    p = sub("set-status", help="a form's state: submitted | received | approved | returned (with --note)")
    p.add_argument("user", help="user id, or channel:external_id")
    p.add_argument("form", choices=sorted(FORMS))
    p.add_argument("status", choices=[x for x in STATUSES if x != "draft"])
    p.add_argument("--note", help="the reason (退回) or a remark, shown to the user")
    p.add_argument("--item", type=int, help="for per-item forms: item number, from 1 (default: all)")
    p.add_argument("--no-announce", action="store_true")
    sub("plan", help="plan reminders now (the serving process does this every 10 minutes)")
    # -- the 需求目录 ----------------------------------------------------------------------------------
    p = sub("import-catalogue", help="the ministry's 需求目录 (xlsx/CSV; headers such as 需求编号, 需求名称, 发榜企业, "
            "所属行业, 地区, 需求内容)")
    p.add_argument("campaign")
    p.add_argument("file")
    p.add_argument("--replace", action="store_true", help="withdraw the campaign's needs that are not in the file")
    p = sub("catalogue", help="list a campaign's needs, or search them (--search words or a code)")
    p.add_argument("campaign")
    p.add_argument("--search", help="words (雷达, 电池热失控) or a code")
    p.add_argument("--limit", type=int, default=20)
    p = sub("propose-need", help="add a 需求表 confirmed in the bot to the catalogue (不公开: without the firm's "
            "name); without SUBMISSION: list the ones not yet proposed")
    p.add_argument("campaign")
    p.add_argument("submission", nargs="?", type=int, help="the 需求表's submission id (see the list)")
    p.add_argument("--code", action="append", default=[], help="a code per need, in order (default P<id>-<n>)")
    p = sub("withdraw-need", help="withdraw needs from the catalogue (SMEs can no longer pick them)")
    p.add_argument("campaign")
    p.add_argument("code", nargs="+")
    # -- the district office's console --------------------------------------------------------------
    p = sub("invite-officer", help="a one-time link for a district officer to set a password and log in to "
            "the console")
    p.add_argument("campaign")
    p.add_argument("district", help="a 附件1 区 (浦东, 黄浦 …); for a national campaign a province (江苏省)")
    p.add_argument("login", help="the officer's e-mail or name (what they log in with)")
    p.add_argument("--days", type=int, default=7, help="how long the link works (default 7 days)")
    sub("officers", help="the console's officers and their districts")


def _campaign_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", type=int)
    p.add_argument("--region", help="全国, a province (上海市), a 计划单列市 (宁波市) or 新疆生产建设兵团")
    p.add_argument("--title", help="the notice's title")
    p.add_argument("--number", help="the notice's number, e.g. 沪经信企〔2025〕…号")
    p.add_argument("--issued", help="the notice's date")
    p.add_argument("--remind-time", help="reminders' time of day, HH:MM local (default 09:00)")


def _now() -> datetime:
    return datetime.now(UTC)


async def run(args: argparse.Namespace, settings: Settings, now: datetime | None = None,
              out: Any = None, ask: Any = None) -> int:
    """Run one admin command. `ask(question) -> bool` confirms a large announcement (default: the
    terminal; a closed or piped standard input answers no)."""
    out = out or sys.stdout
    args.ask = ask or _ask_terminal
    args.settings = settings
    try:
        if not settings.database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"错误：无法创建数据文件夹 {settings.data_dir}：{exc.strerror or exc}", file=out)
        return 2
    store = Store(settings.effective_database_url)
    try:
        await upgrade(store.engine)
        handler = globals()["cmd_" + args.admin_command.replace("-", "_")]
        return await handler(store, args, now or _now(), out)
    except AdminError as exc:
        print(f"错误：{exc}", file=out)
        return 2
    except catalogue_file.CatalogueFileError as exc:
        print(f"错误：{exc}", file=out)
        return 2
    except OSError as exc:  # a folder that is not there, a file that cannot be written
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"错误：{exc.strerror or exc}{where}", file=out)
        return 2
    finally:
        await store.close()


class AdminError(Exception):
    pass


def _ask_terminal(question: str) -> bool:
    """y/N on the terminal; no terminal (CI, a pipe that ended) answers no."""
    try:
        if sys.stdin is None or sys.stdin.closed:
            return False
        print(question + " [y/N] ", end="", flush=True)
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        return False
    return answer.strip().lower() in ("y", "yes", "是", "确定")


def _existing_file(path: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise AdminError(f"没有这个文件：{p}")
    if p.is_dir():
        raise AdminError(f"这是文件夹，不是文件：{p}")
    return p


def _writable(path: str) -> Path:
    p = Path(path)
    if p.is_dir():
        raise AdminError(f"这是文件夹，请给出文件名：{p}")
    if not p.parent.exists():
        raise AdminError(f"没有这个文件夹：{p.parent}")
    return p


async def _campaign(store: Store, campaign_id: str) -> Campaign:
    async with store.sessions() as session:
        c = await get_campaign(session, campaign_id)
    if c is None:
        raise AdminError(f"没有活动 {campaign_id}（admin campaigns 列出全部）")
    return c


async def _save(store: Store, c: Campaign) -> None:
    async with store.sessions() as session, session.begin():
        await save_campaign(session, c)
    store.forget()


def _deadline_cell(c: Campaign, form_id: str, now: datetime) -> str:
    d = c.deadline(form_id)
    if d is None:
        return c.deadline_text(form_id) or "另行通知"
    return f"{d}{'（已截止）' if days_left(d, now, c.tz) < 0 else ''}"


async def cmd_campaigns(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    async with store.sessions() as session:
        campaigns = await load_campaigns(session, include_disabled=True)
    for c in campaigns:
        flag = " [停用]" if c.data.get("disabled") else ""
        print(f"{c.id}  {c.year} {c.region}  {c.number}{flag}", file=out)
        for f in c.form_ids:
            print(f"    {f:<12} 截止 {_deadline_cell(c, f, now)}", file=out)
    return 0


async def cmd_show(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    c = await _campaign(store, args.campaign)
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
        data = copy.deepcopy(dict((await _campaign(store, args.copy_from)).data))
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
    await _save(store, Campaign(data))
    state = "已启用" if args.enabled else f"暂未启用（准备好后运行 admin enable {args.campaign}）"
    print(f"已添加 {args.campaign}，{state}；用 set-deadline 设定截止日期。", file=out)
    return 0


async def cmd_enable(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    c = await _campaign(store, args.campaign)
    data = copy.deepcopy(dict(c.data))
    data.pop("disabled", None)
    await _save(store, Campaign(data))
    print(f"已启用 {args.campaign}：用户从现在起看到它。", file=out)
    return 0


async def cmd_disable(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    c = await _campaign(store, args.campaign)
    await _save(store, Campaign({**copy.deepcopy(dict(c.data)), "disabled": True}))
    print(f"已停用 {args.campaign}。", file=out)
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


def _read_json(path: Path) -> dict:
    path = _existing_file(str(path))
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
    c = await _campaign(store, args.campaign)
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
    await _save(store, Campaign(data))
    print(f"已修改 {c.id}", file=out)
    return 0


async def cmd_set_deadline(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    c = await _campaign(store, args.campaign)
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
    await _save(store, c.with_deadline(args.form, new, args.text))
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


async def move_deadline_effects(store: Store, campaign_id: str, form_id: str, old: date | None, now: datetime,
                                announce: bool = True, out: TextIO | None = None,
                                service: ReminderService | None = None, text: str | None = None) -> int:
    """After a deadline changed: re-plan the reminders and tell the users it concerns (with `text`,
    the operator's words about it, when given)."""
    service = service or ReminderService(store, clock=lambda: now)
    await service.replan(campaign_id, form_id, now)
    if not announce:
        return 0
    async with store.sessions() as session:
        campaigns = await load_campaigns(session)
        c = next((x for x in campaigns if x.id == campaign_id), None)
        if c is None or (c.deadline(form_id) == old and not text):
            return 0
        everyone = await all_user_forms(session, campaigns)
    messages = [(uf.user_id, [_with_text(deadline_notice(uf.user.language, uf, c, form_id, old, now), text)])
                for uf in everyone if concerned(uf, campaign_id, form_id)]
    await service.announce(messages, f"deadline:{campaign_id}:{form_id}", campaign_id, form_id, now)
    if out is not None:
        print(f"已通知 {len(messages)} 位用户", file=out)
    return len(messages)


def _with_text(notice: Reply, text: str | None) -> Reply:
    """The deadline's own words (--text) on the notice, unless the deadline line already says them."""
    if not text or text in notice.text:
        return notice
    first, _, rest = notice.text.partition("\n")
    return dataclasses.replace(notice, text="\n".join(x for x in (first, text, rest) if x))


def parse_contacts(rows: list[list[str]]) -> list[dict[str, Any]]:
    """Rows with a header (区, 部门, 电话, 单位地址, 邮箱 — or English) → contact dicts; 序号 is ignored."""
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    header = [CONTACT_COLUMNS.get(h.replace(" ", "").lower(), "") for h in rows[0]]
    if "office" not in header:
        raise AdminError("表头需要“部门”列（以及 区、电话、单位地址、邮箱）")
    out = []
    for r in rows[1:]:
        c: dict[str, Any] = {}
        for key, value in zip(header, r, strict=False):
            value = "".join(value.split()) if key != "aliases" else value
            if key and value:
                c[key] = [x for x in value.replace("，", ",").split(",") if x] if key == "aliases" else value
        if c.get("office"):
            if not c.get("district"):
                c["level"] = "city"
            out.append(c)
    return out


async def cmd_import_contacts(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    c = await _campaign(store, args.campaign)
    new = parse_contacts(catalogue_file.read_table(_existing_file(args.file)))
    key = lambda x: x.get("district") or ("city", x.get("office"))  # noqa: E731
    merged = {} if args.replace else {key(x): x for x in c.contacts}
    added = sum(1 for x in new if key(x) not in merged)
    for x in new:
        merged[key(x)] = x
    data = {**c.data, "contacts": list(merged.values())}
    await _save(store, Campaign(data))
    print(f"已导入 {len(new)} 条（新增 {added}），共 {len(merged)} 条", file=out)
    return 0


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
                done, total, missing = w.answered_count(form, a)
                rows.append([
                    uf.user.id, f"{uf.user.channel}:{uf.user.external_id}",
                    a.get("company_name") or profile.get("company_name") or "", uf.region.get("province") or "",
                    (district or {}).get("district", ""), c.id if c else "", form_id, a.get("item_name") or "",
                    done, total, "、".join(s.field.label for s in missing), STATUS_NAMES.get(sub.status, sub.status),
                    sub.status_note or "", _deadline_cell(c, form_id, now) if c else "",
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

    path = _writable(args.file)
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
            done, total, _missing = w.answered_count(form, unfinished[0].answers or {})
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


async def cmd_plan(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    n = await ReminderService(store, clock=lambda: now).plan(now)
    print(f"新增提醒 {n} 条", file=out)
    return 0


# -- the 需求目录 --------------------------------------------------------------------------------------------

async def cmd_import_catalogue(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from bot.catalogue import repo as catalogue

    c = await _campaign(store, args.campaign)
    parsed = catalogue_file.parse(catalogue_file.read_table(_existing_file(args.file)))
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

    c = await _campaign(store, args.campaign)
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

    c = await _campaign(store, args.campaign)
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

    c = await _campaign(store, args.campaign)
    async with store.sessions() as session, session.begin():
        done = await catalogue.set_state(session, c.id, args.code, "withdrawn")
    missing = [x for x in args.code if x not in done]
    print(f"已撤回 {len(done)} 条" + (f"；没有或已撤回：{'、'.join(missing)}" if missing else ""), file=out)
    return 0


# -- the district office's console ---------------------------------------------------------------------

def console_url(settings: Settings, path: str) -> str:
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return f"{base.rstrip('/')}{path}"


async def cmd_invite_officer(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from bot.console import auth

    c = await _campaign(store, args.campaign)
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


__all__ = ["add_parser", "run", "rollup", "parse_contacts", "move_deadline_effects", "status_notice"]
