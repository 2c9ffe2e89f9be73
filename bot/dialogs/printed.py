"""What is printed is what is stored: a confirmed form remembers the answers its documents were made from.

At the confirm, the submission keeps a digest of its answers under `_printed`. A later change to an
answer (an item renamed, added, removed; a 申请书 whose 事项 was renamed) makes the digest differ: the form
is "changed since printed" until it is confirmed again and new documents are made. Keys starting with
"_" are the bot's own bookkeeping (drafts, files, links to items) and do not count.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from storage.hot import SubmissionLike

PRINTED = "_printed"
DRAFTS = "_drafts"  # unfinished long texts, by step path: nothing typed is lost to 上一步 or 修改

# What a user reads for each state (menus, status, 我的文件).
STATES = ("draft", "complete", "changed", "submitted", "approved", "returned", "received")


def digest(answers: Mapping[str, Any]) -> str:
    content = {k: v for k, v in answers.items() if not k.startswith("_")}
    raw = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def print_state(sub: SubmissionLike, answers: Mapping[str, Any] | None = None) -> str:
    """The submission's state as a user sees it: its status, or "changed" when the answers are no longer
    the ones last printed."""
    if sub.status == "draft":
        return "draft"
    answers = sub.answers if answers is None else answers
    printed = (answers or {}).get(PRINTED)
    if printed and printed != digest(answers or {}):
        return "changed"
    return sub.status


def was_handed_in(sub: SubmissionLike) -> bool:
    return sub.status in ("submitted", "approved", "received")
