"""What bench_engine.py and bench_peer.py share: the scripted answers, the question line, the figures.

Standard library only: bench_peer.py imports it from its own venv (python-telegram-bot, babel, nothing else).
"""

from __future__ import annotations

import ast
import math
import os
import resource
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _conftest_literals() -> dict[str, object]:
    tree = ast.parse((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    found = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for t in targets:
            if isinstance(t, ast.Name) and t.id in ("SME_STEPS", "SME_ANSWERS") and node.value is not None:
                found[t.id] = ast.literal_eval(node.value)
    return found


def sme_script(by_step: bool = True) -> tuple[str, dict[str, str | list[str]]]:
    """The answers of a whole 对接表 from tests/conftest.py, read as literals (so the peer's venv, which has
    no pytest, uses exactly the same): ("step", SME_STEPS) keyed by step key ("company_name",
    "items.0.name", "items.#more") when asked and present, else ("question", SME_ANSWERS) keyed by the
    start of the question."""
    found = _conftest_literals()
    if by_step and "SME_STEPS" in found:
        return "step", found["SME_STEPS"]
    if "SME_ANSWERS" in found:
        return "question", found["SME_ANSWERS"]
    raise SystemExit("tests/conftest.py has neither SME_STEPS nor SME_ANSWERS")


def question_line(text: str) -> str:
    """The line of a reply that holds the question: the first with a progress mark "(n/N)" (as ChatClient
    reads it), else the last line."""
    for line in text.splitlines():
        if line.rstrip().endswith(")") and "/" in line.rsplit("(", 1)[-1]:
            return line.strip()
    lines = [x for x in text.splitlines() if x.strip()]
    return lines[-1].strip() if lines else ""


def answer_for(question: str, answers: dict[str, str | list[str]]) -> str | list[str] | None:
    """The scripted answer of a question: the longest key the question starts with (ChatClient.fill's rule)."""
    key = next((k for k in sorted(answers, key=len, reverse=True) if question.startswith(k)), None)
    return None if key is None else answers[key]


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))]


def latency(values: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / max in milliseconds."""
    return {"p50_ms": pct(values, 50) * 1000, "p99_ms": pct(values, 99) * 1000,
            "max_ms": (max(values) if values else math.nan) * 1000}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def cpu_s_of(pids: Sequence[int]) -> float:
    """CPU seconds (user + system) that processes `pids` have used so far (Linux /proc; 0 for a gone one):
    the bot's render process, whose CPU resource.getrusage(RUSAGE_SELF) does not count."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime: the stat file's fields 14 and 15
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb_of(pids: Sequence[int]) -> float:
    """Resident memory of processes `pids` now, in MB (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1])
        except OSError:
            continue
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return math.nan


def filesystem(path: Path) -> str:
    """The filesystem type holding `path` (a tmpfs makes fsync free: figures would flatter)."""
    best, kind = "", "?"
    try:
        with open("/proc/mounts") as f:
            for line in f:
                _dev, mount, fstype, *_ = line.split()
                if str(path.resolve()).startswith(mount) and len(mount) > len(best):
                    best, kind = mount, fstype
    except OSError:
        pass
    return kind


def machine() -> str:
    """Cores and the load average when the run started: figures from a busy machine say so."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.1f} (5 min {five:.1f})"


def conditions(folder: Path) -> str:
    """The machine and its disk as this run found them, for the first line of a report."""
    fs = filesystem(folder)
    note = " (tmpfs: fsync is free, figures flatter)" if fs == "tmpfs" else ""
    return f"{machine()}; {fs}{note}, one fsync {fsync_ms(folder):.2f} ms"


def fsync_ms(folder: Path, n: int = 20) -> float:
    """The median time of one fsync of a small file in `folder` now: the floor of a durable answer here."""
    import time

    path = folder / f".fsync-probe-{os.getpid()}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    times = []
    try:
        for _ in range(n):
            os.pwrite(fd, os.urandom(512), 0)
            t0 = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink()
    return pct(times, 50) * 1000


def num(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"
