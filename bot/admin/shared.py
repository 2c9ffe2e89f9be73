"""What the admin command groups share: the error that ends a command with one 错误： line, the handler's
shape, how a command is declared, the campaign look-up, the file checks, the deadline cell, the states'
names, and what follows a moved deadline (set-deadline's and load-campaign's). Every group module imports this one; it imports none of them.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

from bot.campaigns.model import Campaign, days_left
from bot.campaigns.reminders import ReminderService, concerned, deadline_notice
from bot.campaigns.repo import all_user_forms, get_campaign, load_campaigns, save_campaign
from bot.messages import Reply
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


async def move_deadline_effects(store: Store, campaign_id: str, form_id: str, old: date | None, now: datetime,
                                announce: bool = True, out: TextIO | None = None,
                                service: ReminderService | None = None, text: str | None = None) -> int:
    """After a deadline changed: re-plan the reminders and tell the users it concerns (with `text`,
    the operator's words about it, when given)."""
    service = service or ReminderService(store, clock=lambda: now)
    await service.replan(campaign_id, form_id, now)
    if not announce:
        return 0
    async with store.sessions() as session:
        campaigns = await load_campaigns(session)
        c = next((x for x in campaigns if x.id == campaign_id), None)
        if c is None or (c.deadline(form_id) == old and not text):
            return 0
        everyone = await all_user_forms(session, campaigns)
    messages = [(uf.user_id, [_with_text(deadline_notice(uf.user.language, uf, c, form_id, old, now), text)])
                for uf in everyone if concerned(uf, campaign_id, form_id)]
    await service.announce(messages, f"deadline:{campaign_id}:{form_id}", campaign_id, form_id, now)
    if out is not None:
        print(f"已通知 {len(messages)} 位用户", file=out)
    return len(messages)


def _with_text(notice: Reply, text: str | None) -> Reply:
    """The deadline's own words (--text) on the notice, unless the deadline line already says them."""
    if not text or text in notice.text:
        return notice
    first, _, rest = notice.text.partition("\n")
    return dataclasses.replace(notice, text="\n".join(x for x in (first, text, rest) if x))
