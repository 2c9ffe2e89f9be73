"""Whole conversations with the engine, as a channel would have them."""

from __future__ import annotations

import asyncio
import dataclasses
import io

import docx
import pytest
from sqlalchemy.exc import OperationalError

from bot.app import open_app
from bot.config import Settings
from bot.documents.pdf import pdf_available
from bot.testing import ChatClient
from tests.conftest import SME_STEPS, past_start


async def start_form(client: ChatClient, form: str = "对接表", role: str = "中小企业", facts: str = "逐项核对") -> None:
    """Open a form at question 1 (past the campaign's note and the firm's facts, where they are asked)."""
    await client.send("/start")
    if client.last.buttons and client.last.buttons[-1].label != "切换身份":  # asked who they are
        await client.click(role)
    await client.click(form)
    await past_start(client, facts)


async def test_first_question_is_the_official_label_with_progress(app):
    c = ChatClient(app.engine)
    await c.send("/start")
    assert [b.label for b in c.last.buttons] == ["大企业（发榜）", "中小企业（揭榜）"]
    await c.click("中小企业")
    assert "对接表" in c.last.buttons[0].label
    await c.click("对接表")
    assert c.last.screen == "start" and "2024年度" in c.text  # which campaign, and that it is past
    await c.click("开始填写")
    first = c.text.splitlines()[0]
    assert first.startswith("企业名称 (1/") and c.step == "company_name"
    assert len(c.replies) == 4  # one message per step


async def test_a_menu_answer_that_is_no_option_says_so_and_shows_the_choices_again(app):
    c = ChatClient(app.engine)
    await c.send("/start")
    await c.send("上海某某科技有限公司")  # an answer typed before choosing who they are
    assert c.text.startswith("✗ 没有这个选项")
    assert "您好" not in c.text  # not greeted a second time
    assert [b.label for b in c.last.buttons] == ["大企业（发榜）", "中小企业（揭榜）"]
    await c.send("2")
    await c.send("9")
    assert c.text.startswith("✗ 没有这个选项")
    assert "对接表" in c.last.buttons[0].label


async def test_files_sends_the_finished_forms_documents_again(app):
    c = ChatClient(app.engine)
    await start_form(c)
    [none] = await c.send("文件")
    assert none.text.startswith("还没有生成的文件") and none.document is None
    await c.fill(SME_STEPS)
    done, _next = await c.click("确认")
    made = done.all_documents()
    files, where = await c.send("文件")
    assert [d.filename for d in files.all_documents()] == [d.filename for d in made]
    assert [d.data for d in files.all_documents()] == [d.data for d in made]
    assert "中小企业揭榜对接表-上海测试科技有限公司.docx" in files.text
    assert where.buttons  # and then where they are: the menu


async def test_form_words_before_any_form_is_open_say_so_without_greeting_again(app):
    c = ChatClient(app.engine)
    await c.send("/start")
    for word in ("预览", "跳过", "上一步"):
        await c.send(word)
        assert c.text.startswith("还没有打开表格，请先选择：") and "您好" not in c.text
        assert [b.label for b in c.last.buttons] == ["大企业（发榜）", "中小企业（揭榜）"]


async def test_a_menu_takes_the_words_people_type_for_an_option(app):
    c = ChatClient(app.engine)
    await c.send("/start")
    await c.send("我是中小企业")
    assert "对接表" in c.last.buttons[0].label
    await c.send("填对接表")
    assert c.last.screen == "start"
    await c.send("1")  # 开始填写, typed
    assert c.text.startswith("企业名称 (1/")


async def test_whole_form_gives_a_docx_with_every_answer(settings):
    app = await open_app(dataclasses.replace(settings, pdf=True, review_picture_seconds=180.0))  # the PDF and
    # the page-1 picture are the point (the review waits for it as long as it takes: a cold LibreOffice)
    try:
        await _whole_form_gives_a_docx_with_every_answer(app)
    finally:
        await app.close()


async def _whole_form_gives_a_docx_with_every_answer(app):
    c = ChatClient(app.engine)
    await start_form(c)
    review = await c.fill(SME_STEPS)
    assert "请核对" in review.text and "上海测试科技有限公司" in review.text
    if pdf_available():  # the review shows page 1 as it will print
        assert review.image is not None and review.image.data.startswith(b"\x89PNG")
    reply, _next = await c.click("确认")
    doc = reply.document
    assert doc is not None and doc.filename == "中小企业揭榜对接表-上海测试科技有限公司.docx"
    assert doc.path is not None and doc.path.read_bytes() == doc.data
    text = "\n".join(cell.text for t in docx.Document(io.BytesIO(doc.data)).tables
                     for row in t.rows for cell in row.cells)
    for value in ("上海测试科技有限公司", "91310000132149237G", "高精度视觉检测算法", "2024-SH-017", "lisi@example.com"):
        assert value in text
    if pdf_available():  # and a PDF beside it, kept on disk like the .docx
        [pdf] = reply.documents
        assert pdf.filename == "中小企业揭榜对接表-上海测试科技有限公司.pdf" and pdf.data.startswith(b"%PDF")
        assert pdf.path is not None and pdf.path.read_bytes() == pdf.data
        assert reply.image is not None and reply.image.path is not None and reply.image.path.exists()
    else:
        assert reply.documents == () and reply.image is None


async def test_wrong_answer_gets_one_specific_reask_then_an_example_after_three(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.send("上海测试科技有限公司")
    replies = await c.send("91310000132149237A")  # wrong check character
    assert len(replies) == 1
    assert replies[0].text.startswith("✗")
    assert "统一社会信用代码" in replies[0].text  # the question again, in the same message
    await c.send("913100001321492")
    await c.send("hello")
    assert "例如" in c.text and "帮助" in c.text and "修改" in c.text
    await c.send("91310000132149237G")
    assert c.text.splitlines()[0].startswith("✓")


async def test_back_skip_edit_preview(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill(SME_STEPS, until="reg_date")
    await c.send("跳过")  # required: refused
    assert "必填" in c.text and "注册时间" in c.text
    await c.send("上一步")
    assert c.text.startswith("企业注册地（县）")
    await c.send("某某县")
    assert "注册时间" in c.text  # back where they were
    await c.send("修改")
    await c.click("企业名称")
    assert c.text.startswith("企业名称") and "当前：上海测试科技有限公司" in c.text
    await c.send("上海新名字有限公司")
    assert "注册时间" in c.text  # comes back to where they were
    await c.send("预览")
    assert "上海新名字有限公司" in c.text and "某某县" in c.text and "注册时间" in c.text


async def test_cancel_asks_to_confirm_and_keeps_answers(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.send("上海测试科技有限公司")
    await c.send("取消")
    assert "确定" in c.text
    await c.click("是")
    assert "已保存" in c.text
    await c.send("开始")
    await c.click("对接表")
    assert c.text.startswith("统一社会信用代码")


async def test_resume_with_a_new_engine_on_the_same_database(settings):
    app1 = await open_app(settings)
    c = ChatClient(app1.engine, user_id="alice")
    await start_form(c)
    await c.fill(SME_STEPS, until="legal_rep")
    await app1.close()

    app2 = await open_app(settings)
    try:
        c2 = ChatClient(app2.engine, user_id="alice")
        await c2.send("/resume")
        assert "法人代表 (7/" in c2.text
        await c2.send("状态")
        assert "已答 6/" in c2.text and "待填：法人代表" in c2.text
    finally:
        await app2.close()


async def test_a_repeated_message_id_has_one_effect_and_the_same_reply(app):
    c = ChatClient(app.engine)
    await start_form(c)
    first = await c.send("上海测试科技有限公司", message_id="dup-1")
    again = await c.send("上海测试科技有限公司", message_id="dup-1")
    assert [r.text for r in again] == [r.text for r in first]
    assert c.text.startswith("✓ 已保存：企业名称")  # not re-asked as the next question
    await c.send("状态")
    assert "已答 1/" in c.text


async def test_the_same_message_id_from_two_users_is_two_messages(app):
    """Channels number messages per user or per bot: another user's id must not replay this one's replies."""
    first, second = ChatClient(app.engine, user_id="u1"), ChatClient(app.engine, user_id="u2")
    await start_form(first)
    await first.send("上海甲科技有限公司", message_id="42")
    await start_form(second)
    [reply] = await second.send("上海乙科技有限公司", message_id="42")
    assert "上海乙科技有限公司" in reply.text and "上海甲" not in reply.text
    await second.send("预览")
    assert "企业名称：上海乙科技有限公司" in second.text


async def test_replies_kept_for_retries_are_dropped_after_three_days(app):
    from datetime import timedelta

    from sqlalchemy import func, select, update

    from storage.models import ProcessedMessage, utcnow

    c = ChatClient(app.engine)
    await start_form(c)
    await c.send("上海测试科技有限公司", message_id="old")
    [recent] = await c.send("91310000132149237G", message_id="recent")
    async with app.store.sessions() as s, s.begin():
        await s.execute(update(ProcessedMessage).where(ProcessedMessage.message_id.like("%:old"))
                        .values(created_at=utcnow() - timedelta(days=4)))
    assert await app.store.forget_processed() == 1
    async with app.store.sessions() as s:
        left = (await s.execute(select(func.count()).select_from(ProcessedMessage))).scalar_one()
    assert left > 0
    assert await c.send("91310000132149237G", message_id="recent") == [recent]  # a retry today: same reply


async def test_stale_button_is_not_taken_as_an_answer(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill(SME_STEPS, until="ownership")
    old = c.last
    await c.click("民营")
    assert c.text.startswith("✓ 已保存：企业性质 民营")
    tapped = next(b for b in old.buttons if "国有" in b.label)
    await c.deliver(c.incoming(tapped.label, payload=tapped.payload))
    assert "已经过去" in c.text and "企业类型(可多选)" in c.text
    await c.send("预览")
    assert "企业性质：民营" in c.text


async def test_multi_select_by_numbers_and_by_toggles(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill(SME_STEPS, until="enterprise_types")
    await c.click("创新型")
    assert any(b.selected for b in c.last.buttons if "创新型" in b.label)
    await c.click("其他")
    await c.click("完成")
    assert "创新型中小企业、其他" in c.text


async def test_over_long_text_is_refused_with_the_limit(app):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.send("长" * 5000)
    assert c.text.startswith("✗") and "5000" in c.text and "企业名称" in c.text


async def test_a_user_cannot_see_another_users_answers(app):
    a, b = ChatClient(app.engine, user_id="a"), ChatClient(app.engine, user_id="b")
    await start_form(a)
    await a.send("甲公司")
    await start_form(b)
    await b.send("预览")
    assert "甲公司" not in b.text


async def test_database_briefly_away_is_retried_and_answers_kept(app, monkeypatch):
    c = ChatClient(app.engine)
    await start_form(c)
    real = app.store.hot.commit
    failures = {"n": 2}

    async def flaky(*args, **kwargs):  # the database goes away between reading and writing, twice
        if failures["n"]:
            failures["n"] -= 1
            raise ConnectionRefusedError("database is down")
        return await real(*args, **kwargs)

    monkeypatch.setattr(app.store.hot, "commit", flaky)
    app.engine.retry_delays = (0.01, 0.01, 0.01)
    await c.send("上海测试科技有限公司")
    assert c.text.startswith("✓ 已保存：企业名称")


async def test_database_away_for_long_says_so_without_a_traceback(app, monkeypatch):
    c = ChatClient(app.engine)
    await start_form(c)

    async def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database is down"))

    monkeypatch.setattr(app.store.hot, "load", down)
    app.engine.retry_delays = (0.01,)
    await c.send("上海测试科技有限公司")
    assert "稍后再发" in c.text and "Traceback" not in c.text
    monkeypatch.undo()
    await c.send("上海测试科技有限公司")
    assert c.text.startswith("✓ 已保存：企业名称")


async def test_two_processes_on_one_database_take_one_users_messages_in_turn(settings):
    """Two engines (as two bot processes) get two answers of one user at the same moment:
    the conversation row lock makes them apply one after the other, so neither is lost."""
    app1, app2 = await open_app(settings), await open_app(settings)
    try:
        c1 = ChatClient(app1.engine, user_id="same")
        await start_form(c1)
        c2 = ChatClient(app2.engine, user_id="same")
        for engine in (app1.engine, app2.engine):  # hold each message's transaction open a while
            engine.route = _slowly(engine.route)
        await asyncio.gather(c1.send("上海测试科技有限公司"), c2.send("91310000132149237G"))
        # Whichever came first became 企业名称; the other met the next question, 统一社会信用代码.
        # Had both read the state before either wrote, both would say 已保存：企业名称 and one is lost.
        replies = {c1.text, c2.text}
        assert sum(r.startswith("✓ 已保存：企业名称") for r in replies) == 1, replies
        name_first = c1.text.startswith("✓ 已保存：企业名称")
        if name_first:  # in order: both answers kept
            assert c2.text.startswith("✓ 已保存：统一社会信用代码")
        else:  # the company name does not pass as a credit code: re-asked, nothing overwritten
            assert "统一社会信用代码" in c1.text and not c1.text.startswith("✓")
        await c1.send("预览")
        name = "上海测试科技有限公司" if name_first else "91310000132149237G"
        assert f"企业名称：{name}" in c1.text
        await c1.send("状态")
        assert f"已答 {2 if name_first else 1}/" in c1.text
    finally:
        await app1.close()
        await app2.close()


def _slowly(route):
    async def slow(ctx):
        await asyncio.sleep(0.3)
        return await route(ctx)
    return slow


@pytest.mark.parametrize("word", ["帮助", "help", "/help"])
async def test_help_words_work_at_any_question_and_repeat_it(app, word):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.send(word)
    assert "上一步" in c.text and "企业名称 (1/" in c.text


@pytest.mark.parametrize("asked", ["状态", "我在哪？", "还缺什么", "Where am I?", "status"])
async def test_where_am_i_in_the_ways_people_ask_it_is_answered_in_one_message(app, asked):
    c = ChatClient(app.engine)
    await start_form(c)
    await c.send("上海测试科技有限公司")
    [status] = await c.send(asked)  # one message: where they are, what is missing, then the question
    assert "已答 1/" in status.text or "answered 1/" in status.text
    assert "统一社会信用代码 (2/" in status.text


async def test_confirm_typed_on_another_process_gives_the_document_of_the_answers_stored(settings):
    """A process that showed the review makes the document before the transaction; one that did not (a
    second process, or one restarted since) makes it inside. Either way it holds the stored answers."""
    app1, app2, app3 = await open_app(settings), await open_app(settings), await open_app(settings)
    try:
        c1 = ChatClient(app1.engine, user_id="two")
        await start_form(c1)
        await c1.fill(SME_STEPS)
        c2 = ChatClient(app2.engine, user_id="two")
        await c2.send("修改")
        await c2.click("企业名称")
        await c2.send("上海第二进程科技有限公司")
        assert "请核对" in c2.text
        c3 = ChatClient(app3.engine, user_id="two")
        reply, _next = await c3.send("1")  # the review's first choice: 确认并生成文件
        assert reply.document is not None, reply.text
        assert reply.document.filename == "中小企业揭榜对接表-上海第二进程科技有限公司.docx"
        cells = [c.text for t in docx.Document(io.BytesIO(reply.document.data)).tables
                 for r in t.rows for c in r.cells]
        assert any("上海第二进程科技有限公司" in c for c in cells)
        assert not any("上海测试科技有限公司" in c for c in cells)
    finally:
        for app in (app1, app2, app3):
            await app.close()


async def test_an_english_speaker_sees_the_official_label_beside_its_translation(app):
    c = ChatClient(app.engine, language="en")
    await c.send("/start")
    await c.click("SME")
    await c.click("Matching Form")
    await c.deliver(c.incoming("", payload=c.last.buttons[0].payload))  # past the campaign's note
    assert c.text.startswith("企业名称 (Enterprise name) (1/")
    await c.send("上海测试科技有限公司")
    await c.send("91310000132149237A")
    assert c.text.startswith("✗ The check failed: one character of the code is mistyped")
    assert "91 310000 132149237 A" in c.text and "G" not in c.text.split("\n")[1]  # never the computed one
    await c.send("status")
    assert "Still to fill: 统一社会信用代码 (Unified social credit code), 企业注册地（省） (Registered in (province))" \
        in c.text  # the official label beside its translation, as the questions have it
    await c.send("91310000132149237G")
    await c.send("上海")
    await c.send("contact 浦东")  # the English word, a Chinese district name
    assert "浦东新区学林路36弄13号" in c.text
    await c.send("中文")
    assert c.text.startswith("已切换为中文。") and "企业注册地（市(区)）" in c.text


async def test_jiebang_pdf_off_sends_the_docx_alone(tmp_path):
    settings = Settings.from_env({"JIEBANG_DATA_DIR": str(tmp_path), "JIEBANG_PDF": "off"})
    assert settings.pdf is False and Settings.from_env({}).pdf is True
    app = await open_app(settings)
    try:
        c = ChatClient(app.engine)
        await start_form(c)
        await c.fill(SME_STEPS)
        reply, _next = await c.click("确认")
        assert reply.document is not None and reply.document.filename.endswith(".docx")
        assert reply.documents == () and "PDF" not in reply.text
        assert [p.suffix for p in (tmp_path / "documents").rglob("*.*")] == [".docx"]
    finally:
        await app.close()
