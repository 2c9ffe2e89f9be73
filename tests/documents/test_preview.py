"""Page 1 of a produced PDF as a picture for the chat (issue 15)."""

from __future__ import annotations

import logging
import struct

import pytest

from bot.documents import preview
from bot.documents.pdf import pdf_available, to_pdf
from bot.documents.preview import page_preview, preview_available
from bot.documents.sme_match import render
from tests.documents.test_docx_sme_match import ANSWERS


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


@pytest.mark.skipif(not pdf_available(), reason="LibreOffice (soffice) is not installed")
@pytest.mark.skipif(not preview_available(), reason="pdftoppm (poppler-utils) is not installed")
async def test_page_one_of_a_real_form_as_a_phone_sized_png():
    pdf = await to_pdf(render(ANSWERS))
    png = await page_preview(pdf)
    assert png is not None
    width, height = png_size(png)
    assert width == preview.WIDTH_PX
    assert round(height / width, 2) == round(29.7 / 21, 2)  # an A4 page, portrait
    assert len(png) < 1_000_000  # sendable as a chat image
    # page 1 only, and not blank: a blank page compresses to almost nothing
    assert len(png) > 20_000


async def test_none_with_a_reason_when_pdftoppm_is_missing(monkeypatch, caplog):
    monkeypatch.setattr(preview.shutil, "which", lambda name: None)
    with caplog.at_level(logging.WARNING, logger="bot.documents.preview"):
        assert await page_preview(b"%PDF-1.7 ...") is None
    assert "pdftoppm is not installed" in caplog.text


async def test_none_without_a_pdf(caplog):
    with caplog.at_level(logging.INFO, logger="bot.documents.preview"):
        assert await page_preview(None) is None
    assert "no PDF" in caplog.text


@pytest.mark.skipif(not preview_available(), reason="pdftoppm (poppler-utils) is not installed")
async def test_none_with_a_reason_for_a_broken_pdf(caplog):
    with caplog.at_level(logging.WARNING, logger="bot.documents.preview"):
        assert await page_preview(b"%PDF-1.7 this is not a whole PDF") is None
    assert "pdftoppm failed" in caplog.text
