"""What a handler or the walker gets for one message: the user's transaction, language, settings.

Buttons carry `<token>:<action>`. The token changes with every reply that has buttons, so a tap on
an old keyboard (a question already answered, a restart) is recognised as stale, never taken as
an answer to the current question. Channels without keyboards show numbered lines; the engine
maps a typed number (or a label) back to the action, so adapters keep no state of their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.config import Settings
from bot.i18n import gettext
from bot.messages import Button, Incoming, Reply
from storage.store import UserTx

COMMAND_PREFIX = "cmd:"  # payload of a button that works like typing a command: "cmd:resume", "cmd:status"


@dataclass
class Ctx:
    tx: UserTx
    settings: Settings
    incoming: Incoming
    now: Callable[[], datetime]
    lang: str = "zh_CN"
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> dict[str, Any]:
        return self.tx.state

    def t(self, message: str, **params: Any) -> str:
        return gettext(self.lang, message, **params)

    def label(self, label: str) -> str:
        """The official Chinese label, with its translation beside it for other languages."""
        tr = self.t(label)
        return label if tr == label else f"{label} ({tr})"

    def reply(self, text: str, options: Sequence[tuple[str, str]] = (), *, multi: bool = False,
              selected: Sequence[bool] | None = None, document=None) -> Reply:
        """A reply; `options` are (label, action) pairs that become buttons for this message only."""
        if not options:
            self.state.pop("buttons", None)
            self.state.pop("buttons_multi", None)
            return Reply(text=text, document=document)
        token = int(self.state.get("token", 0)) + 1
        self.state["token"] = token
        self.state["buttons"] = [[label, action] for label, action in options]
        if multi:
            self.state["buttons_multi"] = True
        else:
            self.state.pop("buttons_multi", None)
        buttons = tuple(
            Button(label, f"{token}:{action}", None if selected is None or action == "done" else selected[i])
            for i, (label, action) in enumerate(options)
        )
        return Reply(text=text, buttons=buttons, multi=multi, document=document)

    def action_from(self, incoming: Incoming) -> tuple[str | None, bool]:
        """(action, stale) for this message: a tapped button, or a typed number or label."""
        if incoming.payload and incoming.payload.startswith(COMMAND_PREFIX):
            return None, False  # a command button (e.g. in a reminder): no token, never stale
        if incoming.payload:
            token, _, action = incoming.payload.partition(":")
            if token != str(self.state.get("token")) or not self.state.get("buttons"):
                return None, True
            return action, False
        buttons = self.state.get("buttons") or []
        text = incoming.text.strip().rstrip(".、")
        if not buttons or not text:
            return None, False
        if self.state.get("buttons_multi"):
            return None, False  # "1,3" or "2" is a multi-select answer: the walker reads it
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            return buttons[int(text) - 1][1], False
        low = text.lower()
        for label, action in buttons:
            if low == label.lower() or low == label.split(" ", 1)[-1].lower():
                return action, False
        return None, False

    def loose_action(self, text: str) -> str | None:
        """At a menu: the one button the typed words name ("对接表", "我是中小企业", "填写需求表"); None when
        no button or several do."""
        low = _squeeze(text)
        words = [low, re.sub(r"^(我们是|我是|我要填写|我要填|我要|填写|填|选)", "", low)]
        buttons = [(_squeeze(label), _squeeze(re.sub(r"（[^）]*）|\([^)]*\)", "", label)), action)
                   for label, action in self.state.get("buttons") or []]
        for said in words:
            if len(said) < 2:
                continue
            hits = [action for label, core, action in buttons if said in label or (len(core) >= 2 and core in said)]
            if len(hits) == 1:
                return hits[0]
        return None


def _squeeze(text: str) -> str:
    return re.sub(r"[\s“”\"（）()]+", "", text).lower()
