"""How often 所属行业 offers the right 大类, on everyday descriptions of what firms do.

    .venv/bin/python benchmarks/bench_industries.py [-v]

Each set is a .tsv beside this script (text, the 小类 the activity belongs to under GB/T 4754-2017; its
大类 is the first two digits). For each it prints how many have the right 大类 first and among the three
offered, and how many were taken without asking (and of those, how many wrongly). -v lists every miss.

- industry_cases.tsv: the test set the supplement words were written against (tests guard its floor);
- industry_cases_heldout.tsv: written after the first round, then used for a second round of words;
- industry_cases_unseen.tsv: written after the matcher was frozen; never tuned for. Its figure is the
  one to expect for a description nobody has seen.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.domain.industries import search  # noqa: E402

CASES = Path(__file__).with_name("industry_cases.tsv")
SETS = ("industry_cases.tsv", "industry_cases_heldout.tsv", "industry_cases_unseen.tsv")


def cases(path: Path = CASES) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            text, code = line.split("\t")[:2]
            out.append((text, code))
    return out


def measure(rows: list[tuple[str, str]]) -> dict:
    first = top3 = taken = taken_wrong = 0
    misses = []
    for text, code in rows:
        found = search(text)
        codes = [m.code for m in found[:3]]
        first += bool(codes) and codes[0] == code[:2]
        top3 += code[:2] in codes
        if found and found[0].strong:
            taken += 1
            taken_wrong += found[0].code != code[:2]
        if not codes or codes[0] != code[:2]:
            misses.append((text, code, [m.display for m in found[:3]]))
    return {"n": len(rows), "first": first, "top3": top3, "taken": taken, "taken_wrong": taken_wrong,
            "misses": misses}


def main() -> int:
    search("预热")  # build the index once, outside the timing
    for name in SETS:
        rows = cases(Path(__file__).with_name(name))
        t0 = time.perf_counter()
        r = measure(rows)
        ms = (time.perf_counter() - t0) * 1000 / len(rows)
        n = r["n"]
        print(f"{name}: {n} descriptions, right 大类 first {r['first']} ({r['first'] / n:.1%}), "
              f"among the three offered {r['top3']} ({r['top3'] / n:.1%}); taken without asking "
              f"{r['taken']}, of which wrong {r['taken_wrong']}; {ms:.1f} ms a search")
        if "-v" in sys.argv:
            for text, code, offered in r["misses"]:
                print(f"  {text} (want {code[:2]}/{code}): {offered}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
