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


async def test_conversions_beyond_the_slots_wait_their_turn(fake_soffice, tmp_path, monkeypatch):
    """Ten users confirming at once start two LibreOffice processes, not ten; every one still gets a PDF."""
    log = tmp_path / "runs.log"
    fake_soffice(
        f"log = pathlib.Path({str(log)!r})\n"
        "with log.open('a') as f: f.write(f'start {time.monotonic()}\\n')\n"
        "time.sleep(0.3)\n"
        "with log.open('a') as f: f.write(f'end {time.monotonic()}\\n')\n"
        "args = sys.argv[1:]\n"
        "out = pathlib.Path(args[args.index('--outdir') + 1])\n"
        "(out / (pathlib.Path(args[-1]).stem + '.pdf')).write_bytes(b'%PDF-1.7 fake')"
    )
    monkeypatch.setattr(pdf, "PARALLEL", 2)
    monkeypatch.setattr(pdf, "_slots", type(pdf._slots)())
    results = await asyncio.gather(*(to_pdf(b"PK...") for _ in range(6)))
    assert results == [b"%PDF-1.7 fake"] * 6
    events = sorted((float(t), kind) for kind, t in (line.split() for line in log.read_text().splitlines()))
    running = peak = 0
    for _t, kind in events:
        running += 1 if kind == "start" else -1
        peak = max(peak, running)
    assert peak == 2
