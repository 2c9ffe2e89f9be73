"""What the words that work anywhere do (the table is bot/dialogs/words.py): start, help, status,
language, files, contact, reminders, 已报送 — and the form words, handed to the screen as actions."""

from __future__ import annotations

import dataclasses

from bot.campaigns import status as campaigns
from bot.campaigns.repo import latest_per_item
from bot.dialogs import actions as a
from bot.handlers import menu, privacy, scenes
from bot.handlers.context import Ctx
from bot.handlers.navigate import resume
from bot.handlers.session import kept_documents
from bot.i18n import N_
from bot.messages import Reply

FORM_ACTIONS: dict[str, a.Action] = {"back": a.Back(), "skip": a.Skip(), "edit": a.EditList(),
                                     "preview": a.Preview(), "cancel": a.Cancel()}



async def run(ctx: Ctx, name: str, arg: str = "") -> list[Reply] | a.Action:
    """The replies to a word, or the action it stands for on the open form."""
    t = ctx.t
    if name in FORM_ACTIONS:
        return FORM_ACTIONS[name]
    if name == "start":
        if arg:  # a Telegram deep link or a WeChat QR code's scene
            scenes.apply(ctx, arg)
        return [await menu.show(ctx)]
    if name == "erase":
        return [privacy.ask(ctx)]
    if name in ("lang", "lang_en", "lang_zh"):
        new = {"lang_en": "en", "lang_zh": "zh_CN"}.get(name) or ("zh_CN" if ctx.lang == "en" else "en")
        ctx.tx.set_language(new)
        ctx.lang = new
        return [await resume(ctx, t(N_("已切换为中文。")) if new == "zh_CN" else ctx.t(N_("已切换为英文。")),
                             greet=True)]
    if name == "resume":
        if ctx.state.screen is None:
            return [await menu.show(ctx)]
        return [await resume(ctx, t(N_("欢迎回来，您的答案都在。")))]
    if name == "files":
        files = await files_reply(ctx)
        if files is None:
            return [await resume(ctx, t(N_("还没有生成的文件：填完表格并确认后就会生成。")))]
        return [files, await resume(ctx)]
    if name == "help":
        return [await resume(ctx, help_text(ctx))]
    if name == "status":
        status = await resume(ctx, await campaigns.status_for(ctx.tx, ctx.lang, ctx.now()))
        return [dataclasses.replace(status, page=status.page or "files")]  # 我的文件: the forms, to look at
    said = await campaigns.run_word(ctx.tx, ctx.lang, name, arg, ctx.now())
    return [await resume(ctx, said)]


def help_text(ctx: Ctx) -> str:
    return ctx.t(N_(
        "随时可以回复：\n"
        "上一步 — 回到上一题\n跳过 — 跳过选填项\n修改 — 改已填的答案\n预览 — 看已填内容\n"
        "完成 — 写完一段长文（删除上一段 / 重写 可改）\n"
        "状态 — 看进度、缺哪些、截止时间和报送地点\n联系 — 报送部门的电话和地址\n文件 — 再发一次已生成的表格文件\n"
        "已报送 — 盖章报送后告诉我\n"
        "退订提醒 / 开启提醒\n取消 — 暂停填写（答案保留）\n菜单 — 回到表格列表\nEnglish / 中文 — 切换语言\n"
        "删除我的数据 — 删除全部答案和文件"
    ))


async def files_reply(ctx: Ctx) -> Reply | None:
    """文件: the documents of every finished form again (fresh download links where a channel needs
    them, e.g. after a link expired); None when there are none yet."""
    docs = [doc for subs in latest_per_item(await ctx.tx.submissions()).values() for sub in subs
            if sub.status != "draft" for doc in await kept_documents(ctx.settings, ctx.tx.store, ctx.tx.user.id, sub)]
    if not docs:
        return None
    names = "\n".join(f"· {d.filename}" for d in docs)
    text = ctx.t(N_("您的文件（{n}个）：\n{names}"), n=len(docs), names=names)
    return Reply(text, document=docs[0], documents=tuple(docs[1:]), language=ctx.lang, page="files")
