"""The screens of a form: each draws its reply and handles the actions of the buttons it drew.

The aiogram-dialog habit: the widget that packs a callback unpacks it. A screen is a small stateless
object; where the user stands is `ctx.state` (bot/dialogs/state.py). `show()` draws the screen (with
`prefix` lines before it: a confirmation, an error, a status), `handle()` takes the user's action or
text and returns the replies. The menu (who you are, your forms) lives in bot/handlers/menu.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from bot.context import Ctx, Option
from bot.dialogs import actions as a
from bot.dialogs import walker as w
from bot.dialogs.fields import Choice, Group
from bot.dialogs.results import Ambiguous, Invalid, Message, Ok
from bot.dialogs.session import FormSession, display, open_session
from bot.dialogs.state import Screen
from bot.i18n import N_
from bot.messages import PDF_MIME, Reply

DONE_WORDS = ("完成", "done", "/done", "好了", "写完了")


class FormScreen:
    """What every screen of an open form does: the form words (上一步, 跳过, 修改, 预览, 取消) and moving
    between questions, answers and items. Subclasses draw themselves and take what is theirs."""

    name: ClassVar[Screen]

    async def show(self, ctx: Ctx, prefix: str = "") -> Reply:
        session = await open_session(ctx)
        if session is None:
            return await _menu(ctx, prefix)
        return await self.draw(session, prefix)

    async def draw(self, s: FormSession, prefix: str = "") -> Reply:
        raise NotImplementedError

    async def handle(self, ctx: Ctx, act: a.Action | None, text: str) -> list[Reply]:
        session = await open_session(ctx)
        if session is None:
            return [await _menu(ctx)]
        common = await self.common(session, act)
        if common is not None:
            return [common]
        return [await self.take(session, act, text)]

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Reply:
        return await self.draw(s)

    async def common(self, s: FormSession, act: a.Action | None) -> Reply | None:
        match act:
            case a.Back():
                return back(s)
            case a.Skip():
                return skip(s)
            case a.EditList():
                return edit_list(s)
            case a.Preview():
                return preview(s)
            case a.Cancel():
                return ask_cancel(s)
            case a.EditField(path=path):
                return pick_edit(s, path)
            case a.ItemMenu() | a.RemoveItem() | a.MoveItemUp() | a.AddItem():
                return item_action(s, act)
            case a.Confirm():
                return await confirm(s)
        return None


# -- asking -------------------------------------------------------------------------------------------


class AskScreen(FormScreen):
    name = Screen.ASK

    async def draw(self, s: FormSession, prefix: str = "") -> Reply:
        return question(s, prefix)

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Reply:
        return answer(s, text, act)


def question(s: FormSession, prefix: str = "", step: w.Step | None = None) -> Reply:
    """The current question as one message (with `prefix` lines before it), or the review."""
    ctx, st = s.ctx, s.state
    step = step or s.step()
    if step is None:
        return review(s, prefix)
    st.screen = Screen.ASK
    t, f = ctx.t, step.field
    key = s.key(step)
    lines = [prefix] if prefix else []
    if step.is_more:
        lines.append(t(f.label))
        return ctx.reply("\n".join(lines), _choices(s, f.choices_for(s.answers)), step=key)
    n, total = s.progress(step)
    title = ctx.label(f.label)
    if step.group is not None:
        title = f"{t(step.group.label)} {(step.index or 0) + 1} · {title}"
    lines.append(f"{title} ({n}/{total})")
    if f.compute is not None:
        return _ask_computed(s, step, lines)
    if st.offered:
        lines.append(t(N_("请选择：")))
        return ctx.reply("\n".join(lines), [(label, a.PickOffered(i)) for i, (_v, label) in enumerate(st.offered)],
                         step=key)
    if f.hint:
        lines.append(t(f.hint))
    if f.guidance:
        lines.append(t(f.guidance))
    if f.long_text:
        lines.append(s.text_progress(step))
    offered = s.profile_offer(step)
    if offered is not None:
        lines.append(t(N_("沿用上次：{value}？"), value=display(offered, f)))
        return ctx.reply("\n".join(lines), [(t(N_("是")), a.UseProfile(True)), (t(N_("修改")), a.UseProfile(False))],
                         step=key)
    current = w.get_value(s.answers, step.path)
    if current is not w.MISSING and st.position:
        lines.append(t(N_("当前：{value}（发送新答案，或回复“跳过”保留）"), value=display(current, f)))
    choices = f.choices_for(s.answers)
    if choices and f.multi:
        ticks = set(st.toggles)
        opts: list[Option] = [(t(c.text), a.Toggle(i, i not in ticks)) for i, c in enumerate(choices)]
        opts.append((t(N_("完成")), a.Done()))
        return ctx.reply("\n".join(lines), opts, multi=True,
                         selected=[i in ticks for i in range(len(choices))] + [False], step=key)
    return ctx.reply("\n".join(lines), _choices(s, choices), step=key)


def _choices(s: FormSession, choices: tuple[Choice, ...]) -> list[Option]:
    return [(s.ctx.t(c.text), a.Choose(i)) for i, c in enumerate(choices)]


def _ask_computed(s: FormSession, step: w.Step, lines: list[str]) -> Reply:
    ctx, f = s.ctx, step.field
    t = ctx.t
    assert f.compute is not None
    result = f.compute(s.answers)
    if isinstance(result, Ok):
        s.state.computed = result.value
        lines.append(t(N_("计算结果：{value}"), value=t(str(result.value))))
        if result.note:
            lines.append(w.render_message(t, result.note))
        return ctx.reply("\n".join(lines), [(t(N_("确认")), a.AcceptComputed()), (t(N_("修改数字")), a.EditList())],
                         step=s.key(step))
    s.state.computed = None
    lines.append(w.render_message(t, result))
    return ctx.reply("\n".join(lines), _choices(s, f.choices_for(s.answers)), step=s.key(step))


def answer(s: FormSession, text: str, act: a.Action | None) -> Reply:
    ctx, st = s.ctx, s.state
    step = s.step()
    if step is None:
        return review(s)
    f = step.field
    match act:
        case a.UseProfile(yes=True) if (offered := s.profile_offer(step)) is not None:
            return accept(s, step, offered)
        case a.UseProfile(yes=False):
            st.fresh = True
            return question(s, step=step)
        case a.AcceptComputed() if f.compute is not None and st.computed is not None:
            return accept(s, step, st.computed)
        case a.PickOffered(index=i) if 0 <= i < len(st.offered):
            return accept(s, step, st.offered[i][0])
    if f.long_text:
        return _answer_long(s, step, text)
    st.offered = []  # they typed something new instead of picking: check that
    choices = f.choices_for(s.answers)
    if f.compute is not None and st.computed is not None and act is None:
        return fail(s, step, Invalid("choose_listed"))
    if choices and f.multi:
        return _answer_multi(s, step, choices, text, act)
    if choices:
        idx = act.index if isinstance(act, a.Choose) else w.match_choice(text, choices, ctx.t)
        if idx is None or not 0 <= idx < len(choices):
            return fail(s, step, Invalid("choose_listed"))
        if step.is_more:
            return _more(s, step, choices[idx].value == "yes")
        return accept(s, step, choices[idx].value)
    if ctx.incoming.attachment is not None and not text:
        return fail(s, step, Invalid("file_not_expected"))
    if f.validate is None:
        return accept(s, step, text)
    if not text:
        return fail(s, step, Invalid("empty"))
    result = f.validate(text, s.answers)
    if isinstance(result, Ambiguous):
        st.offered = [(v, label) for v, label in result.options]
        return question(s, w.render_message(ctx.t, result), step)
    if isinstance(result, Invalid):
        return fail(s, step, result)
    if result.value is None and not f.optional:  # "无", "没有": nothing to fill in, where something must be
        return fail(s, step, Invalid("required"))
    return accept(s, step, result.value, result.note)


def _answer_long(s: FormSession, step: w.Step, text: str) -> Reply:
    """Long text in several messages, closed by 完成; a "list" field keeps each message (and file) an item."""
    ctx, st, f = s.ctx, s.state, step.field
    t = ctx.t
    attachment = ctx.incoming.attachment
    if attachment is not None:
        st.parts.append(f"📎 {s.keep_file(attachment.filename, attachment.data)}")
        if text:
            st.parts.append(text)
    elif text.strip().lower() not in DONE_WORDS:
        if not text:
            return fail(s, step, Invalid("empty"))
        st.parts.append(text)
    else:
        if not st.parts:
            if f.optional:
                return accept(s, step, [] if f.long_text == "list" else None)
            return fail(s, step, Invalid("empty"))
        value: Any = list(st.parts) if f.long_text == "list" else "\n".join(st.parts)
        if f.validate is not None:
            result = f.validate(value, s.answers)
            if isinstance(result, Invalid):
                st.parts = []
                return fail(s, step, result)
            if isinstance(result, Ok):
                value = result.value
        return accept(s, step, value)
    lines = [] if f.long_text == "list" else [t(N_("已收到第 {n} 段。"), n=len(st.parts))]
    return ctx.reply("\n".join([*lines, s.text_progress(step), t(N_("继续发送，或回复“完成”。"))]), step=s.key(step))


def _answer_multi(s: FormSession, step: w.Step, choices: tuple[Choice, ...], text: str,
                  act: a.Action | None) -> Reply:
    st = s.state
    if isinstance(act, a.Toggle):
        ticks = set(st.toggles)
        if 0 <= act.index < len(choices):
            (ticks.add if act.on else ticks.discard)(act.index)
        st.toggles = sorted(ticks)
        return question(s, step=step)
    if isinstance(act, a.Done):
        if not st.toggles:
            return fail(s, step, Invalid("choose_at_least_one"))
        return accept(s, step, [choices[i].value for i in st.toggles])
    picked = w.match_multi(text, choices, s.ctx.t)
    if not picked:
        return fail(s, step, Invalid("choose_listed_multi"))
    return accept(s, step, [choices[i].value for i in picked])


def _more(s: FormSession, step: w.Step, yes: bool) -> Reply:
    group = step.group
    assert group is not None
    if yes:
        rows = list(s.answers.get(group.key) or [])
        rows.append(w.new_row())
        s.set_group(group.key, rows)
    else:
        s.answers[f"{group.key}{w.MORE}"] = False
        s.save()
    s.state.reset_step()
    s.state.position = None
    return question(s)


def accept(s: FormSession, step: w.Step, value: Any, note: Message | None = None) -> Reply:
    notes = ([note] if note else []) + s.accept(step, value)
    s.state.reset_step()
    s.state.position = None
    t = s.ctx.t
    if value is None:  # skipped: nothing to show but that it was
        prefix = t(N_("✓ 已跳过：{label}"), label=t(step.field.label))
    else:
        prefix = t(N_("✓ 已保存：{label} {value}"), label=t(step.field.label), value=display(value, step.field))
    for n in notes:
        prefix += "\n" + w.render_message(t, n)
    reply = question(s, prefix)
    section = s.section(step)
    if section and s.section(s.step()) != section:
        reply = dataclasses.replace(reply, section_done=True)
    return reply


def fail(s: FormSession, step: w.Step, error: Invalid) -> Reply:
    """One message: what is wrong, then the question again; after 3 tries, an example and ways out."""
    t = s.ctx.t
    s.state.tries += 1
    lines = ["✗ " + w.render_message(t, error)]
    if s.state.tries >= w.MAX_TRIES:
        f = step.field
        if f.example:
            lines.append(t(N_("例如：{example}"), example=t(f.example)))
        ways = [t(N_("“帮助”看说明")), t(N_("“修改”改前面的答案"))]
        if f.optional:
            ways.insert(0, t(N_("“跳过”跳过此项")))
        lines.append(t(N_("也可以回复：{ways}"), ways="；".join(ways)))
    return question(s, "\n".join(lines), step)


# -- moving around --------------------------------------------------------------------------------------


def back(s: FormSession) -> Reply:
    seq = s.steps()
    step = s.step()
    idx = len(seq) if step is None else next((i for i, x in enumerate(seq) if x.path == step.path), 0)
    prev = next((seq[i] for i in range(idx - 1, -1, -1) if not seq[i].is_more), None)
    s.state.reset_step()
    if prev is None:
        return question(s, s.ctx.t(N_("已经是第一题了。")))
    s.state.position = prev.path
    return question(s)


def skip(s: FormSession) -> Reply:
    step = s.step()
    t = s.ctx.t
    if step is None:
        return review(s)
    if s.state.position and w.has_value(s.answers, step.path):
        s.state.reset_step()
        s.state.position = None
        return question(s, t(N_("已保留原答案。")))
    if not step.field.optional:
        return question(s, "✗ " + t(N_("{label}是必填项，不能跳过。"), label=t(step.field.label)), step)
    return accept(s, step, None)


def pick_edit(s: FormSession, path: str) -> Reply:
    s.state.position = path
    s.state.reset_step()
    step = s.step()
    if step is None or step.path != path:
        s.state.position = None
    return question(s)


def preview(s: FormSession) -> Reply:
    t = s.ctx.t
    if s.step() is None:
        return review(s)
    head = t(N_("《{title}》已填内容："), title=t(s.form.title))
    return question(s, "\n".join([head, *s.summary_lines()]) + "\n—")


def ask_cancel(s: FormSession) -> Reply:
    t = s.ctx.t
    s.state.screen = Screen.CANCEL
    return s.ctx.reply(t(N_("确定要暂停填写吗？已填的答案会保留。")),
                       [(t(N_("是，暂停")), a.Pause(True)), (t(N_("否，继续填写")), a.Pause(False))])


class CancelScreen(FormScreen):
    name = Screen.CANCEL

    async def draw(self, s: FormSession, prefix: str = "") -> Reply:
        return ask_cancel(s) if not prefix else _prefixed(prefix, ask_cancel(s))

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Reply:
        if isinstance(act, a.Pause):
            if act.yes:
                s.state.screen = Screen.PAUSED
                return s.ctx.reply(s.ctx.t(N_("已暂停填写，答案都已保存。发送“开始”可继续。")))
            return question(s)
        return ask_cancel(s)


class PausedScreen(FormScreen):
    name = Screen.PAUSED

    async def draw(self, s: FormSession, prefix: str = "") -> Reply:
        return question(s, prefix)

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Reply:
        return question(s)  # any message resumes; it is not taken as an answer


def _prefixed(prefix: str, reply: Reply) -> Reply:
    return dataclasses.replace(reply, text=f"{prefix}\n{reply.text}")


# -- editing ------------------------------------------------------------------------------------------


def edit_list(s: FormSession, prefix: str = "") -> Reply:
    """Every answer to pick from; a repeatable group's items one entry each (edit, remove, move)."""
    ctx, t = s.ctx, s.ctx.t
    s.state.screen = Screen.EDIT
    s.state.reset_step()
    options: list[Option] = []
    listed: set[tuple[str, int]] = set()
    for x in s.steps():
        if x.group is not None:
            if x.index is None or (x.group.key, x.index) in listed:
                continue
            listed.add((x.group.key, x.index))
            rows = s.answers.get(x.group.key) or []
            row = rows[x.index] if x.index < len(rows) else {}
            first = display(row.get(x.group.fields[0].key)) if row else "—"
            options.append((f"{t(x.group.label)}{x.index + 1}：{first}"[:60], a.ItemMenu(x.group.key, x.index)))
            continue
        if not w.has_value(s.answers, x.path):
            continue
        options.append((f"{t(x.field.label)}：{display(w.get_value(s.answers, x.path))}"[:60], a.EditField(x.path)))
    for item in s.form.items:
        if isinstance(item, Group) and item.applies(s.answers) and \
                len(s.answers.get(item.key) or []) < item.max_items:
            options.append((t(N_("添加{label}"), label=t(item.label)), a.AddItem(item.key)))
    if not options:
        return question(s, t(N_("还没有可修改的答案。")))
    lines = [prefix] if prefix else []
    lines.append(t(N_("要修改哪一项？回复编号：")))
    return ctx.reply("\n".join(lines), options)


class EditScreen(FormScreen):
    name = Screen.EDIT

    async def draw(self, s: FormSession, prefix: str = "") -> Reply:
        return edit_list(s, prefix)


def item_action(s: FormSession, act: a.Action) -> Reply:
    """One item of a repeatable group: its menu, remove it, move it up, add one."""
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


class GroupScreen(FormScreen):
    name = Screen.GROUP

    async def draw(self, s: FormSession, prefix: str = "") -> Reply:
        key, _, idx = (s.state.group or "").partition(".")
        if not idx.isdigit():
            return edit_list(s, prefix)
        reply = item_action(s, a.ItemMenu(key, int(idx)))
        return _prefixed(prefix, reply) if prefix else reply


# -- review and confirm -------------------------------------------------------------------------------


def review(s: FormSession, prefix: str = "") -> Reply:
    t = s.ctx.t
    s.state.screen = Screen.REVIEW
    s.state.position = None
    lines = [prefix] if prefix else []
    lines.append(t(N_("全部填完了。请核对《{title}》："), title=t(s.form.title)))
    lines.extend(s.summary_lines())
    lines.extend(t(n) for n in s.form.notes)
    return s.ctx.reply("\n".join(lines), [(t(N_("确认并生成文件")), a.Confirm()), (t(N_("修改")), a.EditList())])


class ReviewScreen(FormScreen):
    name = Screen.REVIEW

    async def draw(self, s: FormSession, prefix: str = "") -> Reply:
        return question(s, prefix)  # the review, or the question a change has opened

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Reply:
        return question(s)


class DoneScreen(ReviewScreen):
    name = Screen.DONE


async def confirm(s: FormSession) -> Reply:
    """Make the documents (the .docx, and a PDF where LibreOffice is installed) and hand them over; the
    engine writes them to the user's folder before the commit that marks the form complete."""
    ctx, t = s.ctx, s.ctx.t
    if s.step() is not None:
        return question(s, t(N_("还有未填的项目。")))
    assert ctx.produce is not None, "the engine passes the document maker"
    made = await ctx.produce(s.form, s.answers)
    filename = s.filename()
    docs = [s.document(filename, made.docx)]
    lines = [t(N_("已生成《{title}》。请打印、加盖企业公章后报送。"), title=t(s.form.title))]
    if made.pdf is not None:
        docs.append(s.document(filename.removesuffix(".docx") + ".pdf", made.pdf, PDF_MIME))
    elif made.pdf_failed:
        lines.append(t(N_("（PDF 暂时生成失败，请使用 Word 文件。）")))
    ctx.tx.set_status(s.sub, "complete")
    s.state.screen = Screen.DONE
    return dataclasses.replace(ctx.reply("\n".join(lines), document=docs[0]), documents=tuple(docs[1:]))


async def _menu(ctx: Ctx, prefix: str = "") -> Reply:
    from bot.handlers import menu

    return await menu.show(ctx, prefix)


SCREENS: dict[Screen, FormScreen] = {cls.name: cls() for cls in
                                     (AskScreen, EditScreen, GroupScreen, ReviewScreen, DoneScreen, CancelScreen,
                                      PausedScreen)}
