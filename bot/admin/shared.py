"""What the admin command groups share: the error that ends a command with one 错误： line, the handler's
shape, how a command is declared, the campaign look-up, the file checks, the deadline cell and the
states' names. Every group module imports this one; it imports none of them.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

from bot.campaigns.model import Campaign, days_left
from bot.campaigns.repo import get_campaign, save_campaign
from storage.store import Store

STATUS_NAMES = {"draft": "填写中", "complete": "已填完待报送", "submitted": "已盖章报送", "received": "已收到纸质件",
                "approved": "初审通过", "returned": "退回"}

# One admin command: (store, the parsed arguments, now, where to print) → the exit code.
Handler = Callable[[Store, argparse.Namespace, datetime, TextIO], Awaitable[int]]


class Declare(Protocol):
    """What a group module's `add_commands` is given: `declare(name, handler, help=…)` returns the parser
    the command's own arguments are added to (the global options come with every command)."""

    def __call__(self, name: str, handler: Handler, **kw: Any) -> argparse.ArgumentParser: ...


class AdminError(Exception):
    pass


def existing_file(path: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise AdminError(f"没有这个文件：{p}")
    if p.is_dir():
        raise AdminError(f"这是文件夹，不是文件：{p}")
    return p


def writable(path: str) -> Path:
    p = Path(path)
    if p.is_dir():
        raise AdminError(f"这是文件夹，请给出文件名：{p}")
    if not p.parent.exists():
        raise AdminError(f"没有这个文件夹：{p.parent}")
    return p


async def find_campaign(store: Store, campaign_id: str) -> Campaign:
    """The campaign with this id (a disabled one too), or AdminError."""
    async with store.sessions() as session:
        c = await get_campaign(session, campaign_id)
    if c is None:
        raise AdminError(f"没有活动 {campaign_id}（admin campaigns 列出全部）")
    return c


async def save(store: Store, c: Campaign) -> None:
    async with store.sessions() as session, session.begin():
        await save_campaign(session, c)
    store.forget()


def deadline_cell(c: Campaign, form_id: str, now: datetime) -> str:
    d = c.deadline(form_id)
    if d is None:
        return c.deadline_text(form_id) or "另行通知"
    return f"{d}{'（已截止）' if days_left(d, now, c.tz) < 0 else ''}"
