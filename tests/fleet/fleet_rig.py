"""A fleet of real `python -m bot serve wechat` processes on one PostgreSQL, and WeChat speaking to it.

    fake = FakeWeChatAPI()                       # tests/fakes/wechat_api.py, on loopback
    a = Serve.start("A", fleet_env(url, fake.url, tmp_path / "a"), tmp_path)
    await a.ready(http)                          # /readyz 200, bounded
    follower = Follower(http, "oFleetUser1")
    passive = await follower.post(a.url, follower.text("2"))

Each process is a subprocess of its own (its own process group, so its render worker goes with it), on a
free loopback port, logging to a file under the test's tmp folder. `Follower` is what WeChat's servers do
for one follower: the message XML, encrypted and signed (safe mode) with wechatpy's WeChatCrypto — a second
implementation, not the bot's own — posted to whichever process the test names, as a proxy in front of the
fleet would pick one; a passive reply is verified and decrypted the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import asyncpg
from wechatpy.crypto import WeChatCrypto

WORKTREE = Path(__file__).resolve().parents[2]
TOKEN, APP_ID, AES_KEY = "fleettoken", "wx1234567890abcdef", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_jiebang"
SECRET = "one-long-random-string-shared-by-every-process"
# Where the fleet is reached from outside (the proxy). Links in replies start with it; the test opens them
# at a process of its choosing by putting that process's address in its place.
PUBLIC_URL = "http://jiebang.fleet.test"
WAIT = 90.0  # the bound on every wait here: an upper limit on a loaded machine, not a timing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fleet_env(database_url: str, api_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment every process of the fleet shares, but for its own JIEBANG_DATA_DIR."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIEBANG_", "WECHAT_", "WECOM_", "TELEGRAM_"))}
    env.update({
        "JIEBANG_DATABASE_URL": database_url, "JIEBANG_SECRET": SECRET, "JIEBANG_PUBLIC_URL": PUBLIC_URL,
        "JIEBANG_PDF": "off", "JIEBANG_DATA_DIR": str(data_dir), "JIEBANG_HOST": "127.0.0.1",
        "WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": "appsecret",
        "WECHAT_ENCODING_AES_KEY": AES_KEY, "WECHAT_API_BASE_URL": api_url,
        "PYTHONUNBUFFERED": "1", **extra})
    return env


@dataclass
class Serve:
    """One `python -m bot serve wechat` process."""

    name: str
    port: int
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, name: str, env: dict[str, str], logs: Path) -> Serve:
        port = free_port()
        data_dir = Path(env["JIEBANG_DATA_DIR"])
        log_path = logs / f"serve-{name}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "wechat"], cwd=WORKTREE,
                                    env={**env, "JIEBANG_PORT": str(port)}, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return cls(name, port, data_dir, log_path, proc)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def said(self, what: str) -> str:
        """`what`, and the end of this process's log (for an assertion's message)."""
        return f"{what}; serve {self.name} (pid {self.proc.pid}) logged:\n{self.log()[-4000:]}"

    async def ready(self, http: aiohttp.ClientSession, seconds: float = WAIT) -> None:
        """Until /readyz answers 200 (bounded); a process that exits meanwhile fails at once."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(self.said(f"exited with {self.proc.returncode} before it was ready"))
            try:
                async with http.get(f"{self.url}/readyz", timeout=aiohttp.ClientTimeout(total=10)) as r:
                    if r.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(self.said(f"/readyz not 200 within {seconds:g} s"))

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    async def exited(self, seconds: float = WAIT) -> int:
        try:
            return await asyncio.to_thread(self.proc.wait, seconds)
        except subprocess.TimeoutExpired:
            raise AssertionError(self.said(f"still running {seconds:g} s after SIGTERM")) from None

    async def port_closed(self, seconds: float = WAIT) -> None:
        """Until the port refuses connections (draining: serve stopped listening)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return
            writer.close()
            await asyncio.sleep(0.05)
        raise AssertionError(self.said(f"port {self.port} still open {seconds:g} s after SIGTERM"))

    def kill(self) -> None:
        """SIGKILL to the whole process group (serve and its render worker); nothing if already gone."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass


class RowHold:
    """The user's `channel_states` row locked by the test (SELECT … FOR UPDATE in a transaction of its own):
    a process's next message of that user waits at its first statement on that row (the message order's
    `arrive`, bot/adapters/wechat/order.py) — taken, in the process's hands, unanswered — until `release`."""

    def __init__(self, url: str, database: str, channel: str, user: str) -> None:
        self.url, self.database, self.channel, self.user = url, database, channel, user
        self.conn: asyncpg.Connection | None = None
        self.tx: Any = None

    async def __aenter__(self) -> RowHold:
        self.conn = await asyncpg.connect(self.url)
        self.tx = self.conn.transaction()
        await self.tx.start()
        found = await self.conn.fetch("SELECT 1 FROM channel_states WHERE channel = $1 AND external_id = $2 "
                                      "FOR UPDATE", self.channel, self.user)
        assert len(found) == 1, "the user's row is made by their first message"
        return self

    async def reached(self, serve: Serve, task: asyncio.Task, seconds: float = WAIT) -> None:
        """Until a backend of the database waits for the lock on a `channel_states` row: the message reached
        the user's row, in `serve`'s hands. Asked on a connection of its own: within a transaction
        PostgreSQL answers pg_stat_activity from one snapshot."""
        watch = await asyncpg.connect(self.url)
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if await watch.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND "
                                        "state = 'active' AND wait_event_type = 'Lock' AND "
                                        "query ILIKE '%channel_states%'", self.database):
                    return
                if task.done():
                    raise AssertionError(serve.said(f"the message was answered without the row: {task.result()}"))
                await asyncio.sleep(0.05)
        finally:
            await watch.close()
        raise AssertionError(serve.said("the message never reached the user's row"))

    async def release(self) -> None:
        if self.tx is not None:
            tx, self.tx = self.tx, None
            await tx.rollback()

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.release()
        finally:
            if self.conn is not None:
                await self.conn.close()


async def run_cli(env: dict[str, str], *args: str, seconds: float = WAIT) -> tuple[int, str]:
    """`python -m bot …` (an admin command) with the fleet's environment: (exit status, what it printed)."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=WORKTREE, env=env,
                                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), seconds)
    finally:
        if proc.returncode is None:  # timed out (or cancelled): it and its group go
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


# -- WeChat's servers, for one follower ---------------------------------------------------------------

def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _fields(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(xml)}


_msg_ids = itertools.count(int(time.time()) * 1_000_000)  # increasing, as WeChat numbers messages
_nonces = itertools.count(1)


@dataclass(frozen=True)
class Callback:
    """One POST of WeChat's to the callback URL: the query string and the body, kept to be sent again."""

    query: dict[str, str]
    body: bytes
    plain: dict[str, str]  # the message inside


class Follower:
    """One follower of the Official Account as WeChat's servers speak for them (safe mode)."""

    def __init__(self, http: aiohttp.ClientSession, openid: str) -> None:
        self.http, self.openid = http, openid
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)

    def _xml(self, msg_type: str, fields: dict[str, str]) -> str:
        inner = "".join(f"<{k}>{_cdata(v)}</{k}>" for k, v in fields.items())
        return (f"<xml><ToUserName>{_cdata(ACCOUNT)}</ToUserName>"
                f"<FromUserName>{_cdata(self.openid)}</FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{_cdata(msg_type)}</MsgType>{inner}</xml>")

    def text(self, content: str, *, ts: str | None = None, nonce: str | None = None) -> Callback:
        xml = self._xml("text", {"Content": content})
        return self.sign(xml.replace("</xml>", f"<MsgId>{next(_msg_ids)}</MsgId></xml>"), ts=ts, nonce=nonce)

    def event(self, event: str, key: str | None = None) -> Callback:
        return self.sign(self._xml("event", {"Event": event, **({"EventKey": key} if key is not None else {})}))

    def sign(self, xml: str, *, ts: str | None = None, nonce: str | None = None) -> Callback:
        ts = ts or str(int(time.time()))
        nonce = nonce or f"{next(_nonces):04d}{os.urandom(4).hex()}"
        wrapped = _fields(self.crypto.encrypt_message(xml, nonce, ts))
        plain_signature = hashlib.sha1("".join(sorted([TOKEN, ts, nonce])).encode()).hexdigest()
        query = {"signature": plain_signature, "timestamp": ts, "nonce": nonce, "openid": self.openid,
                 "encrypt_type": "aes", "msg_signature": wrapped["MsgSignature"]}
        body = (f"<xml><ToUserName>{_cdata(ACCOUNT)}</ToUserName>"
                f"<Encrypt>{_cdata(wrapped['Encrypt'])}</Encrypt></xml>")
        return Callback(query, body.encode(), _fields(xml))

    async def post(self, url: str, callback: Callback) -> tuple[int, str | None]:
        """(HTTP status, the passive reply's text or None for "success" / a refusal)."""
        async with self.http.post(f"{url}/wechat?{urlencode(callback.query)}", data=callback.body,
                                  timeout=aiohttp.ClientTimeout(total=WAIT)) as r:
            status, text = r.status, await r.text()
        if status != 200 or text == "success":
            return status, None
        outer = _fields(text)
        assert set(outer) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}, text
        reply = _fields(self.crypto.decrypt_message(text, outer["MsgSignature"], outer["TimeStamp"],
                                                    outer["Nonce"]))
        assert (reply["ToUserName"], reply["FromUserName"], reply["MsgType"]) == (self.openid, ACCOUNT, "text")
        return status, reply["Content"]


async def wait_for(predicate: Callable[[], object], what: str, seconds: float = WAIT) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def question_of(text: str) -> str:
    """The question a reply asks (as tests/adapters/test_wechat_channel.py reads it): the line with its
    place in the form "(3/27)", else the last line that is not a numbered choice."""
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    for line in lines:
        if line.endswith(")") and "/" in line.rsplit("(", 1)[-1]:
            return line
    questions = [x for x in lines if not re.match(r"^\d+\. ", x)]
    return questions[-1] if questions else ""
