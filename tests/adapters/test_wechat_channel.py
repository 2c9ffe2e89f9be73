"""The WeChat channels as WeChat talks to them: signed (and encrypted) XML posted over real HTTP to the
running server; what the bot sends through the API is read back from a fake WeChat API server."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import io
import itertools
import logging
import re
import socket
import sqlite3
import time
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import docx
import pytest
from aiohttp import web
from sqlalchemy import delete, event, select, update
from sqlalchemy.exc import OperationalError

from bot.adapters.wechat import WeChatChannel, budget, build_menu, create_menu
from bot.adapters.wechat.api import WeChatAPI
from bot.adapters.wechat.budget import TEXT_LIMIT, merge, split_bytes
from bot.adapters.wechat.crypto import MsgCrypt, signature
from bot.adapters.wechat.xml import cdata, parse
from bot.app import open_app
from bot.config import Settings
from bot.messages import PNG_MIME, Button, Document, Reply
from bot.server import make_runner
from bot.web import downloads
from storage.channel_models import ChannelArrival, ChannelNonce, ChannelState, channel_state
from storage.models import Submission, User
from tests.conftest import SME_ANSWERS
from tests.fakes.wechat_api import FakeWeChatAPI

TOKEN, APP_ID, AES_KEY = "jiebangtoken", "wx1234567890abcdef", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP_ID, WECOM_TOKEN, WECOM_KEY = "wx5823bf96d3bd56c7", "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CUSTOM = "/cgi-bin/message/custom/send"
WAIT = 30.0  # the bound on every wait in this file: an upper bound for a loaded machine, not a timing

# Answers by the start of the question they answer (choices by number, as a WeChat user types them).
ANSWERS = {**SME_ANSWERS, "企业性质": "2", "还要添加": "2"}


def question_of(text: str) -> str:
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    for line in lines:
        if line.endswith(")") and "/" in line.rsplit("(", 1)[-1]:
            return line
    questions = [x for x in lines if not re.match(r"^\d+\. ", x)]  # not a numbered choice
    return questions[-1] if questions else ""


def docx_text(data: bytes) -> str:
    d = docx.Document(io.BytesIO(data))
    cells = [cell.text for t in d.tables for row in t.rows for cell in row.cells]
    return "\n".join([p.text for p in d.paragraphs] + cells)


# -- the rig: fake API + the bot's server on loopback -------------------------------------------------

class Rig:
    def __init__(self, fake: FakeWeChatAPI, app, channel: WeChatChannel, url: str, http: aiohttp.ClientSession):
        self.fake, self.app, self.channel, self.url, self.http = fake, app, channel, url, http
        self.queries: list[dict[str, str]] = []  # every query string posted, as WeChat's servers sent it


@asynccontextmanager
async def server(settings: Settings, kind: str = "oa", window: float = 2.0, **channel_kw):
    """The bot's web server as `serve` runs it (its runner, so its access log), on a free loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    if not settings.public_url:
        settings = dataclasses.replace(settings, public_url=url)
    app = await open_app(settings)
    channel = WeChatChannel(app, kind=kind, reply_window=window, overflow_delay=0.01, **channel_kw)
    web_app = web.Application()
    channel.add_routes(web_app)
    downloads.add_routes(web_app, app)
    runner = make_runner(web_app)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    await channel.start()
    try:
        yield app, channel, url
    finally:
        await channel.stop(grace=WAIT)
        await runner.cleanup()
        await app.close()


@asynccontextmanager
async def rig(tmp_path, kind: str = "oa", window: float = 2.0, channel_kw: dict | None = None, **overrides):
    """A safe-mode Official Account (an EncodingAESKey is set) and a WeCom app; PDFs off (not the point)."""
    async with FakeWeChatAPI() as fake:
        settings = Settings(**{**dict(
            data_dir=tmp_path, secret="link-secret", pdf=False,
            wechat_token=TOKEN, wechat_app_id=APP_ID, wechat_app_secret="appsecret",
            wechat_encoding_aes_key=AES_KEY, wechat_api_base_url=fake.url,
            wecom_corp_id=CORP_ID, wecom_agent_id="218", wecom_secret="corpsecret", wecom_token=WECOM_TOKEN,
            wecom_encoding_aes_key=WECOM_KEY, wecom_api_base_url=fake.url), **overrides})
        async with server(settings, kind, window, **(channel_kw or {})) as (app, channel, url):
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT)) as http:
                yield Rig(fake, app, channel, url, http)


_ids = itertools.count(7000000000000000001)
_times = itertools.count(1700000000)


class WxUser:
    """One follower of the Official Account, as WeChat's servers speak for them: encrypted where the
    account has a key (safe mode), plain otherwise."""

    def __init__(self, rig: Rig, openid: str = "oUser1", safe: bool | None = None):
        self.rig, self.openid = rig, openid
        self.safe = rig.channel.crypt is not None if safe is None else safe
        self.crypt = MsgCrypt(TOKEN, AES_KEY, APP_ID)
        self.seen: list[str] = []  # every passive reply, in order

    @property
    def last(self) -> str:
        return self.seen[-1] if self.seen else ""

    def xml(self, msg_type: str, **fields: str) -> str:
        inner = "".join(f"<{k}>{cdata(v) if isinstance(v, str) else v}</{k}>" for k, v in fields.items())
        return (f"<xml><ToUserName>{cdata('gh_jiebang')}</ToUserName><FromUserName>{cdata(self.openid)}"
                f"</FromUserName><CreateTime>{next(_times)}</CreateTime>"
                f"<MsgType>{cdata(msg_type)}</MsgType>{inner}</xml>")

    def query(self, body: str, ts: str | None = None, nonce: str | None = None) -> tuple[dict[str, str], str]:
        """The query string and body WeChat would post for `body` (a message's XML)."""
        ts = ts or str(int(self.rig.channel.clock()))
        nonce = nonce or "n" + str(next(_ids))[-9:]
        query = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": self.openid}
        if self.safe:
            enc = self.crypt.encrypt(body)
            query.update(encrypt_type="aes", msg_signature=self.crypt.msg_signature(ts, nonce, enc))
            body = f"<xml><ToUserName>{cdata('gh_jiebang')}</ToUserName><Encrypt>{cdata(enc)}</Encrypt></xml>"
        return query, body

    async def post(self, xml: str, *, bad_signature: bool = False, ts: str | None = None, nonce: str | None = None,
                   url: str | None = None, prepared: tuple[dict[str, str], str] | None = None) -> tuple[int, str | None]:
        query, body = prepared or self.query(xml, ts, nonce)
        if bad_signature:
            query = {**query, "signature": "0" * 40}
        self.rig.queries.append(query)
        async with self.rig.http.post(f"{url or self.rig.url}/wechat?{urlencode(query)}", data=body.encode()) as r:
            status, text = r.status, await r.text()
        if status != 200 or text == "success":
            return status, None
        reply = parse(text)
        if "Encrypt" in reply:
            assert self.safe and set(reply) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}, text
            assert self.crypt.verify(reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"], reply["Encrypt"])
            reply = parse(self.crypt.decrypt(reply["Encrypt"]))
        else:
            assert not self.safe, f"a plain reply to an encrypted message: {text}"
        assert (reply["ToUserName"], reply["FromUserName"], reply["MsgType"]) == (self.openid, "gh_jiebang", "text")
        assert len(reply["Content"].encode()) <= TEXT_LIMIT
        self.seen.append(reply["Content"])
        return status, reply["Content"]

    async def exchange(self, text: str) -> list[str]:
        """Say `text`; everything that came back for it: the passive reply, then what the API carried."""
        before = len(self.rig.fake.sent_to(self.openid))
        passive = await self.say(text)
        await self.rig.channel.join(WAIT)
        return [x for x in [passive, *self.rig.fake.sent_to(self.openid)[before:]] if x is not None]

    async def say(self, text: str, msg_id: str | None = None) -> str | None:
        status, content = await self.post(self.xml("text", Content=text, MsgId=msg_id or str(next(_ids))))
        assert status == 200
        return content

    async def voice(self, recognition: str | None) -> str | None:
        fields = {"MediaId": "media1", "Format": "amr", "MsgId": str(next(_ids))}
        if recognition is not None:
            fields["Recognition"] = recognition
        return (await self.post(self.xml("voice", **fields)))[1]

    async def event(self, event: str, key: str | None = None, extra: str = "") -> str | None:
        xml = self.xml("event", Event=event, **({"EventKey": key} if key is not None else {}))
        return (await self.post(xml.replace("</xml>", extra + "</xml>")))[1]

    async def open_form(self) -> str:
        """Follow the account, say "SME", open the 对接表: the first question."""
        await self.event("subscribe")
        await self.say("2")
        first = await self.say("1")
        if first and "开始填写" in first:  # past the campaign's note (the 2024 programme is over)
            first = await self.say("1")
        return first

    async def past_start(self) -> str:
        """Past the screen before a form's first question (its campaign; the firm's facts to take over),
        by the number of its option, as a WeChat user types it."""
        for label in ("开始填写", "逐项核对", "Start filling in", "Check one by one"):
            found = re.search(rf"^(\d+)\. {re.escape(label)}$", self.last, re.M)
            if found:
                return await self.say(found.group(1))
        return self.last

    async def fill(self, answers: dict[str, str], on: dict[str, object] | None = None, limit: int = 60) -> str:
        """Answer until the review; `on` maps a question start to a coroutine function that answers it."""
        for _ in range(limit):
            text = self.last
            if "确认并生成文件" in text or "Confirm and make the file" in text:  # the review
                return text
            if text != await self.past_start():
                continue
            if "继续发送，或回复“完成”" in text or "Send more, or reply “done”" in text:  # a long text, sent
                await self.say("完成")
                continue
            q = question_of(text)
            key = next((k for k in sorted(answers, key=len, reverse=True) if q.startswith(k)), None)
            if key is None:
                raise AssertionError(f"no answer for question {q!r}; last reply:\n{text}")
            if on and key in on:
                await on.pop(key)(self)
            else:
                for part in ([answers[key]] if isinstance(answers[key], str) else answers[key]):
                    reply = await self.say(part)  # a long section: several messages, then 完成
                    assert reply is not None, f"no passive reply to {part!r} after:\n{text}"
        raise AssertionError(f"form did not finish; last reply:\n{self.last}")


async def wait_for(predicate, what: str, seconds: float = WAIT):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (value := predicate()):
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def answering(monkeypatch, r: Rig, answer) -> None:
    """The engine answers `answer(incoming)` (a list of replies), showing first what waited in the outbox,
    as the real one does."""
    async def handle(incoming):
        waited = await r.app.store.outbox_take(incoming.channel, incoming.user_id)
        return [*waited, *answer(incoming)]

    monkeypatch.setattr(r.app.engine, "handle", handle)


def gated_engine(monkeypatch, app) -> asyncio.Event:
    """The engine answers only once the test sets the event: a reply not ready within the window, with no
    race between a sleep and the window."""
    release = asyncio.Event()
    handle = app.engine.handle

    async def gated(incoming):
        await release.wait()
        return await handle(incoming)

    monkeypatch.setattr(app.engine, "handle", gated)
    return release


async def state_of(r: Rig, openid: str, channel: str = "wechat") -> ChannelState:
    return await channel_state(r.app.store, channel, openid)


# -- a whole 对接表 -------------------------------------------------------------------------------

async def test_follow_menu_voice_and_whole_form_to_a_download(tmp_path):
    async with rig(tmp_path) as r:
        u = WxUser(r)
        greeting = await u.event("subscribe")
        assert "揭榜助手" in greeting and "1. 大企业（发榜）" in greeting and "2. 中小企业（揭榜）" in greeting
        assert "中小企业“揭榜”对接表" in await u.say("2")
        assert "开始填写" in await u.say("1")  # the campaign's note: the 2024 programme is over
        assert question_of(await u.say("1")).startswith("企业名称")
        assert "随时可以回复" in await u.event("CLICK", "help")  # 帮助, and the question again
        assert question_of(u.last).startswith("企业名称")

        async def by_voice(user: WxUser) -> None:  # 法人代表 spoken, echoed, retried, confirmed
            assert await user.voice("李四。") == "我听到的是：李四。回复 1 确认，2 重说"
            assert "再说一遍" in await user.say("2")
            assert "直接打字" in await user.voice(None)
            assert await user.voice("张三") == "我听到的是：张三。回复 1 确认，2 重说"
            assert "✓ 已保存：法人代表 张三" in await user.say("1")

        async def check_status(user: WxUser) -> None:  # 我的进度 in the middle of the form
            status = await user.event("CLICK", "status")
            assert "已答" in status and question_of(status).startswith("传真")
            await user.say("跳过")

        review = await u.fill(ANSWERS, on={"法人代表": by_voice, "传真": check_status})
        assert "上海测试科技有限公司" in review and "1. 确认并生成文件" in review
        done = await u.say("1")
        assert "已生成" in done and "小时内有效" in done
        link = next(line for line in done.splitlines() if line.startswith(r.url + "/files/"))
        async with r.http.get(link) as resp:
            assert resp.status == 200
            assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
            data = await resp.read()
        assert "上海测试科技有限公司" in docx_text(data)
        assert not r.fake.calls_of(CUSTOM)  # everything fitted the passive replies
        assert (await state_of(r, u.openid)).voice_pending is None  # the confirmed voice answer is done with


async def test_an_english_speaker_gets_the_channels_own_lines_in_english(tmp_path):
    async with rig(tmp_path) as r:
        u = WxUser(r)
        await u.open_form()
        await u.fill(ANSWERS)
        assert (await u.say("English")).startswith("Switched to English.")
        assert await u.voice("2") == "I heard: 2. Reply 1 to confirm, 2 to say it again"
        assert (await u.say("2")).startswith("OK, please say it again, or type your answer.")
        done = await u.say("1")  # confirm the review
        assert "Download “" in done and "valid for" in done and "下载" not in done
        assert "小时内有效" not in done


async def test_retry_of_the_same_msgid_has_one_effect(tmp_path):
    async with rig(tmp_path) as r:
        u = WxUser(r)
        await u.open_form()
        first = await u.say("上海测试科技有限公司", msg_id="5555")
        again = await u.say("上海测试科技有限公司", msg_id="5555")
        assert first == again and question_of(first).startswith("统一社会信用代码")
        # answered once: the next answer goes to the credit code question
        assert "✓ 已保存：统一社会信用代码" in await u.say("91310000132149237G")


async def test_retry_while_the_first_is_still_running_sends_once(tmp_path, monkeypatch):
    async with rig(tmp_path, window=0.2) as r:
        release = gated_engine(monkeypatch, r.app)
        u = WxUser(r)
        xml = u.xml("text", Content="/start", MsgId="8888")
        assert await u.post(xml) == (200, None)  # no answer within the window: `success`, the API follows
        assert await u.post(xml) == (200, None)  # WeChat retries while the first is still running
        release.set()
        await r.channel.join(WAIT)
        sent = r.fake.texts_to(u.openid)
        assert len(sent) == 1 and "揭榜助手" in sent[0]


async def test_forged_signature_is_refused_and_nothing_stored(tmp_path):
    async with rig(tmp_path, wechat_encoding_aes_key="") as r:  # plain mode: the signature is all there is
        u = WxUser(r, openid="oForger")
        status, _ = await u.post(u.xml("text", Content="/start", MsgId="1"), bad_signature=True)
        assert status == 403
        assert await r.app.store.user("wechat", "oForger") is None
        ts, nonce = "1409735669", "1320562132"
        ok = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "e123"}
        async with r.http.get(f"{r.url}/wechat?{urlencode(ok)}") as resp:
            assert (resp.status, await resp.text()) == (200, "e123")
        async with r.http.get(f"{r.url}/wechat?{urlencode({**ok, 'signature': 'x' * 40})}") as resp:
            assert resp.status == 403
    async with rig(tmp_path) as r:  # safe mode: a good plain signature but a forged msg_signature
        u = WxUser(r, openid="oForger")
        ts = str(int(r.channel.clock()))
        enc = u.crypt.encrypt(u.xml("text", Content="/start", MsgId="2"))
        q = {"signature": signature(TOKEN, ts, "n"), "timestamp": ts, "nonce": "n", "encrypt_type": "aes",
             "msg_signature": "f" * 40}
        async with r.http.post(f"{r.url}/wechat?{urlencode(q)}", data=f"<xml><Encrypt>{enc}</Encrypt></xml>") as resp:
            assert resp.status == 403
        assert await r.app.store.user("wechat", "oForger") is None


@pytest.mark.parametrize("key", [AES_KEY, ""], ids=["safe", "plain"])
async def test_malformed_hostile_and_oversized_xml(tmp_path, key):
    async with rig(tmp_path, wechat_encoding_aes_key=key) as r:
        u = WxUser(r)  # in safe mode each body arrives encrypted and properly signed: what is inside is bad
        bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
                "<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><Content>&b;</Content></xml>")
        for body in ("<xml><Content>unclosed</xml>", "not xml at all", bomb, "<xml><MsgType>text</MsgType></xml>"):
            status, _ = await u.post(body)
            assert status == 400, body
        big = u.xml("text", Content="长" * 30000, MsgId="3")  # 90 KB > 64 KiB
        assert (await u.post(big))[0] == 413
        assert await r.app.store.user("wechat", u.openid) is None


async def test_safe_mode_end_to_end(tmp_path):
    async with rig(tmp_path) as r:
        u = WxUser(r, safe=True)
        greeting = await u.event("subscribe")
        assert "揭榜助手" in greeting
        assert "对接表" in await u.say("2")
        assert "开始填写" in await u.say("1")  # the campaign's note: the 2024 programme is over
        wechatpy_crypto = pytest.importorskip("wechatpy.crypto")  # cross-check with a second implementation
        theirs = wechatpy_crypto.WeChatCrypto(TOKEN, AES_KEY, APP_ID)
        ts, nonce = str(int(r.channel.clock())), "xyz"
        env = theirs.encrypt_message(u.xml("text", Content="1", MsgId=str(next(_ids))), nonce, ts)
        q = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
             "msg_signature": parse(env)["MsgSignature"]}
        async with r.http.post(f"{r.url}/wechat?{urlencode(q)}", data=env.encode()) as resp:
            out = await resp.text()
        reply = theirs.decrypt_message(out, parse(out)["MsgSignature"], parse(out)["TimeStamp"], nonce)
        assert question_of(parse(reply)["Content"]).startswith("企业名称")


@pytest.mark.parametrize("key", [AES_KEY, ""])
async def test_compatible_mode_plaintext_and_ciphertext_in_one_body(tmp_path, key):
    async with rig(tmp_path, wechat_encoding_aes_key=key) as r:
        u = WxUser(r)
        crypt = MsgCrypt(TOKEN, AES_KEY, APP_ID)
        xml = u.xml("event", Event="subscribe")
        enc, ts, nonce = crypt.encrypt(xml), str(int(r.channel.clock())), "cmp"
        body = xml.replace("</xml>", f"<Encrypt>{cdata(enc)}</Encrypt></xml>")
        q = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
             "msg_signature": crypt.msg_signature(ts, nonce, enc)}
        async with r.http.post(f"{r.url}/wechat?{urlencode(q)}", data=body.encode()) as resp:
            assert resp.status == 200
            out = parse(await resp.text())
        if key:  # a key configured: the ciphertext is used and the reply encrypted
            assert crypt.verify(out["MsgSignature"], out["TimeStamp"], out["Nonce"], out["Encrypt"])
            out = parse(crypt.decrypt(out["Encrypt"]))
        assert "揭榜助手" in out["Content"]


# -- issue 18: nobody acts as another user ----------------------------------------------------------

async def test_a_forged_plain_message_in_safe_mode_is_refused(tmp_path):
    """Regression: with an EncodingAESKey set, a plain message signed only by `signature` (sha1 of token,
    timestamp, nonce: no body, no openid) was accepted; one logged query let a forged 文件 or 预览 act as
    the victim."""
    async with rig(tmp_path) as r:
        victim = WxUser(r, openid="oVictim")
        await victim.open_form()
        await victim.say("上海测试科技有限公司")
        logged = r.queries[-1]  # a valid signature set for the victim's last request, as a log once showed it
        attacker = WxUser(r, openid="oVictim", safe=False)
        for words in ("预览", "文件"):
            forged = attacker.xml("text", Content=words, MsgId=str(next(_ids)))
            for query in ({k: logged[k] for k in ("signature", "timestamp", "nonce", "openid")},
                          logged):  # with or without encrypt_type=aes / msg_signature of another body
                async with r.http.post(f"{r.url}/wechat?{urlencode(query)}", data=forged.encode()) as resp:
                    assert resp.status == 403
                    assert "上海测试科技有限公司" not in await resp.text()
        # even a signature set never used before (a request caught on its way) does not carry a plain body
        fresh = attacker.query(attacker.xml("text", Content="预览", MsgId=str(next(_ids))))
        assert (await attacker.post("", prepared=fresh))[0] == 403
        assert not r.fake.calls_of(CUSTOM)
        # the victim's form did not move: their next answer goes to the next question
        assert "✓ 已保存：统一社会信用代码" in await victim.say("91310000132149237G")


async def test_compatible_mode_takes_plain_messages_only_when_configured(tmp_path):
    async with rig(tmp_path, wechat_mode="compatible") as r:
        assert r.channel.mode == "compatible"
        plain = WxUser(r, safe=False)
        assert "揭榜助手" in await plain.event("subscribe")
        assert "揭榜助手" in await WxUser(r, openid="oUser2").event("subscribe")  # encrypted still works
    async with rig(tmp_path) as r:
        assert r.channel.mode == "safe"
        assert (await WxUser(r, safe=False).post(WxUser(r).xml("event", Event="subscribe")))[0] == 403
    assert Settings.from_env({"WECHAT_MODE": "Compatible"}).wechat_mode == "compatible"


async def test_a_replayed_timestamp_or_nonce_is_refused_in_every_process(tmp_path, database_url):
    async with rig(tmp_path, database_url=database_url) as r:
        clock = [time.time()]
        r.channel.clock = lambda: clock[0]
        u = WxUser(r)
        ts, nonce = str(int(clock[0])), "1320562132"
        first_request = u.query(u.xml("text", Content="/start", MsgId="9001"), ts, nonce)
        status, first = await u.post("", prepared=first_request)
        assert status == 200 and "揭榜助手" in first
        # the same request again, as WeChat retries it: the same answer, one effect
        assert await u.post("", prepared=first_request) == (200, first)
        # another message under a timestamp and nonce already used: refused
        other = u.query(u.xml("text", Content="2", MsgId="9002"), ts, nonce)
        assert (await u.post("", prepared=other))[0] == 403
        # a timestamp more than 5 minutes away, however well signed: refused
        assert (await u.post(u.xml("text", Content="2", MsgId="9003"), ts=str(int(clock[0]) - 301)))[0] == 403
        assert (await u.post(u.xml("text", Content="2", MsgId="9004"), ts=str(int(clock[0]) + 301)))[0] == 403
        # a second process on the same database knows the pair too
        async with server(r.app.settings) as (_app2, channel2, url2):
            channel2.clock = r.channel.clock
            assert (await u.post("", prepared=other, url=url2))[0] == 403
            # WeChat's retry reaching the other process (the first one died, or its answer was lost on the
            # way): the same answer, from what the engine stored for that message; still one effect
            assert await u.post("", prepared=first_request, url=url2) == (200, first)
        clock[0] += 700  # the pair is refused by its timestamp now; the table forgets it
        assert (await u.post("", prepared=first_request))[0] == 403
        assert "对接表" in await u.say("2")  # the conversation went on from the one /start
        async with r.app.store.sessions() as session:
            kept = (await session.execute(select(ChannelNonce.nonce))).scalars().all()
        assert nonce not in kept and len(kept) == 1


async def test_no_log_line_carries_a_signature_an_openid_in_full_or_a_download_token(tmp_path, caplog):
    caplog.set_level(logging.INFO)  # what `serve` writes (drivers log their statements at DEBUG)
    async with rig(tmp_path) as r:
        u = WxUser(r, openid="oSecretOpenid4f9T2")
        await u.open_form()
        await u.fill(ANSWERS)
        done = await u.say("1")
        tokens = [line.rsplit("/files/", 1)[1] for line in done.splitlines() if "/files/" in line]
        async with r.http.get(f"{r.url}/files/{tokens[0]}") as resp:
            assert resp.status == 200
        async with r.http.get(f"{r.url}/files/{tokens[0][:-2]}xx") as resp:  # tampered: refused, and logged
            assert resp.status == 403
        again = await u.say("文件")
        tokens += [line.rsplit("/files/", 1)[1] for line in again.splitlines() if "/files/" in line]
        await WxUser(r, openid=u.openid, safe=False).post(u.xml("text", Content="文件"))  # forged: refused
        await u.voice("张三")
    secrets_ = {u.openid, *tokens} | {q[k] for q in r.queries for k in ("signature", "msg_signature") if k in q}
    lines = [rec.getMessage() + "\n" + (rec.exc_text or "") for rec in caplog.records]
    assert any('"POST /wechat"' in line for line in lines)  # the access log is written …
    assert any('"GET /files/{token}" 200' in line for line in lines)  # … naming routes, not paths
    for line in lines:
        assert not [x for x in secrets_ if x in line], line
        assert "signature=" not in line and "openid=" not in line, line


async def test_a_channel_without_a_token_or_with_an_unknown_mode_refuses_to_start(tmp_path):
    for settings in (Settings(data_dir=tmp_path),
                     Settings(data_dir=tmp_path, wechat_token=TOKEN, wechat_mode="safe"),  # safe needs a key
                     Settings(data_dir=tmp_path, wechat_token=TOKEN, wechat_encoding_aes_key=AES_KEY,
                              wechat_mode="secure")):
        app = await open_app(settings)
        try:
            for kind in ("oa", "wecom"):
                with pytest.raises(ValueError):
                    WeChatChannel(app, kind=kind)
        finally:
            await app.close()


async def test_other_message_types_get_a_plain_answer(tmp_path):
    async with rig(tmp_path) as r:
        u = WxUser(r)
        status, content = await u.post(u.xml("video", MediaId="m", ThumbMediaId="t", MsgId="42"))
        assert status == 200 and "文字" in content
        status, content = await u.post(u.xml("location", Location_X="31.2", Location_Y="121.5", MsgId="43"))
        assert status == 200 and "文字" in content
        status, content = await u.post(u.xml("image", PicUrl="http://x/y.jpg", MediaId="gone", MsgId="44"))
        assert status == 200 and content == "这张图片没有收到，请再发一次。"  # WeChat no longer has it
        assert await u.event("VIEW", "https://example.com") is None
        assert await u.event("unsubscribe") is None


# -- the 5-second window, long replies, the customer-service quota ------------------------------

async def test_slow_answer_continues_through_the_customer_service_api(tmp_path, monkeypatch):
    async with rig(tmp_path, window=0.3) as r:
        release = gated_engine(monkeypatch, r.app)
        u = WxUser(r)
        assert await u.event("subscribe") is None  # `success` within the window
        release.set()
        await r.channel.join(WAIT)
        calls = r.fake.calls_of(CUSTOM)
        assert len(calls) == 1 and calls[0].body["touser"] == u.openid and "揭榜助手" in calls[0].body["text"]["content"]
        assert len(r.fake.token_fetches) == 1


async def test_the_operator_sees_passive_replies_sent_and_missed_and_the_api_messages(tmp_path, monkeypatch):
    """/metrics (bot/metrics.py): a passive reply in time counts as sent; one that missed its window
    counts as missed and its answer as a customer-service message; WeChat's refusal by its errcode."""
    async with rig(tmp_path) as r:
        def seen(name: str, **labels: str) -> float:
            return r.app.metrics.registry.get_sample_value(name, {"channel": "wechat", **labels}) or 0.0

        u = WxUser(r)
        assert await u.event("subscribe") is not None  # the greeting, in the passive reply
        await r.channel.join(WAIT)
        assert seen("jiebang_wechat_passive_replies_total", outcome="sent") == 1
        sent_before = seen("jiebang_wechat_passive_replies_total", outcome="sent")
        missed_before = seen("jiebang_wechat_passive_replies_total", outcome="missed")
        api_before = seen("jiebang_wechat_customer_service_messages_total")
        release = gated_engine(monkeypatch, r.app)
        assert await u.say("/help") is None  # the window passes while the engine waits
        release.set()
        await r.channel.join(WAIT)
        assert seen("jiebang_wechat_passive_replies_total", outcome="missed") == missed_before + 1
        assert seen("jiebang_wechat_passive_replies_total", outcome="sent") == sent_before
        assert seen("jiebang_wechat_customer_service_messages_total") == api_before + 1
        r.fake.fail_next(CUSTOM, 45015)
        release.clear()
        assert await u.say("/status") is None
        release.set()
        await r.channel.join(WAIT)
        assert seen("jiebang_wechat_customer_service_errors_total", errcode="45015") == 1


async def test_a_long_reply_goes_within_one_messages_budget_and_the_rest_drains(tmp_path, monkeypatch):
    """A reply with no short version, eight messages long: three go now (the passive reply and two
    customer-service messages, leaving three of the five for reminders), the rest waits whole and goes at
    the next messages, after their answers, until nothing waits."""
    async with rig(tmp_path) as r:
        big = "\n".join(f"第{i}段：" + "很长的内容" * 130 for i in range(8))  # each ~1.9 KB: 8 messages

        answering(monkeypatch, r, lambda incoming: [Reply(big)] if incoming.text == "long"
                  else [Reply(f"好：{incoming.text}")])
        u = WxUser(r)
        got = {word: await u.exchange(word) for word in ("long", "a", "b", "c", "d")}
        heads = {word: [x.split("：")[0] for x in batch] for word, batch in got.items()}
        assert heads["long"] == ["第0段", "第1段", "第2段"]
        assert heads["a"] == ["好", "第3段", "第4段"] and heads["b"] == ["好", "第5段", "第6段"]
        assert heads["c"] == ["第7段"] and got["c"][0].endswith("\n\n好：c")  # what waited, then the answer
        assert got["d"] == ["好：d"]  # nothing waits any more

    short = merge([(f"回答{i}", Reply(f"回答{i}")) for i in range(30)])
    assert len(short) == 1 and len(short[0].sources) == 30
    pieces = split_bytes("一" * 3000)
    assert all(len(p.encode()) <= TEXT_LIMIT for p in pieces) and "".join(pieces) == "一" * 3000


async def test_quota_error_45047_keeps_the_reply_and_the_next_answer_supersedes_a_question(tmp_path, monkeypatch):
    async with rig(tmp_path, window=0.2) as r:
        u = WxUser(r)
        await u.event("subscribe")
        await r.channel.join(WAIT)  # on a busy machine its greeting may miss 0.2 s and go through the API: done
        calls_before, texts_before = len(r.fake.calls_of(CUSTOM, ok_only=False)), len(r.fake.texts_to(u.openid))
        release = gated_engine(monkeypatch, r.app)
        r.fake.fail_next(CUSTOM, 45047)
        assert await u.say("2") is None
        release.set()
        await r.channel.join(WAIT)
        assert r.fake.calls_of(CUSTOM, ok_only=False)[calls_before].errcode == 45047
        assert r.fake.texts_to(u.openid)[texts_before:] == []
        assert not await r.channel.allowance(u.openid)  # WeChat said the quota is used: nothing more now
        [kept] = await r.app.store.outbox_take("wechat", u.openid)  # the reply is kept, not lost …
        assert kept.screen == "menu" and "中小企业“揭榜”对接表" in [b.label for b in kept.buttons]
        await r.app.store.outbox_put("wechat", u.openid, [kept], reason="test: as it was")
        monkeypatch.undo()
        shown = await u.exchange("/help")  # … and the answer to the next message shows where they stand now:
        assert len(shown) == 1 and "随时可以回复" in shown[0]  # the menu that waited is not sent after it
        assert shown[0].count("1. 中小企业“揭榜”对接表") <= 1
        assert await r.app.store.outbox_take("wechat", u.openid) == []


# -- issue 15: a long 申请书 never jams the chat -----------------------------------------------------

PNG_1X1 = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
PARAGRAPH = ("我们的团队长期从事工业视觉检测算法研究，积累了大量产线数据与工程经验。" * 11)[:375]


def with_pictures(monkeypatch, r: Rig, tmp_path) -> None:
    """A finished form with the picture of its page 1, as the core sends it where LibreOffice makes the PDF
    (PDFs are off in these tests: not the point)."""
    picture = tmp_path / "page1.png"
    picture.write_bytes(PNG_1X1)
    handle = r.app.engine.handle

    async def handle_with_pictures(incoming):
        return [dataclasses.replace(reply, image=Document("第1页.png", PNG_1X1, picture, PNG_MIME))
                if reply.all_documents() and reply.image is None else reply for reply in await handle(incoming)]

    monkeypatch.setattr(r.app.engine, "handle", handle_with_pictures)


async def write_the_application(u: WxUser, evidence=None) -> list[list[str]]:
    """From the finished 对接表 to the 申请书's review: 8 sections of two 375-字 paragraphs (6,000 字), as a
    WeChat user sends them; `evidence(u)` sends the 佐证材料. Every exchange (what came back for each
    message), in order."""
    seen = [await u.exchange("1")]  # 写《申请书》事项1, from the 对接表's next steps
    if "开始填写" in u.last:  # the campaign's note
        seen.append(await u.exchange(re.search(r"^(\d+)\. 开始填写$", u.last, re.M).group(1)))
    seen.append(await u.exchange("1"))  # 关联关系声明: 非关联企业
    for _ in range(8):
        if "沿用上次" in u.last:
            seen.append(await u.exchange("2"))  # 修改: written anew
        assert "本节已写" in u.last, u.last
        seen += [await u.exchange(PARAGRAPH), await u.exchange(PARAGRAPH), await u.exchange("完成")]
    assert u.last.startswith("✓ 已保存：四、希望采取的合作方式") and "佐证材料" in u.last
    if evidence is not None:
        await evidence(u)
    seen.append(await u.exchange("完成"))  # the 佐证材料 done (or none): the review
    return seen


async def test_a_6000_character_application_gets_the_confirm_the_link_and_the_picture_next(tmp_path, monkeypatch):
    """Regression: a 申请书 of 8 sections × ~400 字 made a review longer than one passive reply and the
    5 customer-service messages; it was kept in the outbox from its start, re-sent at every later message,
    never drained, and the confirm's download link never reached the user."""
    async with rig(tmp_path) as r:
        with_pictures(monkeypatch, r, tmp_path)
        u = WxUser(r)
        await u.open_form()
        await u.fill(ANSWERS)
        await u.exchange("1")  # the 对接表 confirmed
        seen = await write_the_application(u)
        assert len(PARAGRAPH) * 16 == 6000
        assert all(len(batch) == 1 for batch in seen), "every answer in one passive reply"
        [review] = seen[-1]  # the review: one message, its summary, the link to all of it, its choices
        assert "全部填完了。请核对《大中小企业融通创新项目中小企业“揭榜”申请书》" in review
        assert "查看全部：https://open.weixin.qq.com/connect/oauth2/authorize?appid=" + APP_ID in review
        assert review.endswith("1. 确认并生成文件\n2. 修改")
        assert await r.app.store.outbox_take("wechat", u.openid) == []  # nothing waits to be re-sent

        done = await u.exchange("1")  # confirm: the very next replies
        assert done[0].startswith("已生成《大中小企业融通创新项目中小企业“揭榜”申请书》。")
        link = re.search(re.escape(r.url) + r"/files/\S+", done[0]).group(0)
        async with r.http.get(link) as resp:
            assert resp.status == 200 and PARAGRAPH[:40] in docx_text(await resp.read())
        assert "接下来" in done[0]  # the next step in the same message
        assert done[1:] == ["[image]"]  # page 1, by customer service
        assert r.fake.images_to(u.openid) == [PNG_1X1] * 2  # one for each form finished
        assert "确认并生成文件" not in "\n".join(done)  # the review is not sent again
        assert await u.exchange("/status") and await r.app.store.outbox_take("wechat", u.openid) == []
        assert len(r.fake.texts_to(u.openid)) == 0  # no customer-service quota spent on text


async def test_a_review_without_a_summary_is_still_one_message(tmp_path, monkeypatch):
    long_review = Reply("全部填完了。请核对：\n" + "\n".join(f"第{i}项：" + "很长的回答" * 60 for i in range(12)),
                        buttons=(Button("确认并生成文件", "r:ok"), Button("修改", "r:edit")), screen="review")
    async with rig(tmp_path) as r:
        answering(monkeypatch, r, lambda incoming: [long_review])
        u = WxUser(r)
        [shown] = await u.exchange("预览")
        assert shown.startswith("全部填完了。请核对：\n第0项：很长的回答") and "第11项：" in shown  # every line's start
        assert "（内容较长，每项只显示开头。）" in shown and shown.endswith("1. 确认并生成文件\n2. 修改")


def test_what_waited_is_judged_when_it_would_be_shown():
    doc = Document("对接表.docx", b"PK", Path("/data/documents/1/1-对接表.docx"))
    question = Reply("✓ 已保存：企业名称 上海测试\n统一社会信用代码 (2/26)", screen="ask", step="credit_code")
    later = Reply("✓ 已保存：统一社会信用代码 91310000132149237G\n注册地 (3/26)", screen="ask")
    done = Reply("已生成《对接表》。", document=doc, screen="done")
    again = Reply("你的文件：", document=doc, screen="files")  # a newer link to the same file
    reminders = [Reply(f"⏰ 提醒{i}") for i in range(5)]
    kept, dropped = budget.still_worth([question, done, *reminders, later, again, reminders[4]])
    # questions superseded (their ✓ lines stay, as one note); the newest link to the file; 3 notices, newest
    assert [k.text for k in kept] == ["⏰ 提醒2", "⏰ 提醒3", "你的文件：", "⏰ 提醒4",
                                      "✓ 已保存：企业名称 上海测试\n✓ 已保存：统一社会信用代码 91310000132149237G"]
    assert dropped == 6  # two questions, the older link, two older notices, the repeated notice
    # a plan takes the answer first, then links that waited (newest first), pictures, then notices
    answer = Reply("注册地 (3/26)", screen="ask")
    units = [budget.Unit(budget.CURRENT, "text", answer, text="注册地 (3/26)"),
             budget.Unit(budget.IMAGES, "image", done, doc=doc),
             budget.Unit(budget.OLD_NOTES, "text", reminders[0], text="x" * 2040, old=True),
             budget.Unit(budget.OLD_DOCS, "text", again, text="链接" * 340, old=True)]
    plan = budget.plan(units, budget=3)
    assert [m.kind for m in plan.messages] == ["text", "text", "image"] and plan.passive == "注册地 (3/26)"
    assert plan.messages[1].text.startswith("链接") and plan.left == [reminders[0]]
    assert budget.plan(units, budget=1).left == [reminders[0], again]  # the picture is never kept


# -- issue 15: the habits of WeChat ---------------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200 + b"\xff\xd9"


async def test_a_picture_sent_at_the_evidence_is_fetched_and_kept_with_the_application(tmp_path):
    """Regression: a picture at 佐证材料 (the question says files may be sent) got "暂时只能处理文字和语音消息"."""
    async with rig(tmp_path) as r:
        u = WxUser(r)
        await u.open_form()
        await u.fill(ANSWERS)
        await u.exchange("1")

        async def send_certificate(user: WxUser) -> None:
            media = r.fake.add_media(JPEG, "证书.jpg", "image/jpeg")  # as the phone uploaded it to WeChat
            status, reply = await user.post(user.xml("image", PicUrl="http://mmbiz.qpic.cn/x", MediaId=media,
                                                     MsgId=str(next(_ids))))
            assert status == 200 and "已列 1 项" in reply
            assert [c.query["media_id"] for c in r.fake.calls_of("/cgi-bin/media/get")] == [media]

        seen = await write_the_application(u, evidence=send_certificate)
        assert "佐证材料 📎 图片.jpg" in seen[-1][0]
        [kept] = list((r.app.settings.files_dir).rglob("图片.jpg"))
        assert kept.read_bytes() == JPEG
        done = await u.exchange("1")
        link = re.search(re.escape(r.url) + r"/files/\S+", done[0]).group(0)
        async with r.http.get(link) as resp:
            assert "附件：图片.jpg" in docx_text(await resp.read())

    async with rig(tmp_path / "two") as r:  # elsewhere in a form a picture is refused as a file is
        u = WxUser(r)
        await u.open_form()
        media = r.fake.add_media(JPEG)
        status, reply = await u.post(u.xml("image", PicUrl="http://x", MediaId=media, MsgId=str(next(_ids))))
        assert status == 200 and question_of(reply).startswith("企业名称") and "✗" in reply


@pytest.mark.parametrize("event, key", [("subscribe", "qrscene_pudong-2024"), ("SCAN", "pudong-2024")])
async def test_a_qr_code_with_a_scene_answers_and_keeps_its_scene(tmp_path, monkeypatch, event, key):
    async with rig(tmp_path) as r:
        clock = [1_800_000_000.0]
        r.channel.clock = lambda: clock[0]
        said = []
        handle = r.app.engine.handle

        async def heard(incoming):
            said.append(incoming.text)
            return await handle(incoming)

        monkeypatch.setattr(r.app.engine, "handle", heard)
        u = WxUser(r)
        if event == "SCAN":
            await u.event("subscribe")
        reply = await u.event(event, key, extra="<Ticket><![CDATA[gQH47joAAAAAAAAAASxodHRwOi8v]]></Ticket>")
        assert "揭榜助手" in reply  # answered
        state = await state_of(r, u.openid)
        assert state.scene == "pudong-2024" and state.scene_at.timestamp() == clock[0]  # kept
        assert (await r.channel.allowance(u.openid)).opened_by == ("scan" if event == "SCAN" else "follow")
        assert said[-1] == "/start pudong-2024"  # the engine takes the scene (a district's code)
        for bad in ("qrscene_<script>", "qrscene_" + "x" * 65, "qrscene_"):  # no scene, a plain /start
            await WxUser(r, openid="oOther").event("subscribe", bad)
            assert said[-1] == "/start"
        await u.event("subscribe")  # a follow without a code keeps the scene it had
        assert (await state_of(r, u.openid)).scene == "pudong-2024"


# -- issue 18: one user's messages in WeChat's order, across two processes ---------------------------

async def arrivals(store) -> list[tuple[str, bool]]:
    async with store.sessions() as session:
        return [(row.seq, row.started) for row in (await session.execute(
            select(ChannelArrival).order_by(ChannelArrival.seq))).scalars()]


async def answers_of(store, openid: str) -> dict:
    async with store.sessions() as session:
        return (await session.execute(select(Submission.answers).join(User, User.id == Submission.user_id)
                                      .where(User.external_id == openid))).scalar_one()


async def test_a_newer_message_at_another_process_waits_for_the_older_one(tmp_path, database_url, monkeypatch):
    """Regression: two messages of one user 50 ms apart at two processes on one database were applied in
    the order their commits landed (4 of 69 pairs reversed: an answer stored under the next question)."""
    async with rig(tmp_path, database_url=database_url, channel_kw={"order": True}) as r:
        async with server(r.app.settings, order=True) as (app_b, _channel_b, url_b):
            u = WxUser(r)
            await u.open_form()
            release = gated_engine(monkeypatch, r.app)  # process A takes its time over the first message
            entered_b = []
            handle_b = app_b.engine.handle

            async def recording(incoming):
                entered_b.append(incoming.text)
                return await handle_b(incoming)

            monkeypatch.setattr(app_b.engine, "handle", recording)
            first = u.xml("text", Content="上海测试科技有限公司", MsgId=str(next(_ids)))
            second_id = next(_ids)
            second = u.xml("text", Content="91310000132149237G", MsgId=str(second_id))
            at_a = asyncio.create_task(u.post(first))
            await wait_for_async(lambda: arrivals(r.app.store), lambda rows: rows and rows[0][1], "A started")
            at_b = asyncio.create_task(u.post(second, url=url_b))
            await wait_for_async(lambda: arrivals(r.app.store), lambda rows: len(rows) == 2, "B waiting")
            assert entered_b == []  # the newer message waits for the older one, handled elsewhere
            release.set()
            await asyncio.gather(at_a, at_b)
            await r.channel.join(WAIT)
            await _channel_b.join(WAIT)
            assert entered_b == ["91310000132149237G"]
            answers = await answers_of(r.app.store, u.openid)
            assert (answers["company_name"], answers["credit_code"]) == ("上海测试科技有限公司", "91310000132149237G")
            assert await arrivals(r.app.store) == []
            assert (await state_of(r, u.openid)).applied_seq.endswith(f"{second_id:020d}")  # the newest applied


async def test_an_older_message_arriving_after_a_newer_one_was_applied_is_not_applied(tmp_path, database_url):
    async with rig(tmp_path, database_url=database_url, channel_kw={"order": True}) as r:
        async with server(r.app.settings, order=True) as (_app_b, _channel_b, url_b):
            u = WxUser(r)
            await u.open_form()
            first = u.xml("text", Content="上海测试科技有限公司", MsgId=str(next(_ids)))
            second = u.xml("text", Content="上海第二科技有限公司", MsgId=str(next(_ids)))
            assert "✓ 已保存：企业名称 上海第二科技有限公司" in (await u.post(second, url=url_b))[1]
            status, late = await u.post(first)  # the older one, held up on its way to the other process
            assert status == 200
            assert late == "“上海测试科技有限公司”比您之后发的消息晚到，没有保存。如仍需要，请再发一次。"
            assert (await answers_of(r.app.store, u.openid))["company_name"] == "上海第二科技有限公司"
            assert "credit_code" not in await answers_of(r.app.store, u.openid)  # not taken for the next question
            assert "✓ 已保存：统一社会信用代码" in await u.say("91310000132149237G")  # and it goes on from there


async def wait_for_async(read, ok, what: str, seconds: float = WAIT):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ok(await read()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


# -- issue 18: a database outage loses nothing ----------------------------------------------------

class Outage:
    """The channel's own database calls fail while `on`, as on a full disk or a PostgreSQL restart: every
    statement through the store's SQLAlchemy engine raises OperationalError (the engine's own per-message
    path is not touched: its retries are its own)."""

    def __init__(self, engine) -> None:
        self.on = False
        self.failed = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._fail)

    def _fail(self, *_args, **_kw) -> None:
        if self.on:
            self.failed += 1
            raise OperationalError("(outage)", None, sqlite3.OperationalError("database or disk is full"))


QUICK = dict(retry_delays=(0.01, 0.02), held_retry=0.05)


async def test_a_database_outage_says_busy_not_sorry_and_loses_no_computed_reply(tmp_path, monkeypatch):
    """Regression: an outage gave "抱歉，这条消息没有处理成功" (the channel's own calls were not retried), and a
    reply computed before it was lost when neither sending nor the outbox worked."""
    async with rig(tmp_path, window=0.3, channel_kw=QUICK) as r:
        outage = Outage(r.app.store.engine)
        u = WxUser(r)
        await u.open_form()
        later = time.time() + 61  # past the minute within which a window just opened is not written again
        r.channel.clock = lambda: later
        outage.on = True
        busy = await u.say("上海测试科技有限公司")  # the channel cannot even note the message
        assert "系统暂时繁忙" in busy and "之前的回答都已保存" in busy and "抱歉" not in busy
        assert outage.failed >= 3  # tried, retried, then said so
        outage.on = False
        assert "✓ 已保存：企业名称" in await u.say("上海测试科技有限公司")

        # The engine commits the next answer, then the database goes away; the answer is late (the API
        # takes it), WeChat refuses it (quota) and the outbox cannot be written: it is held, not lost.
        release = gated_engine(monkeypatch, r.app)
        gated = r.app.engine.handle

        async def then_outage(incoming):
            replies = await gated(incoming)
            outage.on = True
            return replies

        monkeypatch.setattr(r.app.engine, "handle", then_outage)
        r.fake.fail_next(CUSTOM, 45047)
        assert await u.say("91310000132149237G") is None
        release.set()
        await r.channel.join(WAIT)
        assert r.fake.calls_of(CUSTOM, ok_only=False)[-1].errcode == 45047
        assert [x.text for x in r.channel.book.held[u.openid]][0].startswith("✓ 已保存：统一社会信用代码")
        monkeypatch.undo()
        outage.on = False
        shown = await u.say("/status")  # the held answer first (shown once), then the status
        assert shown.count("✓ 已保存：统一社会信用代码") == 1 and shown.index("✓ 已保存") < shown.index("已答")
        assert not r.channel.book.held and await r.app.store.outbox_take("wechat", u.openid) == []


async def test_replies_held_through_an_outage_are_stored_when_it_ends(tmp_path):
    async with rig(tmp_path, channel_kw=QUICK) as r:
        outage = Outage(r.app.store.engine)
        u = WxUser(r)
        await u.event("subscribe")
        outage.on = True
        await r.channel.book.keep(u.openid, [Reply("之前算好的回答")], "test")  # sending failed, outbox away
        assert r.channel.book.held
        outage.on = False
        await wait_for(lambda: not r.channel.book.held, "the held reply stored")
        assert [x.text for x in await r.app.store.outbox_take("wechat", u.openid)] == ["之前算好的回答"]


# -- issue 15: WeChat's customer-service windows ---------------------------------------------------

async def test_a_follow_allows_three_messages_within_a_minute_a_message_five_within_48_hours(tmp_path):
    async with rig(tmp_path) as r:
        clock = [1_800_000_000.0]
        r.channel.clock = lambda: clock[0]
        u = WxUser(r)
        await u.event("subscribe")
        a = await r.channel.allowance(u.openid)
        assert (a.count, a.opened_by, a.until.timestamp()) == (3, "follow", clock[0] + 60)
        for i in range(3):
            assert await r.channel.send(u.openid, [Reply(f"提醒{i}")]) is True
        assert await r.channel.send(u.openid, [Reply("第四条")]) is False  # 3 per minute after a follow
        clock[0] += 30
        assert (await r.channel.allowance(u.openid)).count == 0
        clock[0] += 31  # the minute is over: no 48-hour window was ever opened by the follow
        assert not await r.channel.allowance(u.openid)

        await u.say("/help")  # a message of theirs: 5 within 48 h
        a = await r.channel.allowance(u.openid)
        assert (a.count, a.opened_by, a.until.timestamp()) == (5, "message", clock[0] + 48 * 3600)
        clock[0] += 47 * 3600
        await u.event("CLICK", "status")  # a menu click: 3 within a minute, and no new 48-hour quota
        for i in range(5):
            assert await r.channel.send(u.openid, [Reply(f"消息{i}")]) is True
        assert await r.channel.send(u.openid, [Reply("第六条")]) is False
        state = await state_of(r, u.openid)
        assert (state.message_sent, state.event_kind, state.event_sent) == (5, "click", 5)
        clock[0] += 3600 + 1  # 48 h after the message
        assert (await r.channel.allowance(u.openid)).count == 0
        assert len(r.fake.texts_to(u.openid)) == 8
        await u.say("好")  # every message of theirs opens its window afresh
        assert (await r.channel.allowance(u.openid)).count == 5


async def test_a_window_opened_under_a_minute_ago_is_not_written_again(tmp_path):
    """On SQLite every write of the channel waits for the one writer: a message of a user who wrote under a
    minute ago, with nothing sent since, leaves the window as it was opened (it closes that much earlier
    than WeChat's: the safe side)."""
    async with rig(tmp_path) as r:
        clock = [1_800_000_000.0]
        r.channel.clock = lambda: clock[0]
        u = WxUser(r)
        await u.event("subscribe")
        await u.say("/help")
        opened = (await state_of(r, u.openid)).message_at
        assert opened.timestamp() == clock[0]
        clock[0] += 30
        await u.say("/help")
        assert (await state_of(r, u.openid)).message_at == opened  # not written again
        assert (await r.channel.allowance(u.openid)).count == 5
        assert await r.channel.send(u.openid, [Reply("提醒")]) is True  # one sent: the next message writes
        clock[0] += 1
        await u.say("/help")
        state = await state_of(r, u.openid)
        assert (state.message_at.timestamp(), state.message_sent) == (clock[0], 0)
        clock[0] += 61
        await u.say("/help")
        assert (await state_of(r, u.openid)).message_at.timestamp() == clock[0]
        assert (await r.channel.allowance(u.openid, clock[0] + 48 * 3600 - 1)).count == 5


async def test_the_passive_window_counts_from_the_request_not_from_our_checks(tmp_path, monkeypatch):
    """Regression: the 4.5 s were counted from when the job started, after the nonce had been checked: under
    load the HTTP answer came after WeChat's 5 s, and WeChat had given up on it."""
    async with rig(tmp_path) as r:
        release = gated_engine(monkeypatch, r.app)
        u = WxUser(r)
        xml = u.xml("text", Content="/start", MsgId=str(next(_ids)))
        msg = parse(xml)
        content = await r.channel.callbacks.respond(msg, None, deadline=asyncio.get_running_loop().time() - 0.1)
        assert content is None  # the window was over on arrival: `success`, and the API carries the answer
        release.set()
        await r.channel.join(WAIT)
        assert "揭榜助手" in r.fake.texts_to(u.openid)[0]


async def test_bookkeeping_an_earlier_version_kept_in_prefs_is_read_once(tmp_path):
    async with rig(tmp_path) as r:
        u = WxUser(r)
        assert question_of(await u.open_form()).startswith("企业名称")
        async with r.app.store.sessions() as session, session.begin():  # as an earlier version left it
            prefs = {"voice_pending": "上海测试科技有限公司", "last_msg_at": r.channel.clock() - 60, "cs_used": 4,
                     "notify_asked": True, "sent_via": {"custom": 2}, "last_sent_via": "custom", "role": "sme"}
            await session.execute(update(User).where(User.channel == "wechat", User.external_id == u.openid)
                                  .values(prefs=prefs))
            await session.execute(delete(ChannelState).where(ChannelState.external_id == u.openid))
        a = await r.channel.allowance(u.openid)
        assert (a.count, a.opened_by) == (1, "message")  # 4 of its 5 used
        state = await state_of(r, u.openid)
        assert (state.notify_asked, state.sent_via, state.last_sent_via) == (True, {"custom": 2}, "custom")
        # the voice answer waiting in prefs is the one "1" confirms
        assert "✓ 已保存：企业名称 上海测试科技有限公司" in await u.say("1")
        async with r.app.store.sessions() as session, session.begin():  # prefs are read once, not again
            await session.execute(update(User).where(User.channel == "wechat", User.external_id == u.openid)
                                  .values(prefs={**prefs, "voice_pending": "别的公司"}))
        assert (await state_of(r, u.openid)).voice_pending is None


# -- access_token ---------------------------------------------------------------------------------

async def test_access_token_fetched_once_and_refreshed_after_40001(tmp_path):
    async with FakeWeChatAPI() as fake:
        api = WeChatAPI(fake.url, "oa", APP_ID, "appsecret")
        try:
            await asyncio.gather(*(api.custom_send_text(f"o{i}", "hi") for i in range(10)))
            assert len(fake.token_fetches) == 1 and len(fake.calls_of(CUSTOM)) == 10
            fake.expire_tokens()  # another process fetched a new token: ours is refused with 40001
            await asyncio.gather(*(api.custom_send_text(f"p{i}", "hi") for i in range(5)))
            assert len(fake.token_fetches) == 2 and len(fake.calls_of(CUSTOM)) == 15
            assert [c.errcode for c in fake.calls_of(CUSTOM, ok_only=False)].count(40001) == 5
        finally:
            await api.close()
        # it refreshes before expiry (5 min early), not per message
        now = [0.0]
        api = WeChatAPI(fake.url, "wecom", CORP_ID, "corpsecret", clock=lambda: now[0])
        try:
            await api.app_send("zhangsan", "218", "text", {"content": "x"})
            now[0] = 7200 - 301
            await api.app_send("zhangsan", "218", "text", {"content": "y"})
            assert len(fake.token_fetches) == 3
            now[0] = 7200 - 299
            await api.app_send("zhangsan", "218", "text", {"content": "z"})
            assert len(fake.token_fetches) == 4 and fake.token_fetches[-1]["corpid"] == CORP_ID
        finally:
            await api.close()


# -- reminders ------------------------------------------------------------------------------------

async def test_reminders_take_the_best_path_available(tmp_path):
    template = "TPL-reminder-1"
    async with rig(tmp_path, wechat_reminder_template_id=template) as r:
        clock = [time.time()]
        r.channel.clock = lambda: clock[0]
        u = WxUser(r)
        await u.event("subscribe")
        reminder = [Reply("《对接表》还差 3 项，截止 7 月 22 日。\n回复“状态”查看")]
        assert await r.channel.send(u.openid, reminder) is True  # within a minute of the follow: customer service
        assert r.fake.texts_to(u.openid)[-1].startswith("《对接表》还差 3 项")
        popup = ("<SubscribeMsgPopupEvent><List><TemplateId>TPL-reminder-1</TemplateId>"
                 "<SubscribeStatusString>accept</SubscribeStatusString><PopupScene>2</PopupScene></List>"
                 "</SubscribeMsgPopupEvent>")
        await u.event("subscribe_msg_popup_event", extra=popup)
        assert await r.channel.send(u.openid, reminder) is True  # consented: a subscription notification
        biz = r.fake.calls_of("/cgi-bin/message/subscribe/bizsend")
        assert len(biz) == 1 and biz[0].body["template_id"] == template
        assert biz[0].body["data"]["thing1"]["value"] == "《对接表》还差 3 项，截止 7 月 22 日。"[:20]
        change = popup.replace("Popup", "Change").replace("accept", "reject").replace("<PopupScene>2</PopupScene>", "")
        await u.event("subscribe_msg_change_event", extra=change)
        clock[0] += 49 * 3600  # 49 h later: no notification consent, no window open
        assert await r.channel.send(u.openid, reminder) is False  # not delivered: its caller keeps it
        assert r.channel.sent_via == {"custom": 1, "subscribe": 1, "outbox": 1}
        state = await state_of(r, u.openid)
        assert state.sent_via == {"custom": 1, "subscribe": 1, "outbox": 1} and state.last_sent_via == "outbox"
        kept = await r.app.store.outbox_take("wechat", u.openid)
        # the whole text after the notification; the undelivered one is left to the reminder service's
        # outbox (kept here too, it reached the user twice)
        assert [k.text for k in kept] == [reminder[0].text]


async def test_reminders_are_sent_only_into_windows_that_exist_else_they_wait_for_the_next_message(tmp_path):
    from bot.campaigns import ReminderService
    from bot.campaigns.model import Campaign
    from bot.campaigns.pack import shipped
    from bot.campaigns.repo import save_campaign

    async with rig(tmp_path) as r:
        async with r.app.store.sessions() as session, session.begin():  # a campaign whose deadline is ahead
            shanghai = next(c for c in shipped() if c["id"] == "2024-shanghai")
            await save_campaign(session, Campaign({**shanghai, "id": "2027-shanghai", "year": 2027})
                                .with_deadline("sme_match", date(2027, 3, 10)))
        now = [datetime(2027, 3, 2, 2, 0, tzinfo=UTC)]  # 10:00 in Shanghai
        r.channel.clock = lambda: now[0].timestamp()
        service = ReminderService(r.app, {"wechat": r.channel}, clock=lambda: now[0])
        u = WxUser(r)
        await u.open_form()
        for answer in ("上海测试科技有限公司", "91310000132149237G", "上海", "浦东新区", "跳过"):
            await u.say(answer)
        assert await service.plan() == 4  # 7, 3, 1 days before and on the day

        now[0] = datetime(2027, 3, 3, 1, 0, tzinfo=UTC)  # 09:00, 23 h after their last message: a window
        assert (await service.run_due()).sent == 1
        assert "还有 7 天" in r.fake.texts_to(u.openid)[-1]

        now[0] = datetime(2027, 3, 7, 1, 0, tzinfo=UTC)  # 5 days on: no window, no consent to notifications
        tries = len(r.fake.calls_of(CUSTOM, ok_only=False))
        result = await service.run_due()
        assert (result.sent, result.queued) == (0, 1)
        assert len(r.fake.calls_of(CUSTOM, ok_only=False)) == tries  # not even tried into a closed window
        assert r.channel.sent_via["custom"] == 1 and "outbox" not in r.channel.sent_via

        shown = await u.exchange("2015-03-02")  # their next message: the reminder with the answer to it
        assert len(shown) == 1 and "还有 3 天" in shown[0] and "✓ 已保存：注册时间 2015-03-02" in shown[0]
        assert shown[0].index("还有 3 天") < shown[0].index("✓ 已保存：注册时间")
        assert "继续填写" not in shown[0]  # its button's number would answer the current question instead
        assert await r.app.store.outbox_take("wechat", u.openid) == []


# -- the menu -------------------------------------------------------------------------------------

async def test_menu_within_wechat_limits_and_created(tmp_path):
    menu = build_menu()
    assert menu == {"button": [{"type": "click", "name": "填表", "key": "start"},
                               {"type": "click", "name": "我的进度", "key": "status"},
                               {"type": "click", "name": "帮助", "key": "help"}]}
    for bad in ([("一", "a")] * 4, [("五个汉字啊", "a")], [("表", [("x", "k")] * 6)], [("a", "")]):
        with pytest.raises(ValueError):
            build_menu(bad)
    nested = build_menu([("表格", [("对接表", "start"), ("我的进度", "status")]), ("帮助", "help")])
    assert nested["button"][0]["sub_button"][1] == {"type": "click", "name": "我的进度", "key": "status"}
    async with FakeWeChatAPI() as fake:
        api = WeChatAPI(fake.url, "oa", APP_ID, "appsecret")
        try:
            await create_menu(api)
        finally:
            await api.close()
        assert fake.calls_of("/cgi-bin/menu/create")[0].body == menu


# -- WeCom ----------------------------------------------------------------------------------------

async def test_wecom_url_verification_with_the_encrypted_echostr(tmp_path):
    async with rig(tmp_path, kind="wecom") as r:
        r.channel.clock = lambda: 1409659589.0 + 30  # the sample's time: verifying decrypts, so it must be fresh
        q = {"msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "timestamp": "1409659589",
             "nonce": "263014780",
             "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="}
        async with r.http.get(f"{r.url}/wecom?{urlencode(q)}") as resp:
            assert (resp.status, await resp.text()) == (200, "1616140317555161061")
        async with r.http.get(f"{r.url}/wecom?{urlencode({**q, 'msg_signature': '1' * 40})}") as resp:
            assert resp.status == 403


async def post_wecom(r: Rig, user: str, content: str) -> str | None:
    crypt = MsgCrypt(WECOM_TOKEN, WECOM_KEY, CORP_ID)
    xml = (f"<xml><ToUserName>{cdata(CORP_ID)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
           f"<CreateTime>{next(_times)}</CreateTime><MsgType>{cdata('text')}</MsgType>"
           f"<Content>{cdata(content)}</Content><MsgId>{next(_ids)}</MsgId><AgentID>218</AgentID></xml>")
    enc, ts, nonce = crypt.encrypt(xml), str(int(r.channel.clock())), "wn" + str(next(_ids))[-9:]
    q = {"msg_signature": crypt.msg_signature(ts, nonce, enc), "timestamp": ts, "nonce": nonce}
    body = f"<xml><ToUserName>{cdata(CORP_ID)}</ToUserName><AgentID>218</AgentID><Encrypt>{cdata(enc)}</Encrypt></xml>"
    async with r.http.post(f"{r.url}/wecom?{urlencode(q)}", data=body.encode()) as resp:
        assert resp.status == 200
        text = await resp.text()
    if text == "success":
        return None
    env = parse(text)
    assert crypt.verify(env["MsgSignature"], env["TimeStamp"], env["Nonce"], env["Encrypt"])
    reply = parse(crypt.decrypt(env["Encrypt"]))
    assert (reply["ToUserName"], reply["FromUserName"]) == (user, CORP_ID)
    return reply["Content"]


async def test_wecom_tencent_sample_message_and_a_document_sent_as_a_file(tmp_path, monkeypatch):
    async with rig(tmp_path, kind="wecom") as r:
        # Tencent's own sample POST (vector B) is accepted and answered, encrypted
        r.channel.clock = lambda: 1409659813.0  # the sample's own time (older timestamps are refused)
        q = {"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813",
             "nonce": "1372623149"}
        from tests.adapters.test_wechat_crypto import B_ENCRYPT

        body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{B_ENCRYPT}]]></Encrypt>" \
               "<AgentID><![CDATA[218]]></AgentID></xml>"
        async with r.http.post(f"{r.url}/wecom?{urlencode(q)}", data=body) as resp:
            assert resp.status == 200 and "<Encrypt>" in await resp.text()
        r.channel.clock = time.time

        assert "揭榜助手" in await post_wecom(r, "zhangsan", "/start")
        folder = r.app.settings.documents_dir / "1"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "3-中小企业揭榜对接表.docx"
        path.write_bytes(b"PK fake docx")
        doc = Document("中小企业揭榜对接表.docx", path.read_bytes(), path)

        async def handle(incoming):
            return [Reply("已生成《中小企业“揭榜”对接表》。", document=doc)]

        monkeypatch.setattr(r.app.engine, "handle", handle)
        assert await post_wecom(r, "zhangsan", "1") == "已生成《中小企业“揭榜”对接表》。"
        await r.channel.join(WAIT)
        uploads = r.fake.calls_of("/cgi-bin/media/upload")
        assert len(uploads) == 1 and uploads[0].query["type"] == "file"
        assert uploads[0].files["media"] == ("中小企业揭榜对接表.docx", b"PK fake docx")
        files = [c for c in r.fake.calls_of("/cgi-bin/message/send") if c.body["msgtype"] == "file"]
        assert len(files) == 1 and files[0].body["touser"] == "zhangsan" and files[0].body["agentid"] == 218
        assert files[0].body["file"]["media_id"] in r.fake.media
        # reminders on WeCom are application messages
        assert await r.channel.send("zhangsan", [Reply("截止日期快到了")]) is True
        assert r.fake.texts_to("zhangsan")[-1] == "截止日期快到了" and r.channel.sent_via == {"app": 1}


async def test_wecom_sends_the_finished_form_as_a_file_and_its_page_1_as_a_picture(tmp_path, monkeypatch):
    async with rig(tmp_path, kind="wecom") as r:
        path = tmp_path / "1-揭榜申请书.docx"
        path.write_bytes(b"PK fake docx")
        picture = tmp_path / "1-揭榜申请书.png"
        picture.write_bytes(PNG_1X1)
        done = Reply("已生成《申请书》。", document=Document("揭榜申请书.docx", b"PK fake docx", path),
                     image=Document("第1页.png", PNG_1X1, picture, PNG_MIME))
        monkeypatch.setattr(r.app.engine, "handle", lambda incoming: asyncio.sleep(0, [done, Reply("接下来：打印盖章")]))
        assert await post_wecom(r, "zhangsan", "1") == "已生成《申请书》。\n\n接下来：打印盖章"
        await r.channel.join(WAIT)
        assert r.fake.sent_to("zhangsan") == ["[揭榜申请书.docx]", "[image]"]  # the file first, then the picture
        assert [c.query["type"] for c in r.fake.calls_of("/cgi-bin/media/upload")] == ["file", "image"]
        assert r.fake.images_to("zhangsan") == [PNG_1X1]


# -- consent to reminder notifications ------------------------------------------------------------

async def test_after_the_first_finished_section_the_user_is_asked_once_to_allow_reminders(tmp_path):
    template = "TPL-reminder-1"
    async with rig(tmp_path, wechat_reminder_template_id=template) as r:
        u = WxUser(r)
        await u.open_form()
        await u.fill(ANSWERS)
        url = f"{r.url}/wechat/subscribe"
        asked = [i for i, text in enumerate(u.seen) if url in text]
        assert len(asked) == 1, "asked once"
        assert u.seen[asked[0]].startswith("✓ 已保存：邮编")  # 一、企业基本情况 has just been finished
        assert "企业概况" in u.seen[asked[0]]  # with the next question, in the same message

        async with r.http.get(url) as resp:
            assert resp.status == 200 and resp.content_type == "text/html"
            page = await resp.text()
        assert f'<wx-open-subscribe template="{template}"' in page and "jweixin" in page
        found = dict(re.findall(r'(timestamp|nonceStr|signature): "([^"]+)"', page))
        raw = f"jsapi_ticket={r.fake.jsapi_ticket}&noncestr={found['nonceStr']}&timestamp={found['timestamp']}&url={url}"
        assert found["signature"] == hashlib.sha1(raw.encode()).hexdigest()  # what WeChat's JS-SDK checks
        async with r.http.get(url) as resp:
            await resp.text()
        assert len(r.fake.calls_of("/cgi-bin/ticket/getticket")) == 1  # the ticket is cached

        other = WxUser(r, openid="oUser2")  # said no in a popup already: not asked
        await other.event("subscribe")
        popup = (f"<SubscribeMsgPopupEvent><List><TemplateId>{template}</TemplateId>"
                 "<SubscribeStatusString>reject</SubscribeStatusString><PopupScene>2</PopupScene></List>"
                 "</SubscribeMsgPopupEvent>")
        await other.event("subscribe_msg_popup_event", extra=popup)
        await other.say("2")
        await other.say("1")
        await other.say("1")  # past the campaign's note
        await other.fill(ANSWERS)
        assert not any(url in text for text in other.seen + r.fake.texts_to(other.openid))


async def test_an_english_speaker_is_asked_in_english_and_gets_an_english_page(tmp_path):
    template = "TPL-reminder-1"
    async with rig(tmp_path, wechat_reminder_template_id=template) as r:
        u = WxUser(r)
        await u.open_form()
        await u.say("English")
        await u.fill({**ANSWERS, "Item 1 · 事项名称": "高精度视觉检测算法", "Item 1 · 代码": "2024-SH-017",
                      "Add another": "2"})
        url = f"{r.url}/wechat/subscribe?lang=en"
        [ask] = [text for text in u.seen if url in text]
        assert "deadline" in ask.lower() and "截止前" not in ask
        async with r.http.get(url) as resp:
            page = await resp.text()
        assert "Turn on deadline reminders" in page and "开启截止提醒" not in page
        found = dict(re.findall(r'(timestamp|nonceStr|signature): "([^"]+)"', page))
        raw = f"jsapi_ticket={r.fake.jsapi_ticket}&noncestr={found['nonceStr']}&timestamp={found['timestamp']}&url={url}"
        assert found["signature"] == hashlib.sha1(raw.encode()).hexdigest()  # signed for the URL with ?lang=en


async def test_without_a_reminder_template_nobody_is_asked_and_there_is_no_page(tmp_path):
    async with rig(tmp_path) as r:
        u = WxUser(r)
        await u.open_form()
        await u.fill(ANSWERS)
        assert not any("/subscribe" in text for text in u.seen + r.fake.texts_to(u.openid))
        async with r.http.get(f"{r.url}/wechat/subscribe") as resp:
            assert resp.status == 404
