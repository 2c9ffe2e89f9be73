"""The channel contract. One module a channel; nothing outside `bot/adapters/` knows a platform.

An adapter turns its platform's traffic into `Incoming`, calls `await engine.handle(incoming)`,
and renders the `Reply` values it gets back with the controls its platform has: buttons as a
keyboard, or as numbered lines answered by number or text (`numbered`); a document as a file, or
as a signed download link where the platform cannot send one. It never reads a button's payload:
payloads are the engine's, opaque, and go back to it as they came. Replies that are not answers to
a message (reminders, a deadline moved) arrive through `send`, which says whether they were
delivered. `start` returns once receiving; `stop` finishes (bounded) what was received and closes.

Channels are made by name through `bot.adapters.registry`. What only some channels can do is a
small protocol beside `Channel`, checked with `isinstance`:

- `WebRoutes`: `add_routes(web_app)` mounts its callback URL on the shared web server (`serve`);
- `MenuInstaller`: `await install_menu()` installs the platform's custom menu (`serve --install-menu`).

`tests/adapters/test_contract.py` runs one set of checks against every registered channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.messages import Incoming, Reply

if TYPE_CHECKING:
    from aiohttp import web


class Handler(Protocol):
    async def handle(self, incoming: Incoming) -> list[Reply]: ...


@runtime_checkable
class Channel(Protocol):
    name: str  # stored with the user: "console", "telegram", "wechat", "wecom"

    async def start(self) -> None:
        """Begin receiving (polling, a web route); returns once running."""

    async def stop(self) -> None:
        """Stop receiving, finish what was received (bounded), close connections."""

    async def send(self, user_id: str, replies: Sequence[Reply]) -> bool:
        """Push replies to a user unprompted. False when the platform would not deliver now."""
        ...


@runtime_checkable
class WebRoutes(Protocol):
    """A channel reached over HTTP: its routes go on the one web server of `serve`."""

    def add_routes(self, web_app: web.Application) -> None: ...


@runtime_checkable
class MenuInstaller(Protocol):
    """A channel whose platform has a custom menu to install once (WeChat, WeCom)."""

    async def install_menu(self) -> object: ...


def numbered(reply: Reply, prefix: str = "") -> str:
    """Render a reply's buttons as numbered lines, for channels without keyboards."""
    buttons = [b for b in reply.buttons if not b.shortcut]
    if not buttons:
        return reply.text
    lines = [reply.text]
    for i, b in enumerate(buttons, 1):
        mark = "" if b.selected is None else ("☑ " if b.selected else "☐ ")
        lines.append(f"{prefix}{i}. {mark}{b.label}")
    return "\n".join(lines)
