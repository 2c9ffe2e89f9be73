"""What is not a form: start, help, status, language, cancel, and the words that work anywhere."""

from __future__ import annotations

import unicodedata

from bot.context import Ctx
from bot.dialogs import walker as w
from bot.dialogs.forms import FORMS, get_form
from bot.dialogs.session import FormSession
from bot.i18n import N_
from bot.messages import Reply

# Words that work at any question, in Chinese and English (compared without case or spaces).
WORDS: dict[str, tuple[str, ...]] = {
    "start": ("/start", "开始", "start", "菜单", "menu", "/menu", "填表"),
    "help": ("/help", "帮助", "help", "?", "？"),
    "status": ("/status", "状态", "status", "进度", "我的进度", "whereami"),
    "back": ("/back", "上一步", "back", "返回"),
    "skip": ("/skip", "跳过", "skip"),
    "edit": ("/edit", "修改", "edit"),
    "preview": ("/preview", "预览", "preview"),
    "cancel": ("/cancel", "取消", "cancel", "退出"),
    "lang": ("/lang", "language", "语言"),
    "lang_en": ("english", "/en"),
    "lang_zh": ("中文", "/zh", "chinese"),
    "resume": ("/resume",),
}
_LOOKUP = {word: name for name, words in WORDS.items() for word in words}


def command_of(text: str) -> str | None:
    key = unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")
    return _LOOKUP.get(key)


async def open_session(ctx: Ctx, form_id: str | None = None) -> FormSession | None:
    """The form the user has open (or `form_id`), with its newest submission (made if none)."""
    form = get_form(form_id or ctx.state.get("form"))
    if form is None:
        return None
    sub = None
    if form_id is None or form_id == ctx.state.get("form"):
        sub = await ctx.tx.submission(ctx.state.get("sub"))
    if sub is None:
        subs = await ctx.tx.submissions(form.id)
        sub = subs[-1] if subs else await ctx.tx.new_submission(form.id)
    ctx.state["form"], ctx.state["sub"] = form.id, sub.id
    return FormSession(ctx, form, sub)


async def menu(ctx: Ctx, prefix: str = "") -> Reply:
    """Greeting and the forms, each with its progress."""
    t = ctx.t
    ctx.state["mode"] = "menu"
    lines = [prefix] if prefix else []
    lines.append(t(N_("您好，我是揭榜助手。我会一题一题地帮您填写表格，每个回答都会立即保存。")))
    lines.append(t(N_("请选择要填写的表格：")))
    options = []
    for form in FORMS.values():
        subs = await ctx.tx.submissions(form.id)
        label = t(form.title)
        if subs:
            done, total, _ = w.answered_count(form, subs[-1].answers or {})
            mark = t(N_("已完成")) if subs[-1].status != "draft" else f"{done}/{total}"
            label = f"{label}（{mark}）"
        options.append((label, f"f:{form.id}"))
    return ctx.reply("\n".join(lines), options)


def help_text(ctx: Ctx) -> str:
    return ctx.t(N_(
        "随时可以回复：\n"
        "上一步 — 回到上一题\n跳过 — 跳过选填项\n修改 — 改已填的答案\n预览 — 看已填内容\n"
        "状态 — 看进度和缺哪些\n取消 — 暂停填写（答案保留）\n菜单 — 回到表格列表\nEnglish / 中文 — 切换语言"
    ))


async def status_text(ctx: Ctx) -> str:
    t = ctx.t
    lines = []
    for form in FORMS.values():
        subs = await ctx.tx.submissions(form.id)
        if not subs:
            continue
        sub = subs[-1]
        done, total, missing = w.answered_count(form, sub.answers or {})
        if sub.status != "draft":
            lines.append(t(N_("《{title}》{done}/{total} 已完成"), title=t(form.short_title), done=done, total=total))
            continue
        lines.append(t(N_("《{title}》已答 {done}/{total}"), title=t(form.short_title), done=done, total=total))
        if missing:
            names = "、".join(t(s.field.label) for s in missing[:6])
            more = "…" if len(missing) > 6 else ""
            lines.append(t(N_("待填：{names}{more}"), names=names, more=more))
    if not lines:
        lines.append(t(N_("还没有开始填写任何表格。")))
    return "\n".join(lines)
