"""What a validator returns: parse, then validate, with messages that translate.

A validator is `def v(raw: str, answers: Mapping[str, Any]) -> Ok | Invalid | Ambiguous`.
It receives the raw text the user typed (already stripped) and the answers so far, and returns:

- `Ok(value, note)`: the normalised value to store (JSON-serialisable: str, int, list, dict, None),
  and optionally a note to tell the user (e.g. which unit was assumed) as a `Message`.
- `Invalid(code, params)`: what is wrong. `code` names a message in `bot.dialogs.errors.MESSAGES`;
  the walker renders it in the user's language with `params` and re-asks the question.
- `Ambiguous(options)`: the answer matches several values; the walker offers them as choices
  (`options` = [(value, label), …]); the user's pick is stored as `value`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ok:
    value: Any
    note: Message | None = None


@dataclass(frozen=True, slots=True)
class Invalid:
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ambiguous:
    options: tuple[tuple[Any, str], ...]
    code: str = "choose_one"
    params: dict[str, Any] = field(default_factory=dict)


Result = Ok | Invalid | Ambiguous
