"""PDFs through the process's resident LibreOffice (bot/documents/office.py): the same print as a fresh run,
one server for many PDFs, a new one when it died or ran out of time, nothing left behind when the process
that started it ends, and the old way where it cannot run.

These run LibreOffice for real (skipped, with the reason, where it, its Python bindings, unoserver or
poppler-utils is missing; CI installs them all)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docx.shared import Pt

from bot.documents import office, pdf, sme_match
from bot.documents.pdf import PdfError, pdf_available, to_pdf
from bot.documents.typeset import HEI, SONG, add_run, new_document, to_bytes
from tests.documents.test_docx_sme_match import ANSWERS as SME_ANSWERS
from tests.documents.test_pdf_print import LATIN_AND_SYMBOLS, fonts, picture, sample_document

ROOT = Path(__file__).resolve().parents[2]
SOFFICE = pdf.soffice_path()
COMPANY = SME_ANSWERS["company_name"]

pytestmark = [
    pytest.mark.skipif(not pdf_available(), reason="LibreOffice (soffice) is not installed"),
    pytest.mark.skipif(not (shutil.which("pdffonts") and shutil.which("pdftotext") and shutil.which("pdftoppm")),
                       reason="poppler-utils (pdffonts, pdftotext, pdftoppm) is not installed"),
]
needs_resident = pytest.mark.skipif(
    SOFFICE is None or office.unusable(SOFFICE) is not None,
    reason=f"no resident LibreOffice here: {SOFFICE and office.unusable(SOFFICE)}")


def text_of(data: bytes) -> str:
    """The PDF's text, spaces dropped (pdftotext puts one between Chinese and Latin text or digits)."""
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    return "".join(out.split())


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(") ")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def mentioning(marker: str) -> list[int]:
    """Live processes whose command line names `marker` (the server's folder: the server's profile flag,
    oosplash's and soffice.bin's -env:UserInstallation)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline and alive(int(entry.name)):
                found.append(int(entry.name))
    return found


@pytest.fixture
def up() -> office.Office:
    """This process's resident LibreOffice, answering."""
    resident = pdf.resident_office()
    assert resident is not None
    assert resident.wait_ready(), resident.failure
    return resident


@needs_resident
def test_a_form_prints_the_same_through_the_resident_libreoffice(up):
    """The 对接表 through it: the company's name in the text, 宋体/黑体 in Noto Serif/Sans CJK (as a fresh run
    prints them, test_pdf_print.py), and the SC glyphs, not the Japanese ones: the fonts environment reached it."""
    before = up.conversions

    async def convert():
        docs = [sme_match.render(SME_ANSWERS), sample_document(SONG), sample_document("Noto Serif CJK SC"),
                sample_document("Noto Serif CJK JP", "ja-JP"), sample_document(HEI),
                sample_document("Noto Sans CJK SC")]
        return [await to_pdf(d) for d in docs]

    form, song, serif_sc, serif_jp, hei, sans_sc = asyncio.run(convert())
    assert up.conversions == before + 6  # all six by the resident one
    assert COMPANY in text_of(form)
    names = fonts(form)
    cjk = [n for n in names if "CJK" in n]
    assert {n.split("CJK")[0] for n in cjk} == {"NotoSerif", "NotoSans"}, names
    assert [n for n in names if n not in cjk and not LATIN_AND_SYMBOLS.match(n)] == []
    assert picture(song) == picture(serif_sc) and picture(song) != picture(serif_jp)
    assert picture(hei) == picture(sans_sc) and picture(song) != picture(hei)


@needs_resident
def test_conversions_reuse_one_server(up):
    pid, starts, before = up.server_pid, up.starts, up.conversions

    async def convert():
        return await asyncio.gather(*(to_pdf(sme_match.render({**SME_ANSWERS, "company_name": f"第{i}号公司"}))
                                      for i in range(3)))

    made = asyncio.run(convert())
    assert [f"第{i}号公司" in text_of(p) for i, p in enumerate(made)] == [True] * 3  # each its own form
    assert up.server_pid == pid and up.starts == starts and up.conversions == before + 3
    assert sorted(up.processes().values()).count("soffice.bin") == 1


@needs_resident
def test_libreoffice_yields_the_cpu_to_the_bot(up):
    """soffice.bin runs at office.NICE, and so does the autogroup of the session it was started in: with
    autogroups on, a process's own nice counts only inside its session, and LibreOffice took a whole core
    from the bot's answers (confirm → .docx link p50 5.2 s at 200 confirms, bench_fleet)."""
    asyncio.run(to_pdf(sme_match.render(SME_ANSWERS)))  # it has converted: soffice.bin is up
    (soffice,) = [pid for pid, name in up.processes().items() if name == "soffice.bin"]
    assert int(Path(f"/proc/{soffice}/stat").read_text().rpartition(") ")[2].split()[16]) == office.NICE
    group = Path(f"/proc/{soffice}/autogroup")
    if group.exists():  # a kernel with autogroups (CONFIG_SCHED_AUTOGROUP)
        assert group.read_text().split()[-1] == str(office.NICE), group.read_text()
        assert group.read_text() != Path("/proc/self/autogroup").read_text()  # its own session's


@needs_resident
def test_a_killed_libreoffice_is_replaced_and_the_next_pdf_still_made(up):
    old = up.server_pid
    soffice = [p for p, name in up.processes().items() if name == "soffice.bin"]
    assert len(soffice) == 1
    os.kill(soffice[0], signal.SIGKILL)
    while alive(soffice[0]):
        time.sleep(0.05)
    data = asyncio.run(to_pdf(sme_match.render(SME_ANSWERS)))  # finds it dead: made the old way
    assert data is not None and COMPANY in text_of(data)
    assert up.wait_ready(), up.failure
    assert up.server_pid != old and not alive(old)
    before = up.conversions
    data = asyncio.run(to_pdf(sme_match.render(SME_ANSWERS)))
    assert up.conversions == before + 1 and COMPANY in text_of(data)


@needs_resident
def test_a_conversion_out_of_time_kills_its_libreoffice_and_another_starts(up):
    """A document LibreOffice takes seconds over (3,000 paragraphs, about 100 pages) and a limit of one second:
    the conversion has begun by then (it is the only one) and is stopped by killing its LibreOffice."""
    old, old_group = up.server_pid, dict(up.processes())
    doc = new_document()
    for i in range(3000):
        add_run(doc.add_paragraph(), f"第{i}段：" + "研发改性材料参数要求熔指阻燃等级成本" * 10, SONG, Pt(12))
    with pytest.raises(PdfError, match="did not finish"):
        asyncio.run(to_pdf(to_bytes(doc), limit_seconds=1.0))
    assert up.wait_ready(), up.failure
    assert up.server_pid != old
    assert not any(alive(p) for p in old_group)  # the whole group went, LibreOffice included
    assert COMPANY in text_of(asyncio.run(to_pdf(sme_match.render(SME_ANSWERS))))


@needs_resident
def test_after_its_share_of_pdfs_a_successor_takes_over_without_a_gap(up, monkeypatch):
    """LibreOffice's memory grows with every PDF: after CONVERSIONS_PER_SERVER another server is started beside
    it and takes over once it answers; every PDF meanwhile is still made by a resident LibreOffice."""
    monkeypatch.setattr(office, "CONVERSIONS_PER_SERVER", 2)
    old, old_group, before = up.server_pid, dict(up.processes()), up.conversions
    docx = sme_match.render(SME_ANSWERS)
    made = 0

    async def convert_until_replaced():
        nonlocal made
        deadline = time.monotonic() + office.START_SECONDS + 30  # not a measure: when the test gives up
        while up.server_pid == old and time.monotonic() < deadline:
            data = await to_pdf(docx)
            assert data is not None and data.startswith(b"%PDF")
            made += 1

    asyncio.run(convert_until_replaced())
    assert up.server_pid != old
    assert up.conversions == before + made  # none was made the old way
    assert not any(alive(p) for p in old_group)
    assert COMPANY in text_of(asyncio.run(to_pdf(docx)))


CHILD = """
import json, sys
from bot.documents import pdf
resident = pdf.resident_office()
assert resident is not None and resident.wait_ready(), resident and resident.failure
print(json.dumps({"folder": str(resident.folder()), "pids": sorted(resident.processes())}), flush=True)
sys.stdin.read()  # until the test closes our stdin (then we end normally) or kills us
"""


@needs_resident
@pytest.mark.parametrize("how", ["exits", "killed"])
def test_a_process_that_ends_leaves_no_libreoffice_behind(how):
    """The bot's process ends normally (atexit) or is killed with SIGKILL (the server's watchdog sees its
    stdin close): the server, oosplash and soffice.bin all end, and the server's folder is removed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([child.stdout], [], [], office.START_SECONDS + 30)
        assert ready, "the child did not report its server"
        line = child.stdout.readline()
        assert line, child.stderr.read().decode(errors="replace")
        started = json.loads(line)
        assert len(started["pids"]) >= 3 and all(alive(p) for p in started["pids"])  # python, oosplash, soffice.bin
        assert mentioning(started["folder"])
        if how == "killed":
            child.kill()
        else:
            child.stdin.close()
        assert child.wait(60) in (0, -signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    deadline = time.monotonic() + 30  # not a measure: how long the test waits for them to go
    while time.monotonic() < deadline and (any(map(alive, started["pids"])) or mentioning(started["folder"])):
        time.sleep(0.1)
    assert [p for p in started["pids"] if alive(p)] == []
    assert mentioning(started["folder"]) == []
    assert not Path(started["folder"]).exists()


def test_without_the_python_bindings_every_pdf_is_made_by_a_run_of_its_own(monkeypatch, caplog):
    monkeypatch.setattr(office, "PYTHON_FOLDERS", ())
    monkeypatch.setattr(office, "uno_paths", lambda binary: None)
    monkeypatch.setattr(office, "_offices", {})
    with caplog.at_level(logging.INFO, logger="bot.documents.office"):
        assert pdf.resident_office() is None
        data = asyncio.run(to_pdf(sme_match.render(SME_ANSWERS)))
    assert data is not None and COMPANY in text_of(data)
    said = [r.getMessage() for r in caplog.records if "no resident LibreOffice" in r.getMessage()]
    assert len(said) == 1 and "python3-uno" in said[0]  # once, with why


@pytest.mark.skipif(SOFFICE is None or office.uno_paths(SOFFICE) is None, reason="no python3-uno here")
def test_a_server_that_cannot_start_is_given_up_and_pdfs_are_still_made(monkeypatch, caplog, tmp_path):
    """Bindings that do not import (say, built for another Python): the start fails, says why, and the PDF
    is made by a LibreOffice run of its own meanwhile and after."""
    (tmp_path / "uno.py").write_text("raise ImportError('pyuno is built for another Python')\n", encoding="utf-8")
    broken = office.Office(SOFFICE, pdf.libreoffice_env, paths=[str(tmp_path)])
    monkeypatch.setattr(office, "_offices", {SOFFICE: broken})
    monkeypatch.setattr(office, "START_ATTEMPTS", 1)
    with caplog.at_level(logging.WARNING, logger="bot.documents.office"):
        data = asyncio.run(to_pdf(sme_match.render(SME_ANSWERS)))
        assert data is not None and COMPANY in text_of(data)
        assert not broken.wait_ready()
    # unoserver says it in its own words: "ImportError: Could not find the 'uno' library…"
    assert broken.given_up and "ImportError" in broken.failure and broken.processes() == {}
    assert "Fatal Python error" not in broken.failure  # it ended by itself, cleanly
    assert pdf.resident_office() is None
    assert any("ImportError" in r.getMessage() for r in caplog.records)
    data = asyncio.run(to_pdf(sme_match.render(SME_ANSWERS)))
    assert data is not None and COMPANY in text_of(data)
