"""The menu: who you are (发榜 or 揭榜), then your forms, each with its progress."""

from __future__ import annotations

import re

from bot.context import Ctx, Option
from bot.dialogs import actions as a
from bot.dialogs import screens
from bot.dialogs import walker as w
from bot.dialogs.forms import FORMS
from bot.dialogs.items import link_items
from bot.dialogs.session import open_session, parent_of
from bot.dialogs.state import Screen
from bot.i18n import N_
from bot.messages import Reply

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
        else:
            refs = [(form.id, subs[-1] if subs else None, t(form.title))]
        for ref, sub, title in refs:
            if sub is None:
                entries.append((title, "", ref))
                continue
            done, total, _ = w.answered_count(form, sub.answers or {})
            mark = t(N_("已完成")) if sub.status != "draft" else ""
            entries.append((title, f"{done}/{total} {mark}".strip(), ref))
    return entries


async def show(ctx: Ctx, prefix: str = "", greet: bool | None = None) -> Reply:
    t = ctx.t
    ctx.state.screen = Screen.MENU
    lines = [prefix] if prefix else []
    role = (ctx.tx.user.prefs or {}).get("role")
    if role not in ROLES:
        if greet if greet is not None else not prefix:  # a prefixed menu answers something (an error…)
            lines.append(t(N_("您好，我是揭榜助手。我会一题一题地帮您填写表格，每个回答都会立即保存。")))
        lines.append(t(N_("请问贵单位是：")))
        return ctx.reply("\n".join(lines), [(t(ROLES["large"]), a.PickRole("large")),
                                            (t(ROLES["sme"]), a.PickRole("sme"))])
    lines.append(t(N_("请选择要填写的表格：")))
    entries = await form_entries(ctx)
    options: list[Option] = [(f"{title}（{mark}）" if mark else title, a.OpenForm(ref)) for title, mark, ref in entries]
    if role == "sme" and not any(ref.startswith("application") for _t, _m, ref in entries):
        lines.append(t(N_("（揭榜申请书：先在对接表中填写拟揭榜事项，每个事项一份。）")))
    options.append((t(N_("切换身份")), a.PickRole("switch")))
    return ctx.reply("\n".join(lines), options)


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
            return [screens.question(session)]
        case a.Back() | a.Skip() | a.EditList() | a.Preview() | a.Cancel() if ctx.state.form:
            return await screens.SCREENS[Screen.ASK].handle(ctx, act, text)  # the form left open behind the menu
        case a.Back() | a.Skip() | a.EditList() | a.Preview() | a.Cancel():
            return [await show(ctx, ctx.t(N_("还没有打开表格，请先选择：")))]
    return [await show(ctx, "✗ " + ctx.t(N_("没有这个选项，请从下面选择：")))]


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
