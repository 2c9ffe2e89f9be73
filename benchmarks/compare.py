"""This project's engine against the peer (python-telegram-bot + PicklePersistence), in one sitting.

    python benchmarks/compare.py                          # 20 and 200 users, 1 and 10 at a time, SQLite
    python benchmarks/compare.py --database-url postgresql+asyncpg://postgres@127.0.0.1:55500/postgres

Runs bench_peer.py and bench_engine.py with the same users (each filling in the whole 对接表)
and the same number at a time, one after the other, and prints answers/s of both and the ratio ours/peer.
Ours starts from a database holding only its template user; the peer from an empty pickle. Both are durable
per answer (ours: the commit; the peer: flush + fsync of the pickle).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import benchlib  # noqa: E402


def run(cmd: list[str]) -> list[dict]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([*cmd, "--json", out.name], check=True)
        return json.loads(Path(out.name).read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", default="20,200", help="users in all, comma-separated (20,200)")
    ap.add_argument("--concurrency", default="1,10", help="users at a time (1,10)")
    ap.add_argument("--database-url", default="", help="ours on PostgreSQL (default: a SQLite file)")
    ap.add_argument("--dir", type=Path, default=None, help="temporary folder for the pickle and the SQLite file")
    args = ap.parse_args()
    where = ["--dir", str(args.dir)] if args.dir else []

    print("== the peer ==", flush=True)
    peer = run([sys.executable, str(HERE / "bench_peer.py"), "--users", args.users,
                "--concurrency", args.concurrency, *where])
    ours = []
    for users in args.users.split(","):
        print(f"== ours, {users} users ==", flush=True)
        ours += run([sys.executable, str(HERE / "bench_engine.py"), "--present", "0", "--users", users,
                     "--concurrency", args.concurrency, *where,
                     *(["--database-url", args.database_url] if args.database_url else [])])

    db = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite (synchronous=FULL)"
    print(f"\nanswers/s, durable per answer: ours on {db} vs python-telegram-bot {peer[0]['ptb']} + PicklePersistence")
    print(f"{'users':>6} {'at a time':>9} {'peer':>8} {'ours':>8} {'ours/peer':>9}   "
          f"{'p50 ms peer':>11} {'p50 ms ours':>11} {'p99 ms peer':>11} {'p99 ms ours':>11}")
    n = benchlib.num
    for p in peer:
        o = next(r for r in ours if r["users"] == p["users"] and r["concurrency"] == p["concurrency"])
        print(f"{p['users']:>6} {p['concurrency']:>9} {n(p['answers_per_s'], 0):>8} {n(o['answers_per_s'], 0):>8} "
              f"{o['answers_per_s'] / p['answers_per_s']:>8.2f}×   {n(p['p50_ms'], 2):>11} {n(o['p50_ms'], 2):>11} "
              f"{n(p['p99_ms'], 2):>11} {n(o['p99_ms'], 2):>11}")


if __name__ == "__main__":
    main()
