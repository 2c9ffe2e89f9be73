"""`python -m bot admin …`: campaigns, deadlines, contacts, users' progress, the roll-up, form states.

    python -m bot admin campaigns
    python -m bot admin add-campaign 2025-shanghai --copy-from 2024-shanghai --year 2025 --number 沪经信企〔2025〕…号
    python -m bot admin set-deadline 2025-shanghai large_need 2025-07-20
    python -m bot admin import-contacts 2025-shanghai 附件1.xlsx
    python -m bot admin users --campaign 2025-shanghai
    python -m bot admin export rollup.xlsx
    python -m bot admin set-status telegram:12345 sme_match returned --note "缺营业执照复印件"

A deadline change or a new form state is announced to the users it concerns (outbox + a push by the
serving process). Every command upgrades the database schema first.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.campaigns.handlers import STATE_LINES, _title
from bot.campaigns.model import Campaign, days_left, parse_date, parse_time
from bot.campaigns.reminders import STATUS, ReminderService, concerned, deadline_notice
from bot.campaigns.repo import STATUSES, all_user_forms, get_campaign, load_campaigns, per_item, save_campaign
from bot.config import Settings
from bot.dialogs import walker as w
from bot.dialogs.forms import FORMS
from bot.domain import regions
from bot.i18n import N_, gettext
from bot.messages import Button, Reply
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
STATUS_NAMES = {"draft": "填写中", "complete": "已填完待报送", "submitted": "已盖章报送", "approved": "初审通过",
                "returned": "退回"}


def add_parser(subparsers: Any) -> None:
    a = subparsers.add_parser("admin", help="campaigns, deadlines, contacts, progress, export")
    s = a.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    s.add_parser("campaigns", help="list campaigns with their deadlines")
    p = s.add_parser("show", help="a campaign as JSON (the shape of bot/campaigns/data/)")
    p.add_argument("campaign")
    p = s.add_parser("add-campaign", help="add a campaign (from --copy-from, --file or the options)")
    p.add_argument("campaign", help="id, e.g. 2025-shanghai")
    p.add_argument("--copy-from", help="start from this campaign (deadlines are cleared: 另行通知)")
    p.add_argument("--file", help="a JSON file with the whole campaign")
    _campaign_options(p)
    p = s.add_parser("edit-campaign", help="change a campaign's fields")
    p.add_argument("campaign")
    _campaign_options(p)
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="any field by dotted path, e.g. forms.large_need.to.phone=23119342 (JSON values allowed)")
    p.add_argument("--disable", action="store_true", help="hide the campaign (users fall back to another)")
    p.add_argument("--enable", action="store_true")
    p = s.add_parser("set-deadline", help="set or move a form's deadline; users it concerns are told")
    p.add_argument("campaign")
    p.add_argument("form", choices=sorted(FORMS))
    p.add_argument("date", help="YYYY-MM-DD, or 'none' (unknown: 另行通知)")
    p.add_argument("--text", help="what to show instead of a date, or beside it")
    p.add_argument("--no-announce", action="store_true", help="change quietly")
    p = s.add_parser("import-contacts", help="district offices from CSV/xlsx: 区,部门,电话,单位地址[,邮箱]")
    p.add_argument("campaign")
    p.add_argument("file")
    p.add_argument("--replace", action="store_true", help="drop the contacts not in the file")
    p = s.add_parser("users", help="users and their progress, per campaign")
    p.add_argument("--campaign")
    p = s.add_parser("export", help="the roll-up as .xlsx")
    p.add_argument("file")
    p.add_argument("--campaign")
    p = s.add_parser("set-status", help="a form's state: submitted | approved | returned (with --note)")
    p.add_argument("user", help="user id, or channel:external_id")
    p.add_argument("form", choices=sorted(FORMS))
    p.add_argument("status", choices=[x for x in STATUSES if x != "draft"])
    p.add_argument("--note", help="the reason (退回) or a remark, shown to the user")
    p.add_argument("--item", type=int, help="for per-item forms: item number, from 1 (default: all)")
    p.add_argument("--no-announce", action="store_true")
    s.add_parser("plan", help="plan reminders now (the serving process does this every 10 minutes)")


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
              out: Any = None) -> int:
    out = out or sys.stdout
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.effective_database_url)
    try:
        await upgrade(store.engine)
        handler = globals()["cmd_" + args.admin_command.replace("-", "_")]
        return await handler(store, args, now or _now(), out)
    except AdminError as exc:
        print(f"错误：{exc}", file=out)
        return 2
    finally:
        await store.close()


class AdminError(Exception):
    pass


async def _campaign(store: Store, campaign_id: str) -> Campaign:
    async with store.sessions() as session:
        c = await get_campaign(session, campaign_id)
    if c is None:
        raise AdminError(f"没有活动 {campaign_id}（admin campaigns 列出全部）")
    return c


async def _save(store: Store, c: Campaign) -> None:
    async with store.sessions() as session, session.begin():
        await save_campaign(session, c)


def _deadline_cell(c: Campaign, form_id: str, now: datetime) -> str:
    d = c.deadline(form_id)
    if d is None:
        return c.deadline_text(form_id) or "另行通知"
    return f"{d}{'（已截止）' if days_left(d, now, c.tz) < 0 else ''}"


async def cmd_campaigns(store: Store, args, now: datetime, out) -> int:
    async with store.sessions() as session:
        campaigns = await load_campaigns(session, include_disabled=True)
    for c in campaigns:
        flag = " [停用]" if c.data.get("disabled") else ""
        print(f"{c.id}  {c.year} {c.region}  {c.number}{flag}", file=out)
        for f in c.form_ids:
            print(f"    {f:<12} 截止 {_deadline_cell(c, f, now)}", file=out)
    return 0


async def cmd_show(store: Store, args, now: datetime, out) -> int:
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


async def cmd_add_campaign(store: Store, args, now: datetime, out) -> int:
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
    await _save(store, Campaign(data))
    print(f"已添加 {args.campaign}；用 set-deadline 设定截止日期。", file=out)
    return 0


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


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


async def cmd_edit_campaign(store: Store, args, now: datetime, out) -> int:
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


async def cmd_set_deadline(store: Store, args, now: datetime, out) -> int:
    c = await _campaign(store, args.campaign)
    try:
        new = parse_date(args.date)
    except ValueError as exc:
        raise AdminError(f"日期格式应为 YYYY-MM-DD：{args.date}") from exc
    old = c.deadline(args.form)
    await _save(store, c.with_deadline(args.form, new, args.text))
    print(f"{c.id} {args.form} 截止：{old or '未定'} → {new or (args.text or '另行通知')}", file=out)
    await move_deadline_effects(store, c.id, args.form, old, now, announce=not args.no_announce, out=out)
    return 0


async def move_deadline_effects(store: Store, campaign_id: str, form_id: str, old, now: datetime,
                                announce: bool = True, out: Any = None,
                                service: ReminderService | None = None) -> int:
    """After a deadline changed: re-plan the reminders and tell the users it concerns."""
    service = service or ReminderService(store, clock=lambda: now)
    await service.replan(campaign_id, form_id, now)
    if not announce:
        return 0
    async with store.sessions() as session:
        campaigns = await load_campaigns(session)
        c = next((x for x in campaigns if x.id == campaign_id), None)
        if c is None or c.deadline(form_id) == old:
            return 0
        everyone = await all_user_forms(session, campaigns)
    messages = [(uf.user.id, [deadline_notice(uf.user.language, uf, c, form_id, old, now)])
                for uf in everyone if concerned(uf, campaign_id, form_id)]
    await service.announce(messages, f"deadline:{campaign_id}:{form_id}", campaign_id, form_id, now)
    if out is not None:
        print(f"已通知 {len(messages)} 位用户", file=out)
    return len(messages)


def _read_table(path: Path) -> list[list[str]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        ws = load_workbook(path, read_only=True, data_only=True).active
        return [["" if v is None else str(v).strip() for v in row] for row in ws.iter_rows(values_only=True)]
    text = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            decoded = text.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    return [[c.strip() for c in row] for row in csv.reader(decoded.splitlines())]


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


async def cmd_import_contacts(store: Store, args, now: datetime, out) -> int:
    c = await _campaign(store, args.campaign)
    new = parse_contacts(_read_table(Path(args.file)))
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
    for uf in sorted(everyone, key=lambda u: u.user.id):
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


async def cmd_users(store: Store, args, now: datetime, out) -> int:
    rows = await rollup(store, args.campaign, now)
    if not rows:
        print("没有用户填写过表格。", file=out)
    for r in rows:
        item = f"《{r[7]}》" if r[7] else ""
        print(f"#{r[0]} {r[1]} {r[2] or '-'} {r[3]}{r[4]} | {r[5] or '-'} {r[6]}{item} {r[8]}/{r[9]} "
              f"{r[11]}{'：' + r[12] if r[12] else ''} | 截止 {r[13] or '-'}", file=out)
    return 0


async def cmd_export(store: Store, args, now: datetime, out) -> int:
    from openpyxl import Workbook

    rows = await rollup(store, args.campaign, now)
    wb = Workbook()
    ws = wb.active
    ws.title = "进度"
    ws.append(ROLLUP_HEADER)
    for r in rows:
        ws.append(r)
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFGHIJKLMNO", (6, 22, 28, 10, 10, 16, 12, 20, 6, 6, 40, 12, 20, 16, 17), strict=True):
        ws.column_dimensions[col].width = width
    wb.save(args.file)
    print(f"已导出 {len(rows)} 行到 {args.file}", file=out)
    return 0


async def _find_user(session, ref: str) -> User | None:
    from sqlalchemy import select

    if ref.isdigit():
        return await session.get(User, int(ref))
    channel, _, external = ref.partition(":")
    return (await session.execute(
        select(User).where(User.channel == channel, User.external_id == external))).scalar_one_or_none()


def status_notice(lang: str, sub: Submission) -> Reply:
    t = lambda s, **k: gettext(lang, s, **k)  # noqa: E731
    line = t(STATE_LINES[sub.status], title=_title(lang, sub), done="", total="",
             note=sub.status_note or t(N_("请联系报送部门")))
    if sub.status == "returned":
        line += "\n" + t(N_("请按意见修改后重新报送；回复“修改”可改答案。"))
    elif sub.status_note:
        line += f"\n{sub.status_note}"
    return Reply("📢 " + line, buttons=(Button(t(N_("查看进度")), STATUS),), language=lang)


async def cmd_set_status(store: Store, args, now: datetime, out) -> int:
    from sqlalchemy import select

    async with store.sessions() as session, session.begin():
        user = await _find_user(session, args.user)
        if user is None:
            raise AdminError(f"没有用户 {args.user}")
        subs = (await session.execute(select(Submission).where(
            Submission.user_id == user.id).order_by(Submission.id))).scalars().all()
        linked = per_item(subs).get(args.form, {})
        if args.item is not None:
            latest = [linked[args.item - 1]] if args.item - 1 in linked else []
        else:
            latest = [linked[i] for i in sorted(linked, key=lambda i: -1 if i is None else i)]
        if not latest:
            raise AdminError(f"用户 {args.user} 没有 {args.form}")
        if args.status == "returned" and not args.note:
            raise AdminError("退回需要 --note 说明原因")
        for s in latest:
            s.status, s.status_note, s.updated_at = args.status, args.note, now
            session.add(s)
        user_id, lang = user.id, user.language
        notices = [status_notice(lang, s) for s in latest]
    print(f"已设为 {STATUS_NAMES[args.status]}：{len(latest)} 份", file=out)
    if not args.no_announce:
        service = ReminderService(store, clock=lambda: now)
        await service.announce([(user_id, notices)], f"status:{args.form}", "", args.form, now)
    return 0


async def cmd_plan(store: Store, args, now: datetime, out) -> int:
    n = await ReminderService(store, clock=lambda: now).plan(now)
    print(f"新增提醒 {n} 条", file=out)
    return 0


__all__ = ["add_parser", "run", "rollup", "parse_contacts", "move_deadline_effects"]
