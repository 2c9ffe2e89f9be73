"""Answers per second, latency, CPU, statements, commits and thread hops per answer through the engine.

    python benchmarks/bench_engine.py                                   # SQLite file, synchronous=FULL
    python benchmarks/bench_engine.py --database-url postgresql+asyncpg://postgres@127.0.0.1:55500/postgres
    python benchmarks/bench_engine.py --present 20000 --concurrency 10 --users 100 --json /tmp/ours.json

One row per (users already in the database) × (users at a time); each row runs in a process of its own on
a fresh database (SQLite: a new file; PostgreSQL: a new database made from --database-url's, dropped after).
A row: one template user fills in and confirms the 对接表 through the engine (also the warm-up); the other
present users are copies of the template's rows (users, conversations, submissions and whatever else hangs
off them, except logs such as processed messages), inserted with SQL through the app's SQLAlchemy engine;
then --users new users open the form (untimed), answer all of it (timed: every message of tests/conftest.py's
SME_STEPS, or SME_ANSWERS, through ChatClient.fill, N users at a time; a long text's closing 完成 and a skip
are answers too), and confirm (timed apart: that makes the .docx; no PDF unless --pdf on).

Per answer, over the timed part: latency of engine.handle (receive → check → commit → next question);
CPU = process CPU time (all threads) / answers (the render process's, making a review's files while
others answer, is printed apart below the table); statements = SQLAlchemy `before_cursor_execute` on
app.store.engine (BEGIN included) + app.store.counters["statements"] where the store has counters; commits
likewise (`commit` events + counters["commits"]); thread hops = aiosqlite's worker-thread calls +
loop.run_in_executor calls (asyncio.to_thread included), those made from storage/ replaced by
counters["hops"] where the store counts its own. "n/a": not measurable on this store. Peak RSS is the row's
process (resource.getrusage) by the end of the answers, the database prefilled (the confirms' documents
after it are printed beside). Compare ratios from one sitting, not absolute times
across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402  (puts the repository on sys.path)
from sqlalchemy import MetaData, String, event, func, or_, select, text  # noqa: E402

from bot.app import open_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.testing import ChatClient  # noqa: E402

try:  # how the tests get past the screen before question 1 (a campaign's note), where there is one
    from tests.conftest import past_start  # noqa: E402
except Exception:  # noqa: BLE001
    past_start = None

RUN = uuid.uuid4().hex[:8]
SKIP_TABLES = ("processed", "outbox", "document", "reminder", "campaign", "alembic")  # logs, not a user's state
STATS: Counter = Counter()  # what this process counts itself (SQLAlchemy events, aiosqlite and executor hops)


# -- counting ---------------------------------------------------------------------------------------------

def count_aiosqlite_hops() -> bool:
    """Every call aiosqlite sends to its connection's thread goes through Connection._execute: count them."""
    try:
        import aiosqlite.core as core
    except ImportError:
        return False
    original = getattr(core.Connection, "_execute", None)
    if original is None:
        return False

    async def counted(self, fn, *args, **kwargs):
        STATS["aiosqlite_hops"] += 1
        return await original(self, fn, *args, **kwargs)

    core.Connection._execute = counted
    return True


def count_executor_hops(loop: asyncio.AbstractEventLoop) -> None:
    """Calls into an executor (asyncio.to_thread included), by who made them: the store's own ("storage.…"
    modules) apart, as a store with counters counts its hops itself."""
    original = loop.run_in_executor

    def counted(executor, func, *args):
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__", "").startswith("asyncio"):
            frame = frame.f_back
        caller = frame.f_globals.get("__name__", "") if frame is not None else ""
        STATS["executor_hops_storage" if caller.startswith("storage") else "executor_hops"] += 1
        return original(executor, func, *args)

    loop.run_in_executor = counted  # asyncio.to_thread goes through here too


def count_statements(app) -> bool:
    sync_engine = getattr(getattr(app.store, "engine", None), "sync_engine", None)
    if sync_engine is None:
        return False

    def on_statement(*_args):
        STATS["sa_statements"] += 1

    def on_commit(*_args):
        STATS["sa_commits"] += 1

    event.listen(sync_engine, "before_cursor_execute", on_statement)
    event.listen(sync_engine, "commit", on_commit)
    return True


def render_pids(app) -> list[int]:
    """The processes that make the .docx files (bot/documents/worker.py), where the engine has them."""
    renderer = getattr(app.engine, "renderer", None)
    return renderer.pids() if renderer is not None else []


def snapshot(app) -> dict[str, int]:
    store_counters = getattr(app.store, "counters", None)
    snap = {k: v for k, v in STATS.items()}
    if store_counters is not None:
        snap.update({f"store.{k}": v for k, v in dict(store_counters).items()})
    return snap


# -- the database ----------------------------------------------------------------------------------------

async def fresh_postgres(url: str, name: str) -> str | None:
    """A new database beside --database-url's (None when it cannot be made: then that one is used)."""
    import asyncpg

    base, _, _ = url.rpartition("/")
    try:
        admin = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
    except Exception as exc:  # no CREATEDB: use the given database as it is
        print(f"(could not create a database: {exc}; using {url} as it is)", file=sys.stderr)
        return None
    return f"{base}/{name}"


async def drop_postgres(url: str, name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def serial_key(table):
    """The table's own integer primary key (not a foreign key), or None."""
    cols = list(table.primary_key.columns)
    if len(cols) != 1 or cols[0].foreign_keys:
        return None
    try:
        return cols[0] if cols[0].type.python_type is int else None
    except NotImplementedError:
        return None


async def prefill(app, channel: str, external_id: str, copies: int, batch: int = 500) -> list[str]:
    """`copies` users like the template user (channel, external_id): their rows copied with SQL.

    Tables are found in the database itself (reflected), so this follows the schema as it changes: the users
    table, then every table referencing a copied table (parents first), except SKIP_TABLES. A copy gets new
    integer keys, its foreign keys pointed at its own rows, and "~n" after a string column of each unique key
    that would otherwise repeat (external_id)."""
    engine = app.store.engine
    async with engine.connect() as conn:
        md = MetaData()
        await conn.run_sync(lambda c: md.reflect(c))
        users = md.tables.get("users")
        if users is None:
            users = next(t for t in md.tables.values() if {"channel", "external_id"} <= set(t.c.keys()))
        tables = [users]
        for t in md.sorted_tables:
            if t is not users and not any(s in t.name for s in SKIP_TABLES) \
                    and any(fk.column.table in tables for fk in t.foreign_keys):
                tables.append(t)
        rows = {users: [dict(r) for r in (await conn.execute(
            select(users).where(users.c.channel == channel, users.c.external_id == external_id))).mappings()]}
        for t in tables[1:]:
            conds = [fk.parent.in_([r[fk.column.name] for r in rows[fk.column.table]])
                     for fk in t.foreign_keys if fk.column.table in rows]
            rows[t] = [dict(r) for r in (await conn.execute(select(t).where(or_(*conds)))).mappings()]
        serial = {t: pk for t in tables if (pk := serial_key(t)) is not None}
        next_id = {t: (await conn.execute(select(func.max(c)))).scalar() or 0 for t, c in serial.items()}
    uniques = {t: [set(t.primary_key.columns.keys())] + [set(c.columns.keys()) for c in t.constraints
                                                          if c.__class__.__name__ == "UniqueConstraint"]
               + [set(i.columns.keys()) for i in t.indexes if i.unique] for t in tables}

    def copy_rows(n: int) -> dict:
        out: dict = {t: [] for t in tables}
        mapping: dict[tuple[str, object], object] = {}
        for t in tables:
            for r in rows[t]:
                new, changed = dict(r), set()
                if t in serial:
                    next_id[t] += 1
                    key = serial[t].name
                    mapping[(t.name, r[key])] = new[key] = next_id[t]
                    changed.add(key)
                for fk in t.foreign_keys:
                    target = (fk.column.table.name, r[fk.parent.name])
                    if target in mapping:
                        new[fk.parent.name] = mapping[target]
                        changed.add(fk.parent.name)
                for cols in uniques[t]:
                    if cols and not cols & changed:
                        col = next((c for c in reversed(t.columns) if c.name in cols and isinstance(c.type, String)),
                                   None)
                        if col is None:
                            raise SystemExit(f"prefill: cannot make {t.name}'s unique key {sorted(cols)} unique")
                        new[col.name] = f"{r[col.name]}~{n}"
                        changed.add(col.name)
                out[t].append(new)
        return out

    for start in range(0, copies, batch):
        merged: dict = {t: [] for t in tables}
        for n in range(start, min(copies, start + batch)):
            for t, new_rows in copy_rows(n).items():
                merged[t].extend(new_rows)
        async with engine.begin() as conn:
            for t in tables:
                if merged[t]:
                    await conn.execute(t.insert(), merged[t])
    async with engine.begin() as conn:
        if app.store.engine.dialect.name == "postgresql":
            for t, c in serial.items():  # explicit ids do not move a sequence
                await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t.name}', '{c.name}'), "
                                        f"(SELECT max({c.name}) FROM {t.name}))"))
    if app.store.engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE"))
    return [f"{t.name} {len(rows[t]) * copies:,}" for t in tables if rows[t] and copies]


async def count_users(app) -> int:
    async with app.store.engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM users"))).scalar()


# -- one row ---------------------------------------------------------------------------------------------

class BenchClient(ChatClient):
    """ChatClient keeping only its last replies, so the harness's memory does not grow with the answers."""

    async def deliver(self, incoming):
        replies = await super().deliver(incoming)
        del self.replies[:-4]
        return replies


class Timed:
    """The engine as a ChatClient sees it, timing each handle() into the current phase's list."""

    def __init__(self, engine, sink: dict) -> None:
        self._engine, self._sink, self.messages = engine, sink, 0

    def __getattr__(self, name):
        return getattr(self._engine, name)

    async def handle(self, incoming):
        t0 = time.perf_counter()
        replies = await self._engine.handle(incoming)
        self._sink["latencies"].append(time.perf_counter() - t0)
        self.messages += 1
        return replies


async def open_form(client: ChatClient) -> None:
    await client.send("/start")
    await client.click("中小企业")
    await client.click("对接表")
    if past_start is not None:
        await past_start(client)


async def confirm(client: ChatClient) -> None:
    replies = await client.click("确认")
    if not any(r.document is not None or getattr(r, "documents", ()) for r in replies):
        raise SystemExit(f"confirm made no document: {' | '.join(r.text[:80] for r in replies)}")


async def cell(args: argparse.Namespace) -> dict:
    # ChatClient.fill answers by step key where replies carry one (SME_STEPS), else by question (SME_ANSWERS)
    _mode, answers = benchlib.sme_script(by_step=hasattr(ChatClient, "step"))
    loop = asyncio.get_running_loop()
    hops_measured = count_aiosqlite_hops()
    count_executor_hops(loop)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        url, pg_name = args.database_url, None
        if url.startswith("postgresql"):
            pg_name = f"bench_{RUN}_{args.present}_{args.concurrency}"
            made = await fresh_postgres(url, pg_name)
            url, pg_name = (made, pg_name) if made else (url, None)
        settings = Settings(data_dir=Path(tmp), database_url=url, pdf=args.pdf == "on")
        app = await open_app(settings)
        try:
            statements_measured = count_statements(app)
            sink: dict = {"latencies": []}
            template = BenchClient(Timed(app.engine, sink), user_id=f"tpl-{RUN}")
            await open_form(template)
            await template.fill(answers)
            await confirm(template)
            t0 = time.perf_counter()
            tables = await prefill(app, template.channel, template.user_id, max(0, args.present - 1))
            prefill_s = time.perf_counter() - t0
            if app.store.engine.dialect.name == "sqlite":  # start the timed part with the prefill checkpointed
                db = app.store.engine.url.database
                with sqlite3.connect(db) as c:
                    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            present = await count_users(app)
            rss_before = benchlib.rss_mb()

            clients = [BenchClient(Timed(app.engine, sink), user_id=f"bench-{RUN}-{n}") for n in range(args.users)]
            sem = asyncio.Semaphore(args.concurrency)

            async def each(step, client):
                async with sem:
                    await step(client)

            await asyncio.gather(*(each(open_form, c) for c in clients))  # untimed: the form opened

            sink["latencies"] = []
            before = snapshot(app)
            for c in clients:
                c.engine.messages = 0
            renderers = render_pids(app)
            cpu0, t0, rcpu0 = time.process_time(), time.perf_counter(), benchlib.cpu_s_of(renderers)
            await asyncio.gather(*(each(lambda c: c.fill(answers), c) for c in clients))
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            render_cpu = benchlib.cpu_s_of(renderers) - rcpu0  # the reviews' files, made while others answer
            after = snapshot(app)
            peak_answering = benchlib.peak_rss_mb()  # before the confirms' documents
            latencies = sink["latencies"]
            per_user = sorted({c.engine.messages for c in clients})

            sink["latencies"] = []
            t1 = time.perf_counter()
            await asyncio.gather(*(each(confirm, c) for c in clients))
            confirm_wall = time.perf_counter() - t1
            render_rss = benchlib.rss_mb_of(render_pids(app))
            confirms = sink["latencies"]
            counters_present = getattr(app.store, "counters", None) is not None
        finally:
            await app.close()
            if pg_name:
                await drop_postgres(args.database_url, pg_name)

    n = len(latencies)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}

    def per_answer(*keys: str, measured: bool) -> float | None:
        if not measured and not any(k in after for k in keys if k.startswith("store.")):
            return None
        return sum(delta.get(k, 0) for k in keys) / n

    sqlite = app.store.engine.dialect.name == "sqlite"
    return {
        "bench": "engine", "database": app.store.engine.dialect.name, "present": present, "users": args.users,
        "concurrency": args.concurrency, "answers": n, "answers_per_user": per_user, "wall_s": wall,
        "answers_per_s": n / wall, **benchlib.latency(latencies), "cpu_ms_per_answer": cpu * 1000 / n,
        "render_cpu_ms_per_answer": render_cpu * 1000 / n, "render_processes": len(renderers),
        "render_rss_mb": render_rss,
        "statements_per_answer": per_answer("sa_statements", "store.statements", measured=statements_measured),
        "commits_per_answer": per_answer("sa_commits", "store.commits", measured=statements_measured),
        "hops_per_answer": per_answer("aiosqlite_hops", "executor_hops", "store.hops", measured=hops_measured
                                      or not sqlite) if counters_present else
        per_answer("aiosqlite_hops", "executor_hops", "executor_hops_storage", measured=hops_measured or not sqlite),
        "counts": {k: v / n for k, v in sorted(delta.items())}, "store_counters": counters_present,
        "confirms": len(confirms), "confirm_p50_ms": benchlib.pct(confirms, 50) * 1000,
        "confirm_max_ms": max(confirms) * 1000, "confirm_wall_s": confirm_wall,
        "peak_rss_mb": peak_answering, "peak_rss_with_confirms_mb": benchlib.peak_rss_mb(),
        "rss_before_mb": rss_before, "prefill_s": prefill_s,
        "prefilled_tables": tables, "pdf": settings.pdf,
    }


# -- the table -------------------------------------------------------------------------------------------

HEADER = (f"{'present':>7} {'at a time':>9} {'answers/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
          f"{'CPU ms/ans':>10} {'stmts/ans':>9} {'commits/ans':>11} {'hops/ans':>8} {'peak RSS MB':>11} "
          f"{'confirm p50/max ms':>18}")


def row(r: dict) -> str:
    n = benchlib.num
    return (f"{r['present']:>7,} {r['concurrency']:>9} {n(r['answers_per_s'], 0):>9} {n(r['p50_ms'], 2):>7} "
            f"{n(r['p99_ms'], 2):>7} {n(r['max_ms'], 1):>7} {n(r['cpu_ms_per_answer'], 2):>10} "
            f"{n(r['statements_per_answer']):>9} {n(r['commits_per_answer'], 2):>11} {n(r['hops_per_answer']):>8} "
            f"{n(r['peak_rss_mb'], 0):>11} {n(r['confirm_p50_ms'], 0) + ' / ' + n(r['confirm_max_ms'], 0):>18}")


def ints(value: str) -> list[int]:
    return [int(x) for x in value.split(",") if x.strip()]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="", help="default: a SQLite file in a temporary folder")
    ap.add_argument("--present", type=ints, default=[20, 2000, 20000],
                    help="users in the database before the timed part, comma-separated rows (20,2000,20000)")
    ap.add_argument("--concurrency", type=ints, default=[1, 10], help="users at a time (1,10)")
    ap.add_argument("--users", type=int, default=40, help="users who fill in the form in the timed part (40)")
    ap.add_argument("--pdf", choices=("on", "off"), default="off", help="a PDF at confirm (never while answering)")
    ap.add_argument("--dir", type=Path, default=None, help="temporary folder (SQLite file, documents)")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows' figures here")
    ap.add_argument("--cell", action="store_true", help=argparse.SUPPRESS)  # one row, in this process
    return ap.parse_args(argv)


def run_rows(args: argparse.Namespace) -> list[dict]:
    kind = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite file (WAL, synchronous=FULL)"
    print(f"engine on {kind}: {args.users} users × the whole 对接表, no PDF while answering; "
          "one process and a fresh database per row", flush=True)
    print(f"  {benchlib.conditions(args.dir or Path(tempfile.gettempdir()))}", flush=True)
    print(HEADER, flush=True)
    results = []
    for present in args.present:
        for concurrency in args.concurrency:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--cell", "--present", str(present),
                   "--concurrency", str(concurrency), "--users", str(args.users), "--pdf", args.pdf]
            if args.database_url:
                cmd += ["--database-url", args.database_url]
            if args.dir:
                cmd += ["--dir", str(args.dir)]
            out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
            if out.returncode != 0:
                raise SystemExit(f"row present={present} concurrency={concurrency} failed ({out.returncode})")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(r)
            print(row(r), flush=True)
    r0 = results[0]
    extra = sorted({k for r in results for k in r["counts"] if k.startswith("store.")})
    print(f"answers per user: {r0['answers_per_user']}; statements/commits: SQLAlchemy events on app.store.engine "
          f"(BEGIN counted){' + app.store.counters' if r0['store_counters'] else ' (app.store.counters: absent)'}; "
          "hops: aiosqlite thread calls + executor calls" + (" outside storage/ + counters['hops']"
                                                             if r0["store_counters"] else ""))
    for r in results:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in r["counts"].items())
        print(f"  present {r['present']:,}, {r['concurrency']} at a time, per answer: {parts}; prefill "
              f"{r['prefill_s']:.1f} s ({', '.join(r['prefilled_tables']) or 'none'}); RSS before {r['rss_before_mb']:.0f} MB, "
              f"peak with the confirms {r['peak_rss_with_confirms_mb']:.0f} MB; render processes "
              f"{r.get('render_processes', 0)} (CPU while answering {r.get('render_cpu_ms_per_answer', 0):.2f} ms "
              f"per answer, not in CPU ms/ans; RSS {r.get('render_rss_mb', 0):.0f} MB)")
    if extra:
        print(f"  store counters seen: {', '.join(extra)}")
    return results


def main() -> None:
    args = parse()
    if args.cell:
        args.present, args.concurrency = args.present[0], args.concurrency[0]
        print(json.dumps(asyncio.run(cell(args))))
        return
    results = run_rows(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
