"""Between two campaigns a new user was told, on one screen, both 「截止：另行通知」 (the 2024 notice's words for
the 对接表's deadline) and 「已经截止」 (the 2024 campaign was long over). Now one message: the last campaign, by
name, is over; the form can be prepared now and is carried over; the user can ask to be told of the next
notice, and is told once, when an operator loads it."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.__main__ import build_parser
from bot.admin import run
from bot.testing import ChatClient
from storage.campaign_models import Reminder
from tests.conftest import SME_STEPS

DECEMBER = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: the 2024 campaigns are over
NEXT = (Path(__file__).resolve().parents[1] / "campaigns" / "packs" / "2025-national.yaml").read_text(encoding="utf-8")


async def _new_user_at_the_sme_form(app, user: str = "u1") -> ChatClient:
    app.engine.now = lambda: DECEMBER
    c = ChatClient(app.engine, user_id=user)
    await c.send("/start")
    await c.click("中小企业")
    await c.click("对接表")
    return c


async def _load(app, tmp_path: Path, text: str, *flags: str) -> str:
    path = tmp_path / "2027-national.yaml"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    args = build_parser().parse_args(["admin", "load-campaign", str(path), *flags])
    assert await run(args, app.settings, now=DECEMBER, out=out) == 0, out.getvalue()
    return out.getvalue()


def _pack_2027(**changes: str) -> str:
    text = NEXT.replace("2025", "2027")
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


async def test_a_new_user_in_december_is_told_one_consistent_thing(app):
    c = await _new_user_at_the_sme_form(app)
    assert c.last.screen == "start"
    assert c.text.splitlines() == [
        "《中小企业“揭榜”对接表》",
        "2024年度全国（工信厅企业函〔2024〕221号）的工作已经结束，还没有新一年度的通知。",
        "现在可以先填写，为新一年度做准备：答案都会保存，新通知发布后沿用到新一年度的表格。",
        "点“有新通知时告诉我”，新通知载入后会告诉您。",
    ]
    assert [b.label for b in c.last.buttons] == ["开始填写", "有新通知时告诉我", "返回菜单"]
    await c.click("开始填写")
    assert c.step == "company_name" and "另行通知" not in c.text
    await c.fill(SME_STEPS, until="reg_date")
    await c.send("状态")
    assert "截止：2024年度上海的工作已结束" in c.text  # its region's campaign now, said the same way
    assert "另行通知" not in c.text and "已截止" not in c.text


async def test_the_same_in_english(app):
    c = await _new_user_at_the_sme_form(app)
    await c.send("English")
    assert c.last.screen == "start"
    assert c.text.splitlines()[-3:] == [
        "The 2024年度全国 round (工信厅企业函〔2024〕221号) has ended; there is no notice for the next round yet.",
        "You can fill it in now to be ready: your answers are kept and carried over to the next round's form once "
        "its notice is out.",
        "Tap “Tell me when the new notice is out” to be told when it is loaded.",
    ]
    assert [b.label for b in c.last.buttons][1] == "Tell me when the new notice is out"


async def test_a_user_who_asks_is_told_once_when_the_next_notice_is_loaded(app, tmp_path):
    c = await _new_user_at_the_sme_form(app)
    await c.click("有新通知时告诉我")
    assert c.text.startswith("✓ 已登记：新一年度的通知载入后会告诉您。")
    assert c.last.screen == "start" and "新通知载入后会告诉您（已登记）。" in c.text
    assert [b.label for b in c.last.buttons] == ["开始填写", "返回菜单"]
    await c.send("有新通知时告诉我")  # asked again, typed: still one wish
    async with app.store.sessions() as session:
        wishes = (await session.execute(select(Reminder).where(Reminder.kind == "new_notice"))).scalars().all()
    assert [(w.campaign_id, w.state) for w in wishes] == [("2024-national", "waiting")]
    other = await _new_user_at_the_sme_form(app, "u2")  # did not ask
    assert other.last.screen == "start"

    dry = await _load(app, tmp_path, _pack_2027(), "--dry-run")
    assert "  1 位用户在等新通知：将告诉他们" in dry
    assert await app.store.outbox_take("test", "u1") == []
    out = await _load(app, tmp_path, _pack_2027(), "--yes")
    assert "已告诉 1 位在等新通知的用户" in out
    [told] = await app.store.outbox_take("test", "u1")
    assert told.text.splitlines()[:2] == ["📢 新通知已发布：2027年度全国（工信厅企业函〔2027〕100号）",
                                          "工业和信息化部办公厅关于组织开展2027年度大企业“发榜”中小企业“揭榜”工作的通知"]
    assert [(b.label, b.payload) for b in told.buttons] == [("填写表格", "cmd:start"), ("我的进度", "cmd:status")]
    assert await app.store.outbox_take("test", "u2") == []

    out = await _load(app, tmp_path, _pack_2027(**{"deadline: 2027-07-10": "deadline: 2027-07-17"}), "--yes")
    assert "在等新通知" not in out  # told once: loading a pack again tells nobody twice
    assert await app.store.outbox_take("test", "u1") == []
    app.store.forget()  # the chat's process sees campaigns an admin changed within 30 s; this one at once
    await c.send("菜单")
    await c.click("对接表")
    assert "2027年度全国" in c.text and "还没有新一年度的通知" not in c.text
    await c.send("有新通知时告诉我")
    assert c.text.startswith("2027年度全国的通知（工信厅企业函〔2027〕100号）已经发布，可以直接填写。")
