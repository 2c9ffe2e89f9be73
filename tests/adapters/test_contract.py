"""The channel contract (bot/adapters/base.py), checked against every registered channel the same way.

Each channel is made through the registry and driven the way its platform drives it: the terminal by
lines, Telegram through the fake Bot API (tests/fakes/telegram_api.py), the WeChat Official Account and
WeCom by signed, encrypted callbacks over loopback HTTP with the fake WeChat API
(tests/fakes/wechat_api.py), and the FakeChannel of bot/testing.py directly. What a user receives is
read back from where the platform shows it. The checks are what the contract promises:

- a message in reaches the engine (with a message id) and the engine's replies come out rendered with
  the platform's controls: buttons as a keyboard, or as numbered lines; a choice made with those
  controls reaches the engine as that choice;
- `send()` pushes replies unprompted and says whether they were delivered;
- a document reaches the user as a file or as a link that downloads it;
- `start()` / `stop()` leave nothing running behind.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import logging
import re
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

import bot
from bot.adapters import registry
from bot.adapters.base import Channel, WebRoutes, numbered
from bot.adapters.wechat.crypto import MsgCrypt, signature
from bot.adapters.wechat.xml import cdata, parse
from bot.app import open_app
from bot.config import Settings
from bot.messages import Document, Reply
from bot.web import downloads
from tests.fakes.telegram_api import FakeBotAPI
from tests.fakes.wechat_api import FakeWeChatAPI

WAIT = 30.0  # the bound on every wait here (an upper bound for a loaded machine)
TOKEN, APP_ID, AES_KEY = "contracttoken", "wx00000000contract", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP_ID, WECOM_TOKEN, WECOM_KEY = "ww00000000contract", "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
TICKS = ("☑ ", "☐ ")
_ids = itertools.count(7100000000000000001)


@dataclass
class Seen:
    """One message as the user saw it: its text, and the labels of its keyboard (ticks taken off)."""

    text: str
    keyboard: list[str] = field(default_factory=list)


def shown(seen: list[Seen], reply: Reply) -> bool:
    """The reply reached the user with its controls: its text with its buttons as a keyboard, or as the
    numbered lines a platform without keyboards shows."""
    labels = [b.label for b in reply.buttons]
    return any((reply.text in m.text and m.keyboard == labels) or (labels and numbered(reply) in m.text)
               for m in seen)


def number_of(seen: list[Seen], label: str) -> int:
    """The number a numbered-lines platform shows for the choice `label` (its newest menu)."""
    pattern = re.compile(rf"^(\d+)\. (?:[☑☐] )?{re.escape(label)}$", re.M)
    for m in reversed(seen):
        if (found := pattern.findall(m.text)):
            return int(found[-1])
    raise AssertionError(f"no numbered choice {label!r} in {[m.text for m in seen]}")


class Rig:
    """One channel on a data folder, the fakes of its platform, the web server `serve` would run."""

    def __init__(self, tmp_path: Path, tg: FakeBotAPI, wx: FakeWeChatAPI, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.tg, self.wx = tg, wx
        self.settings = Settings(
            data_dir=tmp_path / "data", secret="contract-secret", public_url=self.url, pdf=False,
            telegram_token=tg.token, telegram_api_base_url=tg.url,
            wechat_token=TOKEN, wechat_app_id=APP_ID, wechat_app_secret="appsecret",
            wechat_encoding_aes_key=AES_KEY, wechat_api_base_url=wx.url,
            wecom_corp_id=CORP_ID, wecom_agent_id="218", wecom_secret="corpsecret", wecom_token=WECOM_TOKEN,
            wecom_encoding_aes_key=WECOM_KEY, wecom_api_base_url=wx.url)
        self.app = None
        self.http: aiohttp.ClientSession | None = None
        self.calls: list[tuple[object, list[Reply]]] = []  # (incoming, the engine's replies), in order
        self.scripted: list[list[Reply]] = []  # replies the engine gives next instead of its own


class Driver:
    """The user's side of one channel."""

    name = ""
    user = ""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.channel: Channel | None = None

    def options(self) -> dict:
        return {}

    async def say(self, text: str) -> None:
        raise NotImplementedError

    async def choose(self, label: str) -> None:  # numbered lines: send the number
        await self.say(str(number_of(self.seen(), label)))

    def seen(self) -> list[Seen]:
        raise NotImplementedError

    async def files(self) -> list[bytes]:
        raise NotImplementedError

    def refuse(self) -> None:
        """Make the platform refuse the next delivery, the way it refuses one."""
        raise NotImplementedError

    async def settle(self) -> None:
        """Wait until what the channel does in the background (overflow, pushes) is done."""


class ConsoleDriver(Driver):
    name, user = "console", "local"

    def options(self) -> dict:
        self.out = io.StringIO()
        self.earlier: list[str] = []
        return {"stdin": io.StringIO(), "stdout": self.out, "user_id": self.user}

    async def say(self, text: str) -> None:
        await self.channel.say(text)

    def seen(self) -> list[Seen]:
        return [Seen(t) for t in [*self.earlier, "" if self.out.closed else self.out.getvalue()]]

    async def files(self) -> list[bytes]:  # the terminal names the file on disk
        text = "\n".join(m.text for m in self.seen())
        return [await asyncio.to_thread(Path(p).read_bytes) for p in re.findall(r"^文件：(.+)$", text, re.M)]

    def refuse(self) -> None:  # the terminal went away
        self.earlier.append(self.out.getvalue())
        self.out = io.StringIO()
        self.out.close()
        self.channel.stdout = self.out


class TelegramDriver(Driver):
    name, user, chat = "telegram", "501", 501
    SENT = ("sendMessage", "sendDocument", "sendPhoto", "editMessageText", "editMessageReplyMarkup")

    def options(self) -> dict:
        return {"polling_timeout": 1, "chat_rate": 200.0, "chat_burst": 50, "drain_timeout": 5}

    async def _deliver(self, update: dict) -> None:
        fake = self.rig.tg
        mark = len(fake.calls)
        fake.push(update)
        await fake.wait_for(lambda: any(c.method in self.SENT and c.chat_id == self.chat and c.status == 200
                                        for c in fake.calls[mark:]), seconds=WAIT, what="the bot to answer")
        assert await self.channel.join(WAIT)

    async def say(self, text: str) -> None:
        await self._deliver(self.rig.tg.text_update(self.chat, text))

    async def choose(self, label: str) -> None:  # tap the button
        fake = self.rig.tg
        for msg in reversed(fake.bot_messages(self.chat)):
            for row in msg.get("reply_markup", {}).get("inline_keyboard", []):
                for b in row:
                    if b["text"].removeprefix(TICKS[0]).removeprefix(TICKS[1]) == label:
                        await self._deliver(fake.callback_update(self.chat, msg["message_id"], b["callback_data"]))
                        return
        raise AssertionError(f"no button {label!r}")

    def seen(self) -> list[Seen]:
        out = []
        for c in self.rig.tg.calls_of(*self.SENT, chat_id=self.chat):
            markup = c.params.get("reply_markup") or {}
            labels = [b["text"].removeprefix(TICKS[0]).removeprefix(TICKS[1])
                      for row in markup.get("inline_keyboard", []) for b in row]
            text = c.params.get("text") or c.params.get("caption") or ""
            if c.method == "editMessageReplyMarkup":
                text = self.rig.tg.messages.get((self.chat, int(c.params["message_id"])), {}).get("text", "")
            out.append(Seen(text, labels))
        return out

    async def files(self) -> list[bytes]:
        return [c.files["document"][1] for c in self.rig.tg.calls_of("sendDocument", chat_id=self.chat)]

    def refuse(self) -> None:
        self.rig.tg.fail_next("sendMessage", 1, status=403, description="Forbidden: bot was blocked by the user")

    async def settle(self) -> None:
        assert await self.channel.join(WAIT)


class WeChatDriver(Driver):
    """An Official Account follower, as WeChat's servers speak for them: encrypted (safe mode)."""

    name, user = "wechat", "oContractUser1"
    token, key, receive_id, path = TOKEN, AES_KEY, APP_ID, "/wechat"

    def options(self) -> dict:
        self.crypt = MsgCrypt(self.token, self.key, self.receive_id)
        self.passive: list[str] = []
        return {"reply_window": 2.0, "overflow_delay": 0.01}

    def xml(self, content: str) -> str:
        return (f"<xml><ToUserName>{cdata('gh_contract')}</ToUserName><FromUserName>{cdata(self.user)}"
                f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType>{cdata('text')}</MsgType>"
                f"<Content>{cdata(content)}</Content><MsgId>{next(_ids)}</MsgId>{self.extra()}</xml>")

    def extra(self) -> str:
        return ""

    def query(self, ts: str, nonce: str, enc: str) -> dict:
        return {"signature": signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": self.user,
                "encrypt_type": "aes", "msg_signature": self.crypt.msg_signature(ts, nonce, enc)}

    async def say(self, text: str) -> None:
        ts, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
        enc = self.crypt.encrypt(self.xml(text))
        body = f"<xml><ToUserName>{cdata(self.receive_id)}</ToUserName>{self.extra()}<Encrypt>{cdata(enc)}</Encrypt></xml>"
        async with self.rig.http.post(f"{self.rig.url}{self.path}", params=self.query(ts, nonce, enc),
                                      data=body.encode()) as r:
            assert r.status == 200, (r.status, await r.text())
            out = await r.text()
        if out and out != "success":
            env = parse(out)
            assert self.crypt.verify(env["MsgSignature"], env["TimeStamp"], env["Nonce"], env["Encrypt"])
            self.passive.append(parse(self.crypt.decrypt(env["Encrypt"]))["Content"])
        await self.settle()

    def seen(self) -> list[Seen]:
        return [Seen(t) for t in [*self.passive, *self.rig.wx.texts_to(self.user)]]

    async def files(self) -> list[bytes]:
        out = []
        for url in re.findall(re.escape(self.rig.url) + r"/files/[A-Za-z0-9_.-]+", "\n".join(m.text for m in self.seen())):
            async with self.rig.http.get(url) as r:
                assert r.status == 200, url
                out.append(await r.read())
        return out

    def refuse(self) -> None:
        self.rig.wx.fail_next("/cgi-bin/message/custom/send", 45015)  # response out of time limit

    async def settle(self) -> None:
        await self.channel.join(WAIT)


class WeComDriver(WeChatDriver):
    name, user = "wecom", "zhangsan"
    token, key, receive_id, path = WECOM_TOKEN, WECOM_KEY, CORP_ID, "/wecom"

    def extra(self) -> str:
        return "<AgentID>218</AgentID>"

    def query(self, ts: str, nonce: str, enc: str) -> dict:
        return {"msg_signature": self.crypt.msg_signature(ts, nonce, enc), "timestamp": ts, "nonce": nonce}

    async def files(self) -> list[bytes]:
        sent = [c.body["file"]["media_id"] for c in self.rig.wx.calls_of("/cgi-bin/message/send")
                if c.body.get("msgtype") == "file" and c.body.get("touser") == self.user]
        return [self.rig.wx.media[m][1] for m in sent]

    def refuse(self) -> None:
        self.rig.wx.fail_next("/cgi-bin/message/send", 60020)  # not allowed from this IP


class FakeDriver(Driver):
    name, user = "fake", "u1"

    async def say(self, text: str) -> None:
        await self.channel.receive(self.user, text)

    async def choose(self, label: str) -> None:
        await self.channel.tap(self.user, label)

    def seen(self) -> list[Seen]:
        return [Seen(r.text, [b.label for b in r.buttons]) for r in self.channel.replies(self.user)]

    async def files(self) -> list[bytes]:
        return [d.data for d in self.channel.documents(self.user)]

    def refuse(self) -> None:
        self.channel.refuse = True


DRIVERS: dict[str, type[Driver]] = {d.name: d for d in (ConsoleDriver, TelegramDriver, WeChatDriver, WeComDriver,
                                                        FakeDriver)}


BOT = str(Path(bot.__file__).resolve().parent)


def _ours(task: asyncio.Task) -> bool:
    """A task running the bot's own code (a channel's worker, poller, job), not a fake's or aiohttp's."""
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and str(Path(code.co_filename).resolve()).startswith(BOT)


@pytest.fixture(params=sorted(DRIVERS))
async def driver(request, tmp_path, monkeypatch):
    registry.register("fake", "bot.testing:FakeChannel", served=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    async with FakeBotAPI() as tg, FakeWeChatAPI() as wx:
        rig = Rig(tmp_path, tg, wx, sock.getsockname()[1])
        rig.app = await open_app(rig.settings)
        handle = rig.app.engine.handle

        async def recorded(incoming):
            replies = rig.scripted.pop(0) if rig.scripted else await handle(incoming)
            rig.calls.append((incoming, replies))
            return replies

        monkeypatch.setattr(rig.app.engine, "handle", recorded)
        d = DRIVERS[request.param](rig)
        d.channel = registry.create(d.name, rig.app, **d.options())
        web_app = web.Application()
        if isinstance(d.channel, WebRoutes):
            d.channel.add_routes(web_app)
        downloads.add_routes(web_app, rig.app)
        runner = web.AppRunner(web_app)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        d.before = {t for t in asyncio.all_tasks() if _ours(t)}
        await d.channel.start()
        d.stopped = False
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT)) as rig.http:
                yield d
        finally:
            if not d.stopped:
                await d.channel.stop()
            await runner.cleanup()
            await rig.app.close()
            registry.unregister("fake")


def test_every_registered_channel_is_checked_here():
    assert set(registry.names()) | {"fake"} == set(DRIVERS)


async def test_a_message_in_gives_the_engines_replies_with_the_platforms_controls(driver):
    d = driver
    await d.say("/start")
    incoming, replies = d.rig.calls[-1]
    assert (incoming.channel, incoming.user_id, incoming.text) == (d.name, d.user, "/start")
    assert incoming.message_id  # the engine de-duplicates repeated deliveries by it
    assert any(r.buttons for r in replies)
    for reply in replies:
        assert shown(d.seen(), reply), f"{reply!r} not shown in {d.seen()}"

    choice = next(r for r in replies if r.buttons).buttons[1]  # 中小企业（揭榜）
    await d.choose(choice.label)
    chosen, replies = d.rig.calls[-1]
    assert chosen.message_id and chosen.message_id != incoming.message_id
    assert chosen.payload == choice.payload or chosen.text == "2", chosen  # that choice, as the engine made it
    assert any("对接表" in r.text + " ".join(b.label for b in r.buttons) for r in replies)
    for reply in replies:
        assert shown(d.seen(), reply), f"{reply!r} not shown in {d.seen()}"


async def test_send_pushes_unprompted_replies_and_says_whether_it_delivered(driver):
    d = driver
    await d.say("/start")  # the user is known (and on WeChat may be written to for a while)
    buttons = next(r for r in d.rig.calls[-1][1] if r.buttons).buttons
    reminder = Reply("截止提醒：《中小企业“揭榜”对接表》还有 3 天截止。", buttons)
    assert await d.channel.send(d.user, [reminder]) is True
    await d.settle()
    assert shown(d.seen(), reminder), d.seen()

    d.refuse()
    refused = Reply("第二条提醒：请尽快完成。")
    assert await d.channel.send(d.user, [refused]) is False
    await d.settle()
    assert not any(refused.text in m.text for m in d.seen())


async def test_a_document_reaches_the_user_as_a_file_or_a_link(driver):
    d = driver
    await d.say("/start")
    user = await d.rig.app.store.user(d.name, d.user)
    folder = d.rig.settings.documents_dir / str(user.id)
    folder.mkdir(parents=True, exist_ok=True)

    def document(n: int) -> Document:
        path = folder / f"{n}-中小企业揭榜对接表-契约测试.docx"
        path.write_bytes(b"PK\x03\x04 contract docx %d" % n)
        return Document(path.name.split("-", 1)[1], path.read_bytes(), path)

    answer = document(1)  # as the answer to a message
    d.rig.scripted.append([Reply("已生成《中小企业“揭榜”对接表》。", document=answer)])
    await d.say("1")
    assert answer.data in await d.files()

    pushed = document(2)  # pushed unprompted (文件 again, a reminder with the form)
    assert await d.channel.send(d.user, [Reply("这是您的表格。", document=pushed)]) is True
    await d.settle()
    assert pushed.data in await d.files()


async def test_start_and_stop_are_clean(driver, caplog):
    d = driver
    await d.say("/start")
    await d.channel.stop()  # stops with what it received handled, and nothing of its own left running
    d.stopped = True
    await asyncio.sleep(0)
    left = [t for t in asyncio.all_tasks() if _ours(t) and not t.done() and t not in d.before]
    assert not left, left
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("bot")]
    assert d.seen()  # the message was answered before it stopped
