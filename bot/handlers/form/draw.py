"""How the screens of an open form look: the question, the review, the list of answers to edit, the
pause, and the screen before question 1. Each function draws one reply and moves `ctx.state` to its
screen; nothing here takes an answer (bot/handlers/form/answer.py does)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import TYPE_CHECKING, Any

from bot.campaigns import status as campaigns
from bot.catalogue import chat
from bot.dialogs import actions as a
from bot.dialogs import carry, printed
from bot.dialogs import walker as w
from bot.dialogs.fields import Choice, Group
from bot.dialogs.results import Ok
from bot.dialogs.state import Screen
from bot.dialogs.summary import display
from bot.domain.charcount import count_chars
from bot.handlers.context import Option
from bot.handlers.session import FormSession, campaign_of
from bot.i18n import N_
from bot.messages import PNG_MIME, Reply

if TYPE_CHECKING:
    from bot.catalogue.index import Need


DONE_WORDS = frozenset({"完成", "done", "/done", "好了", "写完了", "完毕", "结束"})


DROP_WORDS = frozenset({"删除上一段", "删掉上一段", "删除最后一段", "撤回上一段", "deletelast", "/undo", "undo"})


REDO_WORDS = frozenset({"重写", "清空", "全部重写", "rewrite", "/clear"})


_PUNCT = re.compile(r"[\s。.!！~～，,、；;]+")


MAX_SHOWN = 60  # characters of a long earlier answer shown in an offer


Shown = Reply | list[Reply]


def word_of(text: str) -> str:
    return _PUNCT.sub("", text).lower()


def is_new(s: FormSession) -> bool:
    """Nothing answered yet but what the form was made with (a 申请书's 企业名称 and 事项名称)."""
    made_with = {"company_name", "item_name"} if s.form.per_item else set()
    return not [k for k in s.answers if not k.startswith("_") and k not in made_with]


# How a change to the form since the earlier year reads (bot/dialogs/carry.py Changed.kind).
TOLD = {"added": N_("新增：{label}"), "renamed": N_("{old} 改为 {label}"), "removed": N_("不再填写：{label}"),
        "choices": N_("{label}：选项有变化")}


def carried_facts(s: FormSession) -> list[tuple[w.Step, Any]]:
    """Last year's answers that carry over into this form (bot/dialogs/carry.py), as the steps they answer
    once taken (a condition they meet is counted: 所属行业（细分） after 所属行业)."""
    taken = s.carried()
    if not taken:
        return []
    merged = {**taken, **s.answers}
    return [(x, taken[x.path]) for x in w.steps(s.form, merged) if not x.is_more and x.path in taken
            and not w.has_value(s.answers, x.path)]


def _carry_lines(s: FormSession, facts: list[tuple[w.Step, Any]], this_year: int | None,
                 ) -> tuple[list[str], list[Option]]:
    """The offer to take the earlier year's answers over: the answers, what changed in the form since, and
    two buttons (all at once; one by one)."""
    ctx, t = s.ctx, s.ctx.t
    info = s.answers.get(carry.CARRIED) or {}
    year = info.get("year")
    title = t(s.form.short_title)
    lines = [t(N_("您已确认过{year}年度的《{title}》。以下{n}项答案今年不变，可以一次沿用，之后只问新增或有变化的问题："),
               year=year, title=title, n=len(facts))]
    lines += [f"{ctx.label(x.field.label)}：{shorten(s.show(v, x.field))}" for x, v in facts[:12]]
    if len(facts) > 12:
        lines.append(t(N_("……共{n}项"), n=len(facts)))
    told = carry.changed(s.declared, int(info.get("version") or 1), s.form.version)
    if told:
        lines.append(t(N_("今年的表格有变化：")))
        lines += ["· " + t(TOLD[c.kind], label=ctx.label(c.label), old=ctx.label(c.old_label)) for c in told]
    take = (t(N_("沿用去年《{title}》的答案（{n}项）"), title=title, n=len(facts))
            if year is None or this_year is None or this_year - int(year) == 1 else
            t(N_("沿用{year}年度《{title}》的答案（{n}项）"), year=year, title=title, n=len(facts)))
    return lines, [(take, a.StartForm("carry")), (t(N_("逐项核对")), a.StartForm("each"))]


def profile_facts(s: FormSession) -> list[tuple[w.Step, Any]]:
    """The firm's facts kept from its earlier forms that this form asks, with their values."""
    return [(x, v) for x in s.steps() if not x.is_more and not w.has_value(s.answers, x.path)
            and (v := s.profile_value(x.field)) is not None]


async def start(s: FormSession, prefix: str = "", *, always: bool = False) -> Reply:
    """Before question 1 of a new form: which campaign it is for, and the firm's facts from its last forms,
    to take over in one step. Between two campaigns (the form closed for the last one, the next notice not
    loaded) one message says so, once a year: the last campaign by name is over, the form can be prepared
    now and carried over, the user can ask to be told of the next notice. With nothing to decide, the
    campaign's line leads question 1 instead (no extra tap)."""
    ctx, t = s.ctx, s.ctx.t
    campaign = await campaign_of(ctx, s.form.id, s.sub)
    lines = [prefix] if prefix else []
    title = t(s.form.title)
    late = campaign is not None and campaigns.is_past(campaign, s.form.id, ctx.now()) and \
        campaign.year not in (ctx.tx.user.prefs or {}).get("went_on", [])
    waiting_now = False
    if late and campaign is not None:
        from bot.campaigns import waiting

        user_id = ctx.tx.user.id
        waiting_now = user_id is not None and await waiting.is_waiting(ctx.tx.store, user_id)
        lines.append(t(N_("《{title}》"), title=title))
        lines += campaigns.closed_lines(ctx.lang, campaign, s.form.id, waiting_now)
    elif campaign is not None:
        lines.append(t(N_("《{title}》：{campaign}（{number}）"), title=title, campaign=campaign.short_name,
                       number=campaign.number))
        lines.append(campaigns.deadline_line(ctx.lang, campaign, s.form.id, ctx.now()))
    last_year = carried_facts(s)
    facts = profile_facts(s)
    if not (late or last_year or len(facts) >= 2 or always):
        return question(s, "\n".join(x for x in lines if x))
    s.state.screen = Screen.START
    if campaign is None:
        lines.append(t(N_("《{title}》"), title=title))
    options: list[Option] = []
    if last_year:
        more, options = _carry_lines(s, last_year, campaign.year if campaign is not None else None)
        lines += more
    elif len(facts) >= 2:
        lines.append(t(N_("沿用上次的企业信息？（{n}项）"), n=len(facts)))
        lines += [f"{ctx.label(x.field.label)}：{shorten(s.show(v, x.field))}" for x, v in facts[:12]]
        if len(facts) > 12:
            lines.append(t(N_("……共{n}项"), n=len(facts)))
        options += [(t(N_("全部沿用")), a.StartForm("all")), (t(N_("逐项核对")), a.StartForm("each"))]
    else:
        options.append((t(N_("开始填写")), a.StartForm("go")))
    if late and not waiting_now:
        options.append((t(N_("有新通知时告诉我")), a.Command("notify_new")))
    if late:
        options.append((t(N_("返回菜单")), a.Command("start")))
    return ctx.reply("\n".join(x for x in lines if x), options)


def head_lines(s: FormSession, prefix: str) -> list[str]:
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
    lines = head_lines(s, prefix)
    if step.is_more:
        lines.append(t(f.label))
        return ctx.reply("\n".join(lines), choice_options(s, f.choices_for(s.answers)), step=key)
    n, total = s.progress(step)
    title = ctx.label(f.label)
    if step.group is not None:
        title = f"{t(step.group.label)} {(step.index or 0) + 1} · {title}"
    lines.append(f"{title} ({n}/{total})")
    if f.compute is not None:
        return _ask_computed(s, step, lines)
    if f.catalogue == "name" and s.suggested and not st.offered and not w.has_value(s.answers, step.path):
        st.offered = [(n.code, need_label(n)) for n in s.suggested]
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
        lines.append(chat.need_text(ctx.lang, s.need))
    if f.catalogue == "name" and s.catalogue:
        lines.append(chat.how_to_search(ctx.lang))
    if f.long_text:
        parts = s.draft(step.path)
        st.drafting = step.path if parts else None
        lines.append(s.text_progress(step, parts))
        if parts:
            lines.append(t(N_("草稿已保存：继续发送，或回复“完成”；“删除上一段”删去最后一段。")))
    offered = s.profile_offer(step)
    if offered is not None:
        lines.append(t(N_("沿用上次：{value}？"), value=shorten(s.show(offered, f))))
        return ctx.reply("\n".join(lines), [(t(N_("是")), a.UseProfile(True)), (t(N_("修改")), a.UseProfile(False))],
                         step=key)
    current = w.get_value(s.answers, step.path)
    if current is not w.MISSING and st.position:
        if f.long_text:
            lines.append(t(N_("当前已填：{value}（发送的内容接在后面；“完成”保存，“跳过”保留原文）"),
                           value=shorten(s.show(current, f))))
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
    return ctx.reply("\n".join(lines), choice_options(s, choices), step=key, shortcuts=skip_button)


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…" + f"（{len(flat)}字）"


def choice_options(s: FormSession, choices: tuple[Choice, ...]) -> list[Option]:
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
    return ctx.reply("\n".join(lines), choice_options(s, f.choices_for(s.answers)), step=s.key(step))


def need_label(need: Need) -> str:
    """A button for a need: its name and code (the firm's name where it fits)."""
    label = f"{need.name}（{need.code}）"
    firm = f"{need.name}（{need.code}，{need.firm}）" if need.firm else label
    return firm if len(firm) <= 60 else label[:60]


def draft_kept(s: FormSession, step: w.Step | None) -> str:
    """Leaving a long text half written: say that it waits (it is kept with the submission)."""
    if step is None or not step.field.long_text:
        return ""
    parts = s.draft(step.path)
    if not parts:
        return ""

    return s.ctx.t(N_("（{label}已写的 {n} 字存为草稿，回到这一题可接着写。）"), label=s.ctx.t(step.field.label),
                   n=count_chars("\n".join(parts)))


def preview(s: FormSession) -> Reply:
    t = s.ctx.t
    if s.step() is None:
        return review(s)
    head = t(N_("《{title}》已填内容："), title=t(s.form.title))
    rows = s.summary_lines()
    whole = "\n".join([head, *rows]) + "\n—"
    reply = question(s, whole)
    brief = "\n".join([head, *(shorten(x, 40) for x in rows[:5]), t(N_("……共{n}项，全部内容见链接"), n=len(rows))])
    return dataclasses.replace(reply, page=f"review:{s.sub.id}", summary=reply.text.replace(whole, brief + "\n—", 1))


def ask_cancel(s: FormSession) -> Reply:
    t = s.ctx.t
    s.state.screen = Screen.CANCEL
    return s.ctx.reply(t(N_("确定要暂停填写吗？已填的答案会保留。")),
                       [(t(N_("是，暂停")), a.Pause(True)), (t(N_("否，继续填写")), a.Pause(False))])


def prefixed(prefix: str, reply: Reply) -> Reply:
    return dataclasses.replace(reply, text=f"{prefix}\n{reply.text}")


def edit_list(s: FormSession, prefix: str = "") -> Reply:
    """Every answer to pick from; a repeatable group's items one entry each (edit, remove, move)."""
    ctx, t = s.ctx, s.ctx.t
    kept = draft_kept(s, s.step())
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
    lines = head_lines(s, prefix)
    if kept:
        lines.append(kept)
    lines.append(t(N_("要修改哪一项？回复编号：")))
    return ctx.reply("\n".join(lines), options)


def review(s: FormSession, prefix: str = "") -> Reply:
    t = s.ctx.t
    s.state.screen = Screen.REVIEW
    s.state.position = None
    head = head_lines(s, prefix)
    lines = [*head, t(N_("全部填完了。请核对《{title}》："), title=t(s.form.title))]
    if printed.print_state(s.sub, s.answers) == "changed":
        lines.append("⚠ " + t(N_("与已生成的文件不同：确认后会生成新文件。")))
    rows = s.summary_lines()
    lines.extend(rows)
    lines.extend(t(n) for n in s.form.notes)
    reply = s.ctx.reply("\n".join(lines), [(t(N_("确认并生成文件")), a.Confirm()), (t(N_("修改")), a.EditList())])
    short = [*head, t(N_("全部填完了。请核对《{title}》："), title=t(s.form.title)),
             *(shorten(x, 40) for x in rows[:5]), t(N_("……共{n}项，全部内容见链接"), n=len(rows))]
    return dataclasses.replace(reply, page=f"review:{s.sub.id}", summary="\n".join(short))


async def with_picture(s: FormSession, reply: Reply) -> Reply:
    """A review comes with a picture of page 1 as it will print (where PDFs are made): people would rather
    look than read. The files made for it wait for the confirm (bot/documents/produce.py ProducedCache).
    It waits for the picture `review_picture_seconds` at most (JIEBANG_REVIEW_PICTURE_SECONDS, 1 s): 200
    reviews at once on one LibreOffice took 5-45 s, and WeChat's passive reply would have been missed."""
    if reply.screen != "review" or reply.image is not None or s.ctx.produce is None:
        return reply
    if not s.ctx.settings.pdf:  # no picture to show: the .docx is made while they read, for the confirm
        if s.ctx.prefetch is not None:
            s.ctx.prefetch(s.form, s.answers, s.sub.id)
        return reply
    making = asyncio.ensure_future(s.ctx.produce(s.form, s.answers, s.sub.id))
    making.add_done_callback(_quietly)
    try:  # the review goes within WeChat's 5 s: without its picture when the PDF is not made by then
        made = await asyncio.wait_for(asyncio.shield(making), s.ctx.settings.review_picture_seconds)
    except TimeoutError:
        return reply  # the files go on being made, for the confirm
    if made.preview is None:
        return reply
    return dataclasses.replace(reply, image=s.document(s.filename(".png"), made.preview, PNG_MIME, keep=False))



def _quietly(task: asyncio.Future) -> None:
    """A review's files that failed are made again, and said, at the confirm: no loose traceback here."""
    if not task.cancelled():
        task.exception()
