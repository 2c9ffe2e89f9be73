"""Answers per second and latency per answer through the engine, and .docx render time.

    python benchmarks/bench_engine.py --users 50 --concurrency 10
    python benchmarks/bench_engine.py --database-url postgresql+asyncpg://…

Each simulated user fills in a whole 对接表 (every answer goes through the engine: its transaction,
checks and storage, exactly as a channel's message would) and confirms it, which renders the .docx.
Prints figures; compare ratios from one run, not absolute times across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import open_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.dialogs.forms import FORMS  # noqa: E402
from bot.documents.pdf import pdf_available  # noqa: E402
from bot.testing import ChatClient  # noqa: E402
from tests.conftest import SME_ANSWERS  # noqa: E402

RUN = uuid.uuid4().hex[:8]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


async def one_user(app, n: int, latencies: list[float], confirms: list[float]) -> None:
    client = ChatClient(app.engine, user_id=f"bench-{RUN}-{n}")  # new users even on a database used before
    original = client.deliver

    async def timed(incoming):
        t0 = time.perf_counter()
        replies = await original(incoming)
        confirming = (incoming.payload or "").endswith(":confirm")  # the files: timed apart from answers
        (confirms if confirming else latencies).append(time.perf_counter() - t0)
        return replies

    client.deliver = timed
    await client.send("/start")
    await client.click("中小企业")
    await client.click("对接表")
    await client.fill(SME_ANSWERS)
    await client.click("确认")
    assert client.last.document is not None, client.text


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--renders", type=int, default=30)
    ap.add_argument("--pdf", choices=("on", "off"), default="on",
                    help="a PDF beside each .docx where LibreOffice is installed (JIEBANG_PDF)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=args.database_url, pdf=args.pdf == "on")
        app = await open_app(settings)
        latencies: list[float] = []
        confirms: list[float] = []
        sem = asyncio.Semaphore(args.concurrency)

        async def guarded(n: int) -> None:
            async with sem:
                await one_user(app, n, latencies, confirms)

        t0 = time.perf_counter()
        await asyncio.gather(*(guarded(n) for n in range(args.users)))
        wall = time.perf_counter() - t0
        await app.close()

    db = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite file"
    pdf = "with PDF" if settings.pdf and pdf_available() else "no PDF"
    print(f"engine on {db}: {args.users} users × whole 对接表, {args.concurrency} at a time, {pdf}")
    print(f"  messages handled     {len(latencies) + len(confirms)} in {wall:.1f} s")
    print(f"  messages per second  {(len(latencies) + len(confirms)) / wall:.0f}")
    print(f"  per answer     p50 {ms(statistics.median(latencies))}  p99 {ms(pct(latencies, 99))}  "
          f"max {ms(max(latencies))}")
    print(f"  per confirm (the files)  p50 {ms(statistics.median(confirms))}  p99 {ms(pct(confirms, 99))}  "
          f"max {ms(max(confirms))}")

    form = FORMS["sme_match"]
    answers = {"company_name": "上海测试科技有限公司", "credit_code": "91310000132149237G", "reg_province": "上海市",
               "reg_city": "浦东新区", "reg_date": "2015-03-02", "legal_rep": "张三", "contact": "李四",
               "contact_phone": "021-68811103", "contact_mobile": "13912345678", "email": "a@b.cn",
               "registered_capital": "500", "employees": 85, "revenue": "3200", "industry": "65", "size": "小型",
               "ownership": "民营", "enterprise_types": ["创新型中小企业"], "address": "上海市浦东新区", "postcode": "200120",
               "overview": "公司概况" * 120, "items": [{"name": f"事项{i}", "code": f"C{i}"} for i in range(3)]}
    form.render(answers)  # warm-up: imports
    times = []
    for _ in range(args.renders):
        t0 = time.perf_counter()
        form.render(answers)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()  # separately: tracing slows Python code down several times
    form.render(answers)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"对接表 .docx render: median {statistics.median(times) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms over {args.renders}; peak Python memory {peak / 1e6:.1f} MB")

if __name__ == "__main__":
    asyncio.run(main())
