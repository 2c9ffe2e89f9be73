"""What a user sees of campaigns: 状态 (status), 联系 (contact), 退订提醒 / 开启提醒, 已报送, and between two
campaigns one message (closed_lines) and 有新通知时告诉我 (notify_new).

Each handler takes the message's `UserTx` and language and returns one short message (text). The engine
shows it followed by where the user stands (see the report for the wiring lines).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.campaigns.model import Campaign, days_left, pick
from bot.campaigns.repo import UserForms, load_campaigns
from bot.dialogs import walker as w
from bot.dialogs.forms import FORMS
from bot.dialogs.items import parent_items
from bot.dialogs.printed import print_state
from bot.i18n import N_, gettext, official
from storage.hot import SubmissionLike

if TYPE_CHECKING:
    from bot.dialogs.fields import Form
    from storage.hot import SubRow
    from storage.store import UserTx

MAX_MISSING = 5

STATE_LINES = {
    "changed": N_("《{title}》已修改：与已生成的文件不同，请打开它重新确认生成"),
    "complete": N_("《{title}》{done}/{total} 已填完，待盖章报送（报送后回复“已报送”）"),
    "submitted": N_("《{title}》已盖章报送"),
    "received": N_("《{title}》纸质件已收到，待初审"),
    "approved": N_("《{title}》已盖章报送，初审通过"),
    "returned": N_("《{title}》被退回：{note}"),
}

async def handle_text(tx: UserTx, lang: str, text: str, now: datetime | None = None) -> str | None:
    """The reply to one of the campaign words (联系, 退订提醒, 已报送 …), or None when `text` is not one."""
    from bot.dialogs import words

    found = words.lookup(text)
    if found is None or found[0] not in CAMPAIGN_WORDS:
        return None
    return await run_word(tx, lang, *found, now)


CAMPAIGN_WORDS = ("contact", "remind_off", "remind_on", "submitted", "notify_new")


async def run_word(tx: UserTx, lang: str, name: str, arg: str = "", now: datetime | None = None) -> str:
    if name == "contact":
        return await contact_for(tx, lang, arg)
    if name == "remind_off":
        return set_reminders(tx, lang, False)
    if name == "remind_on":
        return set_reminders(tx, lang, True)
    if name == "submitted":
        return await mark_submitted(tx, lang, arg, now)
    if name == "notify_new":
        return await notify_new(tx, lang, now)
    raise ValueError(f"not a campaign word: {name}")


CAMPAIGNS_TTL = 30.0  # seconds an admin's change to a campaign may take to reach the chat of another process


async def tx_campaigns(tx: UserTx) -> list[Campaign]:
    async def load() -> list[Campaign]:
        async with tx.store.sessions() as session:
            return await load_campaigns(session)

    return await tx.store.cached("campaigns", CAMPAIGNS_TTL, load)


async def tx_user_forms(tx: UserTx, campaigns: list[Campaign] | None = None) -> UserForms[SubRow]:
    """The user's forms and their campaigns, from the message's own view of the user."""
    if campaigns is None:
        campaigns = await tx_campaigns(tx)
    return UserForms.build(tx.user, await tx.submissions(), campaigns)


def _title(lang: str, sub: SubmissionLike) -> str:
    form = FORMS[sub.form_id]
    title = gettext(lang, form.short_title)
    item = (sub.answers or {}).get("item_name")
    return f"{title}《{item}》" if form.per_item and item else title


def is_past(campaign: Campaign, form_id: str, now: datetime) -> bool:
    """The form is closed for this campaign: its deadline passed, or (另行通知) the campaign is over
    (Campaign.form_closed: after its `closes` day, by default 31 December of its year)."""
    return campaign.form_closed(form_id, now)


def deadline_line(lang: str, campaign: Campaign | None, form_id: str, now: datetime) -> str:
    t = lambda s, **k: gettext(lang, s, **k)  # noqa: E731
    if campaign is None:
        return ""
    d = campaign.deadline(form_id)
    name = campaign.short_name
    if d is None:
        if campaign.form_closed(form_id, now):  # never 另行通知 for a notice that is over
            return t(N_("截止：{name}的工作已结束"), name=name)
        return t(N_("截止：{text}（{name}）"), text=t(campaign.deadline_text(form_id) or N_("另行通知")), name=name)
    left = days_left(d, now, campaign.tz)
    if left < 0:
        return t(N_("截止：{date}（{name}，已截止）"), date=d.isoformat(), name=name)
    if left == 0:
        return t(N_("截止：今天 {date}（{name}）"), date=d.isoformat(), name=name)
    return t(N_("截止：{date}，还有 {n} 天（{name}）"), date=d.isoformat(), n=left, name=name)


def closed_lines(lang: str, campaign: Campaign, form_id: str, waiting_now: bool) -> list[str]:
    """Between two campaigns, said once before question 1: the last one (named) is over for this form; the
    form can be prepared now for the next one (the answers are kept and carried over); the user is told when
    the next notice is loaded — once they ask (`waiting_now`: they have)."""
    t = lambda s, **k: gettext(lang, s, **k)  # noqa: E731
    d = campaign.deadline(form_id)
    if d is not None:
        first = t(N_("{name}（{number}）的《{title}》已于 {date} 截止，还没有新一年度的通知。"),
                  name=campaign.short_name, number=campaign.number, title=t(FORMS[form_id].short_title),
                  date=d.isoformat())
    else:
        first = t(N_("{name}（{number}）的工作已经结束，还没有新一年度的通知。"), name=campaign.short_name,
                  number=campaign.number)
    told = (N_("新通知载入后会告诉您（已登记）。") if waiting_now
            else N_("点“有新通知时告诉我”，新通知载入后会告诉您。"))
    return [first, t(N_("现在可以先填写，为新一年度做准备：答案都会保存，新通知发布后沿用到新一年度的表格。")), t(told)]


async def notify_new(tx: UserTx, lang: str, now: datetime | None = None) -> str:
    """有新通知时告诉我: between campaigns, the user is told when the next notice for their region is loaded
    (once); while a campaign is open there is nothing to wait for."""
    from bot.campaigns import waiting

    now = now or datetime.now(UTC)
    campaigns = await tx_campaigns(tx)
    uf = await tx_user_forms(tx, campaigns)
    order = [*uf.forms, *FORMS]
    current = next(((f, c) for f in order if (c := pick(campaigns, f, uf.region)) is not None), None)
    if current is None:
        return gettext(lang, N_("暂无可以登记的通知。"))
    form_id, campaign = current
    if not campaign.closed(now) and not campaign.form_closed(form_id, now):
        return gettext(lang, N_("{name}的通知（{number}）已经发布，可以直接填写。"), name=campaign.short_name,
                       number=campaign.number)
    user_id = tx.user.id
    assert user_id is not None, "a message's user has a row"
    await waiting.wait(tx.store, user_id, campaign, form_id, now)
    return "✓ " + gettext(lang, N_("已登记：新一年度的通知载入后会告诉您。您的答案都会保存。"))


def place_text(lang: str, place: Mapping[str, Any] | None) -> str:
    """"浦东 中小企业推进服务中心，浦东新区学林路36弄13号2楼，电话 68811103"."""
    if not place:
        return ""
    parts = [" ".join(x for x in (place.get("district"), place.get("office")) if x)]
    if place.get("address"):
        addr = place["address"] + (f" {place['postcode']}" if place.get("postcode") else "")
        parts.append(addr)
    if place.get("phone"):
        parts.append(gettext(lang, N_("电话 {phone}"), phone=place["phone"]))
    if place.get("email"):
        parts.append(place["email"])
    return "，".join(p for p in parts if p)


def where_line(lang: str, uf: UserForms, campaign: Campaign | None, form_id: str) -> str:
    if campaign is None:
        return ""
    place = campaign.destination(form_id, uf.district(campaign))
    form = campaign.form(form_id) or {}
    if place is None and form.get("to") == "district":
        return gettext(lang, N_("报送：所在区中小企业主管部门（回复“联系 区名”查看地址电话）"))
    line = gettext(lang, N_("报送：{place}"), place=place_text(lang, place))
    if place and place.get("note"):
        line += f"\n（{place['note']}）"
    return line


def form_lines(lang: str, uf: UserForms, form_id: str, now: datetime) -> list[str]:
    """The status of one form (every item of a per-item form), its deadline and where it goes."""
    t = lambda s, **k: gettext(lang, s, **k)  # noqa: E731
    form = FORMS.get(form_id)
    if form is None:
        return []
    lines: list[str] = []
    needs_paper = False
    for sub in uf.forms.get(form_id, ()):
        done, total, missing = w.answered_sub(form, sub)
        title = _title(lang, sub)
        if sub.status == "draft":
            needs_paper = True
            lines.append(t(N_("《{title}》已答 {done}/{total}"), title=title, done=done, total=total))
            if missing:
                names = t(N_("、")).join(official(lang, s.field.label) for s in missing[:MAX_MISSING])
                more = "…" if len(missing) > MAX_MISSING else ""
                lines.append(t(N_("待填：{names}{more}"), names=names, more=more))
            continue
        state = print_state(sub)
        needs_paper = needs_paper or state in ("complete", "returned", "changed")
        note = sub.status_note or t(N_("请联系报送部门"))
        lines.append(t(STATE_LINES.get(state, STATE_LINES["complete"]), title=title, done=done,
                       total=total, note=note))
    if form.per_item:
        lines.extend(_items_without_form(lang, uf, form))
    if needs_paper:
        campaign = uf.campaign(form_id)
        lines.extend(x for x in (deadline_line(lang, campaign, form_id, now),
                                 where_line(lang, uf, campaign, form_id)) if x)
    return lines


def _items_without_form(lang: str, uf: UserForms, form: Form) -> list[str]:
    """The parent form's items that have no such form yet: "事项2《柔性装配机器人》：申请书还没开始"."""
    parent_id, _, group = form.per_item.partition(".")
    parents = uf.forms.get(parent_id) or []
    items = parent_items(parents[-1].answers or {}, group) if parents else []
    have = {(s.answers or {}).get("_item_id") for s in uf.forms.get(form.id, ())}
    return [gettext(lang, N_("《{title}》{item}{n}《{name}》：还没开始"), title=gettext(lang, form.short_title),
                    item=gettext(lang, N_("事项")), n=i + 1, name=row.get("name"))
            for i, row in enumerate(items) if row.get("_id") not in have]


async def status_for(tx: UserTx, lang: str, now: datetime | None = None) -> str:
    """状态: each form, answered/total, what is missing, the deadline and days left, where to hand it in."""
    now = now or datetime.now(UTC)
    uf = await tx_user_forms(tx)
    lines: list[str] = []
    for form_id in FORMS:
        lines.extend(form_lines(lang, uf, form_id, now))
    if not lines:
        lines.append(gettext(lang, N_("还没有开始填写任何表格。")))
    return "\n".join(lines)


async def contact_for(tx: UserTx, lang: str, arg: str = "") -> str:
    """联系: the user's district office (附件1) and the city-level contacts; "联系 浦东" names a district."""
    t = lambda s, **k: gettext(lang, s, **k)  # noqa: E731
    campaigns = await tx_campaigns(tx)
    uf = await tx_user_forms(tx, campaigns)
    region = dict(uf.region)
    if arg:
        region = {**region, "city": arg, "county": None}
        if region.get("province") is None:  # a district name alone: the campaigns that list districts
            region["province"] = next((c.region for c in reversed(campaigns) if c.district_for(region)), None)
    order = [*uf.forms, *FORMS]
    campaign = next((c for f in order if (c := pick(campaigns, f, region)) is not None), None)
    if campaign is None:
        return t(N_("暂无报送部门的联系方式。"))
    lines = []
    district = campaign.district_for(region)
    if district:
        lines.append(t(N_("区中小企业主管部门：{place}"), place=place_text(lang, district)))
    elif any(c.get("district") for c in campaign.contacts):
        names = "、".join(c["district"] for c in campaign.contacts if c.get("district"))
        lines.append(t(N_("请回复“联系 区名”，例如：联系 浦东。可选：{names}"), names=names))
    for contact in campaign.city_contacts:
        lines.append(t(N_("市级：{place}"), place=place_text(lang, contact)))
    mail = campaign.data.get("mail_to")
    if not lines and mail:
        lines.append(t(N_("报送：所在地省级中小企业主管部门")))
        lines.append(t(N_("工业和信息化部：{place}"), place=place_text(lang, mail)))
    lines.append(f"（{campaign.number}）" if campaign.number else "")
    return "\n".join(x for x in lines if x)


def set_reminders(tx: UserTx, lang: str, on: bool) -> str:
    tx.update_prefs(reminders=on)
    if on:
        return gettext(lang, N_("已开启截止提醒：截止前7天、3天、1天和当天上午提醒您。"))
    return gettext(lang, N_("已退订截止提醒。回复“开启提醒”可重新开启。"))


async def mark_submitted(tx: UserTx, lang: str, arg: str = "", now: datetime | None = None) -> str:
    """已报送: mark a finished form 已盖章报送 (reminders for it stop). "已报送 2" picks one of several."""
    t = lambda s, **k: gettext(lang, s, **k)  # noqa: E731
    uf = await tx_user_forms(tx)
    ready = [s for subs in uf.forms.values() for s in subs if s.status in ("complete", "returned")]
    drafts = [s for subs in uf.forms.values() for s in subs if s.status == "draft"]
    if not ready:
        if drafts:
            return t(N_("《{title}》还没填完。填完、打印盖章报送后，再回复“已报送”。"), title=_title(lang, drafts[0]))
        return t(N_("没有待报送的表格。"))
    chosen = ready
    if len(ready) > 1 and arg not in ("全部", "all"):
        if arg.isdigit() and 1 <= int(arg) <= len(ready):
            chosen = [ready[int(arg) - 1]]
        else:
            lines = [t(N_("哪一份已盖章报送？请回复“已报送 编号”，或“已报送 全部”："))]
            lines += [f"{i}. 《{_title(lang, s)}》" for i, s in enumerate(ready, 1)]
            return "\n".join(lines)
    for sub in chosen:
        campaign = uf.campaign(sub.form_id)
        if campaign is not None and sub.campaign_id is None:
            sub.campaign_id = campaign.id
        tx.set_status(sub, "submitted")
    names = "、".join(f"《{_title(lang, s)}》" for s in chosen)
    return t(N_("已记录：{names}已盖章报送，不再提醒。"), names=names)
