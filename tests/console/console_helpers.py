"""Seeding firms and officers for the console's tests (direct inserts: 300 firms in well under a second)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from bot.console import auth
from storage.console_models import Officer
from storage.models import Conversation, Submission, User

PASSWORD = "correct horse battery"  # noqa: S105 - a test's password


def sme_answers(name: str, city: str = "浦东新区", province: str = "上海市", **extra: Any) -> dict[str, Any]:
    return {"company_name": name, "credit_code": "91310000132149237G", "reg_province": province, "reg_city": city,
            "contact": "李四 总经理助理", "contact_mobile": "13812345678", "contact_phone": "021-68811104",
            "industry": "65", "size": "小型", "overview": "工业软件研发。",
            "items": [{"_id": "i1", "name": "高精度视觉检测算法", "code": "2024-SH-017"}], **extra}


async def seed_firms(store, firms: list[tuple[str, str, dict[str, Any]]], channel: str = "test",
                     now: datetime | None = None) -> list[int]:
    """[(external id, status, answers of a 对接表)] → user ids; one 对接表 each, inserted in bulk."""
    now = now or datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    async with store.sessions() as session, session.begin():
        await session.execute(insert(User.__table__), [
            {"channel": channel, "external_id": ext, "language": "zh_CN", "prefs": {}, "created_at": now}
            for ext, _s, _a in firms])
        ids = dict((await session.execute(select(User.external_id, User.id).where(
            User.channel == channel, User.external_id.in_([f[0] for f in firms])))).all())
        await session.execute(insert(Conversation.__table__), [
            {"user_id": ids[ext], "state": {}, "updated_at": now} for ext, _s, _a in firms])
        await session.execute(insert(Submission.__table__), [
            {"user_id": ids[ext], "form_id": "sme_match", "status": status, "answers": answers, "created_at": now,
             "updated_at": now, "completed_at": None if status == "draft" else now}
            for ext, status, answers in firms])
    return [ids[f[0]] for f in firms]


async def add_officer(store, login: str, district: str = "浦东", campaign: str = "2024-shanghai",
                      password: str = PASSWORD, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    async with store.sessions() as session, session.begin():
        token = await auth.invite(session, campaign, district, login, now)
        officer = await auth.invited(session, token, now)
        auth.accept(officer, password)
        session.add(officer)
        await session.flush()
        return officer.id


async def officer_row(store, login: str) -> Officer:
    async with store.sessions() as session:
        return (await session.execute(select(Officer).where(Officer.login == login))).scalar_one()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


async def log_in(client, login: str, password: str):
    page = await client.get("/console/login")
    token = csrf_of(await page.text())
    return await client.post("/console/login", data={"login": login, "password": password, "csrf": token},
                             allow_redirects=False)


async def add_application(store, user_id: int, item: dict[str, Any], index: int, status: str,
                          **answers: Any) -> int:
    """A 申请书 for one 拟揭榜事项 of the firm's 对接表."""
    now = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    async with store.sessions() as session, session.begin():
        sub = Submission(user_id=user_id, form_id="application", status=status, created_at=now, updated_at=now,
                         answers={"_item": index, "_item_id": item.get("_id"), "item_name": item["name"],
                                  "company_name": "甲科技有限公司", **answers})
        session.add(sub)
        await session.flush()
        return sub.id
