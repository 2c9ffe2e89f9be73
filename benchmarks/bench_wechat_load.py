"""N WeChat users at once through `serve`: reply times, and the share of replies that missed the passive window.

    python benchmarks/bench_wechat_load.py                          # 200 users at once, SQLite, PDFs off
    python benchmarks/bench_wechat_load.py --users 50 --think 2     # 50 users who take 2 s per answer
    python benchmarks/bench_wechat_load.py --database-url postgresql+asyncpg://postgres@127.0.0.1:55500/postgres
                                                                    # (a database of its own beside it)
    python benchmarks/bench_wechat_load.py --stages                 # where the time of a message goes
    python benchmarks/bench_wechat_load.py --profile /tmp/serve.prof  # and where the server's CPU time goes

The bot runs as `python -m bot serve wechat` in a process of its own (an Official Account in safe mode: an
EncodingAESKey is set), on a fresh data folder, its outgoing calls going to the fake WeChat API
(tests/fakes/wechat_api.py) in this process. Each user follows the account, picks 中小企业 and the 对接表,
gets past the screen before question 1, answers the whole form (tests/conftest.py's SME_ANSWERS, choices by
number as on WeChat) and confirms it: --users users at once, each sending its next message as soon as it
has the answer to the last (plus a pause of 0 to 2 × --think seconds, at random: people differ). Every message is encrypted XML POSTed over loopback with
a fresh timestamp and nonce, as WeChat's servers send it.

Per message, the reply time: until the passive reply (the HTTP answer) or, where the server answered
`success` because its answer was not ready within its 4.5 s window, until the customer-service message with
the answer reached the fake API — those "missed the passive window" and spent the user's quota. Printed:
messages, messages/s, p50 / p95 / p99 / max reply time, the share missed, apart for the confirms (they
make the .docx) and the other answers, the server process's CPU time (all threads) per message and its
share of one core, and the machine's cores and load (the machine is shared: figures from a busy one say
so). --stages times the server's stages of a message (the callback's nonce check, the channel's
bookkeeping, the engine and its load and commit, the whole request) and the event loop's lag, wall clock,
by wrapping them in the server process; --profile runs the server under cProfile and prints its top
functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aiohttp  # noqa: E402
import benchlib  # noqa: E402  (puts the repository on sys.path)

from bot.adapters.wechat.crypto import MsgCrypt, signature  # noqa: E402
from bot.adapters.wechat.xml import cdata, parse  # noqa: E402
from tests.fakes.wechat_api import FakeWeChatAPI  # noqa: E402

TOKEN, APP_ID, AES_KEY = "benchtoken", "wxbench0123456789", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WINDOW = 4.5  # the channel's reply_window: a reply later than this goes through the customer-service API
RUN = uuid.uuid4().hex[:6]
_ids = itertools.count(int(time.time()) * 1000)
START_WORDS = ("开始填写", "逐项核对")


def question_of(text: str) -> str:
    """The question in a reply: the line with a progress mark "(n/N)", else the last that is not a numbered
    choice ("2. 否")."""
    line = benchlib.question_line(text)
    if line.endswith(")") and "/" in line.rsplit("(", 1)[-1]:
        return line
    plain = [x.strip() for x in text.splitlines() if x.strip() and not re.match(r"^\d+\. ", x.strip())]
    return plain[-1] if plain else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """`python -m bot serve wechat` on a free loopback port, talking to the fake API."""

    def __init__(self, data_dir: Path, api_url: str, database_url: str | None, profile: str | None,
                 stages: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "JIEBANG_DATA_DIR": str(data_dir), "JIEBANG_PDF": "off", "JIEBANG_PORT": str(self.port),
               "JIEBANG_HOST": "127.0.0.1", "JIEBANG_PUBLIC_URL": self.url, "JIEBANG_SECRET": "bench-secret",
               "WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": "appsecret",
               "WECHAT_ENCODING_AES_KEY": AES_KEY, "WECHAT_API_BASE_URL": api_url}
        if database_url:
            env["JIEBANG_DATABASE_URL"] = database_url
        python = [sys.executable] + (["-m", "cProfile", "-o", profile] if profile else [])
        command = [__file__, "--serve-with-stages", str(stages)] if stages else ["-m", "bot", "serve", "wechat"]
        self.log = open(data_dir / "serve.log", "w")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen([*python, *command], cwd=benchlib.ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    async def ready(self, http: aiohttp.ClientSession, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"serve exited with {self.proc.returncode}; see {self.log.name}")
            try:
                async with http.get(f"{self.url}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise SystemExit(f"serve did not start within {seconds:.0f}s; see {self.log.name}")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)  # serve finishes what it has, then (cProfile) writes its stats
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Inbox:
    """The customer-service texts each user received (from the fake API), with a way to wait for the next."""

    def __init__(self, fake: FakeWeChatAPI) -> None:
        self.texts: dict[str, list[str]] = {}
        self.at: dict[str, list[float]] = {}  # when each came (time.perf_counter)
        self.events: dict[str, asyncio.Event] = {}
        fake.on_call = self._on_call

    def _on_call(self, call) -> None:
        body = call.body
        if call.errcode == 0 and body.get("msgtype") == "text":
            user = body.get("touser", "")
            self.texts.setdefault(user, []).append(body["text"]["content"])
            self.at.setdefault(user, []).append(time.perf_counter())
            self.events.setdefault(user, asyncio.Event()).set()

    async def next_after(self, user: str, seen: int, within: float) -> str | None:
        event = self.events.setdefault(user, asyncio.Event())
        deadline = time.monotonic() + within
        while len(self.texts.get(user, [])) <= seen:
            event.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(event.wait(), left)
            except TimeoutError:
                return None
        return self.texts[user][seen]


class User:
    def __init__(self, i: int, server: Server, http: aiohttp.ClientSession, inbox: Inbox, answers: dict) -> None:
        self.openid = f"oBench{RUN}{i:04d}"
        self.server, self.http, self.inbox, self.answers = server, http, inbox, answers
        self.crypt = MsgCrypt(TOKEN, AES_KEY, APP_ID)
        self.times: list[tuple[str, float, bool]] = []  # (kind, seconds, missed the passive window)
        self.missed = 0
        self.lost = 0
        self.last = ""
        self.pending: list[str] = []  # the rest of an answer sent in several messages (企业概况, then 完成)

    def xml(self, msg_type: str, **fields: str) -> str:
        inner = "".join(f"<{k}>{cdata(v)}</{k}>" for k, v in fields.items())
        return (f"<xml><ToUserName>{cdata('gh_bench')}</ToUserName><FromUserName>{cdata(self.openid)}"
                f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>"
                f"{inner}</xml>")

    async def post(self, xml: str) -> str | None:
        """One message as WeChat posts it; the reply text (passive, or by customer service), timed."""
        ts, nonce = str(int(time.time())), secrets.token_hex(8)
        enc = self.crypt.encrypt(xml)
        query = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": self.openid,
                 "encrypt_type": "aes", "msg_signature": self.crypt.msg_signature(ts, nonce, enc)}
        body = f"<xml><ToUserName>{cdata('gh_bench')}</ToUserName><Encrypt>{cdata(enc)}</Encrypt></xml>"
        seen = len(self.inbox.texts.get(self.openid, []))
        t0 = time.perf_counter()
        async with self.http.post(f"{self.server.url}/wechat?{urlencode(query)}", data=body.encode()) as r:
            status, out = r.status, await r.text()
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {out[:200]}")
        missed = out == "success"
        if not missed:
            env = parse(out)
            text = parse(self.crypt.decrypt(env["Encrypt"]))["Content"]
        else:  # not ready within the window: the answer comes by customer service
            self.missed += 1
            text = await self.inbox.next_after(self.openid, seen, within=60.0)
            if text is None:
                self.lost += 1
                raise RuntimeError("no answer within 60 s")
        self.times.append(("confirm" if "已生成《" in text else "answer", time.perf_counter() - t0, missed))
        self.last = text
        return text

    async def say(self, text: str) -> str | None:
        return await self.post(self.xml("text", Content=text, MsgId=str(next(_ids))))

    def next_answer(self) -> str | None:
        """What this user types next, from the last reply; None once the form is confirmed."""
        text = self.last
        if "已生成《" in text:
            return None
        if self.pending:
            return self.pending.pop(0)
        for label in START_WORDS:
            found = re.search(rf"^(\d+)\. {re.escape(label)}$", text, re.M)
            if found:
                return found.group(1)
        if "确认并生成文件" in text:
            return "1"
        if "继续发送，或回复“完成”" in text:
            return "完成"
        question = question_of(text)
        answer = benchlib.answer_for(question, self.answers)
        if answer is None:
            raise RuntimeError(f"no answer for: {question!r}")
        if isinstance(answer, list):
            self.pending = list(answer[1:])
            return answer[0]
        return answer

    async def run(self, think: float, start: asyncio.Event) -> None:
        await start.wait()
        await self.post(self.xml("event", Event="subscribe"))
        await self.say("2")  # 中小企业（揭榜）
        await self.say("1")  # 中小企业“揭榜”对接表
        for _ in range(80):
            answer = self.next_answer()
            if answer is None:
                return
            if think:  # people differ: anywhere from nothing to twice the mean
                await asyncio.sleep(random.uniform(0, 2 * think))
            await self.say(answer)
        raise RuntimeError(f"the form did not finish; last reply: {self.last[:300]!r}")


def report(users: list[User], wall: float, cpu: float, failures: list[BaseException], args) -> None:
    rows = [row for u in users for row in u.times]
    n = len(rows)
    print(f"{args.users} WeChat users at once, think {args.think:g} s, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}, PDFs off; {benchlib.machine()}")
    print(f"  messages answered {n} in {wall:.1f} s: {n / wall:.1f} messages/s; "
          f"finished forms {sum(1 for u in users if '已生成《' in u.last)}/{len(users)}")
    for kind in ("all", "answer", "confirm"):
        mine = [(t, m) for k, t, m in rows if kind in ("all", k)]
        times = [t for t, _m in mine]
        missed = sum(1 for _t, m in mine if m)
        print(f"  {kind:8s} {len(mine):5d}: reply p50 {benchlib.pct(times, 50):.2f} s, p95 {benchlib.pct(times, 95):.2f} s, "
              f"p99 {benchlib.pct(times, 99):.2f} s, max {max(times, default=float('nan')):.2f} s; missed the passive "
              f"window {missed} = {100 * missed / max(1, len(mine)):.1f} %; over 5 s {sum(1 for t in times if t > 5)}")
    print(f"  server CPU {cpu:.1f} s = {1000 * cpu / max(1, n):.1f} ms a message, "
          f"{100 * cpu / wall:.0f} % of one core over the run")
    if failures:
        print(f"  {len(failures)} users failed; first: {failures[0]!r}")


def print_stages(path: Path) -> None:
    import json

    spans = json.loads(path.read_text())
    print("\nserver stages (wall clock, each message):")
    for name, values in spans.items():
        print(f"  {name:28s} n {len(values):5d}  p50 {1000 * benchlib.pct(values, 50):8.1f} ms  "
              f"p95 {1000 * benchlib.pct(values, 95):8.1f} ms  max {1000 * max(values):8.1f} ms")


def serve_with_stages(out: str) -> None:
    """Run `serve wechat` in this process with its stages timed; the spans are written to `out` at exit."""
    import atexit
    import functools
    import json
    import runpy

    from bot.adapters.wechat.book import Book
    from bot.adapters.wechat.callbacks import Callbacks
    from bot.adapters.wechat.channel import WeChatChannel
    from bot.adapters.wechat.guard import Guard
    from bot.adapters.wechat.inbound import Inbound
    from bot.adapters.wechat.order import Order
    from bot.engine import Engine
    from storage.store import Store, UserTx

    spans: dict[str, list[float]] = {}

    def timed(cls, name: str, label: str) -> None:
        original = getattr(cls, name)

        @functools.wraps(original)
        async def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return await original(*a, **k)
            finally:
                spans.setdefault(label, []).append(time.perf_counter() - t0)

        setattr(cls, name, wrapper)

    for cls, name, label in ((Callbacks, "on_post", "request (to the HTTP answer)"),
                             (Guard, "check", "nonce check"),
                             (Order, "enter", "order: may it go (PostgreSQL)"),
                             (Order, "leave", "order: done"),
                             (Book, "begin", "bookkeeping + outbox read"),
                             (Inbound, "handle", "message handled"),
                             (Engine, "handle", "engine"),
                             (Store, "begin", "engine: load"),
                             (UserTx, "commit", "engine: commit"),
                             (Engine, "produce", "engine: documents (queue+make)")):
        timed(cls, name, label)

    def timed_sync(owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                spans.setdefault(label, []).append(time.perf_counter() - t0)

        setattr(owner, name, wrapper)

    import bot.engine as engine_module
    from bot.dialogs.fields import Form

    timed_sync(Form, "render", "  .docx render (in a thread)")
    if hasattr(engine_module, "_write_files"):
        timed_sync(engine_module, "_write_files", "  files written (in a thread)")
    started = WeChatChannel.start

    async def start(self):
        async def lag() -> None:
            while True:
                t0 = time.perf_counter()
                await asyncio.sleep(0.05)
                spans.setdefault("event loop lag", []).append(time.perf_counter() - t0 - 0.05)

        asyncio.get_running_loop().create_task(lag())
        return await started(self)

    WeChatChannel.start = start
    atexit.register(lambda: Path(out).write_text(json.dumps(spans)))
    sys.argv = ["bot", "serve", "wechat"]
    runpy.run_module("bot", run_name="__main__")


async def main(args) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-wechat-"))
    given, fresh = args.database_url, None
    if given.startswith("postgresql"):  # a database of its own beside the one named, dropped after
        from bench_engine import drop_postgres, fresh_postgres

        fresh = f"bench_wechat_{RUN}"
        args.database_url = await fresh_postgres(given, fresh) or given
        fresh = fresh if args.database_url != given else None
    try:
        await run(args, data_dir)
    finally:
        if fresh:
            await drop_postgres(given, fresh)


async def run(args, data_dir: Path) -> None:
    _kind, answers = benchlib.sme_script(by_step=False)
    answers = {**answers, "企业性质": "2", "还要添加": "2"}  # choices by number, as a WeChat user types them
    async with FakeWeChatAPI() as fake:
        inbox = Inbox(fake)
        stages = data_dir / "stages.json" if args.stages else None
        server = Server(data_dir, fake.url, args.database_url, args.profile, stages)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=90)) as http:
            try:
                await server.ready(http)
                await User(9999, server, http, inbox, answers).run(0, _set(asyncio.Event()))  # warm-up
                users = [User(i, server, http, inbox, answers) for i in range(args.users)]
                start = asyncio.Event()
                tasks = [asyncio.create_task(u.run(args.think, start)) for u in users]
                cpu0, t0 = cpu_seconds(server.proc.pid), time.perf_counter()
                start.set()
                results = await asyncio.gather(*tasks, return_exceptions=True)
                wall, cpu = time.perf_counter() - t0, cpu_seconds(server.proc.pid) - cpu0
            finally:
                server.stop()
    report(users, wall, cpu, [r for r in results if isinstance(r, BaseException)], args)
    print(f"  data folder {data_dir} ({benchlib.conditions(data_dir)})")
    if stages is not None:
        print_stages(stages)
    if args.profile:
        import pstats

        stats = pstats.Stats(args.profile)
        print(f"\nserver profile ({args.profile}), top {args.top} by cumulative time:")
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"top {args.top} by own time:")
        stats.sort_stats("tottime").print_stats(args.top)


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()
    return event


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="users at once (default 200)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a user takes before each answer (0 to twice it, at random)")
    parser.add_argument("--database-url", default="", help="default: a SQLite file in a fresh data folder")
    parser.add_argument("--profile", default="", help="run the server under cProfile, stats to this file")
    parser.add_argument("--top", type=int, default=25, help="profile lines to print")
    parser.add_argument("--stages", action="store_true", help="time the server's stages of a message")
    parser.add_argument("--serve-with-stages", default="", help=argparse.SUPPRESS)  # the server side of --stages
    parsed = parser.parse_args()
    if parsed.serve_with_stages:
        serve_with_stages(parsed.serve_with_stages)
    else:
        asyncio.run(main(parsed))
