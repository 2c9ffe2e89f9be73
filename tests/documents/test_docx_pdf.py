"""PDF copies through LibreOffice: None without it, PdfError on failure or timeout, a real PDF with it."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys

import pytest

from bot.documents import pdf
from bot.documents.pdf import PdfError, pdf_available, to_pdf
from bot.documents.sme_match import render


@pytest.fixture
def no_soffice(monkeypatch):
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)


@pytest.fixture
def fake_soffice(monkeypatch, tmp_path):
    """A stand-in `soffice` whose behaviour each test writes as a small Python script."""

    def install(body: str) -> None:
        script = tmp_path / "soffice"
        script.write_text(f"#!{sys.executable}\nimport sys, time, pathlib\n{body}\n", encoding="utf-8")
        script.chmod(0o755)
        monkeypatch.setattr(pdf.shutil, "which", lambda name: str(script) if name == "soffice" else None)

    return install


async def test_none_when_libreoffice_is_missing(no_soffice):
    assert not pdf_available()
    assert await to_pdf(b"PK...") is None


async def test_failure_raises_pdf_error(fake_soffice):
    fake_soffice("sys.stderr.write('source file could not be loaded'); sys.exit(1)")
    assert pdf_available()
    with pytest.raises(PdfError, match="could not be loaded"):
        await to_pdf(b"PK...")


async def test_timeout_raises_pdf_error(fake_soffice):
    fake_soffice("time.sleep(30)")
    with pytest.raises(PdfError, match="did not finish"):
        await to_pdf(b"PK...", limit_seconds=0.5)


async def test_own_profile_and_output_dir(fake_soffice):
    fake_soffice(
        "args = sys.argv[1:]\n"
        "assert any(a.startswith('-env:UserInstallation=file://') for a in args), args\n"
        "assert '--headless' in args and args[args.index('--convert-to') + 1] == 'pdf'\n"
        "out = pathlib.Path(args[args.index('--outdir') + 1])\n"
        "(out / (pathlib.Path(args[-1]).stem + '.pdf')).write_bytes(b'%PDF-1.7 fake')"
    )
    assert await to_pdf(b"PK...") == b"%PDF-1.7 fake"


@pytest.mark.skipif(not pdf_available(), reason="LibreOffice (soffice/libreoffice) is not installed")
def test_real_conversion_keeps_the_company_name():
    data = asyncio.run(to_pdf(render({"company_name": "上海某某科技有限公司", "items": [{"name": "事项甲", "code": "A1"}]})))
    assert data is not None and data.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; checked %PDF only")
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert "上海某某科技有限公司" in out


# A stand-in LibreOffice that converts every .docx it is given (as the real one does), unless it holds BAD.
CONVERT_ALL = (
    "args = sys.argv[1:]\n"
    "out = pathlib.Path(args[args.index('--outdir') + 1])\n"
    "for name in [a for a in args if a.endswith('.docx')]:\n"
    "    src = pathlib.Path(name)\n"
    "    if b'BAD' not in src.read_bytes():\n"
    "        (out / (src.stem + '.pdf')).write_bytes(b'%PDF-1.7 ' + src.read_bytes())\n"
)


async def test_a_burst_of_conversions_shares_two_libreoffice_runs_at_a_time(fake_soffice, tmp_path, monkeypatch):
    """Ten users confirming at once: at most two LibreOffice processes, fewer runs than forms (starting
    LibreOffice is most of the cost), and every user gets the PDF of their own form."""
    log = tmp_path / "runs.log"
    fake_soffice(
        f"log = pathlib.Path({str(log)!r})\n"
        "with log.open('a') as f: f.write(f'start {time.monotonic()}\\n')\n"
        "time.sleep(0.3)\n"
        "with log.open('a') as f: f.write(f'end {time.monotonic()}\\n')\n" + CONVERT_ALL
    )
    monkeypatch.setattr(pdf, "PARALLEL", 2)
    monkeypatch.setattr(pdf, "_batchers", type(pdf._batchers)())
    forms = [f"PK form of user {i}".encode() for i in range(10)]
    results = await asyncio.gather(*(to_pdf(form) for form in forms))
    assert results == [b"%PDF-1.7 " + form for form in forms]
    events = sorted((float(t), kind) for kind, t in (line.split() for line in log.read_text().splitlines()))
    running = peak = 0
    for _t, kind in events:
        running += 1 if kind == "start" else -1
        peak = max(peak, running)
    assert peak == 2
    assert sum(kind == "start" for _t, kind in events) == 2  # 10 forms: 5 in each run


async def test_a_form_that_fails_in_a_shared_run_fails_alone(fake_soffice, monkeypatch):
    fake_soffice("time.sleep(0.2)\n" + CONVERT_ALL)
    monkeypatch.setattr(pdf, "PARALLEL", 1)
    monkeypatch.setattr(pdf, "_batchers", type(pdf._batchers)())
    first = asyncio.ensure_future(to_pdf(b"PK first"))
    await asyncio.sleep(0.05)  # the first run is busy: the next three wait and go together
    results = await asyncio.gather(first, to_pdf(b"PK good"), to_pdf(b"PK BAD"), to_pdf(b"PK fine"),
                                   return_exceptions=True)
    assert results[0] == b"%PDF-1.7 PK first" and results[1] == b"%PDF-1.7 PK good"
    assert isinstance(results[2], PdfError) and results[3] == b"%PDF-1.7 PK fine"


async def test_a_caller_that_gives_up_does_not_stop_the_others(fake_soffice, monkeypatch):
    fake_soffice("time.sleep(0.5)\n" + CONVERT_ALL)
    monkeypatch.setattr(pdf, "PARALLEL", 1)
    monkeypatch.setattr(pdf, "_batchers", type(pdf._batchers)())
    impatient = to_pdf(b"PK impatient", limit_seconds=0.1)
    patient = to_pdf(b"PK patient")
    results = await asyncio.gather(impatient, patient, return_exceptions=True)
    assert isinstance(results[0], PdfError) and results[1] == b"%PDF-1.7 PK patient"
