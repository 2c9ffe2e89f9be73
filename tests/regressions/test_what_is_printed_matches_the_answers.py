"""What is printed is what is stored (issue 14): an edit after printing, a renamed or removed 事项, the
printed 注册地, a form version. The .docx read back shows the new state; the old one is printed nowhere."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot.campaigns.model import Campaign
from bot.campaigns.pack import shipped
from bot.campaigns.repo import save_campaign
from bot.dialogs import forms
from bot.dialogs.fields import Field
from bot.i18n import N_
from bot.testing import ChatClient
from tests.conftest import SME_STEPS
from tests.regressions.journey import cells, confirmed_match, open_item, write_application
from tests.test_conversation import start_form


async def test_an_answer_changed_after_printing_asks_for_a_new_confirm_and_new_documents(app):
    c = await confirmed_match(app)
    await c.send("菜单")
    await c.click("对接表")
    await c.send("修改")
    await c.click("企业名称")
    [changed] = await c.send("上海改名科技有限公司")
    assert "已生成的表格与现在的答案不同了" in changed.text  # said once, at the first change
    assert changed.screen == "review" and "与已生成的文件不同" in changed.text
    await c.send("菜单")
    assert any("对接表" in b.label and "已修改待确认" in b.label for b in c.last.buttons)
    await c.send("状态")
    assert "《对接表》已修改" in c.text and "已填完" not in c.text
    await c.send("菜单")
    await c.click("对接表")
    done, _next = await c.click("确认并生成文件")
    printed = cells(done.document.data)
    assert "上海改名科技有限公司" in printed and "上海测试科技有限公司" not in printed
    await c.send("菜单")
    assert any("对接表" in b.label and "已完成" in b.label for b in c.last.buttons)


async def test_a_form_handed_in_and_then_edited_warns_that_the_paper_no_longer_matches(app):
    c = await confirmed_match(app)
    await c.send("已报送")
    assert "已盖章报送" in c.text
    await c.send("菜单")
    await c.click("对接表")
    await c.send("修改")
    await c.click("邮编")
    await c.send("200000")
    assert "交上去的纸质件与现在的答案不同了" in c.text


async def test_renamed_item_renames_its_application_and_marks_it_to_reconfirm(app):
    c = await confirmed_match(app, items=2)
    await write_application(c, 1)
    await c.click("确认并生成文件")
    await c.send("菜单")
    await c.click("对接表")
    await c.send("修改")
    await c.click("事项1")
    await c.click("修改事项名称")
    replies = await c.send("高精度视觉检测算法二期")
    assert "“揭榜”事项名称已改为“高精度视觉检测算法二期”" in replies[-1].text
    await c.send("菜单")
    assert any("事项1《高精度视觉检测算法二期》" in b.label and "已修改待确认" in b.label for b in c.last.buttons)
    await open_item(c, 1)
    assert c.last.screen == "review" and "与已生成的文件不同" in c.text
    done, _next = await c.click("确认并生成文件")
    printed = cells(done.document.data)
    assert "高精度视觉检测算法二期" in printed and "高精度视觉检测算法\n" not in printed + "\n"


async def test_removing_an_item_whose_application_is_written_asks_first_and_keeps_the_application(app):
    c = await confirmed_match(app, items=2)
    await write_application(c, 2, "柔性装配机器人方案。")
    await c.send("菜单")
    await c.click("对接表")
    await c.send("修改")
    await c.click("事项2")
    await c.click("删除此项")
    assert c.last.screen == "remove" and "申请书" in c.text and "柔性装配机器人" in c.text
    await c.click("不删除")
    await c.send("预览")
    assert "柔性装配机器人" in c.text  # nothing removed on 不删除
    await c.send("修改")
    await c.click("事项2")
    await c.click("删除此项")
    await c.click("确定删除")
    await c.send("菜单")
    kept = next(b for b in c.last.buttons if "已删除的事项" in b.label)
    assert "柔性装配机器人" in kept.label
    await c.click("已删除的事项")
    await c.send("预览")
    assert "柔性装配机器人方案。" in c.text  # the text is not silently gone


async def test_the_registered_place_prints_as_the_official_blanks_and_the_review_shows_it(app):
    c = ChatClient(app.engine)
    await start_form(c)
    review = await c.fill({**SME_STEPS, "reg_city": "浦东"})
    assert "企业注册地（打印为）：上海市浦东新区_____县" in review.text
    done, _next = await c.click("确认并生成文件")
    printed = cells(done.document.data)
    assert "上海市浦东新区_____县" in printed and "浦东市" not in printed


async def test_a_field_added_next_year_does_not_reopen_a_finished_old_form(app, monkeypatch):
    c = await confirmed_match(app)
    old = forms.FORMS["sme_match"]
    extra = Field("website", N_("企业网站"), validate=None, optional=True, since=2)
    monkeypatch.setitem(forms.FORMS, "sme_match", replace(old, version=2, items=(*old.items[:2], extra, *old.items[2:])))
    await c.send("菜单")
    entry = next(b.label for b in c.last.buttons if "对接表" in b.label)
    assert "已完成" in entry and "/" not in entry  # not "26/27"
    await c.send("状态")
    assert "企业网站" not in c.text
    same = ChatClient(app.engine, user_id="this-year")  # 2024's notice prints version 1: so does its new firm
    await start_form(same)
    await same.fill(SME_STEPS, until="reg_province")
    assert same.step == "reg_province" and "(3/26)" in same.text
    base = next(x for x in shipped() if x["id"] == "2024-national")  # a firm whose region is not known yet
    printed_2 = {**base["forms"], "sme_match": {**base["forms"]["sme_match"], "version": 2}}
    y2025 = Campaign({**base, "id": "2025-national", "year": 2025, "forms": printed_2}).with_deadline(
        "sme_match", date(2025, 7, 20))
    async with app.store.sessions() as session, session.begin():
        await save_campaign(session, y2025)
    app.store.forget()
    fresh = ChatClient(app.engine, user_id="next-year")
    await start_form(fresh)
    await fresh.fill(SME_STEPS, until="website")
    assert fresh.step == "website" and "企业网站 (3/27)" in fresh.text  # asked in the form 2025's notice prints
