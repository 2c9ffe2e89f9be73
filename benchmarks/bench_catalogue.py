"""How good is the 需求目录 search? Precision of the first 5 results on judged queries.

    .venv/bin/python benchmarks/bench_catalogue.py [--database-url URL] [-v]

The catalogue (benchmarks/data/needs_2024.csv, 313 needs written for this benchmark in the ministry's
column wording) is imported the way `admin import-catalogue` does it, into a fresh SQLite file (or the
database named). Each query of benchmarks/data/queries_2024.json has the codes judged relevant to it by
hand; `kind` is words (default), code, or suggest (所属行业 + 企业概况). Printed per kind and overall:
P@5 (relevant among the first 5, over 5), P@5 capped (over min(5, relevant ones): 1.0 is the best a
query with 2 relevant items can get), hit@1 and MRR; and, for comparison, the same figures for plain
substring matching (a need whose name or text contains the query, names first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import catalogue  # noqa: E402
from bot.catalogue import importer, repo  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.store import Store  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
CAMPAIGN = "2024-national"


def _figures(ranked: list[list[str]], relevant: list[set[str]]) -> dict[str, float]:
    n = len(ranked)
    p5 = sum(len(set(r[:5]) & rel) / 5 for r, rel in zip(ranked, relevant, strict=True)) / n
    capped = sum(len(set(r[:5]) & rel) / min(5, len(rel)) for r, rel in zip(ranked, relevant, strict=True)) / n
    hit1 = sum(1 for r, rel in zip(ranked, relevant, strict=True) if r[:1] and r[0] in rel) / n
    mrr = sum(next((1 / i for i, c in enumerate(r, 1) if c in rel), 0.0)
              for r, rel in zip(ranked, relevant, strict=True)) / n
    return {"n": n, "P@5": p5, "P@5 capped": capped, "hit@1": hit1, "MRR": mrr}


def _substring(needs, query: str) -> list[str]:
    q = query.strip().lower()
    names = [n.code for n in needs if q in n.name.lower() or q == n.code.lower()]
    texts = [n.code for n in needs if q in n.content.lower() and n.code not in names]
    return (names + texts)[:10]


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each query's first 5 and misses")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.sqlite3'}"
    store = Store(url)
    await upgrade(store.engine)
    parsed = importer.parse(importer.read_table(DATA / "needs_2024.csv"))
    async with store.sessions() as session, session.begin():
        await repo.upsert(session, CAMPAIGN, parsed.rows, replace=True)
    queries = json.loads((DATA / "queries_2024.json").read_text(encoding="utf-8"))
    needs = await catalogue.needs_of(store, CAMPAIGN, "published")
    t0 = time.perf_counter()
    await catalogue.index_for(store, CAMPAIGN)
    build_ms = (time.perf_counter() - t0) * 1000
    by_kind: dict[str, tuple[list, list, list]] = {}
    timings = []
    for q in queries:
        kind = q.get("kind", "words")
        t0 = time.perf_counter()
        if kind == "suggest":
            found = await catalogue.suggest(store, CAMPAIGN, q["industry"], q["overview"], limit=10)
        else:
            found = await catalogue.search(store, CAMPAIGN, q["q"], limit=10)
        timings.append((time.perf_counter() - t0) * 1000)
        ranked = [n.code for n in found]
        base = _substring(needs, q.get("q") or q.get("overview", ""))
        rel = set(q["relevant"])
        ours, baseline, rels = by_kind.setdefault(kind, ([], [], []))
        ours.append(ranked)
        baseline.append(base)
        rels.append(rel)
        if args.verbose:
            mark = "".join("+" if c in rel else "." for c in ranked[:5])
            print(f"{mark:<5} {q.get('q') or q['overview'][:20]}: {ranked[:5]}"
                  + (f" missing {sorted(rel - set(ranked[:5]))}" if rel - set(ranked[:5]) else ""))
    print(f"catalogue: {len(needs)} needs; {len(queries)} judged queries; index built in {build_ms:.1f} ms "
          f"(first search); a search {sorted(timings)[len(timings) // 2]:.2f} ms (median)")
    all_ours, all_base, all_rel = [], [], []
    for kind, (ours, baseline, rels) in by_kind.items():
        all_ours += ours
        all_base += baseline
        all_rel += rels
        _print(kind, _figures(ours, rels), _figures(baseline, rels))
    _print("all", _figures(all_ours, all_rel), _figures(all_base, all_rel))
    await store.close()
    tmp.cleanup()
    return 0


def _print(kind: str, ours: dict, base: dict) -> None:
    cells = "  ".join(f"{k} {ours[k]:.3f} (substring {base[k]:.3f})" for k in ("P@5", "P@5 capped", "hit@1", "MRR"))
    print(f"{kind:<8} n={ours['n']:<3} {cells}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
