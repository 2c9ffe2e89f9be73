"""Seconds per PDF of the 对接表: a fresh LibreOffice run for each (the old way, and the fallback) against the
process's resident LibreOffice (bot/documents/office.py), in one sitting.

    python benchmarks/bench_pdf.py            # 10 PDFs each way
    python benchmarks/bench_pdf.py -n 50

The form is tests/documents/test_docx_sme_match.py's ANSWERS rendered once. Each way converts it N times,
one after the other (one user at a time: the time a confirm waits for its PDF), after one untimed
conversion (the files LibreOffice reads are then in the page cache for both). Fresh: `pdf._convert`, one
`soffice --convert-to pdf` run with its own profile per PDF, as `to_pdf` makes a PDF with nothing else
waiting. Resident: a server started for this run (its start, until it answers, and its first conversion
are printed apart), then `Office.convert`. Figures, not assertions: compare the ratio, not absolute times
across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402, F401  (puts the repository on sys.path)

from bot.documents import office, pdf, sme_match  # noqa: E402
from tests.documents.test_docx_sme_match import ANSWERS  # noqa: E402


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def figures(name: str, seconds: list[float]) -> str:
    return (f"{name:<10} median {statistics.median(seconds):6.3f} s   min {min(seconds):6.3f} s   "
            f"max {max(seconds):6.3f} s   ({len(seconds)} PDFs)")


async def fresh(binary: str, docx: bytes, n: int) -> list[float]:
    async def one() -> float:
        start = time.perf_counter()
        [made] = await pdf._convert(binary, [docx], pdf.TIMEOUT_SECONDS)
        if not isinstance(made, bytes):
            raise SystemExit(f"fresh run failed: {made}")
        return time.perf_counter() - start

    await one()  # untimed
    return [await one() for _ in range(n)]


async def resident(binary: str, docx: bytes, n: int) -> tuple[float, float, list[float], str]:
    why = office.unusable(binary)
    if why:
        raise SystemExit(f"no resident LibreOffice here: {why}")
    server = office.Office(binary, pdf.libreoffice_env)
    try:
        start = time.perf_counter()
        if not server.wait_ready():
            raise SystemExit(f"the resident LibreOffice did not start: {server.failure}")
        started = time.perf_counter() - start

        async def one() -> float:
            t = time.perf_counter()
            made = await server.convert(docx, pdf.TIMEOUT_SECONDS)
            assert made.startswith(b"%PDF")
            return time.perf_counter() - t

        first = await one()
        soffice = [p for p, name in server.processes().items() if name == "soffice.bin"]
        before = rss_mb(soffice[0]) if soffice else None
        times = [await one() for _ in range(n)]
        after = rss_mb(soffice[0]) if soffice else None
        memory = (f"soffice.bin resident memory {before:.0f} MB after its first PDF, {after:.0f} MB after "
                  f"{n} more" if before is not None and after is not None else "soffice.bin memory: n/a")
        return started, first, times, memory
    finally:
        server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10, help="PDFs each way (default 10)")
    args = parser.parse_args()
    binary = pdf.soffice_path()
    if binary is None:
        raise SystemExit("LibreOffice (soffice) is not installed")
    docx = sme_match.render(ANSWERS)
    print(f"the 对接表: {len(docx):,} bytes of .docx; {binary}")
    fresh_times = await fresh(binary, docx, args.n)
    started, first, resident_times, memory = await resident(binary, docx, args.n)
    print(figures("fresh", fresh_times))
    print(figures("resident", resident_times))
    print(f"resident: {started:.2f} s from start until it answers, {first:.3f} s for its first PDF; {memory}")
    ratio = statistics.median(fresh_times) / statistics.median(resident_times)
    print(f"fresh / resident (medians): {ratio:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
