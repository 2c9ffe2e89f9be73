"""The screens of an open form: each draws its reply and handles the actions of the buttons it drew.

The aiogram-dialog habit: the widget that packs a callback unpacks it. A screen is a small stateless
object; where the user stands is `ctx.state` (bot/dialogs/state.py). `show()` draws the screen (with
`prefix` lines before it: a confirmation, an error, a status), `handle()` takes the user's action or
text and returns the replies. What they draw is bot/handlers/form/draw.py; answering, editing and
confirming are answer.py, edit.py and confirm.py beside it. The menu is bot/handlers/menu.py, reached
through bot/handlers/navigate.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from bot.dialogs import actions as a
from bot.dialogs import carry
from bot.dialogs import walker as w
from bot.dialogs.state import Screen
from bot.handlers import navigate
from bot.handlers.context import Ctx
from bot.handlers.form.answer import answer, back, skip
from bot.handlers.form.confirm import confirm
from bot.handlers.form.draw import (
    Shown,
    ask_cancel,
    carried_facts,
    edit_list,
    prefixed,
    preview,
    profile_facts,
    question,
    start,
    with_picture,
)
from bot.handlers.form.edit import item_action, pick_edit
from bot.handlers.session import FormSession, campaign_of, open_session
from bot.i18n import N_
from bot.messages import Reply

if TYPE_CHECKING:
    pass


class FormScreen:
    """What every screen of an open form does: the form words (上一步, 跳过, 修改, 预览, 取消) and moving
    between questions, answers and items. Subclasses draw themselves and take what is theirs."""

    name: ClassVar[Screen]

    async def show(self, ctx: Ctx, prefix: str = "", *, greet: bool | None = None) -> Reply:
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
                return await navigate.handle(s.ctx, Screen.MENU, act, "")
        return None


def _one(shown: Shown) -> Reply:
    return shown if isinstance(shown, Reply) else shown[-1]


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
        if act.how == "carry":  # the earlier year's answers that carry over, all at once
            last_year = carried_facts(s)
            for x, value in last_year:
                w.set_value(s.answers, x.path, value)
            s.answers.pop(carry.CARRIED, None)
            s.save()
            return question(s, s.ctx.t(N_("✓ 已沿用{n}项答案，只需再回答新增或有变化的问题；可随时回复“修改”更改。"),
                                       n=len(last_year)))
        if act.how == "all":
            taken = 0
            for x, value in profile_facts(s):
                w.set_value(s.answers, x.path, value)
                taken += 1
            s.save()
            return question(s, s.ctx.t(N_("✓ 已沿用{n}项企业信息，可随时回复“修改”更改。"), n=taken) if taken else "")
        s.state.fresh = False
        return question(s)


class AskScreen(FormScreen):
    name = Screen.ASK

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        return question(s, prefix)

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Shown:
        return await answer(s, text, act)


class CancelScreen(FormScreen):
    name = Screen.CANCEL

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        return ask_cancel(s) if not prefix else prefixed(prefix, ask_cancel(s))

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


class EditScreen(FormScreen):
    name = Screen.EDIT

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        return edit_list(s, prefix)


class GroupScreen(FormScreen):
    """One item of a repeatable group (事项2): its menu, drawn again from `state.group` ("items.1")."""

    name = Screen.GROUP
    opens: ClassVar[type[a.ItemMenu] | type[a.RemoveItem]] = a.ItemMenu

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        key, _, idx = (s.state.group or "").partition(".")
        if not idx.isdigit():
            return edit_list(s, prefix)
        reply = await item_action(s, self.opens(key, int(idx)))
        return prefixed(prefix, reply) if prefix else reply


class ConfirmRemoveScreen(GroupScreen):
    """Removing an item that a 申请书 or a long text goes with: the question asked again."""

    name = Screen.CONFIRM_REMOVE
    opens = a.RemoveItem


class ReviewScreen(FormScreen):
    name = Screen.REVIEW

    async def draw(self, s: FormSession, prefix: str = "") -> Shown:
        return question(s, prefix)  # the review, or the question a change has opened

    async def take(self, s: FormSession, act: a.Action | None, text: str) -> Shown:
        return question(s)


class DoneScreen(ReviewScreen):
    name = Screen.DONE


async def _menu(ctx: Ctx, prefix: str = "") -> Reply:
    return await navigate.show(ctx, Screen.MENU, prefix)


SCREENS: tuple[FormScreen, ...] = tuple(cls() for cls in (StartScreen, AskScreen, EditScreen, GroupScreen,
                                                          ConfirmRemoveScreen, ReviewScreen, DoneScreen,
                                                          CancelScreen, PausedScreen))

