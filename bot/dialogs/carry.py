"""Last year's answers in next year's form: what a confirmed submission gives the new submission of a later
campaign, so the firm takes its unchanged answers over in one step and is asked only what is new or changed.

An answer carries over when the new version asks the same field (the same key: a `Rename` keeps it, unless
the meaning changed too, `asks_again`), the field `carries` (a group's items, 拟揭榜事项 and 需求, are each
year's own), and the answer is still a valid answer there: among the choices (`NewChoices` may have dropped
it), through the field's check, the same value where it is computed, its condition holding.

    taken = carried(FORM, 1, answers_2024)          # {"company_name": "上海…", …} without 传真, 企业性质 …
    changed(FORM, 1, 2)                             # [Changed("renamed", "法定代表人", "法人代表"), …]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.dialogs.fields import Add, Answers, Field, Form, Group, NewChoices, Remove, Rename
from bot.dialogs.results import Ok

# Kept in the new submission's answers until taken (a bookkeeping key: not an answer, never printed):
# {"from": the earlier submission's id, "year": its campaign's year, "version": its form version,
#  "answers": what carries over}.
CARRIED = "_carried"


def carried(form: Form, old_version: int, old_answers: Answers, new_version: int | None = None) -> dict[str, Any]:
    """The answers of a submission filled in `old_version` that the form's `new_version` (default: its
    newest) takes over unchanged, by key, in the new version's order."""
    old, new = form.at(old_version), form.at(new_version)
    again = {c.key for _v, c in form.changes_between(old.version, new.version)
             if isinstance(c, Rename) and c.asks_again}
    asked_before = {f.key for f in old.items if isinstance(f, Field)}
    out: dict[str, Any] = {}
    for f in new.items:
        if not isinstance(f, Field) or not f.carries or f.key in again or f.key not in asked_before:
            continue
        if f.key in old_answers and f.applies(out) and _still_valid(f, old_answers[f.key], out):
            out[f.key] = old_answers[f.key]
    return out


def _still_valid(f: Field, value: Any, answers: Answers) -> bool:
    """Whether `value` would be taken as the answer to `f` today (`answers`: what is carried before it)."""
    if value is None or value == "" or value == []:
        return f.optional  # skipped: stays skipped where it may be
    if f.compute is not None:
        computed = f.compute(answers)
        return isinstance(computed, Ok) and computed.value == value and value not in f.stops
    choices = f.choices_for(answers)
    if choices:
        values = {c.value for c in choices}
        if f.multi:
            return isinstance(value, list) and set(value) <= values
        return value in values
    if f.long_text == "list":
        return isinstance(value, list)
    if f.validate is None:
        return True
    result = f.validate(str(value), answers)
    return isinstance(result, Ok) and result.value is not None


@dataclass(frozen=True, slots=True)
class Changed:
    """One change a user is told of: "added", "renamed", "removed" or "choices", with the field's label in
    the new version (the old one's for "removed"), and its old label where it was renamed."""

    kind: str
    label: str
    old_label: str = ""


def changed(form: Form, old_version: int, new_version: int | None = None) -> list[Changed]:
    """What changed from `old_version` to `new_version` (default: the newest), as a user is told it: each
    field once, by label; moves are not told (the questions come in the new order anyway)."""
    old, new = form.at(old_version), form.at(new_version)
    out: list[Changed] = []
    for _v, c in form.changes_between(old.version, new.version):
        if isinstance(c, Add):
            now = _field(new, c.key)
            if now is not None:
                out.append(Changed("added", now.label))
        elif isinstance(c, Remove):
            was = _field(old, c.key)
            if was is not None and _field(new, c.key) is None:
                out.append(Changed("removed", was.label))
        elif isinstance(c, Rename | NewChoices):
            was, now = _field(old, c.key), _field(new, c.key)
            if now is None:
                continue
            if isinstance(c, Rename) and was is not None and was.label != now.label:
                out.append(Changed("renamed", now.label, was.label))
            elif isinstance(c, NewChoices):
                out.append(Changed("choices", now.label))
    once: dict[tuple[str, str], Changed] = {}
    for x in out:
        once.setdefault((x.kind, x.label), x)  # renamed twice in two versions: told once, from the oldest label
    return list(once.values())


def _field(form: Form, key: str) -> Field | None:
    group_key, dot, sub = key.rpartition(".")
    for item in form.items:
        if dot and isinstance(item, Group) and item.key == group_key:
            return next((f for f in item.fields if f.key == sub), None)
        if not dot and isinstance(item, Field) and item.key == key:
            return item
    return None
