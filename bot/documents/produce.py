"""A finished form's files: the .docx and, where LibreOffice is installed, its PDF.

Rendering takes tens of milliseconds and a PDF about a second, so the engine produces them before it opens
the message's transaction (see Engine._prepare) and hands them in; `key` tells whether the answers are
still the ones they were made from when the transaction looks. On PostgreSQL render workers make them
(render_queue.py), and this process only when no worker can.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

from bot.dialogs.fields import Form
from bot.documents.pdf import PdfError, pdf_available, to_pdf
from bot.documents.preview import page_preview
from bot.documents.worker import RenderPool, render_pool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Produced:
    key: str
    docx: bytes
    pdf: bytes | None  # None: no LibreOffice here, or it failed (then pdf_failed)
    pdf_failed: bool = False
    preview: bytes | None = None  # page 1 as it will print (PNG), where a PDF was made
    # the .docx alone, its PDF still being made by a render worker: it follows (ProducedCache.get_docx)
    pdf_pending: bool = False


@dataclass(frozen=True, slots=True)
class PdfToFollow:
    """A confirm handed over the .docx alone (its PDF still being made by a render worker): the PDF is
    sent after it (bot/campaigns/reminders.py follow_pdf), as `filename`."""

    submission: int
    form_id: str
    version: str
    filename: str


def key_of(form: Form, answers: dict[str, Any]) -> str:
    raw = json.dumps([form.id, form.version, answers], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


async def produce(form: Form, answers: dict[str, Any], pdf: bool = True,
                  renderer: RenderPool | None = None) -> Produced:
    """The .docx, and its PDF when `pdf` (the JIEBANG_PDF setting) and LibreOffice is installed. The .docx
    is made by `renderer` (a process of its own, see worker.py), else on a thread of this process; the event
    loop serves other users meanwhile."""
    docx = await (renderer or render_pool(0)).render(form, answers)
    if not pdf:
        return Produced(key_of(form, answers), docx, None)
    pdf_data, failed, preview = await make_pdf(form.id, docx)
    return Produced(key_of(form, answers), docx, pdf_data, failed, preview)


async def make_pdf(form_id: str, docx: bytes) -> tuple[bytes | None, bool, bytes | None]:
    """(PDF, failed, picture of page 1) of a .docx; a failed conversion is logged, not raised."""
    try:
        pdf_data, failed = await to_pdf(docx), False
    except PdfError:
        log.exception("PDF conversion failed for %s", form_id)
        pdf_data, failed = None, True
    preview = await page_preview(pdf_data) if pdf_data else None
    return pdf_data, failed, preview


class Queue(Protocol):
    """Where render workers make a submission's files (render_queue.py RenderQueue); `here` makes them in
    this process when they cannot."""

    async def produce(self, form: Form, answers: dict[str, Any], submission: int, pdf: bool,
                      here: Callable[[], Awaitable[Produced]] | None,
                      docx_only: bool = False) -> Produced | None: ...


class ProducedCache:
    """The last forms' files by their answers. The review starts making them (`start`: the .docx takes
    ~60 ms of CPU, a PDF a second or more) while the user reads it, and the confirm that follows takes them
    (`get`) instead of making them again on its critical path. Bounded: memory stays flat.

    With a `queue` (PostgreSQL) a submission's files are made by render workers (render_queue.py): the
    review enqueues them, the confirm waits for them, in whichever bot process it arrives; without a
    submission id, or without a queue, they are made here."""

    def __init__(self, size: int = 64, renderer: RenderPool | None = None, queue: Queue | None = None,
                 making: Callable[[], AbstractContextManager[object]] | None = None) -> None:
        self.size = size
        self.renderer = renderer
        self.queue = queue
        # around each form's files while they are made (bot/metrics.py Metrics.rendering: how many are
        # waiting, how long each took, whether here or by a worker)
        self.making = making or nullcontext
        self._made: OrderedDict[str, asyncio.Task[Produced]] = OrderedDict()

    async def _make(self, form: Form, answers: dict[str, Any], pdf: bool, submission: int | None) -> Produced:
        def here() -> Awaitable[Produced]:
            return produce(form, answers, pdf, self.renderer)

        with self.making():
            if self.queue is None or submission is None:
                return await here()
            made = await self.queue.produce(form, answers, submission, pdf, here)
            assert made is not None, "with `here` the queue always gives files"
            return made

    def start(self, form: Form, answers: dict[str, Any], pdf: bool = True,
              submission: int | None = None) -> asyncio.Task[Produced]:
        key = key_of(form, answers)
        task = self._made.get(key)
        if task is not None and task.done() and (task.cancelled() or task.exception() is not None):
            task = None  # it failed: make it again
        if task is None:
            task = asyncio.get_running_loop().create_task(self._make(form, answers, pdf, submission))
            task.add_done_callback(_quietly)
            self._made[key] = task
            while len(self._made) > self.size:
                _key, old = self._made.popitem(last=False)
                if not old.done():
                    self._made[_key] = old  # still being made for somebody: keep it
                    self._made.move_to_end(_key, last=False)
                    break
        self._made.move_to_end(key)
        return task

    def task_of(self, key: str) -> asyncio.Task[Produced] | None:
        """The making of the files of answers whose `key_of` is `key`, if this process has it."""
        return self._made.get(key)

    async def close(self) -> None:
        """Stop what is still being made for a review nobody confirmed (the process is closing)."""
        pending = [t for t in self._made.values() if not t.done()]
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._made.clear()

    async def get(self, form: Form, answers: dict[str, Any], pdf: bool = True,
                  submission: int | None = None) -> Produced:
        made = await asyncio.shield(self.start(form, answers, pdf, submission))
        # made without a PDF before: with one now (a worker's own machine decides whether it makes PDFs)
        if pdf and made.pdf is None and not made.pdf_failed and pdf_available() and self.queue is None:
            self._made.pop(key_of(form, answers), None)
            made = await asyncio.shield(self.start(form, answers, pdf, submission))
        return made


    async def first(self, form: Form, answers: dict[str, Any], pdf: bool, submission: int | None,
                    wait: float) -> Produced:
        """A confirm's files: all of them when they are there within `wait` seconds; else, where render
        workers make them, the .docx as soon as it is stored, with `pdf_pending` (the PDF goes on being
        made, and `start` of the same answers is the wait for it)."""
        if not pdf or self.queue is None or submission is None:
            return await self.get(form, answers, pdf, submission)
        task = self.start(form, answers, pdf, submission)
        try:
            return await asyncio.wait_for(asyncio.shield(task), wait)
        except TimeoutError:
            pass
        docx = await self.queue.produce(form, answers, submission, pdf, None, docx_only=True)
        if docx is None:  # no worker, or the queue failed: the full wait decides (and makes them here)
            return await asyncio.shield(task)
        return docx


def _quietly(task: asyncio.Task[Produced]) -> None:
    """A review's files that failed are made again (and reported) at the confirm; not a loose traceback."""
    if not task.cancelled() and task.exception() is not None:
        log.info("making a form's files ahead failed; the confirm makes them again: %r", task.exception())
