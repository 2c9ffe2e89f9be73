"""What a user reads: 状态 in one message, 联系, 退订提醒 / 开启提醒, 已报送."""

from __future__ import annotations

from datetime import date, datetime

from campaign_helpers import SH_DRAFT, add_user, submissions

from bot.campaigns import handle_text, status_for
from bot.campaigns.model import Campaign
from bot.campaigns.pack import shipped
from bot.campaigns.repo import save_campaign
from bot.campaigns.status import deadline_line
from bot.dialogs import words

SH2027 = Campaign({**next(c for c in shipped() if c["id"] == "2024-shanghai"), "id": "2027-shanghai", "year": 2027})


async def _say(store, text, clock, user="u1"):
    async with store.user_tx("test", user) as tx:
        return await handle_text(tx, tx.user.language, text, clock())


async def _status(store, clock, user="u1"):
    async with store.user_tx("test", user) as tx:
        return await status_for(tx, tx.user.language, clock())


async def test_status_of_a_2024_draft_shows_missing_labels_closed_deadline_and_the_district_office(store, clock):
    await add_user(store, "u1", [("sme_match", "draft", SH_DRAFT), ("large_need", "draft", {"reg_province": "上海"})])
    text = await _status(store, clock)
    lines = text.splitlines()
    assert lines[0].startswith("《对接表》已答 3/") and lines[1].startswith("待填：统一社会信用代码、")
    assert "截止：2024年度上海的工作已结束" in text and "另行通知" not in text  # 2026: the notice is over
    assert "报送：浦东 中小企业推进服务中心，浦东新区学林路36弄13号2楼，电话 68811103" in text
    assert "截止：2024-07-22（2024年度上海，已截止）" in text
    assert "报送：于老师，大木桥路108号606室" in text


async def test_status_counts_days_left_once_next_years_campaign_exists(store, clock):
    async with store.sessions() as session, session.begin():
        await save_campaign(session, SH2027.with_deadline("sme_match", date(2027, 3, 1)))
    await add_user(store, "u1", [("sme_match", "draft", SH_DRAFT)])
    clock.at("2027-02-26 10:00")
    assert "截止：2027-03-01，还有 3 天（2027年度上海）" in await _status(store, clock)
    clock.at("2027-03-01 20:00")
    assert "截止：今天 2027-03-01" in await _status(store, clock)


async def test_a_user_outside_shanghai_gets_the_national_campaign(store, clock):
    await add_user(store, "u1", [("large_need", "draft", {"reg_province": "江苏省"})])
    text = await _status(store, clock)
    assert "截止：2024-07-12（2024年度全国，已截止）" in text
    assert "报送：所在地省级中小企业主管部门" in text and "北京市西城区西长安街13号" in text


async def test_contact_gives_the_district_office_and_city_contacts(store, clock):
    await add_user(store, "u1", [("sme_match", "draft", {**SH_DRAFT, "reg_city": "闵行区"})])
    text = await _say(store, "联系", clock)
    assert text.splitlines()[0] == "区中小企业主管部门：闵行 企业服务中心，七莘路412号1013室，电话 34203361"
    assert "zjtx-sh@163.com" in text and "沪经信企〔2024〕481号" in text
    other = await _say(store, "联系 化工区", clock, user="u2")
    assert "化学工业区 化工区投促中心" in other and "67120107" in other


async def test_contact_a_district_in_pinyin(store, clock):
    text = await _say(store, "contact Pudong", clock)
    assert "浦东 中小企业推进服务中心" in text and "68811103" in text
    assert "静安 科经委" in await _say(store, "Contact Jing'an District", clock, user="u2")
    assert words.lookup("contactless payments") is None  # an answer, not the command


async def test_contact_without_a_district_asks_for_one(store, clock):
    await add_user(store, "u1", [("sme_match", "draft", {"reg_province": "上海市"})])
    assert "请回复“联系 区名”" in await _say(store, "/contact", clock)


async def test_remind_off_and_on_are_kept_in_prefs(store, clock):
    assert "已退订" in await _say(store, "退订提醒", clock)
    assert (await store.get_prefs("test", "u1"))["reminders"] is False
    assert "已开启" in await _say(store, "/remind on", clock)
    assert (await store.get_prefs("test", "u1"))["reminders"] is True
    assert "已退订" in await _say(store, "/remind off", clock)


async def test_marking_submitted_needs_a_finished_form_and_shows_in_status(store, clock):
    await add_user(store, "u1", [("sme_match", "draft", SH_DRAFT)])
    assert "还没填完" in await _say(store, "已报送", clock)
    await add_user(store, "u2", [("sme_match", "complete", SH_DRAFT), ("large_need", "complete", {})])
    ask = await _say(store, "已盖章报送", clock, user="u2")
    assert "1. 《对接表》" in ask and "2. 《需求表》" in ask
    assert "已记录：《需求表》已盖章报送" in await _say(store, "已报送 2", clock, user="u2")
    text = await _status(store, clock, user="u2")
    assert "《需求表》已盖章报送" in text and "《对接表》" in text and "待盖章报送" in text
    subs = {s.form_id: s for s in await submissions(store, "u2")}
    assert subs["large_need"].status == "submitted" and subs["large_need"].campaign_id == "2024-shanghai"


async def test_ordinary_answers_are_not_taken_for_these_words(store, clock):
    for text in ("联系人张三总经理助理", "已报送材料", "李四", "退订"):
        assert await _say(store, text, clock) is None


def test_a_deadline_left_to_a_later_notice_closes_with_its_campaign_at_the_end_of_its_year():
    """另行通知 is not open for ever: the campaign closes after its `closes` day, by default 31 December of its
    year (its latest known deadline, if later); 状态, the form's first screen and a notice all say it alike."""
    sh = Campaign(next(c for c in shipped() if c["id"] == "2024-shanghai"))

    def at(local: str) -> datetime:
        return datetime.fromisoformat(local + "+08:00")

    assert not sh.form_closed("sme_match", at("2024-12-31T23:59")) and sh.form_closed("sme_match", at("2025-01-01T00:00"))
    assert sh.form_closed("large_need", at("2024-07-23T00:00")) and not sh.closed(at("2024-07-23T00:00"))
    assert sh.closed(at("2025-01-01T00:00"))
    assert deadline_line("zh_CN", sh, "sme_match", at("2024-12-31T10:00")) == "截止：另行通知（2024年度上海）"
    assert deadline_line("zh_CN", sh, "sme_match", at("2025-01-01T10:00")) == "截止：2024年度上海的工作已结束"
    assert deadline_line("en", sh, "sme_match", at("2025-01-01T10:00")) == "Deadline: the 2024年度上海 round has ended"
    longer = Campaign({**sh.data, "closes": "2025-03-31"})  # a pack's own last day
    assert not longer.form_closed("sme_match", at("2025-03-31T20:00")) and longer.form_closed("sme_match", at("2025-04-01T00:00"))
    into_next_year = sh.with_deadline("application", date(2025, 2, 15))
    assert into_next_year.last_day() == date(2025, 2, 15)
    assert not into_next_year.form_closed("sme_match", at("2025-02-01T10:00"))
