"""Users with forms for the page tests: filled in through the chat, as a user would, and a page server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.testing import ChatClient
from storage.models import Submission
from tests.conftest import SME_STEPS
from tests.test_conversation import start_form

T0 = datetime(2024, 6, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, before the 2024 deadlines


class Clock:
    """The app's time, moved by hand (never the wall clock)."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: Any) -> None:
        self.at += timedelta(**delta)


async def finished_sme(app, user_id: str, channel: str = "telegram", company: str = "上海测试科技有限公司",
                       overview: list[str] | None = None, more_items: tuple[tuple[str, str], ...] = ()) -> Submission:
    """A 对接表 filled in and confirmed in the chat (its .docx, and its PDF where LibreOffice is); `overview`
    its 企业概况 in several messages (one line each), `more_items` (name, code) of 拟揭榜事项 after the first."""
    c = ChatClient(app.engine, channel=channel, user_id=user_id)
    await start_form(c)
    steps: dict[str, Any] = {**SME_STEPS, "company_name": company}
    if overview is not None:
        steps["overview"] = [*overview, "完成"]
    for i, (name, code) in enumerate(more_items, 1):
        await c.fill(steps, until="items.#more")
        await c.send("是")
        steps.update({f"items.{i}.name": name, f"items.{i}.code": code})
    await c.fill(steps)
    await c.click("确认")
    return (await submissions(app, channel, user_id))[-1]


async def draft_sme(app, user_id: str, channel: str = "telegram", until: str = "legal_rep") -> Submission:
    c = ChatClient(app.engine, channel=channel, user_id=user_id)
    await start_form(c)
    await c.fill(SME_STEPS, until=until)
    return (await submissions(app, channel, user_id))[-1]


async def submissions(app, channel: str, user_id: str) -> list[Submission]:
    user = await app.store.user(channel, user_id)
    async with app.store.sessions() as session:
        return list((await session.execute(
            select(Submission).where(Submission.user_id == user.id).order_by(Submission.id))).scalars())


async def set_status(app, sub_id: int, status: str, note: str | None = None, **answers: Any) -> None:
    """What the district office's console does (a verdict), or an answer changed after printing."""
    async with app.store.sessions() as session, session.begin():
        sub = await session.get(Submission, sub_id)
        sub.status, sub.status_note = status, note
        if answers:
            sub.answers = {**sub.answers, **answers}


async def set_language(app, channel: str, user_id: str, language: str) -> None:
    """What 语言 English in the chat leaves on the user's row."""
    from storage.models import User

    async with app.store.sessions() as session, session.begin():
        user = (await session.execute(select(User).where(User.channel == channel, User.external_id == user_id))
                ).scalar_one()
        user.language = language
