"""A fleet on one PostgreSQL: 2 `serve wechat` processes, M render workers, N WeChat users at once.

    python benchmarks/bench_fleet.py                                  # 200 users; 1, then 2 workers; PDFs off
    python benchmarks/bench_fleet.py --users 40 --workers 1,2 --pdf off,on
    python benchmarks/bench_fleet.py --database-url postgresql+asyncpg://postgres@127.0.0.1:55500/postgres
    python benchmarks/bench_fleet.py --workers 2 --kill serve       # kill -9 one serve mid-way: what is lost?

Without --database-url a throw-away PostgreSQL cluster is made (initdb into a temporary folder, as user
postgres, fsync ON, a free loopback port) and removed at the end; with it, a database of its own is made
beside the one named, per configuration, and dropped after (fsync is then whatever that server has: the
first line says so).

Per configuration (workers × PDFs): two `python -m bot serve wechat` processes on two ports, each with a
data folder of its own, and M `python -m bot worker` processes, all on one fresh database; the fake WeChat
API (tests/fakes/wechat_api.py) in this process. The clients send each message to the two serve processes
in turn, as a proxy in front of the fleet would. Every user follows the account, fills in the whole 对接表
(tests/conftest.py's SME_ANSWERS, as bench_wechat_load.py) and confirms at once, sending each message as
soon as it has the reply to the last.

Printed per configuration:
- answers/s (every message but the confirm, over the run's wall clock) and their p50 / p99 reply time,
  client side: request sent → passive reply, or, for a reply that missed the window (the server answered
  `success`), → the customer-service message at the fake API;
- passive replies missed: answers past WeChat's 5 s window (count and %), and those the server answered
  by customer service (past its own 4.5 s window);
- confirm → the message with the .docx link: p50 / p99 / max; with PDFs on, confirm → the PDF's link too
  (in the confirm's reply when the worker made it within JIEBANG_CONFIRM_PDF_SECONDS, else in the message
  that follows it);
- the workers' CPU (their processes and all their descendants: the render process, LibreOffice) per
  document made, the documents each worker made, and jobs/s per worker (its documents / the run's wall
  clock); the serve processes' CPU per message; documents a serve made itself (the fallback) if any.
The machine's cores and load average at the start of each configuration, as benchlib prints them. This
process (200 users' encryption, the fake API) shares the cores with the fleet.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aiohttp  # noqa: E402
import benchlib  # noqa: E402  (puts the repository on sys.path)
from bench_wechat_load import AES_KEY, APP_ID, TOKEN, Inbox, User, free_port  # noqa: E402

from tests.fakes.wechat_api import FakeWeChatAPI  # noqa: E402

RUN = uuid.uuid4().hex[:6]
PASSIVE = 5.0  # WeChat's window for a passive reply
WAIT = 90.0  # the bound on every wait for a reply here (--wait)
MADE = re.compile(r": made \(\.docx")
MADE_AT = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*: made \(\.docx", re.M)


def made_times(log: str, since: float) -> list[float]:
    """When (epoch seconds, from the log's local timestamps) each document logged as made at or after `since` was."""
    from datetime import datetime

    found = [datetime.strptime(t, "%Y-%m-%d %H:%M:%S,%f").timestamp() for t in MADE_AT.findall(log)]
    return [t for t in found if t >= since]


# -- processes --------------------------------------------------------------------------------------

def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system, and of reaped children) of `root` and every live descendant (/proc)."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    family, todo = set(), [root]
    while todo:
        pid = todo.pop()
        family.add(pid)
        todo.extend(p for p, pp in parent.items() if pp == pid and p not in family)
    total = 0
    for pid in family:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


class Proc:
    """One `python -m bot …` subprocess in a process group of its own, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log_path = logs / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=benchlib.ROOT, env=env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise SystemExit(f"{self.name} exited with {self.proc.returncode}; its log:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM (it finishes what it has), then SIGKILL to its group if it is still there after 30 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # what is left of its group (LibreOffice, the render process)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


def env_of(database_url: str, api_url: str, data_dir: Path, pdf: bool, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIEBANG_", "WECHAT_", "WECOM_", "TELEGRAM_"))}
    env.update({"JIEBANG_DATABASE_URL": database_url, "JIEBANG_SECRET": "bench-secret", "JIEBANG_HOST": "127.0.0.1",
                "JIEBANG_PUBLIC_URL": "http://jiebang.bench.test", "JIEBANG_DATA_DIR": str(data_dir),
                "JIEBANG_PDF": "on" if pdf else "off", "WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID,
                "WECHAT_APP_SECRET": "appsecret", "WECHAT_ENCODING_AES_KEY": AES_KEY, "WECHAT_API_BASE_URL": api_url,
                "PYTHONUNBUFFERED": "1"})
    if port is not None:
        env["JIEBANG_PORT"] = str(port)
    return env


class Cluster:
    """A throw-away PostgreSQL cluster with fsync on, on a free loopback port, run as user postgres."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
        if not found:
            raise SystemExit("no PostgreSQL under /usr/lib/postgresql: pass --database-url")
        self.bin = found[-1].parent
        self.dir = Path(tempfile.mkdtemp(prefix="bench-fleet-pg-"))
        shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.dir), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-l", str(self.dir / "log"), "-w", "-o",
                          f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on "
                          f"-c max_connections=200", "start")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


async def fsync_setting(url: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return await conn.fetchval("SHOW fsync")
    finally:
        await conn.close()


# -- clients -----------------------------------------------------------------------------------------

class Proxy:
    """What the users post to: the serve processes in turn, one message each (round robin); one that was
    killed (--kill serve) is skipped from then on, as a proxy's health check would."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self._next = itertools.cycle(urls)
        self.dead: set[str] = set()

    @property
    def url(self) -> str:
        for _ in range(len(self.urls)):
            url = next(self._next)
            if url not in self.dead:
                return url
        raise RuntimeError("every serve process is dead")


class FleetUser(User):
    """bench_wechat_load's user, but a confirm's time runs to the message with the .docx link (a reply
    before it, if any, is skipped) and the wait for a customer-service message is WAIT."""

    retried = 0  # deliveries sent again because the process they went to was killed (--kill serve)
    confirmed_at = 0.0  # when the confirm was sent (time.perf_counter)
    confirm_text = ""  # its reply: with the PDF's link, or saying that the PDF follows

    def pdf_after(self, inbox: Inbox) -> float | None:
        """Seconds from the confirm to the PDF's link (in the confirm's reply, or the message after it);
        None: not (yet) come."""
        if ".pdf》" in self.confirm_text:
            return next((t for k, t, _m in self.times if k == "confirm"), None)
        for text, at in zip(inbox.texts.get(self.openid, []), inbox.at.get(self.openid, []), strict=True):
            if at > self.confirmed_at and ("的 PDF 已生成" in text or "的 PDF 暂时生成失败" in text):
                return at - self.confirmed_at
        return None

    async def post(self, xml: str) -> str | None:
        import secrets
        from urllib.parse import urlencode

        from bot.adapters.wechat.crypto import signature
        from bot.adapters.wechat.xml import cdata, parse

        confirming = "确认并生成文件" in self.last and "<Content><![CDATA[1]]>" in xml
        ts, nonce = str(int(time.time())), secrets.token_hex(8)
        enc = self.crypt.encrypt(xml)
        query = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": self.openid,
                 "encrypt_type": "aes", "msg_signature": self.crypt.msg_signature(ts, nonce, enc)}
        body = f"<xml><ToUserName>{cdata('gh_bench')}</ToUserName><Encrypt>{cdata(enc)}</Encrypt></xml>"
        seen = len(self.inbox.texts.get(self.openid, []))
        t0 = time.perf_counter()
        for attempt in range(4):  # WeChat tries a delivery 3 more times when it gets no answer
            url = self.server.url
            try:
                async with self.http.post(f"{url}/wechat?{urlencode(query)}", data=body.encode()) as r:
                    status, out = r.status, await r.text()
                break
            except (aiohttp.ClientConnectionError, ConnectionError):  # its process was killed under it
                self.retried += 1
                if attempt == 3:
                    raise
                await asyncio.sleep(0.2)
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {out[:200]}")
        missed = out == "success"
        text = None if missed else parse(self.crypt.decrypt(parse(out)["Encrypt"]))["Content"]
        if missed:
            self.missed += 1
        while text is None or (confirming and "已生成《" not in text):
            left = WAIT - (time.perf_counter() - t0)
            text = await self.inbox.next_after(self.openid, seen, within=max(0.0, left))
            if text is None:
                self.lost += 1
                sent = re.search(r"<(Content|Event)><!\[CDATA\[(.*?)\]\]>", xml)
                raise RuntimeError(f"{self.openid}: no {'document' if confirming else 'answer'} within {WAIT:g} s "
                                   f"to {sent.group(2) if sent else xml[:80]!r} sent to {url} (passive "
                                   f"{'missed' if missed else 'came'}) after {self.last[-120:]!r}")
            seen += 1
        if confirming:
            self.confirmed_at, self.confirm_text = t0, text
        kind = "confirm" if confirming else "review" if "确认并生成文件" in text else "answer"
        self.times.append((kind, time.perf_counter() - t0, missed))
        self.last = text
        return text


async def pdfs_come(users: list[FleetUser], inbox: Inbox, seconds: float) -> None:
    """Until every confirmed user has their PDF (the follow-up messages), `seconds` at most."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(u.confirmed_at and u.pdf_after(inbox) is None for u in users):  # noqa: ASYNC110
        await asyncio.sleep(0.2)


# -- one configuration -------------------------------------------------------------------------------

async def ready(http: aiohttp.ClientSession, proc: Proc, url: str, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        proc.check()
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.get(f"{url}/readyz", timeout=aiohttp.ClientTimeout(total=10)) as r:
                if r.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise SystemExit(f"{proc.name}: /readyz not 200 within {seconds:g} s")


async def taking_jobs(worker: Proc, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while "taking jobs" not in worker.log():
        worker.check()
        if time.monotonic() > deadline:
            raise SystemExit(f"{worker.name} not taking jobs within {seconds:g} s")
        await asyncio.sleep(0.2)


async def stop_all(procs: list[Proc]) -> None:
    """The workers first, then the serves, each finishing what it has (the fake API still answering)."""
    for p in reversed(procs):
        await asyncio.to_thread(p.stop)


async def configuration(args, base_url: str, workers: int, pdf: bool) -> dict:
    from bench_engine import drop_postgres, fresh_postgres

    name = f"bench_fleet_{RUN}_{workers}w_{'pdf' if pdf else 'nopdf'}"
    url = await fresh_postgres(base_url, name) or base_url
    folder = Path(tempfile.mkdtemp(prefix=f"bench-fleet-{workers}w-{'pdf' if pdf else 'nopdf'}-"))
    _kind, answers = benchlib.sme_script(by_step=False)
    answers = {**answers, "企业性质": "2", "还要添加": "2"}  # choices by number, as a WeChat user types them
    procs: list[Proc] = []
    try:
        async with FakeWeChatAPI() as fake, contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(stop_all, procs)  # the fake API answers while they finish
            inbox = Inbox(fake)
            ports = [free_port(), free_port()]
            serves = [Proc(f"serve-{i}", ["serve", "wechat"], env_of(url, fake.url, folder / f"data-{i}", pdf, port),
                           folder) for i, port in enumerate(ports)]
            procs += serves
            urls = [f"http://127.0.0.1:{p}" for p in ports]
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                             timeout=aiohttp.ClientTimeout(total=WAIT)) as http:
                await asyncio.gather(*(ready(http, s, u) for s, u in zip(serves, urls, strict=True)))
                pool = [Proc(f"worker-{i}", ["worker"], env_of(url, fake.url, folder / f"worker-{i}", pdf), folder)
                        for i in range(workers)]
                procs += pool
                await asyncio.gather(*(taking_jobs(w) for w in pool))
                proxy = Proxy(urls)
                warm = [FleetUser(9000 + i, proxy, http, inbox, answers) for i in range(workers)]  # each LibreOffice up
                await asyncio.gather(*(u.run(0, _set(asyncio.Event())) for u in warm))
                made0 = [len(MADE.findall(w.log())) for w in pool]
                load = benchlib.machine()
                users = [FleetUser(i, proxy, http, inbox, answers) for i in range(args.users)]
                start = asyncio.Event()
                tasks = [asyncio.create_task(u.run(0, start)) for u in users]
                wcpu0 = sum(tree_cpu_s(w.proc.pid) for w in pool)
                scpu0 = sum(tree_cpu_s(s.proc.pid) for s in serves)
                t0, epoch0 = time.perf_counter(), time.time()
                start.set()
                killer = asyncio.create_task(kill_one(args.kill, users, serves, pool, proxy)) if args.kill else None
                results = await asyncio.gather(*tasks, return_exceptions=True)
                killed = await killer if killer else ""
                wall = time.perf_counter() - t0
                if pdf:
                    await pdfs_come(users, inbox, WAIT)
                wcpu = sum(tree_cpu_s(w.proc.pid) for w in pool) - wcpu0
                scpu = sum(tree_cpu_s(s.proc.pid) for s in serves) - scpu0
                made = [len(MADE.findall(w.log())) - m for w, m in zip(pool, made0, strict=True)]
                stamps = sorted(t for w in pool for t in made_times(w.log(), epoch0 - 0.01))
                fallback = sum(s.log().count("files in this process") for s in serves)
    finally:
        if url != base_url:
            await drop_postgres(base_url, name)
    rows = [row for u in users for row in u.times]
    ans = [(t, m) for k, t, m in rows if k in ("answer", "review")]
    review = [t for k, t, _m in rows if k == "review"]
    conf = [t for k, t, _m in rows if k == "confirm"]
    times = [t for t, _m in ans]
    docs = sum(made)
    pdf_s = [t for u in users if (t := u.pdf_after(inbox)) is not None]
    return {"workers": workers, "pdf": pdf, "load": load, "wall": wall, "answers": len(ans),
            "answers_s": len(ans) / wall, "p50": benchlib.pct(times, 50), "p99": benchlib.pct(times, 99),
            "past5": sum(1 for t in times if t > PASSIVE), "by_cs": sum(1 for _t, m in ans if m),
            "r50": benchlib.pct(review, 50), "rmax": max(review, default=float("nan")),
            "rpast5": sum(1 for t in review if t > PASSIVE), "reviews": len(review),
            "confirms": len(conf), "c50": benchlib.pct(conf, 50), "c99": benchlib.pct(conf, 99),
            "cmax": max(conf, default=float("nan")), "conf_by_cs": sum(1 for k, _t, m in rows if k == "confirm" and m),
            "pdfs": len(pdf_s), "p_50": benchlib.pct(pdf_s, 50), "p_99": benchlib.pct(pdf_s, 99),
            "p_max": max(pdf_s, default=float("nan")),
            "made": made, "docs": docs, "cpu_doc_ms": 1000 * wcpu / docs if docs else float("nan"),
            "jobs_s_worker": [m / wall for m in made],
            "busy": (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan"),
            "busy_jobs_s": (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan"), "serve_cpu_ms": 1000 * scpu / max(1, len(rows)),
            "fallback": fallback, "finished": sum(1 for u in users if "已生成《" in u.last),
            "killed": killed, "retried": sum(u.retried for u in users),
            "told": [sum("已生成《" in t for t in inbox.texts.get(u.openid, []))
                     + sum(1 for k, _t, m in u.times if k == "confirm" and not m) for u in users],
            "failures": [r for r in results if isinstance(r, BaseException)], "folder": folder}


async def kill_one(what: str, users: list, serves: list[Proc], pool: list[Proc], proxy: Proxy) -> str:
    """SIGKILL serve-0 or worker-0 once a third of the answers are in: what nothing accepted may be lost to."""
    goal = len(users) * 10
    while sum(len(u.times) for u in users) < goal:  # noqa: ASYNC110 - a benchmark watching its own counters
        await asyncio.sleep(0.05)
    victim = serves[0] if what == "serve" else pool[0]
    if what == "serve":
        proxy.dead.add(proxy.urls[0])  # the proxy's health check: no new requests there
    os.killpg(victim.proc.pid, signal.SIGKILL)
    answered = sum(len(u.times) for u in users)
    return f"{victim.name} killed (SIGKILL) after {answered} answers"


def show(r: dict, users: int) -> None:
    n = r["answers"]
    print(f"{users} users, 2 serve, {r['workers']} worker(s), PDFs {'on' if r['pdf'] else 'off'}; {r['load']}")
    print(f"  answers {n} in {r['wall']:.1f} s: {r['answers_s']:.1f} answers/s; p50 {r['p50']:.2f} s, p99 "
          f"{r['p99']:.2f} s; past the 5 s window {r['past5']} = {100 * r['past5'] / max(1, n):.1f} % "
          f"(by customer service {r['by_cs']})")
    print(f"  of them the review (the answer whose reply shows the whole form) {r['reviews']}: p50 {r['r50']:.2f} s, "
          f"max {r['rmax']:.2f} s, past 5 s {r['rpast5']}")
    print(f"  confirm → .docx link {r['confirms']}: p50 {r['c50']:.2f} s, p99 {r['c99']:.2f} s, max {r['cmax']:.2f} s "
          f"(by customer service {r['conf_by_cs']}); finished forms {r['finished']}/{users}")
    if r["pdf"]:
        print(f"  confirm → PDF link {r['pdfs']}/{r['confirms']}: p50 {r['p_50']:.2f} s, p99 {r['p_99']:.2f} s, "
              f"max {r['p_max']:.2f} s (in the confirm's reply, or the message that follows it)")
    per = ", ".join(f"{m} ({j:.2f}/s)" for m, j in zip(r["made"], r["jobs_s_worker"], strict=True))
    print(f"  documents made {r['docs']}, by worker {per}; workers' CPU {r['cpu_doc_ms']:.0f} ms a document; "
          f"serves' CPU {r['serve_cpu_ms']:.1f} ms a message; made by a serve itself {r['fallback']}")
    print(f"  first to last document {r['busy']:.1f} s: {r['busy_jobs_s']:.2f} jobs/s all workers, "
          f"{r['busy_jobs_s'] / r['workers']:.2f} a worker")
    if r["killed"]:
        told = r["told"]
        print(f"  {r['killed']}: deliveries sent again {r['retried']}; users told their documents once "
              f"{sum(1 for n in told if n == 1)}, more than once {sum(1 for n in told if n > 1)}, never "
              f"{sum(1 for n in told if n == 0)}")
    if r["failures"]:
        print(f"  {len(r['failures'])} users failed; first: {r['failures'][0]!r}")
    print(f"  logs in {r['folder']}")


def table(results: list[dict], users: int) -> None:
    print("\n| users | workers | PDFs | answers/s | answer p50 / p99 s | past 5 s | review p50 / max s | confirm → .docx p50 / p99 / "
          "max s | confirm → PDF p50 / max s | CPU ms a document | jobs/s a worker (run) | jobs/s all, first → last document | load average |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        jobs = " + ".join(f"{j:.2f}" for j in r["jobs_s_worker"])
        one = r["load"].split("load average ")[1].split(" ")[0]
        pdf_cell = f"{r['p_50']:.2f} / {r['p_max']:.2f}" if r["pdf"] else "–"
        print(f"| {users} | {r['workers']} | {'on' if r['pdf'] else 'off'} | {r['answers_s']:.1f} | "
              f"{r['p50']:.2f} / {r['p99']:.2f} | {r['past5']} ({100 * r['past5'] / max(1, r['answers']):.1f} %) | "
              f"{r['r50']:.2f} / {r['rmax']:.2f} | "
              f"{r['c50']:.2f} / {r['c99']:.2f} / {r['cmax']:.2f} | "
              f"{pdf_cell} | {r['cpu_doc_ms']:.0f} | {jobs} | {r['busy_jobs_s']:.2f} | {one} |")


async def main(args) -> None:
    global WAIT
    WAIT = args.wait
    workers = [int(x) for x in args.workers.split(",")]
    pdfs = [x.strip() == "on" for x in args.pdf.split(",")]
    cluster = None
    base = args.database_url
    if not base:
        cluster = Cluster()
        cluster.start()
        base = cluster.url
    try:
        where = "a throw-away cluster" if cluster else "the server named"
        print(f"bench_fleet: {benchlib.machine()}; PostgreSQL on loopback ({where}), fsync "
              f"{await fsync_setting(base)}; {benchlib.conditions(Path(tempfile.gettempdir()))}")
        results = []
        for pdf in pdfs:
            for m in workers:
                r = await configuration(args, base, m, pdf)
                show(r, args.users)
                results.append(r)
        table(results, args.users)
    finally:
        if cluster:
            cluster.stop()


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()
    return event


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="WeChat users at once (default 200)")
    parser.add_argument("--workers", default="1,2", help="render workers, one configuration each (default 1,2)")
    parser.add_argument("--pdf", default="off", help="on, off or both as off,on (default off)")
    parser.add_argument("--wait", type=float, default=WAIT,
                        help="seconds a user waits for a reply before it counts as lost (default 90)")
    parser.add_argument("--kill", choices=["serve", "worker"], default="",
                        help="SIGKILL serve-0 or worker-0 a third of the way through, once per configuration")
    parser.add_argument("--database-url", default="",
                        help="a PostgreSQL to make databases beside; default: a throw-away cluster, fsync on")
    asyncio.run(main(parser.parse_args()))
