"""The screens of a form: each draws its reply and handles the actions of the buttons it drew.

The aiogram-dialog habit: the widget that packs a callback unpacks it. A screen is a small stateless
object; where the user stands is `ctx.state` (bot/dialogs/state.py). `show()` draws the screen (with
`prefix` lines before it: a confirmation, an error, a status), `handle()` takes the user's action or
text and returns the replies. The menu (who you are, your forms) lives in bot/handlers/menu.py.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, ClassVar

from bot.context import Ctx, Option
from bot.dialogs import actions as a
from bot.dialogs import printed
from bot.dialogs import walker as w
from bot.dialogs.fields import Choice, Group
from bot.dialogs.results import Ambiguous, Invalid, Message, Ok
from bot.dialogs.session import FormSession, campaign_of, display, open_session
from bot.dialogs.state import Screen
from bot.i18n import N_
from bot.messages import PDF_MIME, PNG_MIME, Reply

if TYPE_CHECKING:
    from bot.campaigns.model import Campaign
    from bot.catalogue.index import Need

# Closing a long section, and the two edits of one, as phone keyboards send them ("完成。", " done ").
DONE_WORDS = frozenset({"完成", "done", "/done", "好了", "写完了", "完毕", "结束"})
DROP_WORDS = frozenset({"删除上一段", "删掉上一段", "删除最后一段", "撤回上一段", "deletelast", "/undo", "undo"})
REDO_WORDS = frozenset({"重写", "清空", "全部重写", "rewrite", "/clear"})
_PUNCT = re.compile(r"[\s。.!！~～，,、；;]+")
MAX_SHOWN = 60  # characters of a long earlier answer shown in an offer

Shown = Reply | list[Reply]


def word_of(text: str) -> str:
    return _PUNCT.sub("", text).lower()


class FormScreen:
    """What every screen of an open form does: the form words (上一步, 跳过, 修改, 预览, 取消) and moving
    between questions, answers and items. Subclasses draw themselves and take what is theirs."""

    name: ClassVar[Screen]

    async def show(self, ctx: Ctx, prefix: str = "") -> Reply:
        session = await open_session(ctx)
        if session is None:
            return await _menu(ctx, prefix)
        return _one(await self.draw(await session.prepare(), prefix))

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        raise NotImplementedError

    async def handle(self, ctx: Ctx, act: a.Action | None, text: str) -> list[Reply]:
        session = await open_session(ctx)
        if session is None:
            return [await _menu(ctx)]
        await session.prepare()
        common = await self.common(session, act)
        if common is None:
            common = await self.take(session, act, text)
        replies = common if isinstance(common, list) else [common]
        return [await with_picture(session, r) for r in replies]

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Shown:
        return await self.draw(s)

    async def common(self, s: FormSession, act: a.Action | None) -> Shown | None:
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
                return await item_action(s, act)
            case a.Confirm():
                return await confirm(s)
            case a.OpenForm():
                from bot.handlers import menu

                return await menu.handle(s.ctx, act, "")
        return None


def _one(shown: Shown) -> Reply:
    return shown if isinstance(shown, Reply) else shown[-1]


# -- before question 1 ----------------------------------------------------------------------------------


def is_new(s: FormSession) -> bool:
    """Nothing answered yet but what the form was made with (a 申请书's 企业名称 and 事项名称)."""
    made_with = {"company_name", "item_name"} if s.form.per_item else set()
    return not [k for k in s.answers if not k.startswith("_") and k not in made_with]


def profile_facts(s: FormSession) -> list[tuple[w.Step, Any]]:
    """The firm's facts kept from its earlier forms that this form asks, with their values."""
    return [(x, v) for x in s.steps() if not x.is_more and not w.has_value(s.answers, x.path)
            and (v := s.profile_value(x.field)) is not None]


async def start(s: FormSession, prefix: str = "", *, always: bool = False) -> Reply:
    """Before question 1 of a new form: which campaign it is for (and plainly, if it is past or from an
    earlier year: go on?), and the firm's facts from its last forms, to take over in one step. With nothing
    to decide, the campaign's line leads question 1 instead (no extra tap)."""
    ctx, t = s.ctx, s.ctx.t
    from bot.campaigns import handlers as campaigns

    campaign = await campaign_of(ctx, s.form.id, s.sub)
    lines = [prefix] if prefix else []
    title = t(s.form.title)
    if campaign is not None:
        lines.append(t(N_("《{title}》：{campaign}（{number}）"), title=title, campaign=campaign.short_name,
                       number=campaign.number))
        lines.append(campaigns.deadline_line(ctx.lang, campaign, s.form.id, ctx.now()))
    late = campaign is not None and campaigns.is_past(campaign, s.form.id, ctx.now()) and \
        campaign.year not in (ctx.tx.user.prefs or {}).get("went_on", [])
    facts = profile_facts(s)
    if not (late or len(facts) >= 2 or always):
        return question(s, "\n".join(x for x in lines if x))
    s.state.screen = Screen.START
    if campaign is None:
        lines.append(t(N_("《{title}》"), title=title))
    options: list[Option] = []
    if late and campaign is not None:
        lines.append("⚠ " + t(N_("这是{year}年度的工作，已经截止；新一年度的通知发布后，请按新通知填写。仍要现在填写吗？"),
                              year=campaign.year))
    if len(facts) >= 2:
        lines.append(t(N_("沿用上次的企业信息？（{n}项）"), n=len(facts)))
        lines += [f"{ctx.label(x.field.label)}：{_short(s.show(v, x.field))}" for x, v in facts[:12]]
        if len(facts) > 12:
            lines.append(t(N_("……共{n}项"), n=len(facts)))
        options += [(t(N_("全部沿用")), a.StartForm("all")), (t(N_("逐项核对")), a.StartForm("each"))]
    else:
        options.append((t(N_("开始填写")), a.StartForm("go")))
    if late:
        options.append((t(N_("返回菜单")), a.Command("start")))
    return ctx.reply("\n".join(x for x in lines if x), options)


class StartScreen(FormScreen):
    name = Screen.START

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        return await start(s, prefix, always=True)

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Shown:
        if not isinstance(act, a.StartForm):  # typed words here are never an answer to question 1
            return await start(s, "✗ " + s.ctx.t(N_("请先选择：")), always=True)
        campaign = await campaign_of(s.ctx, s.form.id, s.sub)
        prefs = s.ctx.tx.user.prefs or {}
        if campaign is not None and campaign.year not in prefs.get("went_on", []):
            # they chose to go on with this (past) year's programme: its other forms do not ask again
            s.ctx.tx.update_prefs(went_on=[*prefs.get("went_on", []), campaign.year])
        if act.how == "all":
            taken = 0
            for x, value in profile_facts(s):
                w.set_value(s.answers, x.path, value)
                taken += 1
            s.save()
            return question(s, s.ctx.t(N_("✓ 已沿用{n}项企业信息，可随时回复“修改”更改。"), n=taken) if taken else "")
        s.state.fresh = False
        return question(s)


# -- asking -------------------------------------------------------------------------------------------


class AskScreen(FormScreen):
    name = Screen.ASK

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        return question(s, prefix)

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Shown:
        return await answer(s, text, act)


def _head(s: FormSession, prefix: str) -> list[str]:
    return [x for x in (prefix, *s.take_warnings()) if x]


def question(s: FormSession, prefix: str = "", step: w.Step | None = None) -> Reply:
    """The current question as one message (with `prefix` lines before it), or the review."""
    ctx, st = s.ctx, s.state
    step = step or s.step()
    if step is None:
        return review(s, prefix)
    st.screen = Screen.ASK
    t, f = ctx.t, step.field
    key = s.key(step)
    lines = _head(s, prefix)
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
    if f.catalogue == "name" and s.suggested and not st.offered and not w.has_value(s.answers, step.path):
        st.offered = [(n.code, _need_label(n)) for n in s.suggested]
        lines.append(t(N_("按贵企业的所属行业和企业概况，推荐以下事项（也可发送关键词或代码查找）：")))
        return ctx.reply("\n".join(lines), [(label, a.PickOffered(i)) for i, (_v, label) in enumerate(st.offered)],
                         step=key)
    if st.offered:
        lines.append(t(N_("请选择：")))
        return ctx.reply("\n".join(lines), [(label[:60], a.PickOffered(i)) for i, (_v, label) in enumerate(st.offered)],
                         step=key)
    if f.hint:
        lines.append(t(f.hint))
    if f.guidance:
        lines.append(t(f.guidance))
    if s.need is not None and f.long_text:
        from bot.catalogue import chat

        lines.append(chat.need_text(ctx.lang, s.need))
    if f.catalogue == "name" and s.catalogue:
        from bot.catalogue import chat

        lines.append(chat.how_to_search(ctx.lang))
    if f.long_text:
        parts = s.draft(step.path)
        st.drafting = step.path if parts else None
        lines.append(s.text_progress(step, parts))
        if parts:
            lines.append(t(N_("草稿已保存：继续发送，或回复“完成”；“删除上一段”删去最后一段。")))
    offered = s.profile_offer(step)
    if offered is not None:
        lines.append(t(N_("沿用上次：{value}？"), value=_short(s.show(offered, f))))
        return ctx.reply("\n".join(lines), [(t(N_("是")), a.UseProfile(True)), (t(N_("修改")), a.UseProfile(False))],
                         step=key)
    current = w.get_value(s.answers, step.path)
    if current is not w.MISSING and st.position:
        if f.long_text:
            lines.append(t(N_("当前已填：{value}（发送的内容接在后面；“完成”保存，“跳过”保留原文）"),
                           value=_short(s.show(current, f))))
        else:
            lines.append(t(N_("当前：{value}（发送新答案，或回复“跳过”保留）"), value=s.show(current, f)))
    choices = f.choices_for(s.answers)
    if choices and f.multi:
        ticks = set(st.toggles)
        opts: list[Option] = [(t(c.text), a.Toggle(i, i not in ticks)) for i, c in enumerate(choices)]
        opts.append((t(N_("完成")), a.Done()))
        return ctx.reply("\n".join(lines), opts, multi=True,
                         selected=[i in ticks for i in range(len(choices))] + [False], step=key)
    skip_button = [(t(N_("跳过")), a.Skip())] if f.optional and not choices and not f.long_text else []
    return ctx.reply("\n".join(lines), _choices(s, choices), step=key, shortcuts=skip_button)


def _short(text: str, limit: int = MAX_SHOWN) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…" + f"（{len(flat)}字）"


def _choices(s: FormSession, choices: tuple[Choice, ...]) -> list[Option]:
    return [(s.ctx.t(c.text), a.Choose(i)) for i, c in enumerate(choices)]


def _ask_computed(s: FormSession, step: w.Step, lines: list[str]) -> Reply:
    ctx, f = s.ctx, step.field
    t = ctx.t
    assert f.compute is not None
    result = f.compute(s.answers)
    if isinstance(result, Ok) and result.value in f.stops:  # 大型 on the SME form: this form ends here
        s.state.computed = None
        lines.append(t(N_("计算结果：{value}"), value=t(str(result.value))))
        if result.note:
            lines.append(w.render_message(t, result.note))
        fix = [(t(N_("修改{label}"), label=t(x.field.label)), a.EditField(x.path)) for x in s.steps()
               if x.path in f.depends_on and w.has_value(s.answers, x.path) and x.field.validate is not None]
        return ctx.reply("\n".join(lines), [*fix, (t(N_("返回菜单")), a.Command("start"))], step=s.key(step))
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


async def answer(s: FormSession, text: str, act: a.Action | None) -> Shown:
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
        case a.PickOffered(index=i) if 0 <= i < len(st.offered) and f.catalogue and s.catalogue:
            return await _pick_need(s, step, str(st.offered[i][0]))
        case a.PickOffered(index=i) if 0 <= i < len(st.offered):
            return accept(s, step, st.offered[i][0])
    if f.long_text:
        return _answer_long(s, step, text)
    st.offered = []  # they typed something new instead of picking: check that
    choices = f.choices_for(s.answers)
    if f.compute is not None:
        computed = f.compute(s.answers)
        if isinstance(computed, Ok) and computed.value in f.stops:
            return question(s, "✗ " + ctx.t(N_("请先改正上面的数字。")), step)
        if st.computed is not None and act is None:
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
    if word_of(text) in DONE_WORDS:  # "完成" where nothing is open to close: never stored as the answer
        return fail(s, step, Invalid("nothing_to_close"))
    if f.catalogue:
        found = await _catalogue(s, step, text)
        if found is not None:
            return found
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


# -- 拟揭榜事项 from the 需求目录 ----------------------------------------------------------------------------


async def _catalogue(s: FormSession, step: w.Step, text: str) -> Reply | None:
    """At 事项名称 / 代码: a question about the catalogue is answered; with a catalogue, words search it and a
    code is checked against it. None: take the text as it is (no catalogue for this campaign)."""
    from bot.catalogue import chat
    from bot.catalogue import repo as catalogue

    ctx = s.ctx
    if chat.is_catalogue_question(text):
        return question(s, chat.how_to_search(ctx.lang) if s.catalogue else chat.where_published(ctx.lang), step)
    if not s.catalogue or not text:
        return None
    store = ctx.tx.store
    if step.field.catalogue == "code":
        need = await catalogue.by_code(store, s.catalogue, text)
        if need is None:
            nearest = await catalogue.nearest_codes(store, s.catalogue, text)
            s.state.offered = [(n.code, _need_label(n)) for n in nearest]
            return fail(s, step, Invalid("catalogue_text", {"text": chat.unknown_code_text(ctx.lang, text, [])}))
        return await _pick_need(s, step, need.code)
    exact = await catalogue.by_code(store, s.catalogue, text)
    if exact is not None:  # a code typed at 事项名称: that need, at once
        return await _pick_need(s, step, exact.code)
    needs = await catalogue.search(store, s.catalogue, text)
    if not needs:
        return fail(s, step, Invalid("catalogue_text", {"text": chat.results_text(ctx.lang, text, needs)}))
    s.state.offered = [(n.code, _need_label(n)) for n in needs]
    return question(s, ctx.t(N_("需求目录中与“{query}”相符的事项："), query=text[:20]), step)


def _need_label(need: Need) -> str:
    """A button for a need: its name and code (the firm's name where it fits)."""
    label = f"{need.name}（{need.code}）"
    firm = f"{need.name}（{need.code}，{need.firm}）" if need.firm else label
    return firm if len(firm) <= 60 else label[:60]


async def _pick_need(s: FormSession, step: w.Step, code: str) -> Reply:
    """A need picked (or its code typed): 事项名称 and 代码 both come from the catalogue."""
    from bot.catalogue import chat
    from bot.catalogue import repo as catalogue

    assert s.catalogue is not None
    need = await catalogue.by_code(s.ctx.tx.store, s.catalogue, code)
    if need is None:
        return fail(s, step, Invalid("catalogue_text", {"text": chat.unknown_code_text(s.ctx.lang, code, [])}))
    if not need.published:
        return fail(s, step, Invalid("catalogue_text", {"text": chat.withdrawn_text(s.ctx.lang, need)}))
    group, index = step.group, step.index
    if group is not None and index is not None:
        for f in group.fields:
            if f.catalogue in ("name", "code") and f is not step.field:
                w.set_value(s.answers, f"{group.key}.{index}.{f.key}", need.name if f.catalogue == "name" else need.code)
    return accept(s, step, need.name if step.field.catalogue == "name" else need.code,
                  Message("catalogue_picked", {"name": need.name, "code": need.code}))


# -- long text ----------------------------------------------------------------------------------------------


def _answer_long(s: FormSession, step: w.Step, text: str) -> Reply:
    """Long text in several messages, closed by 完成; a "list" field keeps each message (and file) an item.

    The paragraphs are a draft kept with the submission at once: 上一步, 修改 or a restart lose nothing, and a
    text that is over its limit stays to be trimmed. A saved section is appended to when it is asked again."""
    ctx, st, f = s.ctx, s.state, step.field
    t = ctx.t
    parts = s.draft(step.path)
    saved = w.get_value(s.answers, step.path)
    if not parts and saved not in (w.MISSING, None, "", []):
        parts = list(saved) if isinstance(saved, list) else [p for p in str(saved).split("\n") if p.strip()]
    said = word_of(text)
    attachment = ctx.incoming.attachment
    note = ""
    if attachment is not None:
        parts.append(f"📎 {s.keep_file(attachment.filename, attachment.data)}")
        if text:
            parts.append(text)
    elif said in DONE_WORDS:
        if not parts:
            if f.optional:
                return accept(s, step, [] if f.long_text == "list" else None)
            return fail(s, step, Invalid("empty"))
        value: Any = list(parts) if f.long_text == "list" else "\n".join(parts)
        if f.validate is not None:
            result = f.validate(value, s.answers)
            if isinstance(result, Invalid):  # kept as a draft to trim, not thrown away
                s.set_draft(step.path, parts)
                st.drafting = step.path
                return fail(s, step, result, t(N_("草稿都在：回复“删除上一段”删去最后一段再重发，或“重写”清空。")))
            if isinstance(result, Ok):
                value = result.value
        return accept(s, step, value)
    elif said in DROP_WORDS:
        if parts:
            parts.pop()
            note = t(N_("已删除上一段。"))
        else:
            note = t(N_("还没有可删除的内容。"))
    elif said in REDO_WORDS:
        parts = []
        note = t(N_("已清空，请重新发送。"))
    else:
        if not text:
            return fail(s, step, Invalid("empty"))
        parts.append(text)
        if f.long_text != "list":
            note = t(N_("已收到第 {n} 段。"), n=len(parts))
    s.set_draft(step.path, parts)
    st.drafting = step.path if parts else None
    lines = [note] if note else []
    return ctx.reply("\n".join([*lines, s.text_progress(step, parts), t(N_("继续发送，或回复“完成”。"))]),
                     step=s.key(step))


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
    if s.draft(step.path):
        drafts = dict(s.answers.get(printed.DRAFTS) or {})
        drafts.pop(step.path, None)
        if drafts:
            s.answers[printed.DRAFTS] = drafts
        else:
            s.answers.pop(printed.DRAFTS, None)
    notes = ([note] if note else []) + s.accept(step, value)
    s.state.reset_step()
    s.state.position = None
    t = s.ctx.t
    if value is None:  # skipped: nothing to show but that it was
        prefix = t(N_("✓ 已跳过：{label}"), label=t(step.field.label))
    else:
        prefix = t(N_("✓ 已保存：{label} {value}"), label=t(step.field.label),
                   value=_short(s.show(value, step.field), 200))
    for n in notes:
        prefix += "\n" + w.render_message(t, n)
    reply = question(s, prefix)
    section = s.section(step)
    if section and s.section(s.step()) != section:
        reply = dataclasses.replace(reply, section_done=True)
    return reply


def fail(s: FormSession, step: w.Step, error: Invalid, extra: str = "") -> Reply:
    """One message: what is wrong, then the question again; after 3 tries, an example and ways out."""
    t = s.ctx.t
    s.state.tries += 1
    lines = ["✗ " + w.render_message(t, error)]
    if extra:
        lines.append(extra)
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
    kept = _draft_kept(s, step)
    s.state.reset_step()
    if prev is None:
        return question(s, "\n".join(x for x in (kept, s.ctx.t(N_("已经是第一题了。"))) if x))
    s.state.position = prev.path
    return question(s, kept)


def _draft_kept(s: FormSession, step: w.Step | None) -> str:
    """Leaving a long text half written: say that it waits (it is kept with the submission)."""
    if step is None or not step.field.long_text:
        return ""
    parts = s.draft(step.path)
    if not parts:
        return ""
    from bot.domain.charcount import count_chars

    return s.ctx.t(N_("（{label}已写的 {n} 字存为草稿，回到这一题可接着写。）"), label=s.ctx.t(step.field.label),
                   n=count_chars("\n".join(parts)))


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
    kept = _draft_kept(s, s.step())
    s.state.position = path
    s.state.reset_step()
    step = s.step()
    if step is None or step.path != path:
        s.state.position = None
    return question(s, kept)


def preview(s: FormSession) -> Reply:
    t = s.ctx.t
    if s.step() is None:
        return review(s)
    head = t(N_("《{title}》已填内容："), title=t(s.form.title))
    rows = s.summary_lines()
    whole = "\n".join([head, *rows]) + "\n—"
    reply = question(s, whole)
    brief = "\n".join([head, *(_short(x, 40) for x in rows[:5]), t(N_("……共{n}项，全部内容见链接"), n=len(rows))])
    return dataclasses.replace(reply, page=f"review:{s.sub.id}", summary=reply.text.replace(whole, brief + "\n—", 1))


def ask_cancel(s: FormSession) -> Reply:
    t = s.ctx.t
    s.state.screen = Screen.CANCEL
    return s.ctx.reply(t(N_("确定要暂停填写吗？已填的答案会保留。")),
                       [(t(N_("是，暂停")), a.Pause(True)), (t(N_("否，继续填写")), a.Pause(False))])


class CancelScreen(FormScreen):
    name = Screen.CANCEL

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        return ask_cancel(s) if not prefix else _prefixed(prefix, ask_cancel(s))

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Shown:
        if isinstance(act, a.Pause):
            if act.yes:
                s.state.screen = Screen.PAUSED
                return s.ctx.reply(s.ctx.t(N_("已暂停填写，答案都已保存。发送“开始”可继续。")))
            return question(s)
        return ask_cancel(s)


class PausedScreen(FormScreen):
    name = Screen.PAUSED

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        return question(s, prefix)

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Shown:
        return question(s)  # any message resumes; it is not taken as an answer


def _prefixed(prefix: str, reply: Reply) -> Reply:
    return dataclasses.replace(reply, text=f"{prefix}\n{reply.text}")


# -- editing ------------------------------------------------------------------------------------------


def edit_list(s: FormSession, prefix: str = "") -> Reply:
    """Every answer to pick from; a repeatable group's items one entry each (edit, remove, move)."""
    ctx, t = s.ctx, s.ctx.t
    kept = _draft_kept(s, s.step())
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
    lines = _head(s, prefix)
    if kept:
        lines.append(kept)
    lines.append(t(N_("要修改哪一项？回复编号：")))
    return ctx.reply("\n".join(lines), options)


class EditScreen(FormScreen):
    name = Screen.EDIT

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        return edit_list(s, prefix)


async def _goes_with(s: FormSession, group: Group, i: int, row: dict) -> list[str]:
    """What would be lost with an item: its 申请书 (the per-item form hanging on it), a long text in it."""
    from bot.dialogs.forms import FORMS
    from bot.dialogs.items import link_items, parent_items
    from bot.domain.charcount import count_chars

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


class GroupScreen(FormScreen):
    name = Screen.GROUP

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        key, _, idx = (s.state.group or "").partition(".")
        if not idx.isdigit():
            return edit_list(s, prefix)
        reply = await item_action(s, a.ItemMenu(key, int(idx)))
        return _prefixed(prefix, reply) if prefix else reply


class ConfirmRemoveScreen(GroupScreen):
    name = Screen.CONFIRM_REMOVE

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        key, _, idx = (s.state.group or "").partition(".")
        if not idx.isdigit():
            return edit_list(s, prefix)
        reply = await item_action(s, a.RemoveItem(key, int(idx)))
        return _prefixed(prefix, reply) if prefix else reply


# -- review and confirm -------------------------------------------------------------------------------


def review(s: FormSession, prefix: str = "") -> Reply:
    t = s.ctx.t
    s.state.screen = Screen.REVIEW
    s.state.position = None
    head = _head(s, prefix)
    lines = [*head, t(N_("全部填完了。请核对《{title}》："), title=t(s.form.title))]
    if printed.print_state(s.sub, s.answers) == "changed":
        lines.append("⚠ " + t(N_("与已生成的文件不同：确认后会生成新文件。")))
    rows = s.summary_lines()
    lines.extend(rows)
    lines.extend(t(n) for n in s.form.notes)
    reply = s.ctx.reply("\n".join(lines), [(t(N_("确认并生成文件")), a.Confirm()), (t(N_("修改")), a.EditList())])
    short = [*head, t(N_("全部填完了。请核对《{title}》："), title=t(s.form.title)),
             *(_short(x, 40) for x in rows[:5]), t(N_("……共{n}项，全部内容见链接"), n=len(rows))]
    return dataclasses.replace(reply, page=f"review:{s.sub.id}", summary="\n".join(short))


class ReviewScreen(FormScreen):
    name = Screen.REVIEW

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        return question(s, prefix)  # the review, or the question a change has opened

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Shown:
        return question(s)


class DoneScreen(ReviewScreen):
    name = Screen.DONE


async def with_picture(s: FormSession, reply: Reply) -> Reply:
    """A review comes with a picture of page 1 as it will print (where PDFs are made): people would rather
    look than read. The files made for it wait for the confirm (bot/documents/produce.py ProducedCache)."""
    if reply.screen != "review" or reply.image is not None or s.ctx.produce is None:
        return reply
    if not s.ctx.settings.pdf:  # no picture to show: the .docx is made while they read, for the confirm
        if s.ctx.prefetch is not None:
            s.ctx.prefetch(s.form, s.answers)
        return reply
    made = await s.ctx.produce(s.form, s.answers)
    if made.preview is None:
        return reply
    return dataclasses.replace(reply, image=s.document(s.filename(".png"), made.preview, PNG_MIME))


async def confirm(s: FormSession) -> list[Reply]:
    """Make the documents (the .docx, and a PDF where LibreOffice is installed) and hand them over, then say
    what comes next. The engine writes the files before the commit that marks the form complete."""
    ctx, t = s.ctx, s.ctx.t
    if s.step() is not None:
        return [question(s, t(N_("还有未填的项目。")))]
    assert ctx.produce is not None, "the engine passes the document maker"
    made = await ctx.produce(s.form, s.answers)
    docs = [s.document(s.filename(), made.docx)]
    lines = [t(N_("已生成《{title}》。"), title=t(s.form.title))]
    if made.pdf is not None:
        docs.append(s.document(s.filename(".pdf"), made.pdf, PDF_MIME))
    elif made.pdf_failed:
        lines.append(t(N_("（PDF 暂时生成失败，请使用 Word 文件。）")))
    campaign = await campaign_of(ctx, s.form.id, s.sub)
    if campaign is not None and not s.sub.campaign_id:
        s.sub.campaign_id = campaign.id  # kept: next year's campaign does not take this form over
    s.answers[printed.PRINTED] = printed.digest(s.answers)
    s.save()
    ctx.tx.set_status(s.sub, "complete")
    s.state.screen = Screen.DONE
    picture = s.document(s.filename(".png"), made.preview, PNG_MIME) if made.preview else None
    done = dataclasses.replace(ctx.reply("\n".join(lines), document=docs[0]), documents=tuple(docs[1:]), image=picture,
                               page="files")
    return [done, await next_steps(s, campaign)]


async def next_steps(s: FormSession, campaign: Campaign | None) -> Reply:
    """After a confirmed form, in one short message: the 申请书 still to write, what to print and attach,
    the official platform, and where and by when the stamped paper goes."""
    from bot.campaigns import handlers as campaigns
    from bot.dialogs.forms import FORMS
    from bot.dialogs.items import link_items, parent_items

    ctx, t = s.ctx, s.ctx.t
    lines = [t(N_("接下来："))]
    options: list[Option] = []
    children = [f for f in FORMS.values() if f.per_item.partition(".")[0] == (s.form.per_item.partition(".")[0]
                                                                              or s.form.id)]
    for child in children:
        parent_id, _, group = child.per_item.partition(".")
        parents = await ctx.tx.submissions(parent_id)
        items = parent_items(parents[-1].answers if parents else {}, group)
        linked = link_items(items, await ctx.tx.submissions(child.id))
        for i, row in enumerate(items):
            sub = linked.get(i)
            if sub is not None and printed.print_state(sub) not in ("draft", "changed"):
                continue
            label = t(N_("写《{title}》{item}{n}《{name}》"), title=t(child.short_title), item=t(N_("事项")), n=i + 1,
                      name=row.get("name"))
            lines.append("· " + label)
            if len(options) < 3:
                options.append((label[:40], a.OpenForm(f"{child.id}:{i}")))
    paper = t(N_("· 打印、加盖企业公章"))
    if s.form.per_item or children:
        paper += t(N_("；申请书随附佐证材料复印件（专利、软著、认证等）"))
    lines.append(paper)
    lines.append(t(N_("· 同时在大中小企业融通创新平台（xieshouxingdong.cn）在线填报")))
    if campaign is not None:
        uf = await campaigns.tx_user_forms(ctx.tx)
        for line in (campaigns.deadline_line(ctx.lang, campaign, s.form.id, ctx.now()),
                     campaigns.where_line(ctx.lang, uf, campaign, s.form.id)):
            if line:
                lines.append("· " + line)
    lines.append(t(N_("盖章报送后回复“已报送”。")))
    options += [(t(N_("我的进度")), a.Command("status")), (t(N_("菜单")), a.Command("start"))]
    return ctx.reply("\n".join(lines), options)


async def _menu(ctx: Ctx, prefix: str = "") -> Reply:
    from bot.handlers import menu

    return await menu.show(ctx, prefix)


SCREENS: dict[Screen, FormScreen] = {cls.name: cls() for cls in
                                     (StartScreen, AskScreen, EditScreen, GroupScreen, ConfirmRemoveScreen,
                                      ReviewScreen, DoneScreen, CancelScreen, PausedScreen)}
