"""The menu: who you are (发榜 or 揭榜), then your forms, each with its progress."""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar

from bot.campaigns import status as campaigns
from bot.dialogs import actions as a
from bot.dialogs import carry, printed
from bot.dialogs import walker as w
from bot.dialogs.forms import FORMS
from bot.dialogs.items import link_items
from bot.dialogs.state import Screen
from bot.handlers import navigate, privacy
from bot.handlers.context import Ctx, Option
from bot.handlers.form.draw import is_new, question, start
from bot.handlers.session import FormSession, campaign_of, open_session, parent_of, version_in
from bot.i18n import N_
from bot.messages import Reply
from storage.hot import SubmissionLike

ROLES = {"sme": N_("中小企业（揭榜）"), "large": N_("大企业（发榜）")}


async def form_entries(ctx: Ctx) -> list[tuple[str, str, str]]:
    """(form title, progress mark, form ref) for the user's role, per-item forms one per item."""
    t = ctx.t
    role = (ctx.tx.user.prefs or {}).get("role")
    entries = []
    for form in FORMS.values():
        if not form.serves(role):
            continue
        subs = await ctx.tx.submissions(form.id)
        if form.per_item:
            _, items = await parent_of(ctx, form.per_item)
            linked = link_items(items, subs)
            refs = [(f"{form.id}:{i}", linked.get(i), f"{t(form.short_title)} {t(N_('事项'))}{i + 1}《{row['name']}》")
                    for i, row in enumerate(items)]
            # a 申请书 whose 事项 was removed from the 对接表 is kept, to be read again
            used = {sub.id for sub in linked.values()}
            refs += [(f"{form.id}#{sub.id}", sub, t(N_("{title}（已删除的事项）《{name}》"), title=t(form.short_title),
                                                    name=(sub.answers or {}).get("item_name") or ""))
                     for sub in subs if sub.id not in used and _has_content(sub)]
        else:
            refs = [(form.id, subs[-1] if subs else None, t(form.title))]
        for ref, sub, title in refs:
            if sub is None:
                entries.append((title, "", ref))
                continue
            done, total, _ = w.answered_sub(form, sub)
            state = printed.print_state(sub)
            mark = t(STATE_MARKS[state]) if state in STATE_MARKS else ""
            entries.append((title, f"{done}/{total} {mark}".strip() if state == "draft" else mark, ref))
    return entries


# How a form's state reads in the menu (a draft shows its count instead).
STATE_MARKS = {"complete": N_("已完成"), "changed": N_("已修改待确认"), "submitted": N_("已报送"),
               "received": N_("已收到纸质件"), "approved": N_("初审通过"), "returned": N_("退回")}


def _has_content(sub: SubmissionLike) -> bool:
    return any(not k.startswith("_") and k not in ("company_name", "item_name") for k in (sub.answers or {}))


async def show(ctx: Ctx, prefix: str = "", greet: bool | None = None) -> Reply:
    t = ctx.t
    ctx.state.screen = Screen.MENU
    lines = [prefix] if prefix else []
    role = (ctx.tx.user.prefs or {}).get("role")
    if role not in ROLES:
        if greet if greet is not None else not prefix:  # a prefixed menu answers something (an error…)
            lines.append(t(N_("您好，我是揭榜助手。我会一题一题地帮您填写表格，每个回答都会立即保存。")))
            lines.append(t(privacy.KEPT))
        lines.append(t(N_("请问贵单位是：")))
        return ctx.reply("\n".join(lines), [(t(ROLES["large"]), a.PickRole("large")),
                                            (t(ROLES["sme"]), a.PickRole("sme"))])
    lines.append(t(N_("请选择要填写的表格：")))
    entries = await form_entries(ctx)
    options: list[Option] = [(f"{title}（{mark}）" if mark else title, a.OpenForm(ref)) for title, mark, ref in entries]
    if role == "sme" and not any(ref.startswith("application") for _t, _m, ref in entries):
        lines.append(t(N_("（揭榜申请书：先在对接表中填写拟揭榜事项，每个事项一份。）")))
    options.append((t(N_("切换身份")), a.PickRole("switch")))
    reply = ctx.reply("\n".join(lines), options)
    if any(mark and "/" not in mark for _t, mark, _r in entries):  # a finished form (not "n/m"): 我的文件
        reply = dataclasses.replace(reply, page="files")
    return reply


async def handle(ctx: Ctx, act: a.Action | None, text: str) -> list[Reply]:
    if act is None:
        act = loose_action(ctx, text)  # "对接表", "我是中小企业"
    match act:
        case a.PickRole(role=role):
            ctx.tx.update_prefs(role=None if role == "switch" else role)
            return [await show(ctx)]
        case a.OpenForm(ref=ref):
            session = await open_session(ctx, ref)
            if session is None:
                return [await show(ctx)]
            ctx.state.position = None
            session = await _this_years(session)
            if is_new(session):  # before question 1: its campaign, and the firm's facts to take over
                return [await start(session)]
            return [question(await session.prepare())]
        case a.Back() | a.Skip() | a.EditList() | a.Preview() | a.Cancel() if ctx.state.form:
            return await navigate.handle(ctx, Screen.ASK, act, text)  # the form left open behind the menu
        case a.Back() | a.Skip() | a.EditList() | a.Preview() | a.Cancel():
            return [await show(ctx, ctx.t(N_("还没有打开表格，请先选择：")))]
    return [await show(ctx, "✗ " + ctx.t(N_("没有这个选项，请从下面选择：")))]


async def _this_years(session: FormSession) -> FormSession:
    """A form confirmed for an earlier campaign stays with it; this year's campaign gets a new one, in the
    version its notice prints (version_in), holding the earlier answers that carry over (bot/dialogs/carry.py) for the screen
    before question 1 to offer in one step."""
    sub, ctx = session.sub, session.ctx
    if sub.status == "draft" or not sub.campaign_id or session.form.per_item:
        return session
    current = await campaign_of(ctx, session.form.id)
    if current is None or current.id == sub.campaign_id:
        return session
    earlier = next((c for c in await campaigns.tx_campaigns(ctx.tx) if c.id == sub.campaign_id), None)
    if earlier is not None and earlier.year >= current.year:
        return session
    form = session.declared
    version = version_in(current, form)  # the version this year's notice prints
    answers: dict = {}
    taken = carry.carried(form, session.form.version, sub.answers or {}, version)
    if taken:
        answers[carry.CARRIED] = {"from": sub.id, "year": earlier.year if earlier else current.year - 1,
                                  "version": session.form.version, "answers": taken}
    fresh = await ctx.tx.new_submission(form.id, answers, form_version=version)
    ctx.state.submission = fresh.id
    ctx.state.reset_step()
    return FormSession(ctx, session.form, fresh)


def loose_action(ctx: Ctx, text: str) -> a.Action | None:
    """At a menu: the one button the typed words name ("对接表", "我是中小企业", "填写需求表"); None when
    no button or several do."""
    board = ctx.state.keyboard
    if board is None:
        return None
    low = _squeeze(text)
    words = [low, re.sub(r"^(我们是|我是|我要填写|我要填|我要|填写|填|选)", "", low)]
    buttons = [(_squeeze(label), _squeeze(re.sub(r"（[^）]*）|\([^)]*\)", "", label)), act)
               for label, act in board.actions()]
    for said in words:
        if len(said) < 2:
            continue
        hits = [act for label, core, act in buttons if said in label or (len(core) >= 2 and core in said)]
        if len(hits) == 1:
            return hits[0]
    return None


def _squeeze(text: str) -> str:
    return re.sub(r"[\s“”\"（）()]+", "", text).lower()


class MenuScreen:
    """The menu as a screen of bot/handlers/navigate.py."""

    name: ClassVar[Screen] = Screen.MENU

    async def show(self, ctx: Ctx, prefix: str = "", *, greet: bool | None = None) -> Reply:
        return await show(ctx, prefix, greet=greet)

    async def handle(self, ctx: Ctx, act: a.Action | None, text: str) -> list[Reply]:
        return await handle(ctx, act, text)
