"""Where a message goes by the screen the user stands at: one table of every screen, so that a screen can
send the user to another (the menu, back into the open form) without importing it.

    await show(ctx, Screen.MENU, "已暂停")       # draw that screen, with lines before it
    await handle(ctx, screen, act, text)        # the screen takes a tap or a text
    await resume(ctx, prefix)                   # where the user stands: the open form's screen, or the menu

The table is filled by bot/handlers/__init__.py with the screens of form/screens.py, menu.py and
privacy.py; importing any module of bot.handlers fills it first.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from bot.dialogs import actions as a
from bot.dialogs.state import Screen
from bot.handlers.context import Ctx
from bot.messages import Reply


class ScreenLike(Protocol):
    name: ClassVar[Screen]

    async def show(self, ctx: Ctx, prefix: str = "", *, greet: bool | None = None) -> Reply:
        """The screen drawn, `prefix` lines first (`greet`: the menu's greeting, whatever comes before)."""
        ...

    async def handle(self, ctx: Ctx, act: a.Action | None, text: str) -> list[Reply]:
        """The replies to a tap (`act`) or a text at this screen."""
        ...


SCREENS: dict[Screen, ScreenLike] = {}

# the screens of an open form that a word (状态, English …) comes back to; elsewhere it is the menu
RESUMABLE = (Screen.START, Screen.ASK, Screen.REVIEW, Screen.EDIT, Screen.GROUP, Screen.CONFIRM_REMOVE, Screen.CANCEL)


def register(*screens: ScreenLike) -> None:
    for screen in screens:
        SCREENS[screen.name] = screen


async def show(ctx: Ctx, screen: Screen, prefix: str = "") -> Reply:
    return await SCREENS[screen].show(ctx, prefix)


async def handle(ctx: Ctx, screen: Screen, act: a.Action | None, text: str) -> list[Reply]:
    return await SCREENS[screen].handle(ctx, act, text)


async def resume(ctx: Ctx, prefix: str = "", greet: bool = False) -> Reply:
    """`prefix`, then where the user stands: the current screen of the open form, or the menu."""
    screen = ctx.state.screen
    if screen in RESUMABLE and ctx.state.form:
        return await SCREENS[screen].show(ctx, prefix)
    return await SCREENS[Screen.MENU].show(ctx, prefix, greet=greet)
