"""What the bot keeps, and 删除我的数据: asked once, then everything of the user removed.

The greeting says in one line what is kept and how to delete it. The deletion itself happens in the
engine after this message (`ctx.erase`): the rows in one transaction (storage/erase.py), then the user's
folders of documents and received files.
"""

from __future__ import annotations

from typing import ClassVar

from bot.dialogs import actions as a
from bot.dialogs.state import Screen
from bot.handlers import navigate
from bot.handlers.context import Ctx
from bot.i18n import N_
from bot.messages import Reply

KEPT = N_("我只保存您填写的答案、联系方式和生成的表格，用于填表和截止提醒；回复“删除我的数据”可全部删除。")


def ask(ctx: Ctx) -> Reply:
    t = ctx.t
    ctx.state.screen = Screen.ERASE
    return ctx.reply(t(N_("删除我的数据：您填写的全部答案、发送的文件和生成的表格都会删除，不能恢复。确定吗？")),
                     [(t(N_("确定，全部删除")), a.Erase(True)), (t(N_("不删除")), a.Erase(False))])


async def handle(ctx: Ctx, act: a.Action | None, text: str) -> list[Reply]:
    if isinstance(act, a.Erase) and act.yes:
        ctx.erase = True
        return [Reply(ctx.t(N_("已删除您的全部答案、文件和表格。以后再发消息，会从头开始。")))]
    if isinstance(act, a.Erase):
        ctx.state.screen = Screen.ASK if ctx.state.form else Screen.MENU
        return [await navigate.resume(ctx, ctx.t(N_("好的，什么都没有删除。")))]
    return [ask(ctx)]


class PrivacyScreen:
    """删除我的数据 asked: the one screen of this module."""

    name: ClassVar[Screen] = Screen.ERASE

    async def show(self, ctx: Ctx, prefix: str = "", *, greet: bool | None = None) -> Reply:
        return ask(ctx)

    async def handle(self, ctx: Ctx, act: a.Action | None, text: str) -> list[Reply]:
        return await handle(ctx, act, text)
