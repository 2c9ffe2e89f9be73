"""The first message says what is kept and how to delete it; 删除我的数据 removes everything (issue 15);
a deep link or a QR code's scene chooses who the user is and their district; 跳过 is a button where a
keyboard can show it and never a number; English shows official values beside their translation."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from bot.__main__ import build_parser
from bot.adapters.base import numbered
from bot.admin import run
from bot.testing import ChatClient
from storage.models import ProcessedMessage, Submission, User
from tests.conftest import SME_STEPS, past_start
from tests.regressions.journey import confirmed_match
from tests.test_conversation import start_form


async def _count(app, model) -> int:
    async with app.store.sessions() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def test_the_first_message_says_what_is_kept_and_how_to_delete_it(app):
    c = ChatClient(app.engine)
    [hello] = await c.send("你好")
    assert "我只保存您填写的答案" in hello.text and "删除我的数据" in hello.text


async def test_delete_my_data_asks_then_removes_answers_files_and_documents(app):
    c = await confirmed_match(app)
    other = await confirmed_match(app, user="other")
    docs = list(app.settings.documents_dir.rglob("*.docx"))
    assert len(docs) == 2
    await c.send("删除我的数据")
    assert c.last.screen == "erase" and "不能恢复" in c.text
    await c.click("不删除")
    assert "什么都没有删除" in c.text and len(list(app.settings.documents_dir.rglob("*.docx"))) == 2
    await c.send("删除我的数据")
    await c.click("确定")
    assert "已删除您的全部答案" in c.text
    left = list(app.settings.documents_dir.rglob("*.docx"))
    assert len(left) == 1 and "上海测试科技有限公司" in left[0].name  # the other user's only
    assert await _count(app, User) == 1 and await _count(app, Submission) == 1
    async with app.store.sessions() as s:
        mine = (await s.execute(select(func.count()).select_from(ProcessedMessage)
                                .where(ProcessedMessage.message_id.like("1:%")))).scalar_one()
    assert mine == 0
    [again] = await c.send("预览")  # a new message starts from the beginning
    assert "您好" in again.text and "上海测试科技有限公司" not in again.text
    await other.send("预览")
    assert "上海测试科技有限公司" in other.text


async def test_an_admin_deletes_a_users_data(app):
    await confirmed_match(app)
    out = io.StringIO()
    args = build_parser().parse_args(["admin", "delete-user", "test:u1", "--yes"])
    assert await run(args, app.settings, out=out) == 0, out.getvalue()
    assert await _count(app, User) == 0 and not list(app.settings.documents_dir.rglob("*.docx"))


async def test_a_deep_link_or_qr_scene_chooses_the_role_and_the_district(app):
    c = ChatClient(app.engine)
    [menu] = await c.send("/start sme_pudong")
    assert "对接表" in menu.buttons[0].label  # who they are was chosen by the link: straight to the forms
    await c.click("对接表")
    assert "企业注册地（市(区)）：浦东新区" in c.text  # offered with the firm's facts
    await past_start(c, "全部沿用")
    await c.send("上海某公司")
    await c.send("联系")
    assert "浦东 中小企业推进服务中心" in c.text  # the district came with the link


async def test_skip_is_a_button_on_keyboards_and_never_a_typed_number(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill(SME_STEPS, until="reg_county")
    [skip] = [b for b in c.last.buttons if b.label == "跳过"]
    assert skip.shortcut and "1. 跳过" not in numbered(c.last)  # numbered lines: the hint says 回复“跳过”
    await c.send("1")  # an answer, not the button
    assert c.text.startswith("✓ 已保存：企业注册地（县） 1")
    await c.send("上一步")
    await c.deliver(c.incoming(skip.label, payload=next(b.payload for b in c.last.buttons if b.label == "跳过")))
    assert c.text.startswith("已保留原答案") or c.text.startswith("✓ 已跳过")


async def test_english_review_shows_official_labels_and_values_beside_their_translation(app):
    c = ChatClient(app.engine, language="en")
    await c.send("/start")
    await c.click("SME")
    await c.click("Matching Form")
    await c.deliver(c.incoming("", payload=c.last.buttons[0].payload))
    review = await c.fill(SME_STEPS)
    assert "企业性质 (Ownership)：民营 (Private)" in review.text
    assert "企业名称 (Enterprise name)：上海测试科技有限公司" in review.text
