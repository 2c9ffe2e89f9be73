"""Where one user stands in the conversation: one typed value, stored as JSON in their conversation row.

Nothing else reads or writes the stored keys: `ConversationState.from_json` reads a row (today's, and
the loose dicts of earlier versions: unknown keys are dropped, old names mapped), `to_json` writes one.
The answers themselves live in the submission row; both are written in the message's one commit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from bot.dialogs import actions as a


class Screen(enum.StrEnum):
    MENU = "menu"  # who you are, then your forms
    ASK = "ask"  # one question of the open form
    EDIT = "edit"  # the list of answers to change
    GROUP = "group"  # one item of a repeatable group (edit a field, remove, move)
    START = "start"  # before question 1 of a new form: its campaign, and the firm's facts to take over
    REVIEW = "review"  # every answer, to confirm
    CONFIRM_REMOVE = "remove"  # 删除事项2？ (its 申请书, or a long 需求, would go with it)
    DONE = "done"  # confirmed: the documents were made
    CANCEL = "cancel"  # 确定要暂停填写吗？
    PAUSED = "paused"  # paused; the next message resumes
    ERASE = "erase"  # 删除我的数据？


@dataclass(slots=True)
class Keyboard:
    """The buttons of the last reply: (label, packed action). A typed number or label answers them."""

    options: list[tuple[str, str]] = field(default_factory=list)
    multi: bool = False
    shortcuts: int = 0  # the last options are shortcuts (drawn as buttons, never numbered)

    def actions(self) -> list[tuple[str, a.Action]]:
        out = []
        for label, packed in self.options:
            act = a.unpack(packed)
            if act is not None:
                out.append((label, act))
        return out


@dataclass(slots=True)
class ConversationState:
    screen: Screen | None = None  # None: a user who has not chosen anything yet
    form: str | None = None  # the open form's ref: "sme_match", "application:1"
    submission: int | None = None
    position: str | None = None  # a step path chosen by 上一步 / 修改; else the first unanswered step
    group: str | None = None  # on the GROUP screen: "items.1"
    tries: int = 0  # failed tries at the current step
    offered: list[tuple[Any, str]] = field(default_factory=list)  # (value, label) for an ambiguous answer
    toggles: list[int] = field(default_factory=list)  # multi-select ticks not yet confirmed
    parts: list[str] = field(default_factory=list)  # read from old rows only: drafts live in the submission now
    drafting: str | None = None  # the step path of a long text being written (command words are text there)
    computed: Any = None  # a computed value shown for confirmation
    fresh: bool = False  # the user declined the profile's value for this step
    keyboard: Keyboard | None = None
    stamp: int = 0  # the question the buttons belong to; changes only when the question does
    view: str = ""  # what the stamp was given for (screen, step and the buttons' identities)
    seq: int = 0  # the channel's number of the last message applied (Incoming.seq)
    seq_at: float = 0.0  # when (epoch seconds): numbers are compared only between messages minutes apart

    # -- the per-step state ------------------------------------------------------------------------

    def reset_step(self) -> None:
        self.tries = 0
        self.offered = []
        self.toggles = []
        self.parts = []
        self.computed = None
        self.fresh = False
        self.drafting = None

    def close_form(self) -> None:
        self.form = self.submission = self.position = self.group = None
        self.reset_step()

    # -- JSON -------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.screen is not None:
            d["screen"] = self.screen.value
        for key in ("form", "submission", "position", "group", "computed", "drafting"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        if self.tries:
            d["tries"] = self.tries
        if self.offered:
            d["offered"] = [[v, label] for v, label in self.offered]
        for key in ("toggles", "parts"):
            if getattr(self, key):
                d[key] = list(getattr(self, key))
        if self.fresh:
            d["fresh"] = True
        if self.keyboard is not None:
            d["keyboard"] = {"options": [[label, packed] for label, packed in self.keyboard.options]}
            if self.keyboard.multi:
                d["keyboard"]["multi"] = True
            if self.keyboard.shortcuts:
                d["keyboard"]["shortcuts"] = self.keyboard.shortcuts
        if self.stamp:
            d["stamp"] = self.stamp
        if self.view:
            d["view"] = self.view
        if self.seq:
            d["seq"] = self.seq
            d["seq_at"] = self.seq_at
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> ConversationState:
        """A stored row as a state. Reads rows written before this type existed (mode, sub, at, token,
        buttons, pending …); keys it does not know are dropped."""
        d = d or {}
        s = cls()
        screen = d.get("screen", d.get("mode"))
        if isinstance(screen, str) and screen in Screen._value2member_map_:
            s.screen = Screen(screen)
        s.form = _str(d.get("form"))
        s.submission = _int(d.get("submission", d.get("sub")))
        s.position = _str(d.get("position", d.get("at")))
        s.group = _str(d.get("group"))
        s.drafting = _str(d.get("drafting"))
        s.tries = _int(d.get("tries")) or 0
        offered = d.get("offered", d.get("pending")) or []
        s.offered = [(pair[0], str(pair[1])) for pair in offered if isinstance(pair, list | tuple) and len(pair) == 2]
        s.toggles = [i for i in d.get("toggles") or [] if isinstance(i, int)]
        s.parts = [p for p in d.get("parts") or [] if isinstance(p, str)]
        s.computed = d.get("computed")
        s.fresh = bool(d.get("fresh"))
        s.stamp = _int(d.get("stamp", d.get("token"))) or 0
        s.view = _str(d.get("view")) or ""
        s.seq = _int(d.get("seq")) or 0
        s.seq_at = float(d.get("seq_at") or 0) if isinstance(d.get("seq_at"), int | float) else 0.0
        board = d.get("keyboard")
        if isinstance(board, dict):
            options = [(str(label), str(packed)) for label, packed in board.get("options") or []]
            s.keyboard = Keyboard(options, bool(board.get("multi")), _int(board.get("shortcuts")) or 0)
        elif isinstance(d.get("buttons"), list):  # the old loose form: [[label, "c0"], …]
            options = []
            for label, old in d["buttons"]:
                act = a.legacy(str(old))
                if act is not None:
                    options.append((str(label), act.pack()))
            s.keyboard = Keyboard(options, bool(d.get("buttons_multi")))
        return s


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
