"""With PDFs on, the review waited for its page-1 picture however long the PDF took: 200 users reviewing at
once on one LibreOffice waited 5-45 s, and WeChat's 5 s passive reply was missed for every one of them
(benchmarks/bench_fleet.py). Now the review waits `review_picture_seconds` at most and goes without the
picture; the files go on being made, and the confirm hands them over with the picture."""

from __future__ import annotations

import asyncio
import dataclasses

from bot.app import open_app
from bot.documents import produce as producing
from bot.testing import ChatClient
from tests.conftest import SME_STEPS, past_start

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 32


async def test_a_slow_pdf_leaves_the_picture_out_of_the_review_not_the_review_late(settings, monkeypatch):
    gate = asyncio.Event()
    made = producing.produce

    async def slow(form, answers, pdf=True, renderer=None):
        real = await made(form, answers, False, renderer)  # the .docx; the PDF "takes" until the gate opens
        await gate.wait()
        return dataclasses.replace(real, pdf=b"%PDF-1.7 stand-in", preview=PNG)

    monkeypatch.setattr(producing, "produce", slow)
    app = await open_app(dataclasses.replace(settings, pdf=True, review_picture_seconds=0.05, render_queue=False))
    try:
        c = ChatClient(app.engine)
        await c.send("/start")
        await c.click("中小企业")
        await c.click("对接表")
        await past_start(c)
        async with asyncio.timeout(60):  # an upper bound, not a timing: before the fix it waited for ever
            review = await c.fill(SME_STEPS)
        assert review.screen == "review" and review.image is None  # said now, without the picture
        assert not gate.is_set()
        gate.set()
        done = await c.click("确认并生成文件")
        [handed] = [r for r in done if r.all_documents()]
        names = [d.filename for d in handed.all_documents()]
        assert any(n.endswith(".docx") for n in names) and any(n.endswith(".pdf") for n in names)
        assert handed.image is not None and handed.image.data == PNG  # the picture, with the files
    finally:
        await app.close()
