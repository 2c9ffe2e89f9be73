"""Which per-item form belongs to which item of its parent form (申请书 ↔ 对接表's 拟揭榜事项).

Every item of a repeatable group carries an `_id` that stays with it (walker.new_row), and a per-item
submission stores its item's `_item_id`, position (`_item`) and name (`item_name`). The user may reorder,
remove or rename items in the parent form, so positions alone would hand one item's application to
another: an item's submission is the newest one with its id; for items saved before ids existed, the
newest one with its name, or failing that (renamed) the one at its position whose name is no longer any
item's. Submissions left unlinked belong to removed items: not listed, not counted, not reminded of.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from storage.hot import SubmissionLike

S = TypeVar("S", bound=SubmissionLike)  # a SubRow in the chat, a storage.models.Submission elsewhere


def parent_items(answers: Mapping[str, Any], group: str) -> list[dict]:
    """The parent form's items that have a name (a half-added item is not one yet)."""
    return [row for row in answers.get(group) or [] if isinstance(row, dict) and row.get("name")]


def link_items(items: Sequence[Mapping[str, Any]], subs: Iterable[S]) -> dict[int, S]:
    """Item position → its per-item submission (the newest that fits)."""
    names = [row.get("name") for row in items]
    newest_first = sorted(subs, key=lambda s: -(s.id or 0))
    linked: dict[int, S] = {}
    used: set[int | None] = set()

    def take(i: int, fits) -> None:
        if i in linked:
            return
        for s in newest_first:
            if s.id not in used and fits(s.answers or {}):
                linked[i] = s
                used.add(s.id)
                return

    for i, row in enumerate(items):
        if row.get("_id"):
            take(i, lambda a, row=row: a.get("_item_id") == row["_id"])
    for i, name in enumerate(names):
        take(i, lambda a, name=name: not a.get("_item_id") and a.get("item_name") == name)
    for i in range(len(items)):
        take(i, lambda a, i=i: not a.get("_item_id") and a.get("_item") == i and a.get("item_name") not in names)
    return linked


def relinked(sub: SubmissionLike, index: int, item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The submission's answers brought up to its item's current position and name, or None if they are."""
    a = dict(sub.answers or {})
    now = {"_item": index, "item_name": item.get("name"), "_item_id": item.get("_id")}
    now = {k: v for k, v in now.items() if v is not None}
    if all(a.get(k) == v for k, v in now.items()):
        return None
    return {**a, **now}
