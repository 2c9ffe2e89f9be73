"""The channel contract. One module a channel; nothing outside `bot/adapters/` knows a platform.

An adapter turns its platform's traffic into `Incoming`, calls `await engine.handle(incoming)`,
and renders the `Reply` values it gets back with the controls its platform has. Replies that are
not answers to a message (reminders, a deadline moved) arrive through `send`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.messages import Incoming, Reply


class Handler(Protocol):
    async def handle(self, incoming: Incoming) -> list[Reply]: ...


class Channel(Protocol):
    name: str  # stored with the user: "console", "telegram", "wechat", "wecom"

    async def start(self) -> None:
        """Begin receiving (polling, a web route); returns once running."""

    async def stop(self) -> None: ...

    async def send(self, user_id: str, replies: Sequence[Reply]) -> bool:
        """Push replies to a user unprompted. False when the platform would not deliver now."""
        ...


def numbered(reply: Reply, prefix: str = "") -> str:
    """Render a reply's buttons as numbered lines, for channels without keyboards."""
    if not reply.buttons:
        return reply.text
    lines = [reply.text]
    for i, b in enumerate(reply.buttons, 1):
        mark = "" if b.selected is None else ("☑ " if b.selected else "☐ ")
        lines.append(f"{prefix}{i}. {mark}{b.label}")
    return "\n".join(lines)
