"""Editing a form's answers: 修改 picks one answer to ask again; a repeatable group's items (拟揭榜事项)
are opened, removed (asking first when a 申请书 or a long text would go with one), moved up and added."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.dialogs import actions as a
from bot.dialogs import walker as w
from bot.dialogs.fields import Group
from bot.dialogs.forms import FORMS
from bot.dialogs.items import link_items, parent_items
from bot.dialogs.state import Screen
from bot.dialogs.summary import display
from bot.domain.charcount import count_chars
from bot.handlers.context import Option
from bot.handlers.form.draw import draft_kept, edit_list, is_new, question
from bot.handlers.session import FormSession
from bot.i18n import N_
from bot.messages import Reply

if TYPE_CHECKING:
    pass


def pick_edit(s: FormSession, path: str) -> Reply:
    kept = draft_kept(s, s.step())
    s.state.position = path
    s.state.reset_step()
    step = s.step()
    if step is None or step.path != path:
        s.state.position = None
    return question(s, kept)


async def _goes_with(s: FormSession, group: Group, i: int, row: dict) -> list[str]:
    """What would be lost with an item: its 申请书 (the per-item form hanging on it), a long text in it."""

    t = s.ctx.t
    lost = [t(N_("{label}（{n} 字）"), label=t(f.label), n=count_chars(str(row.get(f.key) or "")))
            for f in group.fields if f.long_text and row.get(f.key)]
    for child in FORMS.values():
        if child.per_item == f"{s.form.id}.{group.key}":
            items = parent_items(s.answers, group.key)
            position = next((n for n, r in enumerate(items) if r is row or r.get("_id") == row.get("_id")), None)
            linked = link_items(items, await s.ctx.tx.submissions(child.id)).get(position) \
                if position is not None else None
            if linked is not None and not is_new(FormSession(s.ctx, child, linked)):
                state = t(N_("已完成")) if linked.status != "draft" else t(N_("已填一部分"))
                lost.append(t(N_("它的《{title}》（{state}）"), title=t(child.short_title), state=state))
    return lost


async def item_action(s: FormSession, act: a.Action) -> Reply:
    """One item of a repeatable group: its menu, remove it (asking first when something goes with it),
    move it up, add one."""
    ctx, t = s.ctx, s.ctx.t
    if isinstance(act, a.AddItem):
        group = s.group(act.group)
        if group is None:
            return edit_list(s)
        rows = [dict(r) for r in s.answers.get(group.key) or []]
        rows.append(w.new_row())
        s.answers.pop(f"{group.key}{w.MORE}", None)
        s.set_group(group.key, rows)
        s.state.position = None
        return question(s)
    assert isinstance(act, a.ItemMenu | a.RemoveItem | a.MoveItemUp)
    group = s.group(act.group)
    rows = [dict(r) for r in (s.answers.get(act.group) or [])]
    i = act.index
    if group is None or not 0 <= i < len(rows):
        return edit_list(s)
    name = f"{t(group.label)}{i + 1}"
    if isinstance(act, a.RemoveItem):
        if len(rows) <= group.min_items:
            return edit_list(s, "✗ " + t(N_("至少要保留 {n} 项。"), n=group.min_items))
        lost = [] if act.sure else await _goes_with(s, group, i, (s.answers.get(act.group) or [])[i])
        if lost:
            s.state.screen = Screen.CONFIRM_REMOVE
            s.state.group = f"{group.key}.{i}"
            first = display(rows[i].get(group.fields[0].key))
            lines = [t(N_("删除{name}《{first}》？会一起去掉：{lost}。"), name=name, first=first, lost="、".join(lost))]
            if any(t(N_("已完成")) in x or t(N_("已填一部分")) in x for x in lost):
                lines.append(t(N_("它的申请书不会丢：菜单里“已删除事项的申请书”可以查看。")))
            return ctx.reply("\n".join(lines), [(t(N_("确定删除")), a.RemoveItem(group.key, i, True)),
                                                (t(N_("不删除")), a.EditList())])
        rows.pop(i)
        s.set_group(group.key, rows)
        return edit_list(s, t(N_("已删除{name}。"), name=name))
    if isinstance(act, a.MoveItemUp) and i > 0:
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
        s.set_group(group.key, rows)
        return edit_list(s, t(N_("已将{name}上移。"), name=name))
    s.state.screen = Screen.GROUP
    s.state.group = f"{group.key}.{i}"
    options: list[Option] = [(t(N_("修改{label}"), label=t(f.label)), a.EditField(f"{group.key}.{i}.{f.key}"))
                             for f in group.fields]
    if len(rows) > group.min_items:
        options.append((t(N_("删除此项")), a.RemoveItem(group.key, i)))
    if i > 0:
        options.append((t(N_("上移")), a.MoveItemUp(group.key, i)))
    options.append((t(N_("返回")), a.EditList()))
    return ctx.reply(name, options)

