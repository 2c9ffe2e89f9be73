"""Two real `python -m bot serve wechat` processes, A and B, on one PostgreSQL, each with a data folder of
its own, as a proxy in front of a fleet spreads WeChat's callbacks, the users' pages and the console over
them (deploy/Caddyfile). One follower's messages go to A and B in turn, and:

- every answer is taken, in order, and the next question comes back from whichever process got the
  message: the conversation, the submission, the message order and the customer-service windows are
  rows, not a process's memory; the stored submission has every answer;
- a callback sent again to the other process (the same timestamp, nonce and signatures) has no second
  effect, and one that reuses the pair for another message is refused there: the nonces are rows;
- the page a reply of one process links to opens on the other: the page link its OAuth landing made is a
  row (bot/web/pagelinks.py), and so is everything the page shows;
- an officer invited by `admin invite-officer` sets a password through one process and logs in on the
  other; the session cookie one process gave works on the other, and a logout on one ends it on both;
  failed logins counted on both add up to the console's limit (bot/console/auth.py: rows in
  `login_attempts`, 5 a login name in 15 minutes);
- SIGTERM to A while a message of the user is in A's hands (held, deterministically, behind a row lock
  the test takes on the user's `channel_states` row): A stops listening, answers that message, keeps its
  effect and exits 0; B alone carries on with the same user and sees that effect;
- a confirm's documents open on both: the download link the confirming process made serves the same
  bytes on the other (which had never seen the file: it takes it from the database's `stored_files` and
  keeps it in its own data folder, its cache), 文件 there lists it, and the console's firm page on both
  lists it (storage/file_models.py; the files a user sends (佐证材料) are stored the same way).

What IS kept per process (the deliveries in progress, asserted here so that a change to them shows), and
what is no longer:

- Locks: one user's messages are taken one at a time by an asyncio lock in each process (the engine's and
  the channel's); across processes the order rows (bot/adapters/wechat/order.py) and the conversation's
  version do it, so nothing a user meets depends on the locks being shared.
- A delivery in progress (bot/adapters/wechat/callbacks.py `Callbacks.jobs`): WeChat's retry of it that
  reaches the process handling it gets the same passive reply; one that reaches another process is
  answered there by the engine from what it stored for that message id (the same reply, one effect).
- The access_token (and the JS-SDK ticket) is NOT kept per process. It was: each process fetched its own,
  and each fetch retired the other's token, so every turn cost a fetch of the 2000 a day. It is the
  database's `wechat_tokens` row (storage/token_models.py): the two processes fetch ONE between them,
  asserted here.
- The console's login limit is in the database; the token buckets of bot/adapters/ratelimit.py pace the
  Telegram channel's calls per process (not served here); the metrics are each process's own.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import re
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

import aiohttp
import asyncpg
import docx
import pytest

from tests.conftest import PG_URL, SME_ANSWERS, _create_pg_database, _drop_pg_database
from tests.fakes.wechat_api import FakeWeChatAPI
from tests.fleet.fleet_rig import (
    PUBLIC_URL,
    WAIT,
    Callback,
    Follower,
    RowHold,
    Serve,
    fleet_env,
    question_of,
    run_cli,
    wait_for,
)

pytestmark = pytest.mark.skipif(not PG_URL, reason="JIEBANG_TEST_POSTGRES_URL is not set: a fleet shares one "
                                                    "PostgreSQL (CI sets it; see .ci/run)")

OPENID = "oFleetUser1"
ANSWERS = {**SME_ANSWERS, "企业性质": "2", "还要添加": "2"}  # choices by number, as a WeChat user types them
PASSWORD = "correct horse battery"  # noqa: S105 - a test's password
CUSTOM = "/cgi-bin/message/custom/send"
POSITION = re.compile(r"\((\d+)/(\d+)\)")

# The 对接表 as PostgreSQL keeps it after the answers of ANSWERS (but its 事项, compared without their ids).
STORED = {
    "company_name": "上海测试科技有限公司", "credit_code": "91310000132149237G", "reg_province": "上海市",
    "reg_city": "浦东新区", "reg_county": None, "reg_date": "2015-03-02", "legal_rep": "张三",
    "legal_rep_phone": "021-68811103", "legal_rep_mobile": "13912345678", "contact": "李四 总经理助理",
    "contact_phone": "021-68811104", "contact_mobile": "13812345678", "fax": None, "email": "lisi@example.com",
    "registered_capital": "500", "employees": 85, "revenue": "3200", "industry": "65", "size": "小型",
    "ownership": "民营", "enterprise_types": ["专精特新“小巨人”企业", "创新型中小企业"],
    "address": "上海市浦东新区学林路36弄13号", "postcode": "200120",
    "overview": "公司专注工业软件研发，拥有发明专利12项。", "items#more": False,
}


@dataclass
class Said:
    """One message of the follower's and what came back for it."""

    by: Serve  # the process that got it
    callback: Callback
    passive: str | None
    api: list[str] = field(default_factory=list)  # customer-service messages the fake API received since

    @property
    def text(self) -> str:
        """The reply that carries the question: the passive one, or (past the reply window) the API's."""
        return self.passive if self.passive is not None else self.api[-1]


class Chat:
    """The follower's conversation; each message goes to the process the test names."""

    def __init__(self, follower: Follower, fake: FakeWeChatAPI, a: Serve, b: Serve, hold: RowHold) -> None:
        self.follower, self.fake, self.a, self.b, self.hold = follower, fake, a, b, hold

    def peer(self, serve: Serve) -> Serve:
        return self.b if serve is self.a else self.a

    def received(self) -> list[str]:
        return self.fake.sent_to(self.follower.openid)

    async def send(self, to: Serve, callback: Callback) -> Said:
        """Post `callback` to `to`: the passive reply, or (the reply window passed on a busy machine) the
        customer-service message that carries it instead, waited for (bounded)."""
        before = len(self.received())
        status, passive = await self.follower.post(to.url, callback)
        assert status == 200, to.said(f"{status} for {callback.plain}")
        if passive is None:
            await wait_for(lambda: len(self.received()) > before, to.said(f"the reply to {callback.plain}"))
        return Said(to, callback, passive, self.received()[before:])

    async def say(self, to: Serve, text: str) -> Said:
        return await self.send(to, self.follower.text(text))


async def late(chat: Chat, to: Serve, text: str) -> Said:
    """`text` to `to`, held (the user's row locked) until its HTTP answer came: `success`, the reply window
    having passed; then released, the reply comes through the customer-service API."""
    callback = chat.follower.text(text)
    before = len(chat.received())
    async with chat.hold:
        posted = asyncio.create_task(chat.follower.post(to.url, callback))
        await chat.hold.reached(to, posted)
        assert await asyncio.wait_for(posted, WAIT) == (200, None), to.said("a passive reply while held")
    await wait_for(lambda: len(chat.received()) > before, to.said(f"the reply to {text!r} through the API"))
    return Said(to, callback, None, chat.received()[before:])


def cookie(response: aiohttp.ClientResponse, name: str) -> str:
    assert name in response.cookies, f"no {name} cookie in {response.status} {response.headers}"
    return response.cookies[name].value


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def at(serve: Serve, link: str) -> str:
    """A link of a reply (made for the proxy's address), opened at one process."""
    assert link.startswith(PUBLIC_URL), link
    return serve.url + link[len(PUBLIC_URL):]


async def invite(env: dict[str, str], login: str) -> str:
    status, out = await run_cli(env, "admin", "invite-officer", "2024-shanghai", "浦东", login)
    assert status == 0, out
    found = re.search(rf"{re.escape(PUBLIC_URL)}/console/invite/\S+", out)
    assert found, out
    return found.group(0)


async def accept_invite(http: aiohttp.ClientSession, link: str, opened_on: Serve, sent_to: Serve) -> str:
    """The invite page opened at one process, the password sent to the other: the session cookie."""
    async with http.get(at(opened_on, link)) as page:
        assert page.status == 200, opened_on.said(f"invite page {page.status}")
        html, csrf_cookie = await page.text(), cookie(page, "jiebang_console_csrf")
    async with http.post(at(sent_to, link), data={"password": PASSWORD, "again": PASSWORD, "csrf": csrf_of(html)},
                         headers={"Cookie": f"jiebang_console_csrf={csrf_cookie}"}, allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == "/console/", sent_to.said(f"invite answer {r.status}")
        return cookie(r, "jiebang_console")


async def log_in(http: aiohttp.ClientSession, serve: Serve, login: str, password: str) -> aiohttp.ClientResponse:
    async with http.get(f"{serve.url}/console/login") as page:
        html, csrf_cookie = await page.text(), cookie(page, "jiebang_console_csrf")
    form = {"login": login, "password": password, "csrf": csrf_of(html)}
    r = await http.post(f"{serve.url}/console/login", data=form,
                        headers={"Cookie": f"jiebang_console_csrf={csrf_cookie}"}, allow_redirects=False)
    await r.read()
    return r


async def console_get(http: aiohttp.ClientSession, serve: Serve, path: str, session: str) -> tuple[int, str]:
    async with http.get(f"{serve.url}{path}", headers={"Cookie": f"jiebang_console={session}"},
                        allow_redirects=False) as r:
        return r.status, (await r.text() if r.status == 200 else r.headers.get("Location", ""))


async def fill_alternately(chat: Chat, turn: Iterator[Serve], first: Said) -> tuple[Said, list[int]]:
    """Answer the 对接表 from its first question to its review, each message to the next process of `turn`.
    Every reply confirms the answer and asks the next question; the positions asked, in order, and the
    review. After the third answer, that answer's callback is sent again to the other process."""
    said, asked, replayed = first, [], False
    for _ in range(80):
        text = said.text
        if "确认并生成文件" in text:  # the review
            return said, asked
        if "继续发送，或回复“完成”" in text:  # a long section, sent: closed by 完成
            said = await chat.say(next(turn), "完成")
            continue
        q = question_of(text)
        found = POSITION.search(q)  # "企业名称 (1/26)"; the question after the last item has none
        if found:
            asked.append(int(found.group(1)))
        key = next((k for k in sorted(ANSWERS, key=len, reverse=True) if q.startswith(k)), None)
        assert key is not None, f"no answer for {q!r}"
        for part in [ANSWERS[key]] if isinstance(ANSWERS[key], str) else ANSWERS[key]:
            said = await chat.say(next(turn), part)
        taken = said.text.startswith(("✓ 已保存：", "✓ 已跳过：")) or "继续发送，或回复“完成”" in said.text \
            or key == "还要添加" and "确认并生成文件" in said.text  # the last answer: the review
        assert taken, f"{part!r} to {said.by.name} not taken:\n{said.text}"
        if len(asked) == 3 and not replayed:
            replayed = True
            await replays(chat, said)
    raise AssertionError(f"the form did not finish; last reply:\n{said.text}")


async def replays(chat: Chat, said: Said) -> None:
    """The callback just answered, sent again: to the process that answered it (WeChat's retry: the same
    passive reply), to the other (a retry there, as when the first process died or its answer was lost:
    the same reply, from what the engine stored for that message, and no second effect), and the same
    timestamp and nonce with another message (a replay: refused by both)."""
    other = chat.peer(said.by)
    again = await chat.follower.post(said.by.url, said.callback)
    assert again == (200, said.passive), said.by.said("a retry to the same process")
    assert await chat.follower.post(other.url, said.callback) == (200, said.passive), other.said("a retry elsewhere")
    q = said.callback.query
    forged = chat.follower.text("伪造的回答", ts=q["timestamp"], nonce=q["nonce"])
    assert forged.query["signature"] == q["signature"]  # the plain signature covers the pair only
    for serve in (other, said.by):
        assert (await chat.follower.post(serve.url, forged))[0] == 403, serve.said("a replayed nonce")


@asynccontextmanager
async def pg(url: str):
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


async def stored_answers(conn: asyncpg.Connection) -> tuple[int, str, dict]:
    row = await conn.fetchrow(
        "SELECT s.user_id, s.status, s.answers FROM submissions s JOIN users u ON u.id = s.user_id "
        "WHERE u.channel = 'wechat' AND u.external_id = $1 AND s.form_id = 'sme_match'", OPENID)
    assert row is not None
    answers = row["answers"]
    return row["user_id"], row["status"], json.loads(answers) if isinstance(answers, str) else answers


async def test_two_serve_processes_share_everything_a_user_needs(tmp_path):
    db_url, db_name = await _create_pg_database()
    raw_url = db_url.replace("postgresql+asyncpg", "postgresql")
    fleet: list[Serve] = []
    try:
        async with FakeWeChatAPI() as fake, aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=WAIT)) as http:
            # both at once on a new database: one migrates (an advisory lock), the other waits for it
            a = Serve.start("A", fleet_env(db_url, fake.url, tmp_path / "data-a"), tmp_path)
            fleet.append(a)
            b = Serve.start("B", fleet_env(db_url, fake.url, tmp_path / "data-b"), tmp_path)
            fleet.append(b)
            await asyncio.gather(a.ready(http), b.ready(http))
            admin_env = fleet_env(db_url, fake.url, tmp_path / "data-admin")

            chat = Chat(Follower(http, OPENID), fake, a, b, RowHold(raw_url, db_name, "wechat", OPENID))

            # -- follow, /start, 中小企业, 对接表: each step from the other process ----------------------
            greeting = await chat.send(a, chat.follower.event("subscribe"))
            assert "2. 中小企业（揭榜）" in greeting.text
            assert "2. 中小企业（揭榜）" in (await chat.say(b, "/start")).text
            # The next three are held until the reply window has passed (`success`), so each process sends
            # its reply through the customer-service API, with the access_token both share (the database's
            # row): one fetch in all, no call refused (each process fetching its own retired the other's).
            assert "1. 中小企业“揭榜”对接表" in (await late(chat, a, "2")).text
            assert "1. 开始填写" in (await late(chat, b, "1")).text  # the campaign's note
            first = await late(chat, a, "1")
            assert question_of(first.text).startswith("企业名称 (1/")
            assert len(fake.token_fetches) == 1  # one of them fetched; the other read it from the row
            refused = [c for c in fake.calls_of(CUSTOM, ok_only=False) if c.errcode]
            assert refused == [] and len(fake.calls_of(CUSTOM)) == 3
            turn = itertools.cycle([b, a])

            # -- the whole form, one answer to A, the next to B --------------------------------------------
            review, asked = await fill_alternately(chat, turn, first)
            total = int(POSITION.search(question_of(first.text)).group(2))
            assert asked == list(range(1, total + 1)), asked  # each question once, in order
            assert "上海测试科技有限公司" in review.text and "2024-SH-017" in review.text

            async with pg(raw_url) as conn:
                user_id, status, answers = await stored_answers(conn)
            assert status == "draft"
            items = [{k: v for k, v in item.items() if k != "_id"} for item in answers.pop("items", [])]
            assert items == [{"name": "高精度视觉检测算法", "code": "2024-SH-017"}], items
            assert answers == STORED, answers  # every answer, as the form keeps it

            # -- the review's page: the OAuth landing on the process that made the reply, the page on the other
            maker, other = review.by, chat.peer(review.by)
            oauth = re.search(r"https://open\.weixin\.qq\.com/connect/oauth2/authorize\?\S+", review.text).group(0)
            assert f"redirect_uri={quote(PUBLIC_URL + '/m/wx', safe='')}" in oauth
            state = re.search(r"state=(review\d+)", oauth).group(1)
            code = fake.oauth_code(OPENID)  # what WeChat puts on the redirect to the page
            async with http.get(f"{maker.url}/m/wx?code={code}&state={state}", allow_redirects=False) as r:
                assert r.status == 302, maker.said(f"OAuth landing {r.status}")
                location, link_id = r.headers["Location"], cookie(r, "jiebang_wx")
            assert location.startswith("/m/wx/review/")
            async with http.get(other.url + location, headers={"Cookie": f"jiebang_wx={link_id}"}) as r:
                page = await r.text()
                assert r.status == 200, other.said(f"the review page {r.status}")
            for value in [v for v in STORED.values() if isinstance(v, str)] + ["高精度视觉检测算法", "2024-SH-017"]:
                assert value in page, value
            async with http.get(f"{other.url}/m/{link_id}") as r:  # the short link itself: 我的文件
                assert r.status == 200 and "对接表" in await r.text(), other.said(f"/m/<id> {r.status}")

            # -- confirm on the other process: the document is in the database, so both hand it out ----------
            confirmed = await chat.say(other, "1")
            assert "已生成《中小企业“揭榜”对接表》" in confirmed.text, confirmed.text
            download = re.search(rf"{re.escape(PUBLIC_URL)}/files/\S+", confirmed.text).group(0)
            async with http.get(at(other, download)) as r:
                assert r.status == 200, other.said(f"download {r.status}")
                body = await r.read()
            assert "上海测试科技有限公司" in "\n".join(
                [p.text for p in docx.Document(io.BytesIO(body)).paragraphs]
                + [c.text for t in docx.Document(io.BytesIO(body)).tables for row in t.rows for c in row.cells])
            made = list((other.data_dir / "documents" / str(user_id)).glob("*.docx"))
            assert len(made) == 1 and not (maker.data_dir / "documents" / str(user_id)).exists()
            # the link made by `other` opens on `maker` too, with the same bytes, now cached there
            async with http.get(at(maker, download)) as r:
                assert r.status == 200, maker.said(f"download elsewhere {r.status}")
                assert await r.read() == body
            cached = list((maker.data_dir / "documents" / str(user_id)).glob("*.docx"))
            assert [p.name for p in cached] == [p.name for p in made] and cached[0].read_bytes() == body
            for serve in (maker, other):  # 文件 on both: the list, a fresh link, the menu
                again = (await chat.say(serve, "文件")).text
                assert "您的文件（1个）" in again and f"{PUBLIC_URL}/files/" in again and "请选择要填写的表格" in again, \
                    serve.said(again)
            async with pg(raw_url) as conn:
                assert (await stored_answers(conn))[1] == "complete"

            # -- the console ------------------------------------------------------------------------------
            officer = "officer@pudong.example"
            link = await invite(admin_env, officer)
            first_session = await accept_invite(http, link, opened_on=a, sent_to=b)
            status, html = await console_get(http, a, "/console/", first_session)
            assert status == 200 and f"浦东 · {officer}" in html, a.said(f"console {status} {html[:200]}")
            r = await log_in(http, a, officer, PASSWORD)
            assert r.status == 302, a.said(f"login {r.status}")
            session = cookie(r, "jiebang_console")
            status, queue = await console_get(http, b, "/console/", session)  # A's session, on B
            assert status == 200 and f"浦东 · {officer}" in queue, b.said(f"console {status}")
            assert "上海测试科技有限公司" in queue
            for serve in (a, b):  # the firm's page on both, with its document
                status, firm = await console_get(http, serve, f"/console/firm/{user_id}", session)
                assert status == 200 and "上海测试科技有限公司" in firm, serve.said(f"firm page {status}")
                assert "上海测试科技有限公司.docx" in firm, serve.name
            async with http.post(f"{b.url}/console/logout", data={"csrf": csrf_of(queue)},
                                 headers={"Cookie": f"jiebang_console={session}"}, allow_redirects=False) as r:
                assert r.status == 302, b.said(f"logout {r.status}")
            status, where = await console_get(http, a, "/console/", session)  # logged out on B: on A too
            assert status == 302 and where.startswith("/console/login"), (status, where)

            # the login limit: failures on A and B add up (rows), then even the right password is refused
            limited = "limit@pudong.example"
            await accept_invite(http, await invite(admin_env, limited), opened_on=b, sent_to=a)
            for serve in (a, b, a, b, a):
                r = await log_in(http, serve, limited, "wrong password!")
                assert r.status == 200 and "登录名或密码不对" in await r.text(), serve.said(f"bad login {r.status}")
            for serve in (b, a):
                r = await log_in(http, serve, limited, PASSWORD)
                assert r.status == 429 and "尝试次数过多" in await r.text(), serve.said(f"limited login {r.status}")

            # -- SIGTERM to A with a message of the user in A's hands ---------------------------------------
            before = len(chat.received())
            async with chat.hold:
                posted = asyncio.create_task(chat.follower.post(a.url, chat.follower.text("已报送")))
                await chat.hold.reached(a, posted)  # in A's hands: its transaction waits for the row
                a.terminate()
                await a.port_closed()  # draining: A takes no new connection…
                # …and the request it took is not answered yet (or, were A slower than WeChat's reply
                # window, answered `success`, its reply then due through the API before A exits)
                assert not posted.done() or posted.result() == (200, None), posted.result()
            status, passive = await asyncio.wait_for(posted, WAIT)
            assert status == 200, a.said(f"the message in hand: {status}")
            if passive is None:
                await wait_for(lambda: len(chat.received()) > before, a.said("the reply through the API"))
            reply = passive if passive is not None else chat.received()[before]
            assert "已记录：《对接表》已盖章报送" in reply, a.said(reply)
            assert await a.exited() == 0, a.said("exit status")
            assert "stopped: every request taken was answered" in a.log()
            async with pg(raw_url) as conn:
                assert (await stored_answers(conn))[1] == "submitted"

            # -- B alone, the same user ---------------------------------------------------------------------
            assert "《对接表》已盖章报送" in (await chat.say(b, "状态")).text
            started = await chat.say(b, "2")  # the 申请书 of 事项1
            assert "申请书" in started.text, started.text
            b.terminate()
            assert await b.exited() == 0, b.said("exit status")
    finally:
        for serve in fleet:
            serve.kill()
        await _drop_pg_database(db_name)

