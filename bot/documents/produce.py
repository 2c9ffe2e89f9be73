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
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from bot.dialogs.fields import Form
from bot.documents.pdf import PdfError, pdf_available, to_pdf
from bot.documents.preview import page_preview

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Produced:
    key: str
    docx: bytes
    pdf: bytes | None  # None: no LibreOffice here, or it failed (then pdf_failed)
    pdf_failed: bool = False
    preview: bytes | None = None  # page 1 as it will print (PNG), where a PDF was made


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
    preview = await page_preview(pdf_data) if pdf_data else None
    return Produced(key_of(form, answers), docx, pdf_data, failed, preview)


class ProducedCache:
    """The last few forms' files by their answers: the review makes them (for the picture of page 1) and
    the confirm that follows takes them, instead of running LibreOffice twice. Bounded: memory stays flat."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._made: OrderedDict[str, Produced] = OrderedDict()

    async def get(self, form: Form, answers: dict[str, Any], pdf: bool = True) -> Produced:
        key = key_of(form, answers)
        made = self._made.get(key)
        if made is None or (pdf and made.pdf is None and not made.pdf_failed and pdf_available()):
            made = await produce(form, answers, pdf)
            self._made[key] = made
            while len(self._made) > self.size:
                self._made.popitem(last=False)
        self._made.move_to_end(key)
        return made
