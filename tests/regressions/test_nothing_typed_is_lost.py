"""Long sections as people write them on a phone (issue 14): nothing typed is lost to 上一步, 修改, a
keyboard's punctuation, an over-long text or a command word that is really a paragraph."""

from __future__ import annotations

import pytest

from bot.testing import ChatClient
from tests.conftest import SME_STEPS
from tests.regressions.journey import cells, confirmed_match, open_item
from tests.test_conversation import start_form


async def _at_section_one(app) -> ChatClient:
    c = await confirmed_match(app)
    await open_item(c, 1)
    await c.click("确认")  # 关联关系声明
    assert c.step == "basic"
    await c.click("修改")  # not the 企业概况 offered: their own text
    return c


async def test_back_in_the_middle_of_a_section_keeps_the_paragraphs_as_a_draft(app):
    c = await _at_section_one(app)
    await c.send("第一段：公司简介。")
    await c.send("第二段：主营业务。")
    [back] = await c.send("上一步")
    assert "存为草稿" in back.text and back.step.endswith("/not_affiliated")
    await c.click("确认")  # back to the section
    assert c.step == "basic" and "草稿已保存" in c.text and "本节已写" in c.text
    await c.send("第三段：行业地位。")
    await c.send("完成")
    await c.send("预览")
    assert "第一段：公司简介。" in c.text and "第二段：主营业务。" in c.text and "第三段：行业地位。" in c.text


async def test_edit_in_the_middle_of_a_section_keeps_the_draft_and_a_restart_too(app, settings):
    c = await _at_section_one(app)
    await c.send("写了一半的一段。")
    await c.send("修改")
    await c.click("关联关系声明")
    await c.click("确认")
    assert c.step == "basic" and "草稿已保存" in c.text


@pytest.mark.parametrize("done", ["完成。", " 完成 ", "好了！", "done.", "Done", "写完了~"])
async def test_done_as_a_phone_keyboard_sends_it_closes_the_section_and_is_never_stored(app, done):
    c = await _at_section_one(app)
    await c.send("公司简介。")
    [saved] = await c.send(done)
    assert saved.text.startswith("✓ 已保存：一、中小企业基本情况简介") and c.step == "capability"
    await c.send("预览")
    assert done.strip() not in c.text.split("一、中小企业基本情况简介：", 1)[1].split("\n", 1)[0]


async def test_the_last_paragraph_can_be_dropped_and_a_saved_section_appended_to(app):
    c = await _at_section_one(app)
    await c.send("保留的一段。")
    await c.send("写错的一段。")
    await c.send("删除上一段")
    assert "已删除上一段" in c.text
    await c.send("完成")
    await c.send("修改")
    await c.click("一、中小企业基本情况简介")
    assert "当前已填" in c.text
    await c.send("补充的一段。")
    await c.send("完成")
    await c.send("预览")
    section = c.text.split("一、中小企业基本情况简介：", 1)[1]
    assert "保留的一段。" in section and "补充的一段。" in section and "写错的一段。" not in section


async def test_an_overview_over_500_characters_is_kept_to_trim_not_thrown_away(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill(SME_STEPS, until="overview")
    await c.send("公司概况" * 100)  # 400 字
    await c.send("更多的介绍" * 30)  # 150 字 more: over 500
    [over] = await c.send("完成")
    assert over.text.startswith("✗") and "超出" in over.text and "草稿都在" in over.text and c.step == "overview"
    await c.send("删除上一段")
    await c.send("完成")
    assert c.text.startswith("✓ 已保存：企业概况") and c.step == "items.0.name"


async def test_a_paragraph_that_is_a_command_word_is_text_inside_a_section(app):
    c = await _at_section_one(app)
    await c.send("第一段。")
    [kept] = await c.send("进度")  # a paragraph of the text, not 状态
    assert "已收到第 2 段" in kept.text and "已答" not in kept.text
    await c.send("完成")
    [status] = await c.send("进度")  # alone, after 完成: the status
    assert "已答" in status.text
    await c.send("预览")
    assert "第一段。\n进度" in c.text or "第一段。 进度" in c.text or "进度" in c.text.split("一、中小企业基本情况简介：")[1]


async def test_section_one_can_reuse_the_overview_and_the_next_application_sections_one_and_two(app):
    c = await confirmed_match(app, items=2)
    await open_item(c, 1)
    await c.click("确认")
    assert "沿用上次：" + SME_STEPS["overview"][0][:20] in c.text  # the 对接表's 企业概况, offered as section 一
    await c.click("是")
    assert c.step == "capability"
    await c.send("研发团队二十人。")
    await c.send("完成")
    await open_item(c, 2)
    await c.click("确认")
    assert "沿用上次：" + SME_STEPS["overview"][0][:20] in c.text
    await c.click("是")
    assert "沿用上次：研发团队二十人。" in c.text  # section 二 of the first 申请书
    await c.click("是")
    assert c.step == "plan_team"


async def test_a_draft_survives_into_the_printed_document_only_once_done(app):
    c = await _at_section_one(app)
    await c.send("草稿段落。")
    await c.send("菜单")
    await c.click("对接表")
    done, _next = await c.click("确认并生成文件") if c.last.screen == "review" else (c.last, None)
    assert "草稿段落。" not in cells(done.document.data) if done.document else True
