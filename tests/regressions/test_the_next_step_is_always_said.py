"""The journey across forms and years (issue 14): which campaign a form is for, the firm's facts taken
over in one step, next year's forms, what comes after a confirm, 大型, the 需求目录 at 拟揭榜事项."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

from bot.__main__ import build_parser
from bot.admin import run
from bot.campaigns.model import Campaign
from bot.campaigns.pack import shipped
from bot.campaigns.repo import save_campaign
from bot.testing import ChatClient
from tests.conftest import SME_STEPS
from tests.regressions.journey import confirmed_match, open_item, write_application
from tests.test_conversation import start_form

CATALOGUE = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "needs_2024.csv"


async def test_a_past_years_programme_says_so_before_question_1_and_asks_once_a_year(app):
    app.engine.now = lambda: datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # the 2024 campaigns are over
    c = ChatClient(app.engine)
    await c.send("/start")
    await c.click("中小企业")
    await c.click("对接表")
    assert c.last.screen == "start" and "2024年度全国（工信厅企业函〔2024〕221号）的工作已经结束" in c.text
    assert [b.label for b in c.last.buttons] == ["开始填写", "有新通知时告诉我", "返回菜单"]
    await c.send("上海测试科技有限公司")  # typed here: not an answer to question 1
    assert c.last.screen == "start" and c.text.startswith("✗ 请先选择")
    await c.click("返回菜单")
    assert c.last.screen == "menu"
    await c.click("对接表")
    await c.click("开始填写")
    assert c.step == "company_name"
    await c.fill(SME_STEPS, until="items.#more")
    await c.send("否")
    await c.click("确认并生成文件")
    await open_item(c, 1)
    assert c.step == "not_affiliated" and "已经结束" not in c.text  # the same year: not asked again


async def test_a_returning_firm_takes_its_facts_over_in_one_step(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill(SME_STEPS, until="email")
    await c.send("菜单")
    await c.click("切换身份")
    await c.click("大企业")
    await c.click("需求表")
    assert "沿用上次的企业信息？" in c.text and "联系人及职务：李四 总经理助理" in c.text
    await c.send("公开")  # typed at this question: never taken as an answer
    assert c.last.screen == "start"
    await c.click("全部沿用")
    assert c.text.startswith("✓ 已沿用") and c.step == "publish_name"  # the next one the firm has no fact for
    await c.send("预览")
    assert "企业名称：上海测试科技有限公司" in c.text and "联系人及职务：李四 总经理助理" in c.text


async def test_next_years_campaign_gets_new_forms_and_last_years_stay_with_theirs(app):
    c = await confirmed_match(app)
    y2027 = Campaign({**next(x for x in shipped() if x["id"] == "2024-shanghai"), "id": "2027-shanghai", "year": 2027,
                      "number": "沪经信企〔2027〕1号"}).with_deadline("sme_match", date(2027, 7, 20))
    async with app.store.sessions() as session, session.begin():
        await save_campaign(session, y2027)
    app.store.forget()  # as admin does after saving: this process sees the new campaign at once
    await c.send("菜单")
    await c.click("对接表")
    assert c.last.screen == "start" and "2027年度上海" in c.text and "您已确认过2024年度的《对接表》" in c.text
    # not 去年: 2024; 24 answers less 上年度营业收入 (2023's figure, not 2026's) and the 企业规模 computed from it
    assert [b.label for b in c.last.buttons] == ["沿用2024年度《对接表》的答案（22项）", "逐项核对"]
    await c.click("沿用2024年度")
    assert c.step == "revenue"  # the year's own figure is asked at once
    subs = await app.store.hot.submissions(c_user_id := (await app.store.user("test", "u1")).id, "sme_match")
    assert len(subs) == 2 and subs[0].campaign_id == "2024-shanghai" and subs[0].status == "complete"
    assert subs[1].status == "draft" and c_user_id
    await c.send("状态")
    assert "2027" in c.text


async def test_after_a_confirm_the_next_step_is_said_with_the_applications_to_write(app):
    c = await confirmed_match(app, items=2)
    done, nxt = c.replies[-2], c.last
    assert done.document is not None
    assert nxt.text.startswith("接下来：")
    for line in ("写《申请书》事项1《高精度视觉检测算法》", "写《申请书》事项2《柔性装配机器人》", "打印、加盖企业公章",
                 "xieshouxingdong.cn", "报送：", "盖章报送后回复“已报送”"):
        assert line in nxt.text, line
    await c.click("事项2")
    assert c.step == "not_affiliated"
    await c.send("预览")
    assert "“揭榜”事项名称：柔性装配机器人" in c.text


async def test_status_lists_the_items_whose_application_has_not_started(app):
    c = await confirmed_match(app, items=2)
    await write_application(c, 1)
    await c.send("状态")
    assert "《申请书》事项2《柔性装配机器人》：还没开始" in c.text
    assert "事项1" not in c.text.split("还没开始")[0].split("\n")[-1]


async def test_a_large_result_stops_the_sme_form_with_the_reason_and_the_way_out(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill({**SME_STEPS, "employees": "3000", "revenue": "500000"}, until="size")
    assert "达到大型标准" in c.text and "只有中小微企业可以揭榜" in c.text
    assert "确认" not in [b.label for b in c.last.buttons]
    assert any(b.label.startswith("修改从业人数") for b in c.last.buttons)
    await c.send("大型")  # typed: not taken
    assert c.step == "size" and c.text.startswith("✗")
    await c.click("修改从业人数")
    await c.send("85")
    await c.click("修改上年度营业收入") if c.step == "size" and any(
        "营业收入" in b.label for b in c.last.buttons) else None
    if c.step == "revenue":
        await c.send("3200")
    assert c.step == "size" and "小型" in c.text and "确认" in [b.label for b in c.last.buttons]


async def test_asking_where_the_catalogue_is_at_the_item_name_is_answered_not_stored(sqlite_app):
    c = ChatClient(sqlite_app.engine)
    await start_form(c)
    await c.fill(SME_STEPS, until="items.0.name")
    await c.send("需求目录在哪里看？")
    assert c.step == "items.0.name" and "xieshouxingdong.cn" in c.text
    await c.send("预览")
    assert "事项名称：（未填）" in c.text


async def test_an_item_is_found_and_picked_from_the_catalogue_in_two_messages(sqlite_app):
    out = io.StringIO()
    args = build_parser().parse_args(["admin", "import-catalogue", "2024-national", str(CATALOGUE)])
    assert await run(args, sqlite_app.settings, out=out) == 0, out.getvalue()
    c = ChatClient(sqlite_app.engine)
    await start_form(c)
    await c.fill(SME_STEPS, until="items.0.name")
    assert "推荐以下事项" in c.text and len(c.last.buttons) == 3  # from its 所属行业 (65) and 企业概况
    [found] = await c.send("毫米波雷达")  # 1: words
    assert "毫米波雷达" in found.text and any("2024-SH-001" in b.label for b in found.buttons)
    await c.click("2024-SH-001")  # 2: the pick
    assert "事项名称：车载77GHz毫米波雷达目标识别算法，代码：2024-SH-001" in c.text
    assert c.step == "items.#more"  # 代码 came with the pick
    await c.send("是")
    await c.send("x")  # item 2's name: a search that finds nothing is said so, not stored
    await c.send("2024-SH-99")  # 代码 typed: nothing stored without a match
    await c.send("预览")
    assert "代码：2024-SH-001" in c.text and "2024-SH-99" not in c.text


async def test_the_application_shows_the_needs_own_text_while_section_three_is_written(sqlite_app):
    out = io.StringIO()
    args = build_parser().parse_args(["admin", "import-catalogue", "2024-national", str(CATALOGUE)])
    assert await run(args, sqlite_app.settings, out=out) == 0, out.getvalue()
    c = await confirmed_match(sqlite_app, answers={**SME_STEPS, "items.0.name": "2024-SH-001"})
    await open_item(c, 1)
    await c.click("确认")
    for _ in range(2):  # sections 一 and 二
        if any(b.label == "修改" for b in c.last.buttons):
            await c.click("修改")
        await c.send("本公司简介。")
        await c.send("完成")
    assert c.step == "plan_team"
    assert "揭榜需求（2024-SH-001）：车载77GHz毫米波雷达目标识别算法" in c.text and "探测距离≥200m" in c.text
