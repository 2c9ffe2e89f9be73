"""Plan reminders for N users and print how long it takes.

    .venv/bin/python benchmarks/bench_reminders.py                  # 10,000 users, a temporary SQLite file
    .venv/bin/python benchmarks/bench_reminders.py --users 10000 --database-url postgresql+asyncpg://…/bench

Every user has a draft 对接表 registered in a Shanghai district; a 2027 campaign gives the form a deadline.
Prints: the first plan (inserts 4 rows a user), a second plan (nothing new: the unique key), and one
`run_due` at 09:00 on the 7-day mark, sending every user's reminder through a channel that only counts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from bot.campaigns import ReminderService  # noqa: E402
from bot.campaigns.model import Campaign  # noqa: E402
from bot.campaigns.pack import shipped  # noqa: E402
from bot.campaigns.repo import save_campaign  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Submission, User  # noqa: E402
from storage.store import Store  # noqa: E402

DISTRICTS = ("浦东新区", "黄浦区", "闵行区", "嘉定区", "临港新片区", "松江区")


class CountingChannel:
    """Counts; with `latency`, each send first waits that long, as a platform's API over the network does."""

    name = "bench"

    def __init__(self, latency: float = 0.0) -> None:
        self.count = 0
        self.latency = latency

    async def send(self, user_id, replies) -> bool:
        if self.latency:
            await asyncio.sleep(self.latency)
        self.count += 1
        return True


async def main(args: argparse.Namespace) -> None:
    url = args.database_url or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    store = Store(url)
    await upgrade(store.engine)
    now = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
    async with store.sessions() as session, session.begin():
        sh = next(c for c in shipped() if c["id"] == "2024-shanghai")
        await save_campaign(session, Campaign({**sh, "id": "2027-shanghai", "year": 2027})
                            .with_deadline("sme_match", date(2027, 3, 10)))
        start = (await session.execute(select(User.id).order_by(User.id.desc()).limit(1))).scalar() or 0
        t0 = time.perf_counter()
        for i in range(0, args.users, 1000):
            n = min(1000, args.users - i)
            await session.execute(insert(User), [dict(channel="bench", external_id=f"b{start + i + k}",
                                                      language="zh_CN", prefs={}, created_at=now) for k in range(n)])
        ids = list((await session.execute(select(User.id).where(User.channel == "bench"))).scalars())
        for i in range(0, len(ids), 1000):
            await session.execute(insert(Submission), [dict(
                user_id=uid, form_id="sme_match", status="draft", created_at=now, updated_at=now,
                answers={"company_name": f"公司{uid}", "reg_province": "上海市",
                         "reg_city": DISTRICTS[uid % len(DISTRICTS)]}) for uid in ids[i:i + 1000]])
    print(f"database        {store.dialect}  ({url.split('@')[-1]})")
    print(f"users           {len(ids):,} with a draft 对接表 (setup {time.perf_counter() - t0:.2f} s)")
    channel = CountingChannel(args.send_ms / 1000)
    svc = ReminderService(store, {"bench": channel}, clock=lambda: now, batch=args.batch, parallel=args.parallel)
    t = time.perf_counter()
    rows = await svc.plan(now)
    first = time.perf_counter() - t
    print(f"plan (first)    {first:.2f} s  {rows:,} rows  {len(ids) / first:,.0f} users/s")
    t = time.perf_counter()
    again = await svc.plan(now)
    print(f"plan (again)    {time.perf_counter() - t:.2f} s  {again:,} new rows")
    if not args.no_send:
        due = datetime(2027, 3, 3, 1, 0, tzinfo=UTC)
        t = time.perf_counter()
        while (await svc.run_due(due)).sent:
            pass
        took = time.perf_counter() - t
        print(f"run_due (7-day) {took:.2f} s  {channel.count:,} sent  {channel.count / took:,.0f} reminders/s  "
              f"({args.parallel} at a time, {args.send_ms:g} ms a send)")
    await store.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--database-url", default="", help="SQLAlchemy async URL (default: a temporary SQLite file)")
    p.add_argument("--batch", type=int, default=200, help="reminders claimed per run_due round")
    p.add_argument("--no-send", action="store_true", help="plan only")
    p.add_argument("--send-ms", type=float, default=0.0, help="each send waits this long (a platform API's latency)")
    p.add_argument("--parallel", type=int, default=8, help="reminders sent at once (ReminderService default 8)")
    asyncio.run(main(p.parse_args()))
