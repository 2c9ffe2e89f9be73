"""CPU milliseconds per .docx, each form, with rows built by python-docx every time against rows copied from
the first one of their shape (bot/documents/tables.py, ROW_SHAPES), in one sitting; and the blank document
each form starts from, built from python-docx's template against copied from the process's first one.

    python benchmarks/bench_render.py          # 30 renders of each form each way
    python benchmarks/bench_render.py -n 100

The answers are the ones tests/documents/test_docx_*.py print. Each way renders each form N times after one
untimed render (imports, fonts' metrics and, for "copied", the rows kept); process CPU time
(time.process_time), so the figure is the work a render worker does for one paper, what a fleet's .docx queue
drains at (benchmarks/bench_fleet.py). Figures, not assertions: compare the ratio, not absolute times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

from bot.documents import application, large_need, sme_match, tables, typeset  # noqa: E402
from tests.documents.test_docx_application import ANSWERS as APPLICATION  # noqa: E402
from tests.documents.test_docx_large_need import ANSWERS as LARGE  # noqa: E402
from tests.documents.test_docx_sme_match import ANSWERS as SME  # noqa: E402

FORMS = [("对接表 sme_match", sme_match.render, SME), ("需求表 large_need", large_need.render, LARGE),
         ("申请书 application", application.render, APPLICATION)]


def cpu_ms(render, answers, n: int) -> list[float]:
    render(answers)
    out = []
    for _ in range(n):
        start = time.process_time()
        render(answers)
        out.append((time.process_time() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=30, help="renders of each form each way (default 30)")
    args = parser.parse_args()
    print(benchlib.machine())
    print(f"{'form':<22}{'built ms p50':>14}{'copied ms p50':>15}{'built/copied':>14}{'rows kept':>11}")
    kept = tables.ROW_SHAPES
    for name, render, answers in FORMS:
        tables.ROW_SHAPES = 0  # every row kept is dropped at once: each one built
        tables._ROWS.clear()
        built = statistics.median(cpu_ms(render, answers, args.n))
        tables.ROW_SHAPES = kept
        copied = statistics.median(cpu_ms(render, answers, args.n))
        print(f"{name:<22}{built:>14.1f}{copied:>15.1f}{built / copied:>13.2f}×{len(tables._ROWS):>11}")
    blank_built = statistics.median(cpu_ms(lambda _: typeset.build_document(), None, args.n))
    blank_copied = statistics.median(cpu_ms(lambda _: typeset.new_document(), None, args.n))
    print(f"{'blank document':<22}{blank_built:>14.1f}{blank_copied:>15.1f}{blank_built / blank_copied:>13.2f}×"
          "   (in every form above: copied)")
    print(f"(the 申请书 is headings and paragraphs, no table: nothing to copy; at most {kept} rows kept)")


if __name__ == "__main__":
    main()
