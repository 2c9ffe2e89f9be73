"""The .docx is made in a render process of its own: the same document, and a killed process loses none."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import signal
import zipfile

import pytest
from docx import Document

from bot.config import Settings, SettingsError
from bot.dialogs.forms import FORMS
from bot.documents.worker import RenderPool
from tests.documents.test_docx_sme_match import ANSWERS as SME_ANSWERS

FORM = FORMS["sme_match"]


def company_in(docx: bytes) -> bool:
    doc = Document(io.BytesIO(docx))
    return any(SME_ANSWERS["company_name"] in c.text for t in doc.tables for r in t.rows for c in r.cells)


def body(docx: bytes) -> bytes:
    """The document's text and layout (the package's other parts carry the time it was made)."""
    return zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml")


@pytest.fixture
async def pool():
    p = RenderPool(1)
    yield p
    p.close()


async def test_a_render_process_makes_the_same_document(pool):
    made = await pool.render(FORM, SME_ANSWERS)
    assert company_in(made)
    assert body(made) == body(FORM.render(SME_ANSWERS))  # what the bot's own process makes, to the byte
    (pid,) = pool.pids()
    assert pid != os.getpid()


async def test_a_killed_render_process_loses_no_document(pool):
    await pool.render(FORM, SME_ANSWERS)
    (pid,) = pool.pids()
    os.kill(pid, signal.SIGKILL)  # the kernel's OOM killer, say
    made = await pool.render(FORM, SME_ANSWERS)
    assert company_in(made)
    again = await pool.render(FORM, SME_ANSWERS)  # and the next one has a process again
    assert company_in(again)
    assert pool.pids() and pid not in pool.pids()


async def test_no_render_process_renders_here():
    p = RenderPool(0)
    assert company_in(await p.render(FORM, SME_ANSWERS))
    assert p.pids() == []


def test_the_setting():
    assert Settings.from_env({}).render_processes == 1
    assert Settings.from_env({"JIEBANG_RENDER_PROCESSES": "0"}).render_processes == 0
    with pytest.raises(SettingsError, match="JIEBANG_RENDER_PROCESSES"):
        Settings.from_env({"JIEBANG_RENDER_PROCESSES": "two"})


async def test_a_render_process_is_replaced_after_its_share_of_documents(pool, monkeypatch):
    monkeypatch.setattr("bot.documents.worker.RENDERS_PER_PROCESS", 2)  # its memory grows with what it made
    await pool.render(FORM, SME_ANSWERS)
    (first,) = pool.pids()
    await pool.render(FORM, SME_ANSWERS)
    (second,) = pool.pids()  # replaced at once, before it is needed
    assert second != first
    assert company_in(await pool.render(FORM, SME_ANSWERS))
    assert pool.pids() == [second]


def stuck(answers, form=None):  # a renderer that never finishes, as a render process stuck in swap would look
    import time

    time.sleep(3600)


async def test_a_stuck_render_process_is_killed_and_the_next_form_gets_a_fresh_one(pool, monkeypatch):
    monkeypatch.setattr("bot.documents.worker.RENDER_TIMEOUT_S", 1.0)
    await pool.render(FORM, SME_ANSWERS)
    (pid,) = pool.pids()
    hanging = dataclasses.replace(FORM, renderer="tests.documents.test_worker:stuck")

    def no_wait(seconds):  # in this process the same renderer is made again: stop it there at once
        raise TimeoutError("stuck here too")

    monkeypatch.setattr("time.sleep", no_wait)
    with pytest.raises(TimeoutError):  # the confirm is told, not left waiting (120 s: a bound, not a timing)
        await asyncio.wait_for(pool.render(hanging, SME_ANSWERS), 120)
    assert pid not in pool.pids()  # killed, not left running
    assert company_in(await pool.render(FORM, SME_ANSWERS))
