"""An officer's verdict on a firm's form: 已收到纸质件 (received), 初审通过 (approved), 退回 (returned, with a
reason). The form's state changes, the event is kept, and the firm is told in its chat the way
`admin set-status` tells it: a notice in the outbox (shown at its next message) that the serving
process also pushes through the firm's channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns.reminders import STATUS, ReminderService
from bot.campaigns.status import STATE_LINES, _title
from bot.i18n import N_, gettext
from bot.messages import Button, Reply
from storage.console_models import Officer, ReviewEvent
from storage.models import Submission
from storage.store import Store

ACTIONS = {"received": "已收到纸质件", "approved": "初审通过", "returned": "退回"}
MAX_NOTE = 500


class ReviewRefused(Exception):
    """Why a verdict cannot be given, in the console's words."""


def status_notice(lang: str, sub: Submission) -> Reply:
    """What the firm is told when its form's state changes (console or `admin set-status`)."""
    t = lambda s, **k: gettext(lang, s, **k)  # noqa: E731
    line = t(STATE_LINES[sub.status], title=_title(lang, sub), done="", total="",
             note=sub.status_note or t(N_("请联系报送部门")))
    if sub.status == "returned":
        line += "\n" + t(N_("请按意见修改后重新报送；回复“修改”可改答案。"))
    elif sub.status_note:
        line += f"\n{sub.status_note}"
    return Reply("📢 " + line, buttons=(Button(t(N_("查看进度")), STATUS),), language=lang)


@dataclass
class Verdict:
    submission: Submission
    notice: Reply


def apply(session: AsyncSession, officer: Officer, sub: Submission, action: str, note: str, now: datetime,
          lang: str) -> Verdict:
    """Change the form's state in `session` (the caller commits) and make the firm's notice."""
    if action not in ACTIONS:
        raise ReviewRefused("未知的操作")
    note = " ".join((note or "").split())[:MAX_NOTE]
    if action == "returned" and not note:
        raise ReviewRefused("退回需要写明原因")
    if sub.status == "draft":
        raise ReviewRefused("企业还没填完这份表格")
    assert sub.id is not None, "a verdict is on a stored submission"
    sub.status, sub.status_note, sub.updated_at = action, note or None, now
    session.add(sub)
    session.add(ReviewEvent(submission_id=sub.id, officer_id=officer.id, action=action, note=note, at=now))
    return Verdict(sub, status_notice(lang, sub))


async def tell(store: Store, user_id: int, verdicts: list[Verdict], now: datetime) -> None:
    if verdicts:
        service = ReminderService(store, clock=lambda: now)
        form_id = verdicts[0].submission.form_id
        await service.announce([(user_id, [v.notice for v in verdicts])], f"review:{form_id}", "", form_id, now)
