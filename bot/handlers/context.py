"""What a screen or handler gets for one message: the user's rows, their typed state, language, settings.

Buttons are typed actions (bot/dialogs/actions.py) packed with the stamp of the question they belong to.
`reply()` draws them and keeps them in the state, so a typed number or label finds the same action on a
channel without keyboards, and a tap on an earlier question's keyboard is recognised as stale.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from bot.config import Settings
from bot.dialogs import actions as a
from bot.dialogs.state import ConversationState, Keyboard
from bot.i18n import gettext, official
from bot.messages import Button, Document, Incoming, Reply
from storage.store import UserTx

if TYPE_CHECKING:
    from bot.dialogs.fields import Form
    from bot.documents.produce import PdfToFollow, Produced


@dataclass(frozen=True, slots=True)
class FileWrite:
    """A file the engine writes (atomically) before the message's commit."""

    path: Path
    data: bytes


class _Stale(enum.Enum):
    TAP = "stale"


STALE: Final = _Stale.TAP  # a tap on a keyboard whose question has moved on (or a payload that is not ours)

Option = tuple[str, a.Action]


@dataclass
class Ctx:
    tx: UserTx
    settings: Settings
    incoming: Incoming
    now: Callable[[], datetime]
    state: ConversationState
    lang: str = "zh_CN"
    # makes a form's files (the .docx and PDF) of a submission (its id); the engine passes its own, tests may
    # pass another
    produce: Callable[[Form, dict[str, Any], int], Awaitable[Produced]] | None = None
    prefetch: Callable[[Form, dict[str, Any], int], None] | None = None  # start making them, not waiting
    # a confirm's: the .docx at once where a render worker is still making the PDF (Produced.pdf_pending)
    hand_over: Callable[[Form, dict[str, Any], int], Awaitable[Produced]] | None = None
    pdfs_to_follow: list[PdfToFollow] = field(default_factory=list)  # sent after the commit (the engine)
    writes: list[FileWrite] = field(default_factory=list)  # files the engine writes before the commit
    erase: bool = False  # 删除我的数据 confirmed: the engine removes the user instead of committing

    @property
    def text(self) -> str:
        return self.incoming.text.strip()

    def t(self, message: str, **params: Any) -> str:
        return gettext(self.lang, message, **params)

    def label(self, label: str) -> str:
        """The official Chinese label, with its translation beside it for other languages."""
        return official(self.lang, label)

    # -- drawing ---------------------------------------------------------------------------------------

    def reply(self, text: str, options: Sequence[Option] = (), *, multi: bool = False,
              selected: Sequence[bool] | None = None, document: Document | None = None, step: str = "",
              shortcuts: Sequence[Option] = ()) -> Reply:
        """A reply at the current screen; `options` are (label, action) pairs that become its buttons.
        `shortcuts` are conveniences the text already says how to type (跳过): keyboards show them, numbered
        lines leave them out, and a typed number never means one."""
        st = self.state
        screen = st.screen.value if st.screen is not None else ""
        options = [*options, *shortcuts]
        view = "|".join([screen, step, *(act.identity() for _label, act in options)])
        if view != st.view:  # another question (or other choices): earlier keyboards are stale now
            st.stamp += 1
            st.view = view
        if not options:
            st.keyboard = None
            return Reply(text=text, document=document, screen=screen, step=step)
        st.keyboard = Keyboard([(label, act.pack()) for label, act in options], multi, len(shortcuts))
        plain = len(options) - len(shortcuts)
        buttons = tuple(
            Button(label, a.payload(act, st.stamp),
                   None if selected is None or isinstance(act, a.Done) or i >= plain else selected[i],
                   shortcut=i >= plain)
            for i, (label, act) in enumerate(options))
        return Reply(text=text, buttons=buttons, multi=multi, document=document, screen=screen, step=step)

    # -- reading what the user did ---------------------------------------------------------------

    def tapped(self) -> a.Action | Literal[_Stale.TAP] | None:
        """The action of a tapped button; STALE when its question has moved on; None when nothing was tapped."""
        data = self.incoming.payload
        if not data:
            return None
        parsed = a.parse(data)
        if parsed is None:
            return STALE
        stamp, act = parsed
        if stamp is None:
            return act  # a command button: never stale
        board = self.state.keyboard
        if board is None or stamp != self.state.stamp:
            return STALE
        if act.identity() not in {drawn.identity() for _label, drawn in board.actions()}:
            return STALE  # not one of the buttons drawn for this question (a forged payload)
        return act

    def typed(self) -> a.Action | None:
        """The button a typed number or label names, on a channel without keyboards."""
        board = self.state.keyboard
        text = self.text.rstrip(".、。")
        if board is None or not text:
            return None
        drawn = board.actions()
        if board.multi:  # "1,3" is the multi-select answer the screen reads; only 完成 is a button here
            low = text.lower()
            return next((act for label, act in drawn if isinstance(act, a.Done) and label.lower() == low), None)
        if text.isdigit():
            numbered = drawn[:len(drawn) - board.shortcuts]
            n = int(text)
            return numbered[n - 1][1] if 1 <= n <= len(numbered) else None
        low = text.lower()
        for label, act in drawn:
            if low == label.lower() or low == label.split(" ", 1)[-1].lower():
                return act
        return None
