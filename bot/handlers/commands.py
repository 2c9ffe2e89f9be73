"""What is not a form: start, help, status, language, cancel, and the words that work anywhere."""

from __future__ import annotations

import unicodedata

from bot.campaigns.repo import latest_per_item
from bot.context import Ctx
from bot.dialogs import walker as w
from bot.dialogs.forms import FORMS, get_form
from bot.dialogs.items import link_items, parent_items, relinked
from bot.dialogs.session import FormSession, kept_documents
from bot.i18n import N_
from bot.messages import Reply

# Words that work at any question, in Chinese and English (compared without case or spaces).
WORDS: dict[str, tuple[str, ...]] = {
    "start": ("/start", "开始", "start", "菜单", "menu", "/menu", "填表"),
    "help": ("/help", "帮助", "help", "?", "？"),
    "status": ("/status", "状态", "status", "进度", "我的进度", "whereami", "我在哪", "我在哪里", "填到哪了",
               "到哪了", "还差什么", "还缺什么", "还差哪些"),
    "back": ("/back", "上一步", "back", "返回"),
    "skip": ("/skip", "跳过", "skip"),
    "edit": ("/edit", "修改", "edit"),
    "preview": ("/preview", "预览", "preview"),
    "cancel": ("/cancel", "取消", "cancel", "退出"),
    "lang": ("/lang", "language", "语言"),
    "lang_en": ("english", "/en"),
    "lang_zh": ("中文", "/zh", "chinese"),
    "files": ("/files", "文件", "我的文件", "files", "重新下载", "下载文件"),
    "resume": ("/resume",),
}
_LOOKUP = {word: name for name, words in WORDS.items() for word in words}


def command_of(text: str) -> str | None:
    key = unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")
    return _LOOKUP.get(key) or _LOOKUP.get(key.rstrip("?。.!～~") or key)  # "我在哪？", "where am I?"


ROLES = {"sme": N_("中小企业（揭榜）"), "large": N_("大企业（发榜）")}


def _split(form_ref: str) -> tuple[str, int | None]:
    """"application:1" → ("application", 1): a per-item form and the item it is for."""
    form_id, _, item = form_ref.partition(":")
    return form_id, int(item) if item.isdigit() else None


async def _parent_items(ctx: Ctx, per_item: str) -> tuple[dict, list[dict]]:
    """The answers of the form a per-item form hangs on, and its items (e.g. the 对接表's 拟揭榜事项)."""
    parent_id, _, group = per_item.partition(".")
    subs = await ctx.tx.submissions(parent_id)
    answers = subs[-1].answers if subs else {}
    return answers, parent_items(answers, group)


async def open_session(ctx: Ctx, form_ref: str | None = None) -> FormSession | None:
    """The form the user has open (or `form_ref`), with its newest submission (made if none)."""
    ref = form_ref or ctx.state.get("form") or ""
    form_id, item = _split(ref)
    form = get_form(form_id)
    if form is None:
        return None
    sub = None
    if form_ref is None or form_ref == ctx.state.get("form"):
        sub = await ctx.tx.submission(ctx.state.get("sub"))
    if sub is None and form.per_item:
        parent, items = await _parent_items(ctx, form.per_item)
        if item is None or item >= len(items):
            return None
        sub = link_items(items, await ctx.tx.submissions(form.id)).get(item)
        if sub is None:
            answers = {"_item": item, "_item_id": items[item].get("_id"), "item_name": items[item]["name"],
                       "company_name": parent.get("company_name")}
            sub = await ctx.tx.new_submission(form.id, {k: v for k, v in answers.items() if v is not None})
        elif (moved := relinked(sub, item, items[item])) is not None:
            ctx.tx.save_answers(sub, moved)  # the item moved or was renamed in the parent form
    elif sub is None:
        subs = await ctx.tx.submissions(form.id)
        sub = subs[-1] if subs else await ctx.tx.new_submission(form.id, {})
    ctx.state["form"], ctx.state["sub"] = ref, sub.id
    return FormSession(ctx, form, sub)


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
            _, items = await _parent_items(ctx, form.per_item)
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


async def menu(ctx: Ctx, prefix: str = "", greet: bool | None = None) -> Reply:
    """Who they are (发榜 or 揭榜), then their forms, each with its progress."""
    t = ctx.t
    ctx.state["mode"] = "menu"
    lines = [prefix] if prefix else []
    role = (ctx.tx.user.prefs or {}).get("role")
    if role not in ROLES:
        if greet if greet is not None else not prefix:  # a prefixed menu answers something (an error…)
            lines.append(t(N_("您好，我是揭榜助手。我会一题一题地帮您填写表格，每个回答都会立即保存。")))
        lines.append(t(N_("请问贵单位是：")))
        return ctx.reply("\n".join(lines), [(t(ROLES["large"]), "role:large"), (t(ROLES["sme"]), "role:sme")])
    lines.append(t(N_("请选择要填写的表格：")))
    options = [(f"{title}（{mark}）" if mark else title, f"f:{ref}") for title, mark, ref in await form_entries(ctx)]
    if role == "sme" and not any(ref.startswith("application") for _t, _m, ref in await form_entries(ctx)):
        lines.append(t(N_("（揭榜申请书：先在对接表中填写拟揭榜事项，每个事项一份。）")))
    options.append((t(N_("切换身份")), "role:switch"))
    return ctx.reply("\n".join(lines), options)


def help_text(ctx: Ctx) -> str:
    return ctx.t(N_(
        "随时可以回复：\n"
        "上一步 — 回到上一题\n跳过 — 跳过选填项\n修改 — 改已填的答案\n预览 — 看已填内容\n"
        "状态 — 看进度、缺哪些、截止时间和报送地点\n联系 — 报送部门的电话和地址\n文件 — 再发一次已生成的表格文件\n"
        "已报送 — 盖章报送后告诉我\n"
        "退订提醒 / 开启提醒\n取消 — 暂停填写（答案保留）\n菜单 — 回到表格列表\nEnglish / 中文 — 切换语言"
    ))


async def files_reply(ctx: Ctx) -> Reply | None:
    """文件: the documents of every finished form again (fresh download links where a channel needs
    them, e.g. after a link expired); None when there are none yet."""
    docs = [doc for subs in latest_per_item(await ctx.tx.submissions()).values() for sub in subs
            if sub.status != "draft" for doc in kept_documents(ctx.settings, ctx.tx.user.id, sub)]
    if not docs:
        return None
    names = "\n".join(f"· {d.filename}" for d in docs)
    text = ctx.t(N_("您的文件（{n}个）：\n{names}"), n=len(docs), names=names)
    return Reply(text, document=docs[0], documents=tuple(docs[1:]), language=ctx.lang)
