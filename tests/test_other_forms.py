"""需求表 and 申请书 through the engine: roles, shared firm facts, per-item forms, long text in parts."""

from __future__ import annotations

import io

import docx

from bot.messages import Attachment, Incoming
from bot.testing import ChatClient
from tests.conftest import SME_STEPS, past_start
from tests.test_conversation import start_form

LARGE_ANSWERS = {
    "company_name": "上海大集团有限公司",
    "publish_name": "公开",
    "credit_code": "91310000132149237G",
    "reg_province": "上海",
    "legal_rep": "王五",
    "contact": "赵六 技术中心主任",
    "contact_phone": "021-68811103",
    "fax": "跳过",
    "email": "zhao@example.com",
    "mobile": "13912345678",
    "registered_capital": "50000",
    "employees": "3000",
    "revenue": "500000",
    "ownership": "国有",
    "industry": "36",
    "channel": "1",
    "channel_detail": "上海市经济和信息化委员会",
    "address": "上海市浦东新区世纪大道1号",
    "postcode": "200120",
    "needs.0.name": "电池外壳改性材料",
    "needs.0.content": ["研发一款改性材料。", "完成"],
    "needs.1.name": "焊接视觉检测",
    "needs.1.content": ["视觉检测焊缝缺陷。", "完成"],
    "no_secret": "1",
}


async def two_items_confirmed(app) -> ChatClient:
    """An SME whose 对接表 (事项1 高精度视觉检测算法, 事项2 柔性装配机器人) is confirmed, at the menu."""
    c = ChatClient(app.engine)
    await start_form(c)
    answers = {**SME_STEPS, "items.1.name": "柔性装配机器人", "items.1.code": "2024-SH-033"}
    await c.fill(answers, until="items.#more")
    await c.send("是")
    await c.fill(answers, until="items.#more")
    await c.send("否")
    await c.click("确认")
    await c.send("菜单")
    return c


async def open_application(app) -> ChatClient:
    """An SME with a finished 对接表, at the first section of 事项1's 申请书 (the declaration confirmed)."""
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill(SME_STEPS)
    await c.click("确认")
    await c.send("菜单")
    await c.click("事项1")
    await past_start(c)
    await c.click("确认")
    return c


async def test_large_enterprise_fills_the_need_form_with_two_needs(app):
    c = ChatClient(app.engine)
    await start_form(c, form="需求表", role="大企业")
    await c.fill(LARGE_ANSWERS, until="needs.0.content")
    assert "样例" in c.text and "参数要求" in c.text  # the form's own sample guides the long text
    await c.send("研发一款改性材料。")
    assert "已收到第 1 段" in c.text
    await c.send("参数要求：熔指 20g/10min，阻燃要求 HB。")
    assert "已收到第 2 段" in c.text
    await c.send("完成")
    assert c.text.startswith("✓ 已保存：需求内容")
    await c.fill(LARGE_ANSWERS, until="needs.#more")
    await c.send("是")
    await c.fill(LARGE_ANSWERS, until="needs.1.content")
    await c.send("视觉检测焊缝缺陷，准确率99%。")
    await c.send("完成")
    await c.send("否")
    review = await c.fill(LARGE_ANSWERS)
    assert "所有需求均不得涉密" in review.text
    assert "所属行业：36 汽车制造业" in review.text  # the code the user typed, with its name
    reply, _next = await c.click("确认")
    assert reply.document is not None
    body = "\n".join(cell.text for t in docx.Document(io.BytesIO(reply.document.data)).tables
                     for row in t.rows for cell in row.cells)
    assert body.index("电池外壳改性材料") < body.index("焊接视觉检测")
    assert "参数要求：熔指 20g/10min" in body


async def test_firm_facts_are_offered_again_in_the_next_form(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill(SME_STEPS, until="reg_date")
    await c.send("菜单")
    await c.click("切换身份")
    await c.click("大企业")
    await c.click("需求表")
    assert c.last.screen == "start" and "沿用上次的企业信息？" in c.text and "企业名称：上海测试科技有限公司" in c.text
    await c.click("逐项核对")
    assert "沿用上次：上海测试科技有限公司" in c.text
    await c.click("是")
    assert c.text.startswith("✓ 已保存：企业名称 上海测试科技有限公司")
    await c.click("公开")
    assert "沿用上次：91310000132149237G" in c.text
    await c.click("修改")
    assert "沿用上次" not in c.text and c.text.startswith("统一社会信用代码")


async def test_one_application_per_item_prefilled_from_the_matchmaking_form(app):
    c = await two_items_confirmed(app)
    labels = [b.label for b in c.last.buttons]
    assert any("事项1《高精度视觉检测算法》" in x for x in labels)
    assert any("事项2《柔性装配机器人》" in x for x in labels)
    await c.click("事项2")
    await past_start(c)
    assert c.step == "not_affiliated"  # 企业名称 and 事项名称 came from the 对接表
    assert "关联关系声明 (3/" in c.text and "2024年度上海" in c.text  # which campaign, before question 1
    await c.click("确认")
    assert "一、中小企业基本情况简介" in c.text and "主营业务" in c.text
    await c.send("我们做机器人。" * 10)
    await c.send("完成")
    await c.send("预览")
    assert "柔性装配机器人" in c.text and "上海测试科技有限公司" in c.text


async def test_long_sections_count_against_the_6000_guideline_and_warn_past_it(app):
    c = await open_application(app)
    await c.send("字" * 3500)
    assert "全文约 3500/6000 字" in c.text and "⚠" not in c.text
    await c.send("完成")
    await c.send("字" * 3000)
    assert "全文约 6500/6000 字" in c.text and "⚠" in c.text
    await c.send("完成")
    assert c.text.startswith("✓ 已保存")  # a warning, not a block


async def test_evidence_is_listed_by_message_and_files_are_kept(app):
    c = await open_application(app)
    for _ in range(8):  # the eight text sections
        await c.send("内容")
        await c.send("完成")
    assert c.text.startswith("✓ 已保存") and "\n佐证材料" in c.text
    await c.send("发明专利 ZL2020XXXXXXX.X")
    await c.deliver(Incoming(channel=c.channel, user_id=c.user_id, message_id="file-1",
                             attachment=Attachment("软著.pdf", b"%PDF-1.4 test")))
    assert "已列 2 项" in c.text
    await c.deliver(Incoming(channel=c.channel, user_id=c.user_id, message_id="file-2",
                             attachment=Attachment("软著.pdf", b"%PDF-1.4 another")))  # same name, other file
    assert "已列 3 项" in c.text
    await c.send("完成")
    assert "请核对" in c.text and "发明专利" in c.text and "软著.pdf" in c.text and "软著-2.pdf" in c.text
    kept = sorted(app.settings.files_dir.rglob("软著*.pdf"))
    assert [p.read_bytes() for p in kept] == [b"%PDF-1.4 another", b"%PDF-1.4 test"]  # 软著-2.pdf, 软著.pdf


async def test_needs_can_be_added_moved_up_and_removed(app):
    c = ChatClient(app.engine)
    await start_form(c, form="需求表", role="大企业")
    await c.fill(LARGE_ANSWERS, until="needs.#more")
    await c.send("否")
    await c.fill(LARGE_ANSWERS)
    await c.send("修改")
    await c.click("添加需求")
    assert c.text.startswith("需求 2 · 名称")
    await c.send("焊接视觉检测")
    await c.send("完成")
    assert "需求内容" in c.text and "✗" in c.text  # nothing sent yet: re-asked
    await c.send("视觉检测焊缝。")
    await c.send("完成")
    await c.send("否")
    await c.send("修改")
    await c.click("需求2")
    await c.click("上移")
    assert "已将需求2上移" in c.text
    assert [b.label for b in c.last.buttons if b.label.startswith("需求")][:2] == [
        "需求1：焊接视觉检测", "需求2：电池外壳改性材料"]
    await c.click("需求2")
    await c.click("删除")
    assert "需求内容" in c.text and "字" in c.text  # a 需求 of up to 3,000 字: asked first
    await c.click("确定删除")
    await c.send("预览")
    assert "焊接视觉检测" in c.text and "电池外壳改性材料" not in c.text


async def test_an_application_follows_its_item_when_items_move_or_are_renamed_or_removed(app):
    c = await two_items_confirmed(app)
    await c.click("事项2")
    await past_start(c)
    await c.click("确认")
    await c.send("机器人公司。")
    await c.send("完成")  # 事项2's application: 4 answers in
    progress = next(b.label for b in (await c.send("菜单"))[0].buttons if "柔性装配机器人" in b.label)

    await c.click("对接表")
    await c.send("修改")
    await c.click("事项1")
    await c.click("删除")  # 事项2 becomes 事项1
    await c.send("菜单")
    labels = [b.label for b in c.last.buttons]
    assert not any("高精度视觉检测算法" in x for x in labels)  # its application is not listed
    assert progress.replace("事项2", "事项1") in labels  # the robot's application, its progress kept
    await c.send("状态")
    assert "高精度视觉检测算法" not in c.text and "柔性装配机器人" in c.text

    await c.send("修改")  # 状态 came back to the 对接表's review
    await c.click("事项1")
    await c.click("事项名称")
    await c.send("柔性装配机器人二期")
    await c.send("菜单")
    await c.click("事项1")
    await c.send("预览")
    assert "“揭榜”事项名称：柔性装配机器人二期" in c.text and "机器人公司。" in c.text
