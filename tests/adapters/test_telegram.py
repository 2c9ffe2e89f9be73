"""The Telegram channel as a user meets it: real HTTP to a fake Bot API server on loopback.

The user's side is played through the fake server (messages and button taps become updates the bot
long-polls for); what the bot sends is read back from the calls the server answered.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import sys
import types
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import docx
import pytest
from aiohttp import web

from bot.adapters.telegram import SECRET_HEADER, TelegramChannel, command_text, split_text
from bot.app import open_app
from bot.config import Settings
from bot.documents.pdf import pdf_available
from bot.messages import Button, Incoming, Reply
from tests.conftest import SME_ANSWERS
from tests.fakes.telegram_api import FakeBotAPI, utf16_len

ROOT = Path(__file__).resolve().parents[2]
# seconds: the most an answer may take, never how long it should (a confirm with PDFs on starts LibreOffice
# cold; on a busy CI machine that passed 10 s)
BOUND = 60.0
SENT = ("sendMessage", "sendDocument", "sendPhoto", "editMessageText", "editMessageReplyMarkup")

# Answers by the start of the question they answer. A str is typed; ("tap", label) taps a button;
# ("toggle", [labels]) ticks multi-select buttons one by one and then taps 完成.
ANSWERS: dict[str, object] = {
    **SME_ANSWERS,
    "企业规模": ("tap", "确认"),
    "企业性质": ("tap", "民营"),
    "企业类型(可多选)": ("toggle", ["专精特新“小巨人”企业", "创新型中小企业"]),
    "还要添加": ("tap", "否"),
}


def question_of(text: str) -> str:
    """The question line of a bot message: the one with a progress mark "(n/N)", else the last line."""
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    for line in lines:
        if line.endswith(")") and "/" in line.rsplit("(", 1)[-1]:
            return line
    return lines[-1] if lines else ""


def labels(message: dict) -> list[str]:
    return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


class TgUser:
    """One Telegram user in a private chat with the bot."""

    def __init__(self, fake: FakeBotAPI, channel: TelegramChannel, chat_id: int = 501, language: str = "zh-hans"):
        self.fake, self.channel, self.chat_id, self.language = fake, channel, chat_id, language

    @property
    def messages(self) -> list[dict]:
        return self.fake.bot_messages(self.chat_id)

    @property
    def last(self) -> dict:
        assert self.messages, "the bot has sent nothing to this chat"
        return self.messages[-1]

    @property
    def text(self) -> str:
        return self.last.get("text") or self.last.get("caption") or ""

    def calls(self, *methods: str) -> list:
        return self.fake.calls_of(*(methods or SENT), chat_id=self.chat_id)

    async def deliver(self, update: dict) -> list:
        """Push an update; return what the bot sent or edited in this chat because of it."""
        mark = len(self.fake.calls)
        self.fake.push(update)
        await self.settle(mark)
        return [c for c in self.fake.calls[mark:] if c.method in SENT and c.chat_id == self.chat_id]

    async def settle(self, mark: int) -> None:
        await self.fake.wait_for(
            lambda: any(c.method in SENT and c.chat_id == self.chat_id and c.status == 200
                        for c in self.fake.calls[mark:]),
            seconds=BOUND, what=f"the bot to answer; its last message was:\n{self.messages[-1:] if self.messages else ''}")
        assert await self.channel.join(BOUND), "the bot did not finish handling the update"

    async def say(self, text: str) -> list:
        return await self.deliver(self.fake.text_update(self.chat_id, text, language=self.language))

    def button(self, label: str, message: dict | None = None) -> tuple[dict, str]:
        """(message, callback data) of the newest button whose label contains `label`."""
        for msg in ([message] if message else reversed(self.messages)):
            for row in msg.get("reply_markup", {}).get("inline_keyboard", []):
                for b in row:
                    if label in b["text"]:
                        return msg, b["callback_data"]
        raise AssertionError(f"no button {label!r}; last message: {self.text!r} {labels(self.last)}")

    async def tap(self, label: str, message: dict | None = None) -> list:
        msg, data = self.button(label, message)
        return await self.deliver(self.fake.callback_update(self.chat_id, msg["message_id"], data,
                                                            language=self.language))

    async def fill(self, answers: dict[str, object], until: str | None = None, limit: int = 80) -> None:
        """Answer whatever the bot asks, by the start of its question, until the review (or `until`)."""
        asked: dict[str, int] = {}
        for _ in range(limit):
            q = question_of(self.text)
            if until and q.startswith(until):
                return
            if any(lbl.startswith("确认并生成") for lbl in labels(self.last)):
                return
            asked[q] = asked.get(q, 0) + 1
            assert asked[q] <= 3, f"stuck at {q!r}; the bot's last message:\n{self.text}\n{labels(self.last)}"
            key = next((k for k in sorted(answers, key=len, reverse=True) if q.startswith(k)), None)
            assert key is not None, f"no answer for question {q!r}; the bot's last message:\n{self.text}"
            await self.answer(answers[key])
        raise AssertionError(f"the form did not finish; the bot's last message:\n{self.text}")

    async def answer(self, value: object) -> None:
        if isinstance(value, str):
            await self.say(value)
        elif isinstance(value, list):  # a long section: several messages, then 完成
            for part in value:
                await self.say(part)
        elif value[0] == "tap":
            await self.tap(value[1])
        else:
            question = self.last
            for label in value[1]:
                await self.tap(label, self.fake.messages[(self.chat_id, question["message_id"])])
            await self.tap("完成", self.fake.messages[(self.chat_id, question["message_id"])])


class Bot:
    """An App and its TelegramChannel on one data folder; stop and start again like a redeploy."""

    def __init__(self, settings: Settings, **channel_options) -> None:
        self.settings = settings
        self.options = {"polling_timeout": 1, "chat_rate": 200.0, "chat_burst": 50, "drain_timeout": 5,
                        **channel_options}
        self.app = None
        self.channel: TelegramChannel | None = None

    async def start(self) -> TelegramChannel:
        self.app = await open_app(self.settings)
        self.channel = TelegramChannel(self.app, **self.options)
        await self.channel.start()
        return self.channel

    async def stop(self) -> None:
        if self.channel is not None:
            await self.channel.stop()
            self.channel = None
        if self.app is not None:
            await self.app.close()
            self.app = None


@pytest.fixture
async def fake():
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
def settings(tmp_path, fake) -> Settings:
    return Settings(data_dir=tmp_path / "data", telegram_token=fake.token, telegram_api_base_url=fake.url)


@pytest.fixture
async def bot(settings):
    b = Bot(settings)
    await b.start()
    yield b
    await b.stop()


async def open_form(user: TgUser) -> None:
    await user.say("/start")
    if any("中小企业" in x for x in labels(user.last)):
        await user.tap("中小企业")
    await user.tap("对接表")
    if any("开始填写" in x for x in labels(user.last)):  # past the campaign's note (the 2024 programme is over)
        await user.tap("开始填写")


async def engine_reply(bot: Bot, chat_id: int, text: str) -> Reply:
    """The engine's own last reply to `text` from this chat (for buttons with real payloads)."""
    replies = await bot.app.engine.handle(Incoming(channel="telegram", user_id=str(chat_id), text=text,
                                                   message_id=f"direct-{chat_id}-{text}"))
    return replies[-1]


def docx_text(data: bytes) -> str:
    d = docx.Document(io.BytesIO(data))
    cells = [cell.text for t in d.tables for row in t.rows for cell in row.cells]
    return "\n".join([p.text for p in d.paragraphs] + cells)


# ---- the whole form ----------------------------------------------------------------------------

async def test_whole_form_by_taps_and_text_gives_the_docx(fake, bot):
    user = TgUser(fake, bot.channel)
    await open_form(user)
    assert question_of(user.text).startswith("企业名称")
    assert "reply_markup" not in user.last  # a free-text question shows no keyboard

    # 上一步: answer up to 法人代表, go back, the 注册时间 question comes again with its answer
    await user.fill(ANSWERS, until="法人代表")
    await user.say("上一步")
    assert question_of(user.text).startswith("注册时间"), user.text
    assert "2015-03-02" in user.text

    # the multi-select: each tap redraws the same message's ticks, no new message
    await user.fill(ANSWERS, until="企业类型")
    question = user.last
    assert all(x.startswith("☐ ") for x in labels(question)[:-1]) and labels(question)[-1] == "完成"
    sent = await user.tap("创新型中小企业")
    assert [c.method for c in sent] == ["editMessageReplyMarkup"]
    assert user.last["message_id"] == question["message_id"]
    assert "☑ 创新型中小企业" in labels(user.last) and "☐ 其他" in labels(user.last)
    await user.tap("专精特新“小巨人”企业", user.last)
    await user.tap("完成", user.last)
    assert "reply_markup" not in fake.messages[(user.chat_id, question["message_id"])]  # taps once only
    assert question_of(user.text).startswith("通讯地址")

    await user.fill(ANSWERS)
    review = user.last
    assert "上海测试科技有限公司" in user.text and "专精特新“小巨人”企业" in user.text

    # 修改: pick 企业名称 from the edit list, give a new one, back to the review
    await user.tap("修改", review)
    await user.tap("企业名称")
    assert question_of(user.text).startswith("企业名称")
    await user.say("上海测试二号科技有限公司")
    assert "上海测试二号科技有限公司" in "\n".join(m.get("text") or m.get("caption") or "" for m in user.messages[-3:])

    sent = await user.tap("确认并生成")
    doc_call, *pdf_calls = [c for c in sent if c.method == "sendDocument"]
    name, data = doc_call.files["document"]
    assert name == "中小企业揭榜对接表-上海测试二号科技有限公司.docx"
    assert "上海测试二号科技有限公司" in docx_text(data)
    assert "\n" not in doc_call.params["caption"] and 0 < utf16_len(doc_call.params["caption"]) <= 1024
    assert "已生成" in doc_call.params["caption"]
    if pdf_available():  # the PDF follows, as a second document
        [pdf_call] = pdf_calls
        assert pdf_call.files["document"][0] == "中小企业揭榜对接表-上海测试二号科技有限公司.pdf"
        assert pdf_call.files["document"][1].startswith(b"%PDF")
    else:
        assert pdf_calls == []
    # every tap was answered once, and no keyboard is left to tap but the newest one
    taps = [u["callback_query"]["id"] for u in fake.pushed if "callback_query" in u]
    assert sorted(c.params["callback_query_id"] for c in fake.calls_of("answerCallbackQuery")) == sorted(taps)
    with_keyboards = [m for m in user.messages if m.get("reply_markup")]
    assert len(with_keyboards) <= 1


async def test_tap_answers_the_callback_before_the_reply_and_takes_the_keyboard_away(fake, bot):
    user = TgUser(fake, bot.channel)
    await user.say("/start")
    menu = user.last
    mark = len(fake.calls)
    await user.tap("中小企业")
    methods = [c.method for c in fake.calls[mark:] if c.method != "getUpdates"]
    assert methods[0] == "answerCallbackQuery"
    assert methods.index("editMessageReplyMarkup") < methods.index("sendMessage")
    assert "reply_markup" not in fake.messages[(user.chat_id, menu["message_id"])]
    assert any("对接表" in x for x in labels(user.last))


# ---- delivery: duplicates, 429, restart, stale taps ---------------------------------------------

async def test_the_same_update_twice_has_one_effect(fake, bot):
    user = TgUser(fake, bot.channel)
    await open_form(user)
    update = fake.text_update(user.chat_id, "上海测试科技有限公司")
    mark = len(fake.calls)
    fake.push(update, update)  # Telegram delivering it again
    await user.settle(mark)
    await asyncio.sleep(0.2)
    assert await bot.channel.join(BOUND)
    sent = [c for c in fake.calls[mark:] if c.method == "sendMessage"]
    assert len(sent) == 1, [c.params["text"] for c in sent]
    assert question_of(user.text).startswith("统一社会信用代码")
    # stored once: the next answer goes to the next question, 上一步 leads back to the name once
    await user.say("上一步")
    assert question_of(user.text).startswith("企业名称") and "上海测试科技有限公司" in user.text


async def test_a_429_is_waited_out_and_the_message_arrives_once(fake, bot):
    user = TgUser(fake, bot.channel)
    await user.say("/start")
    fake.fail_next("sendMessage", 1, retry_after=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await user.tap("中小企业")
    assert loop.time() - started >= 0.9  # waited retry_after
    refused = [c for c in fake.calls if c.method == "sendMessage" and c.status == 429]
    delivered = [c for c in fake.calls_of("sendMessage", chat_id=user.chat_id) if c.at > refused[0].at]
    assert len(refused) == 1 and len(delivered) == 1
    assert delivered[0].params["text"] == refused[0].params["text"]
    assert any("对接表" in x for x in labels(user.last))


async def test_other_errors_are_logged_and_the_bot_carries_on(fake, bot, caplog):
    user = TgUser(fake, bot.channel)
    fake.fail_next("sendMessage", 1, status=403, description="Forbidden: bot was blocked by the user")
    update = fake.text_update(user.chat_id, "/start")
    fake.push(update)
    await fake.wait_for(lambda: any(c.status == 403 for c in fake.calls), what="the refused sendMessage")
    assert await bot.channel.join(BOUND)
    assert f"update {update['update_id']}" in caplog.text and "Forbidden" in caplog.text
    await user.say("/help")
    assert "上一步" in user.text


async def test_restart_mid_form_resumes_at_the_same_question(fake, settings):
    first = Bot(settings)
    await first.start()
    user = TgUser(fake, first.channel)
    await open_form(user)
    await user.fill(ANSWERS, until="企业注册地（县）")
    county = fake.text_update(user.chat_id, "跳过")
    await user.deliver(county)
    asked = user.text
    assert question_of(asked).startswith("注册时间")
    await first.stop()

    second = Bot(settings)  # a new App on the same SQLite file
    await second.start()
    try:
        user.channel = second.channel
        # Telegram delivering an update again after a crash: the stored reply again, no second effect
        # (a second 跳过 would be taken at 注册时间, which is required)
        sent = await user.deliver(county)
        assert [c.params["text"] for c in sent if c.method == "sendMessage"] == [asked]
        await user.say("2015-03-02")
        assert "注册时间 2015-03-02" in user.text
        assert question_of(user.text).startswith("法人代表")
        await user.say("上一步")
        assert question_of(user.text).startswith("注册时间") and "2015-03-02" in user.text
    finally:
        await second.stop()


async def test_a_stale_button_says_the_question_moved_on_and_asks_the_current_one(fake, bot):
    user = TgUser(fake, bot.channel)
    await user.say("/start")
    menu = user.last
    _, old_data = user.button("中小企业")
    await user.tap("中小企业")
    await user.tap("对接表")
    await user.tap("开始填写")
    # an old keyboard tapped (e.g. from a second phone showing the message before it was edited)
    sent = await user.deliver(fake.callback_update(user.chat_id, menu["message_id"], old_data))
    assert "已经过去" in sent[-1].params["text"]
    assert question_of(user.text).startswith("企业名称")


async def test_callback_data_fits_64_bytes_and_long_payloads_fall_back_to_numbers(fake, bot):
    user = TgUser(fake, bot.channel)
    await open_form(user)
    for call in fake.calls_of("sendMessage", "editMessageReplyMarkup", "editMessageText"):
        for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
            assert all(len(b["callback_data"].encode()) <= 64 for b in row)
    real = (await engine_reply(bot, user.chat_id, "/start")).buttons[0]  # a payload as the engine makes it
    ok = await bot.channel.send(str(user.chat_id), [Reply("请选择：", (Button("甲", "x" * 70), Button("乙", real.payload)))])
    assert ok and "reply_markup" not in user.last
    assert user.last["text"] == "请选择：\n1. 甲\n2. 乙"


def offsets_since(fake: FakeBotAPI, mark: int) -> list[int]:
    """The offsets of the getUpdates calls answered since `mark`: what they confirmed to the Bot API."""
    return [int(c.params.get("offset") or 0) for c in fake.calls[mark:] if c.method == "getUpdates" and c.status == 200]


def stuck_on(monkeypatch, app, text: str) -> asyncio.Event:
    """The engine never returns for `text` (a crash will end it); the event is set once it got there."""
    handle = app.engine.handle
    entered = asyncio.Event()

    async def stuck(incoming):
        if incoming.text == text:
            entered.set()
            await asyncio.Event().wait()
        return await handle(incoming)

    monkeypatch.setattr(app.engine, "handle", stuck)
    return entered


async def test_an_update_is_confirmed_only_once_handled_and_one_stopped_mid_way_comes_again(fake, settings,
                                                                                          monkeypatch):
    first = Bot(settings, drain_timeout=0.2)
    await first.start()
    entered = stuck_on(monkeypatch, first.app, "上海测试科技有限公司")
    user = TgUser(fake, first.channel)
    await open_form(user)
    update = fake.text_update(user.chat_id, "上海测试科技有限公司")
    uid = update["update_id"]
    mark = len(fake.calls)
    fake.push(update)
    await asyncio.wait_for(entered.wait(), 10)
    fake.push(fake.text_update(502, "/start"))  # another chat is not held up by it
    await fake.wait_for(lambda: fake.calls_of("sendMessage", chat_id=502), what="the other chat's answer")
    await fake.wait_for(lambda: len(offsets_since(fake, mark)) >= 3, what="polls while it is in hand")
    assert max(offsets_since(fake, mark)) <= uid  # never confirmed while in hand
    await first.stop()  # stopped (as a kill would) before the engine returned
    assert offsets_since(fake, mark)[-1] == uid
    assert uid in [u["update_id"] for u in fake.pending]  # still on the server

    second = Bot(settings)
    await second.start()
    try:
        user.channel = second.channel
        mark = len(fake.calls)
        await fake.wait_for(lambda: [c for c in fake.calls[mark:] if c.method == "sendMessage"
                                     and c.chat_id == user.chat_id], seconds=BOUND, what="the answer after the restart")
        assert await second.channel.join(BOUND)
        assert question_of(user.text).startswith("统一社会信用代码")  # the name was taken, once
        await fake.wait_for(lambda: max(offsets_since(fake, mark), default=0) > uid, what="the update confirmed")
    finally:
        await second.stop()


async def test_an_update_stuck_past_the_hold_limit_no_longer_holds_back_the_others(fake, settings, monkeypatch,
                                                                                 caplog):
    b = Bot(settings, hold_limit=0.3, drain_timeout=0.2)
    await b.start()
    try:
        entered = stuck_on(monkeypatch, b.app, "卡住")
        fake.push(fake.text_update(501, "卡住"))
        await asyncio.wait_for(entered.wait(), 10)
        later = fake.text_update(502, "/start")
        fake.push(later)
        await fake.wait_for(lambda: fake.calls_of("sendMessage", chat_id=502), what="the other chat's answer")
        await fake.wait_for(lambda: max(offsets_since(fake, 0), default=0) > later["update_id"], seconds=BOUND,
                            what="the later update confirmed")
        assert caplog.text.count("in hand for over") == 1
    finally:
        await b.stop()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
async def test_killed_between_receive_and_commit_the_update_is_fetched_again(fake, tmp_path):
    """kill -9 while a message is in hand (its file still downloading): the next process gets it again."""
    env = {**os.environ, "TELEGRAM_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.url, "JIEBANG_PDF": "off",
           "JIEBANG_DATA_DIR": str(tmp_path / "data"), "JIEBANG_PORT": str(_free_port())}
    for name in ("JIEBANG_DATABASE_URL", "TELEGRAM_WEBHOOK_URL"):
        env.pop(name, None)

    async def serve():
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "serve", "telegram", env=env,
                                                    cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL)

    fake.hold("download")
    proc = await serve()
    try:
        await fake.wait_for(lambda: fake.calls_of("deleteWebhook"), seconds=30, what="the bot to start polling")
        update = fake.document_update(42, b"%PDF-1.4 evidence", "营业执照.pdf")
        mark = len(fake.calls)
        fake.push(update)
        await fake.wait_for(lambda: fake.waiting.get("download"), seconds=20, what="the bot to fetch the file")
        await fake.wait_for(lambda: len(offsets_since(fake, mark)) >= 3, seconds=20, what="polls while in hand")
        proc.kill()
        await proc.wait()
        assert max(offsets_since(fake, mark)) <= update["update_id"]
        assert update["update_id"] in [u["update_id"] for u in fake.pending]

        fake.release("download")
        proc = await serve()
        answered = await fake.wait_for(lambda: fake.calls_of("sendMessage", chat_id=42), seconds=30,
                                       what="the answer from the next process")
        assert answered  # the message was handled after all (its file fetched again)
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            await proc.wait()
        assert update["update_id"] not in [u["update_id"] for u in fake.pending]  # confirmed now
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_toggle_redraws_in_place_whatever_its_payloads_look_like(fake, bot, monkeypatch):
    """In-place redraw is read off the reply (a multi-select with the tapped keyboard's labels, the same
    step), never off a payload: these payloads follow no format the channel could know."""
    ticked: set[str] = set()
    step = ["f/types"]

    def question() -> Reply:
        boxes = tuple(Button(x, f"≈{i}{x}", x in ticked) for i, x in enumerate(("甲", "乙")))
        return Reply("企业类型(可多选)", (*boxes, Button("完成", "≈done?")), multi=True, step=step[0])

    async def engine(incoming):
        if incoming.payload == "≈done?" and not ticked:
            return [Reply("请至少选择一项。\n企业类型(可多选)", question().buttons, multi=True, step=step[0])]
        if incoming.payload == "≈done?":
            step[0] = "f/types2"  # the next item's question: the same boxes, another question
            ticked.clear()
            return [question()]
        if incoming.payload:
            ticked.symmetric_difference_update({incoming.payload[2:]})
        return [question()]

    monkeypatch.setattr(bot.channel, "engine", types.SimpleNamespace(handle=engine))
    user = TgUser(fake, bot.channel)
    await user.say("开始")
    first = user.last
    assert [c.method for c in await user.tap("乙")] == ["editMessageReplyMarkup"]
    assert user.last["message_id"] == first["message_id"] and "☑ 乙" in labels(user.last)
    assert [c.method for c in await user.tap("乙", user.last)] == ["editMessageReplyMarkup"]  # off again
    sent = await user.tap("完成", user.last)  # nothing ticked: asked again on the same message
    assert [c.method for c in sent] == ["editMessageText"] and user.last["text"].startswith("请至少选择一项")
    await user.tap("甲", user.last)
    sent = await user.tap("完成", user.last)  # the next question, though it has the same boxes: a new message
    assert [c.method for c in sent] == ["editMessageReplyMarkup", "sendMessage"]
    assert "reply_markup" not in fake.messages[(user.chat_id, first["message_id"])]
    assert user.last["message_id"] != first["message_id"] and labels(user.last)[0] == "☐ 甲"


# ---- long replies, files ------------------------------------------------------------------------

async def test_a_long_summary_is_split_at_line_breaks_with_the_keyboard_on_the_last_part(fake, bot):
    user = TgUser(fake, bot.channel)
    lines = ["全部填完了。请核对："] + [f"第{i}项：{'内容' * 20}" for i in range(200)]
    summary = "\n".join(lines)
    assert len(summary) > 2 * 4096
    buttons = (await engine_reply(bot, user.chat_id, "/start")).buttons  # buttons as the engine makes them
    assert await bot.channel.send(str(user.chat_id), [Reply(summary, buttons)])
    parts = fake.calls_of("sendMessage", chat_id=user.chat_id)
    assert len(parts) == 3
    assert all(utf16_len(p.params["text"]) <= 4096 for p in parts)
    assert "\n".join(p.params["text"] for p in parts) == summary  # cut between lines, nothing lost
    assert [bool(p.params.get("reply_markup")) for p in parts] == [False, False, True]


def test_split_text_cuts_an_overlong_line_and_counts_utf16():
    assert split_text("a\nb", 3) == ["a\nb"]
    assert split_text("ab\ncd", 3) == ["ab", "cd"]
    assert split_text("x" * 10, 4) == ["xxxx", "xxxx", "xx"]
    assert split_text("😀😀😀", 4) == ["😀😀", "😀"]  # two UTF-16 units each


async def test_a_document_over_the_caption_limit_comes_with_its_text_first(fake, bot):
    from bot.messages import Document

    user = TgUser(fake, bot.channel)
    text = "已生成《中小企业“揭榜”对接表》。\n" + "说明" * 600
    assert await bot.channel.send(str(user.chat_id), [Reply(text, document=Document("表.docx", b"PK.."))])
    [message] = fake.calls_of("sendMessage", chat_id=user.chat_id)
    [doc] = fake.calls_of("sendDocument", chat_id=user.chat_id)
    assert message.params["text"] == text
    assert doc.params["caption"] == "已生成《中小企业“揭榜”对接表》。" and doc.files["document"] == ("表.docx", b"PK..")


async def test_a_file_from_the_user_reaches_the_engine_with_its_caption(fake, bot, monkeypatch):
    user = TgUser(fake, bot.channel)
    seen = []
    handle = bot.app.engine.handle

    async def spy(incoming):
        seen.append(incoming)
        return await handle(incoming)

    monkeypatch.setattr(bot.channel, "engine", types.SimpleNamespace(handle=spy))
    await open_form(user)
    await user.deliver(fake.document_update(user.chat_id, b"%PDF-1.4 evidence", "营业执照.pdf", caption="营业执照"))
    att = seen[-1].attachment
    assert att is not None and (att.filename, att.data, att.mime) == ("营业执照.pdf", b"%PDF-1.4 evidence",
                                                                       "application/pdf")
    assert seen[-1].text == "营业执照"
    assert fake.calls_of("download")
    await user.deliver(fake.photo_update(user.chat_id, b"\xff\xd8jpeg-bytes" * 10))
    assert seen[-1].attachment.data == b"\xff\xd8jpeg-bytes" * 10 and seen[-1].attachment.mime == "image/jpeg"
    assert user.text  # the engine answered (a re-ask or an acceptance), nothing silent


async def test_a_file_over_20_mb_is_refused_politely_without_downloading(fake, bot):
    user = TgUser(fake, bot.channel)
    await open_form(user)
    downloads = len(fake.calls_of("getFile", "download"))
    await user.deliver(fake.document_update(user.chat_id, b"big", "扫描件.pdf", file_size=25 * 1024 * 1024))
    assert "20 MB" in user.text and "25.0 MB" in user.text
    assert len(fake.calls_of("getFile", "download")) == downloads


# ---- who may see what ----------------------------------------------------------------------------

async def test_chat_b_cannot_see_chat_a_answers(fake, bot):
    alice, bob = TgUser(fake, bot.channel, 501), TgUser(fake, bot.channel, 502)
    await open_form(alice)
    await alice.say("甲方保密科技有限公司")
    await open_form(bob)
    for word in ("预览", "/status", "修改"):
        await bob.say(word)
        assert "甲方保密科技有限公司" not in bob.text + " ".join(labels(bob.last))
    assert all("甲方保密" not in (m.get("text") or "") for m in bob.messages)
    await alice.say("预览")
    assert "甲方保密科技有限公司" in alice.text


async def test_group_chats_get_a_polite_pointer_and_nothing_else(fake, bot):
    group = TgUser(fake, bot.channel, -1001)
    await group.deliver(fake.text_update(-1001, "/start", chat_type="supergroup"))
    assert "私聊" in group.text
    mark = len(fake.calls)
    fake.push(fake.text_update(-1001, "上海测试科技有限公司", chat_type="supergroup"))
    await asyncio.sleep(0.3)
    assert await bot.channel.join(BOUND)
    assert not [c for c in fake.calls[mark:] if c.method in SENT]  # told once, not on every message
    assert await bot.app.store.user("telegram", "-1001") is None  # nothing stored for a group


async def test_updates_of_one_chat_are_handled_in_order(fake, bot):
    user = TgUser(fake, bot.channel)
    await open_form(user)
    answers = ["上海测试科技有限公司", "91310000132149237G", "上海", "浦东新区"]
    mark = len(fake.calls)
    fake.push(*(fake.text_update(user.chat_id, a) for a in answers))  # one batch
    await fake.wait_for(lambda: len([c for c in fake.calls[mark:] if c.method == "sendMessage"]) >= 4,
                        what="four answers")
    assert await bot.channel.join(BOUND)
    texts = [c.params["text"] for c in fake.calls[mark:] if c.method == "sendMessage"]
    assert [question_of(t).split(" (")[0] for t in texts] == [
        "统一社会信用代码", "企业注册地（省）", "企业注册地（市(区)）", "企业注册地（县）"], texts


async def test_one_message_a_second_per_chat_and_other_chats_do_not_wait(fake, settings):
    b = Bot(settings, chat_rate=5.0, chat_burst=1)
    await b.start()
    try:
        a_id, c_id = 601, 602
        r = [Reply(f"提醒 {i}") for i in range(4)]
        loop = asyncio.get_running_loop()
        started = loop.time()
        task = asyncio.create_task(b.channel.send(str(a_id), r))
        await fake.wait_for(lambda: fake.calls_of("sendMessage", chat_id=a_id), what="first reminder")
        assert await b.channel.send(str(c_id), [Reply("另一位用户")])
        assert loop.time() - started < 0.5  # not behind chat A's queue
        assert await task
        times = [c.at for c in fake.calls_of("sendMessage", chat_id=a_id)]
        gaps = [y - x for x, y in zip(times, times[1:], strict=False)]
        assert len(times) == 4 and min(gaps) >= 0.15, gaps
        assert [c.params["text"] for c in fake.calls_of("sendMessage", chat_id=a_id)] == [x.text for x in r]
    finally:
        await b.stop()


# ---- commands, language, webhook --------------------------------------------------------------

async def test_commands_are_registered_in_chinese_and_english(fake, bot):
    assert {c["command"] for c in fake.commands[""]} == {"start", "help", "status", "files", "cancel", "lang"}
    assert {c["command"] for c in fake.commands["en"]} == {"start", "help", "status", "files", "cancel", "lang"}
    zh = {c["command"]: c["description"] for c in fake.commands[""]}
    en = {c["command"]: c["description"] for c in fake.commands["en"]}
    assert "进度" in zh["status"] and "Where am I" in en["status"]


async def test_the_telegram_language_is_the_users_language_and_lang_switches_it(fake, bot):
    user = TgUser(fake, bot.channel, 777, language="en")
    await user.say("/start@jiebang_test_bot")  # a command as a menu tap in some clients sends it
    assert len(labels(user.last)) == 2  # the role menu: /start@bot is /start
    assert (await bot.app.store.user("telegram", "777")).language == "en"
    await user.say("/lang")
    assert (await bot.app.store.user("telegram", "777")).language == "zh_CN"
    assert "已切换为中文" in user.text


@asynccontextmanager
async def webhook_bot(fake: FakeBotAPI, tmp_path: Path, **options):
    """An App and its TelegramChannel in webhook mode on a loopback web server; yields (app, channel, the
    webhook as the bot registered it). The fake's webhook URL is then pointed at the loopback server."""
    settings = Settings(data_dir=tmp_path / "data", telegram_token=fake.token, telegram_api_base_url=fake.url,
                        telegram_webhook_url="https://bot.example.cn/tg/hook", telegram_webhook_secret="s3cret-Token")
    app = await open_app(settings)
    channel = TelegramChannel(app, chat_rate=200.0, chat_burst=50, **options)
    web_app = web.Application()
    channel.add_routes(web_app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    await channel.start()
    try:
        registered = dict(fake.webhook)
        fake.webhook["url"] = f"http://127.0.0.1:{port}/tg/hook"  # where Telegram would reach us
        yield app, channel, registered
    finally:
        await channel.stop()
        await runner.cleanup()
        await app.close()


async def test_webhook_rejects_a_wrong_secret_and_accepts_the_right_one(fake, tmp_path):
    async with webhook_bot(fake, tmp_path) as (_app, channel, registered):
        assert registered == {"url": "https://bot.example.cn/tg/hook", "secret_token": "s3cret-Token"}
        assert not fake.calls_of("getUpdates")
        user = TgUser(fake, channel, 901)
        update = fake.text_update(901, "/start")
        assert await fake.deliver_webhook(update, secret="wrong") == 403
        async with aiohttp.ClientSession() as s:
            async with s.post(fake.webhook["url"], json=update) as r:
                assert r.status == 403  # no header at all
            async with s.post(fake.webhook["url"], json=update, headers={SECRET_HEADER: "密钥"}) as r:
                assert r.status == 403  # not even ASCII
        await asyncio.sleep(0.1)
        assert not fake.calls_of("sendMessage")
        assert await fake.deliver_webhook(update) == 200
        await user.settle(0)
        assert any("中小企业" in x for x in labels(user.last))
        assert await fake.deliver_webhook(update) == 200  # Telegram retrying: one effect
        assert await channel.join(BOUND)
        assert len(fake.calls_of("sendMessage")) == 1
        msg, data = user.button("中小企业")
        mark = len(fake.calls)
        assert await fake.deliver_webhook(fake.callback_update(901, msg["message_id"], data)) == 200
        await user.settle(mark)
        assert any("对接表" in x for x in labels(user.last))


async def test_webhook_malformed_json_with_the_right_secret_is_a_400_logged_once_not_a_500(fake, tmp_path, caplog):
    async with webhook_bot(fake, tmp_path) as (_app, _channel, _registered):
        url = fake.webhook["url"]
        async with aiohttp.ClientSession() as s:
            for body in (b'{"update_id": 1, "message": {', b"\xff\xfe\x00", b"[1, 2]", b'{"update_id": "x"}', b""):
                caplog.clear()
                async with s.post(url, data=body, headers={SECRET_HEADER: "s3cret-Token",
                                                           "Content-Type": "application/json"}) as r:
                    assert r.status == 400, body
                ours = [rec for rec in caplog.records if rec.name == "bot.adapters.telegram"]
                assert len(ours) == 1 and ours[0].levelname == "WARNING" and ours[0].exc_info is None, body
                assert "\n" not in ours[0].getMessage()
                assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR], body
        assert await fake.deliver_webhook(fake.text_update(901, "/start")) == 200  # and it carries on
        assert fake.calls_of("sendMessage", chat_id=901)


async def test_webhook_answers_200_only_once_the_update_is_handled_and_503_if_stopped_first(fake, tmp_path,
                                                                                          monkeypatch):
    async with webhook_bot(fake, tmp_path, drain_timeout=0.2) as (app, channel, _registered):
        handle = app.engine.handle
        entered, release = asyncio.Event(), asyncio.Event()

        async def slow(incoming):
            entered.set()
            await release.wait()
            return await handle(incoming)

        monkeypatch.setattr(app.engine, "handle", slow)
        update = fake.text_update(901, "/start")
        post = asyncio.create_task(fake.deliver_webhook(update))
        await asyncio.wait_for(entered.wait(), 10)
        retry = asyncio.create_task(fake.deliver_webhook(update))  # Telegram gave up waiting and sends it again
        done, _ = await asyncio.wait({post, retry}, timeout=0.5)
        assert not done, "answered before the engine returned: a crash now would lose the message"
        release.set()
        assert await post == 200 and await retry == 200
        assert len(fake.calls_of("sendMessage", chat_id=901)) == 1  # handled once

        entered.clear()
        release.clear()
        post = asyncio.create_task(fake.deliver_webhook(fake.text_update(901, "2")))
        await asyncio.wait_for(entered.wait(), 10)
        await channel.stop()  # a deploy while it is in hand: not handled, so Telegram must send it again
        assert await post == 503


def test_a_missing_token_is_a_clear_error(tmp_path):
    app = types.SimpleNamespace(settings=Settings(data_dir=tmp_path), engine=None)
    with pytest.raises(ValueError, match="TELEGRAM_TOKEN"):
        TelegramChannel(app)


# ---- the command line -------------------------------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
async def test_python_m_bot_serve_telegram_polls_answers_and_stops_cleanly(fake, tmp_path):
    env = {**os.environ, "TELEGRAM_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.url,
           "JIEBANG_DATA_DIR": str(tmp_path / "data"), "JIEBANG_PORT": str(_free_port())}
    for name in ("JIEBANG_DATABASE_URL", "TELEGRAM_WEBHOOK_URL"):
        env.pop(name, None)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "serve", "telegram", env=env,
                                                cwd=ROOT,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await fake.wait_for(lambda: fake.calls_of("deleteWebhook"), seconds=20, what="the bot to start polling")
        assert set(fake.commands) == {"", "en"}
        fake.push(fake.text_update(42, "/start"))
        sent = await fake.wait_for(lambda: fake.calls_of("sendMessage", chat_id=42), seconds=BOUND,
                                   what="the answer to /start")
        assert "揭榜助手" in sent[0].params["text"]
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            _out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert b"Traceback" not in err, err.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


# -- pages and pictures (issue 15) -------------------------------------------------------------------


def _png(width: int = 4, height: int = 6) -> bytes:
    """A real PNG of that size (grey)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def paged(tmp_path, fake):
    """A bot whose replies link to its pages, and those pages served on the public URL."""
    from bot.web.downloads import add_routes

    port = _free_port()
    settings = Settings(data_dir=tmp_path / "data", telegram_token=fake.token, telegram_api_base_url=fake.url,
                        public_url=f"http://127.0.0.1:{port}")
    b = Bot(settings)
    await b.start()
    web_app = web.Application()
    add_routes(web_app, b.app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield b
    await runner.cleanup()
    await b.stop()


async def test_a_reply_with_a_page_ends_with_the_link_that_opens_the_users_files(fake, paged):
    user = TgUser(fake, paged.channel)
    await user.say("/start")  # the user exists
    assert await paged.channel.send(str(user.chat_id), [Reply("已生成《中小企业“揭榜”对接表》。", page="files")])
    [sent] = fake.calls_of("sendMessage", chat_id=user.chat_id)[-1:]
    text, link = sent.params["text"].rsplit("\n", 1)
    assert text.startswith("已生成") and link.startswith("我的文件：" + paged.settings.public_url + "/m/")
    url = link.removeprefix("我的文件：")
    assert len(url) == len(paged.settings.public_url) + 21
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        assert r.status == 200 and "我的文件" in await r.text()


async def test_a_review_too_long_for_one_message_is_its_summary_and_the_link(fake, paged):
    user = TgUser(fake, paged.channel)
    review = Reply("【一、企业基本情况】\n" + "企业概况：公司专注工业软件研发。\n" * 400, summary="《对接表》30 项已填完，请核对。",
                   page="review:12", buttons=(Button("确认并生成文件", "confirm"), Button("修改", "edit")))
    assert await paged.channel.send(str(user.chat_id), [review])
    [sent] = fake.calls_of("sendMessage", chat_id=user.chat_id)  # one message, not four
    summary, link = sent.params["text"].split("\n\n")
    assert summary == "《对接表》30 项已填完，请核对。" and link.startswith("查看全部：http://127.0.0.1:")
    assert labels(fake.messages[(user.chat_id, fake.bot_messages(user.chat_id)[-1]["message_id"])]) == \
        ["确认并生成文件", "修改"]
    english = Reply("Done.", page="files", language="en")
    assert await paged.channel.send(str(user.chat_id), [english])
    assert fake.calls_of("sendMessage", chat_id=user.chat_id)[-1].params["text"].split("\n\n")[1].startswith(
        "My files: http://127.0.0.1:")


async def test_without_a_public_url_the_long_text_goes_whole_and_no_link(fake, bot):
    user = TgUser(fake, bot.channel)
    review = Reply("审核\n" * 1500, summary="摘要", page="review:1")
    assert await bot.channel.send(str(user.chat_id), [review])
    parts = [c.params["text"] for c in fake.calls_of("sendMessage", chat_id=user.chat_id)]
    assert len(parts) == 2 and "\n".join(parts) == review.text.strip() and "/m/" not in "".join(parts)


async def test_page_one_goes_as_a_photo_carrying_the_text_or_before_the_documents(fake, bot):
    from bot.messages import PNG_MIME, Document

    user = TgUser(fake, bot.channel)
    page1 = Document("对接表-第1页.png", _png(1080, 1527), mime=PNG_MIME)
    review = Reply("请核对《中小企业“揭榜”对接表》。", image=page1, buttons=(Button("确认并生成文件", "confirm"),))
    assert await bot.channel.send(str(user.chat_id), [review])
    [photo] = fake.calls_of("sendPhoto", chat_id=user.chat_id)
    assert photo.files["photo"][1] == page1.data and photo.params["caption"] == review.text
    assert fake.calls_of("sendMessage", chat_id=user.chat_id) == []  # the picture carries the text
    assert labels(fake.bot_messages(user.chat_id)[-1]) == ["确认并生成文件"]
    assert fake.bot_messages(user.chat_id)[-1]["photo"][-1]["width"] == 1080

    done = Reply("已生成《中小企业“揭榜”对接表》。", document=Document("表.docx", b"PK.."),
                 documents=(Document("表.pdf", b"%PDF-1.4", mime="application/pdf"),), image=page1)
    mark = len(fake.calls)
    assert await bot.channel.send(str(user.chat_id), [done])
    sent = [c for c in fake.calls[mark:] if c.chat_id == user.chat_id]
    assert [c.method for c in sent] == ["sendPhoto", "sendDocument", "sendDocument"]
    assert sent[0].params.get("caption") is None and sent[1].params["caption"] == done.text


async def test_a_slow_answer_shows_typing_and_a_quick_one_does_not(fake, settings, monkeypatch):
    """Issue 15: "typing…" while the documents are made (LibreOffice takes seconds); no chat action for an
    answer that comes at once. The engine is held on an event, not slowed by a sleep."""
    b = Bot(settings, typing_after=0.0)
    await b.start()
    try:
        user = TgUser(fake, b.channel)
        handle = b.app.engine.handle
        release = asyncio.Event()

        async def held(incoming):
            if incoming.text == "/status":  # answered only once the chat shows "typing…"
                await fake.wait_for(lambda: fake.calls_of("sendChatAction", chat_id=user.chat_id), what="typing")
                release.set()
            return await handle(incoming)

        monkeypatch.setattr(b.app.engine, "handle", held)
        await user.say("/status")
        assert release.is_set()
        [typing] = fake.calls_of("sendChatAction", chat_id=user.chat_id)[:1]
        assert typing.params["action"] == "typing"
    finally:
        await b.stop()
    quick = Bot(settings, typing_after=3600.0)
    await quick.start()
    try:
        before = len(fake.calls_of("sendChatAction"))
        await TgUser(fake, quick.channel, chat_id=502).say("/start")
        assert len(fake.calls_of("sendChatAction")) == before
    finally:
        await quick.stop()


def test_a_deep_link_keeps_its_start_payload_and_other_commands_lose_the_bot_name():
    """t.me/<bot>?start=sme_pudong arrives as "/start sme_pudong": the payload chooses role and district
    (issue 15); "/help@jiebang_bot" is /help."""
    assert command_text("/start sme_pudong") == "/start sme_pudong"
    assert command_text("/start@jiebang_bot sme_pudong") == "/start sme_pudong"
    assert command_text("/help@jiebang_bot") == "/help"
    assert command_text("/start 你好") == "/start"  # not a payload Telegram sends
