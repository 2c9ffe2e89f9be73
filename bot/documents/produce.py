"""A finished form's files: the .docx and, where LibreOffice is installed, its PDF.

Rendering takes tens of milliseconds and a PDF about a second, so the engine produces them before it opens
the message's transaction (see Engine._prepare) and hands them in; `key` tells whether the answers are
still the ones they were made from when the transaction looks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from bot.dialogs.fields import Form
from bot.documents.pdf import PdfError, to_pdf

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Produced:
    key: str
    docx: bytes
    pdf: bytes | None  # None: no LibreOffice here, or it failed (then pdf_failed)
    pdf_failed: bool = False


def key_of(form: Form, answers: dict[str, Any]) -> str:
    raw = json.dumps([form.id, answers], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


async def produce(form: Form, answers: dict[str, Any], pdf: bool = True) -> Produced:
    """The .docx, and its PDF when `pdf` (the JIEBANG_PDF setting) and LibreOffice is installed."""
    docx = await asyncio.to_thread(form.render, answers)  # the event loop serves other users meanwhile
    if not pdf:
        return Produced(key_of(form, answers), docx, None)
    try:
        pdf_data, failed = await to_pdf(docx), False
    except PdfError:
        log.exception("PDF conversion failed for %s", form.id)
        pdf_data, failed = None, True
    return Produced(key_of(form, answers), docx, pdf_data, failed)
