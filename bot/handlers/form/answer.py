"""Taking an answer to the current question: checked by the field's validator, stored at once, and the
next question drawn; a wrong one re-asked specifically (after 3 tries with an example and the ways out).
Long sections arrive in several messages and are kept as drafts; 拟揭榜事项 are searched in the 需求目录;
上一步 and 跳过 move between questions."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from bot.catalogue import chat
from bot.catalogue import repo as catalogue
from bot.dialogs import actions as a
from bot.dialogs import printed
from bot.dialogs import walker as w
from bot.dialogs.fields import Choice
from bot.dialogs.results import Ambiguous, Invalid, Message, Ok
from bot.handlers.form.draw import (
    DONE_WORDS,
    DROP_WORDS,
    REDO_WORDS,
    Shown,
    draft_kept,
    need_label,
    question,
    review,
    shorten,
    word_of,
)
from bot.handlers.session import FormSession
from bot.i18n import N_
from bot.messages import Reply

if TYPE_CHECKING:
    pass


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


async def _catalogue(s: FormSession, step: w.Step, text: str) -> Reply | None:
    """At 事项名称 / 代码: a question about the catalogue is answered; with a catalogue, words search it and a
    code is checked against it. None: take the text as it is (no catalogue for this campaign)."""

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
            s.state.offered = [(n.code, need_label(n)) for n in nearest]
            return fail(s, step, Invalid("catalogue_text", {"text": chat.unknown_code_text(ctx.lang, text, [])}))
        return await _pick_need(s, step, need.code)
    exact = await catalogue.by_code(store, s.catalogue, text)
    if exact is not None:  # a code typed at 事项名称: that need, at once
        return await _pick_need(s, step, exact.code)
    needs = await catalogue.search(store, s.catalogue, text)
    if not needs:
        return fail(s, step, Invalid("catalogue_text", {"text": chat.results_text(ctx.lang, text, needs)}))
    s.state.offered = [(n.code, need_label(n)) for n in needs]
    return question(s, ctx.t(N_("需求目录中与“{query}”相符的事项："), query=text[:20]), step)


async def _pick_need(s: FormSession, step: w.Step, code: str) -> Reply:
    """A need picked (or its code typed): 事项名称 and 代码 both come from the catalogue."""

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
                   value=shorten(s.show(value, step.field), 200))
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


def back(s: FormSession) -> Reply:
    seq = s.steps()
    step = s.step()
    idx = len(seq) if step is None else next((i for i, x in enumerate(seq) if x.path == step.path), 0)
    prev = next((seq[i] for i in range(idx - 1, -1, -1) if not seq[i].is_more), None)
    kept = draft_kept(s, step)
    s.state.reset_step()
    if prev is None:
        return question(s, "\n".join(x for x in (kept, s.ctx.t(N_("已经是第一题了。"))) if x))
    s.state.position = prev.path
    return question(s, kept)


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

