"""Every button the bot draws, as a small typed value that packs itself into a payload and back.

The habit of aiogram's `CallbackData`: a class declares its prefix and typed fields; `pack()` refuses
anything over 64 bytes (Telegram's limit for callback data) when the button is built, not when it is
sent; `unpack()` checks the prefix and the fields, and a payload that does not parse is stale.

A payload is `<stamp>:<prefix>[:field…]`. The stamp names the question the button belongs to (see
`bot.dialogs.state.ConversationState.stamp`): a tap is stale only once its question has moved on, not
each time the same question is redrawn. Command buttons (`cmd:status`, in reminders) carry no stamp
and are never stale.

Channels without keyboards show numbered lines; the same action is found again from a typed number or
label through the keyboard kept in the conversation state, so adapters keep no state of their own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

MAX_PAYLOAD = 64  # bytes


class PayloadTooLong(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Action:
    """Base class; subclasses are frozen dataclasses with str, int or bool fields."""

    prefix: ClassVar[str] = ""
    stamped: ClassVar[bool] = True  # False: never stale (a command)

    def pack(self) -> str:
        parts = [self.prefix]
        names = _field_names(type(self))
        for i, name in enumerate(names):
            value = getattr(self, name)
            text = ("1" if value else "0") if isinstance(value, bool) else str(value)
            if ":" in text and i < len(names) - 1:
                raise ValueError(f"{type(self).__name__}.{name} may not hold ':' ({text!r})")
            parts.append(text)
        packed = ":".join(parts)
        if len(packed.encode()) > MAX_PAYLOAD - 8:  # room for the stamp
            raise PayloadTooLong(f"{packed!r} is over {MAX_PAYLOAD - 8} bytes")
        return packed

    def identity(self) -> str:
        """What stays the same when the same question is drawn again (see Toggle)."""
        return self.pack()


_REGISTRY: dict[str, type[Action]] = {}
_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def action(cls: type[Action]) -> type[Action]:
    """Register an action class under its prefix."""
    if cls.prefix in _REGISTRY:
        raise ValueError(f"two actions use the prefix {cls.prefix!r}")
    _REGISTRY[cls.prefix] = cls
    return cls


def unpack(packed: str) -> Action | None:
    """The action a packed string names, or None when it does not parse (an old or forged payload)."""
    prefix, *rest = packed.split(":")
    cls = _REGISTRY.get(prefix)
    if cls is None:
        return None
    fields = dataclasses.fields(cls)
    if len(fields) != len(rest):
        if not fields or len(rest) < len(fields):
            return None
        rest = [*rest[:len(fields) - 1], ":".join(rest[len(fields) - 1:])]  # the last field may hold ':'
    values: dict[str, Any] = {}
    for f, text in zip(fields, rest, strict=True):
        kind = f.type if isinstance(f.type, type) else {"int": int, "str": str, "bool": bool}.get(str(f.type))
        if kind is int:
            if not text.lstrip("-").isdigit():
                return None
            values[f.name] = int(text)
        elif kind is bool:
            if text not in ("0", "1"):
                return None
            values[f.name] = text == "1"
        else:
            values[f.name] = text
    return cls(**values)


def payload(act: Action, stamp: int) -> str:
    """The button payload for `act` drawn at question `stamp`."""
    packed = act.pack()
    text = f"{stamp}:{packed}" if act.stamped else packed
    if len(text.encode()) > MAX_PAYLOAD:
        raise PayloadTooLong(f"{text!r} is over {MAX_PAYLOAD} bytes")
    return text


def parse(data: str) -> tuple[int | None, Action] | None:
    """(stamp, action) of a payload; the stamp is None for a command. None: not ours, or malformed."""
    if len(data.encode()) > MAX_PAYLOAD:
        return None
    head, sep, rest = data.partition(":")
    if head.isdigit() and sep:
        act = unpack(rest)
        return None if act is None or not act.stamped else (int(head), act)
    act = unpack(data)
    return None if act is None or act.stamped else (None, act)


# -- the actions ----------------------------------------------------------------------------------


@action
@dataclass(frozen=True, slots=True)
class Command(Action):
    """Works like typing a command word (`cmd:status`, `cmd:resume`); used by reminders and notices."""

    prefix: ClassVar[str] = "cmd"
    stamped: ClassVar[bool] = False
    name: str


@action
@dataclass(frozen=True, slots=True)
class PickRole(Action):
    prefix: ClassVar[str] = "r"
    role: str  # "sme" | "large" | "switch"


@action
@dataclass(frozen=True, slots=True)
class OpenForm(Action):
    prefix: ClassVar[str] = "f"
    ref: str  # "sme_match", "application:1" (the form of 事项 2)


@action
@dataclass(frozen=True, slots=True)
class Choose(Action):
    """One option of the question (its index in the field's choices)."""

    prefix: ClassVar[str] = "c"
    index: int


@action
@dataclass(frozen=True, slots=True)
class Toggle(Action):
    """Set one box of a multi-select question. It carries the state it sets, not "flip": two quick taps
    on one keyboard (the second before the redraw arrives) both count, and a repeated tap is harmless."""

    prefix: ClassVar[str] = "t"
    index: int
    on: bool

    def identity(self) -> str:
        return f"{self.prefix}:{self.index}"


@action
@dataclass(frozen=True, slots=True)
class Done(Action):
    """Close a multi-select question with the boxes ticked."""

    prefix: ClassVar[str] = "d"


@action
@dataclass(frozen=True, slots=True)
class PickOffered(Action):
    """One of the values offered for an ambiguous answer (several industries matched)."""

    prefix: ClassVar[str] = "p"
    index: int


@action
@dataclass(frozen=True, slots=True)
class AcceptComputed(Action):
    """Take the computed value (企业规模 from 行业, 人数 and 收入)."""

    prefix: ClassVar[str] = "k"


@action
@dataclass(frozen=True, slots=True)
class UseProfile(Action):
    """Take (or not) the firm's fact kept from an earlier form."""

    prefix: ClassVar[str] = "pf"
    yes: bool


@action
@dataclass(frozen=True, slots=True)
class Confirm(Action):
    """确认并生成文件."""

    prefix: ClassVar[str] = "ok"


@action
@dataclass(frozen=True, slots=True)
class EditList(Action):
    prefix: ClassVar[str] = "ed"


@action
@dataclass(frozen=True, slots=True)
class EditField(Action):
    prefix: ClassVar[str] = "e"
    path: str  # "company_name", "items.0.name"


@action
@dataclass(frozen=True, slots=True)
class ItemMenu(Action):
    """The menu of one item of a repeatable group (事项 2: edit a field, remove, move up)."""

    prefix: ClassVar[str] = "g"
    group: str
    index: int


@action
@dataclass(frozen=True, slots=True)
class RemoveItem(Action):
    """Remove an item; `sure` once the user said yes to what goes with it (its 申请书, a long 需求)."""

    prefix: ClassVar[str] = "gd"
    group: str
    index: int
    sure: bool = False


@action
@dataclass(frozen=True, slots=True)
class MoveItemUp(Action):
    prefix: ClassVar[str] = "gu"
    group: str
    index: int


@action
@dataclass(frozen=True, slots=True)
class AddItem(Action):
    prefix: ClassVar[str] = "ga"
    group: str


@action
@dataclass(frozen=True, slots=True)
class StartForm(Action):
    """Before question 1 of a new form: take the earlier year's answers over ("carry") or the firm's facts
    ("all"), check them one by one ("each"), or just begin ("go")."""

    prefix: ClassVar[str] = "st"
    how: str


@action
@dataclass(frozen=True, slots=True)
class Pause(Action):
    """The answer to 确定要暂停填写吗？"""

    prefix: ClassVar[str] = "cx"
    yes: bool


@action
@dataclass(frozen=True, slots=True)
class Erase(Action):
    """The answer to 删除我的数据？"""

    prefix: ClassVar[str] = "er"
    yes: bool


# Words that act on the open form, typed at any question (上一步, 跳过 …): the screen gets them as actions.


@action
@dataclass(frozen=True, slots=True)
class Back(Action):
    prefix: ClassVar[str] = "bk"


@action
@dataclass(frozen=True, slots=True)
class Skip(Action):
    prefix: ClassVar[str] = "sk"


@action
@dataclass(frozen=True, slots=True)
class Preview(Action):
    prefix: ClassVar[str] = "pv"


@action
@dataclass(frozen=True, slots=True)
class Cancel(Action):
    prefix: ClassVar[str] = "cn"


# Buttons drawn before typed actions existed, as today's stored conversations hold them: read, never drawn.
_LEGACY: dict[str, Action] = {"done": Done(), "ok": AcceptComputed(), "confirm": Confirm(), "edit": EditList(),
                              "cy": Pause(True), "cn": Pause(False), "pf_yes": UseProfile(True),
                              "pf_no": UseProfile(False)}


def legacy(old: str) -> Action | None:
    """A button action string of the old format ("c3", "role:sme", "e:items.0.name") as a typed action."""
    if old in _LEGACY:
        return _LEGACY[old]
    kind, _, arg = old.partition(":")
    if kind == "role":
        return PickRole(arg)
    if kind == "f":
        return OpenForm(arg)
    if kind == "e":
        return EditField(arg)
    if kind == "ga":
        return AddItem(arg)
    if kind in ("g", "gd", "gu"):
        group, _, idx = arg.partition(".")
        if idx.isdigit():
            return {"g": ItemMenu, "gd": RemoveItem, "gu": MoveItemUp}[kind](group, int(idx))
    if old[:1] in "ctp" and old[1:].isdigit():
        i = int(old[1:])
        return {"c": Choose(i), "t": Toggle(i, True), "p": PickOffered(i)}[old[0]]
    return None
