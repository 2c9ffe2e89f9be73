"""With PDFs on and render workers, a confirm hands over the .docx as soon as a worker has stored it, and
the PDF follows in a message of its own once the worker's PDF job has made it (a crowd's confirms wait for
their .docx, not behind LibreOffice).

A real worker (`python -m bot worker`) and real LibreOffice; the PDF job is held by the test-only gate
(JIEBANG_TEST_PDF_GATE) so that the PDF is still being made when the user confirms, whatever the machine's
speed. The reminder service that sends the PDF runs on an injected clock; nothing waits on a timing.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.app import open_app
from bot.campaigns import reminders as r
from bot.campaigns.reminders import ReminderService
from bot.config import Settings
from bot.documents import render_worker
from bot.documents.pdf import pdf_available
from bot.documents.render_queue import workers_connected
from bot.i18n import gettext
from bot.messages import PDF_MIME
from bot.testing import ChatClient
from storage.campaign_models import Reminder
from storage.file_models import DOCUMENT, StoredFile
from tests.campaigns.campaign_helpers import RecordingChannel
from tests.conftest import SME_STEPS
from tests.documents import test_render_queue as rq
from tests.documents.test_render_queue import BOUND, Worker, connect, until
from tests.test_conversation import start_form

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not pdf_available(), reason="needs LibreOffice (libreoffice-writer-nogui)")]

pg_url = rq.pg_url  # the fixture: a database of the test's own

PENDING = "（PDF 正在生成，稍后单独发给您。）"
# 14:00 in Shanghai, and 22:30 (quiet hours: reminders wait for the morning, a PDF the user waits for does not)
AFTERNOON = datetime(2026, 6, 2, 6, 0, tzinfo=UTC)
NIGHT = datetime(2026, 6, 2, 14, 30, tzinfo=UTC)


@pytest.fixture
def workers(tmp_path, monkeypatch):
    started: list[Worker] = []

    def start(url: str, pdf_gate=None) -> Worker:
        if pdf_gate is None:
            monkeypatch.delenv(render_worker.TEST_PDF_GATE, raising=False)
        else:
            monkeypatch.setenv(render_worker.TEST_PDF_GATE, str(pdf_gate))
        w = Worker(url, tmp_path / "workers", pdf=True)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


async def a_confirm_whose_pdf_is_held(tmp_path, pg_url, workers, now):
    """A user who confirmed while the worker's PDF job was held: (app, client, done reply, service, the
    channel the service sends through, the held worker, the gate, a database connection)."""
    gate = tmp_path / "pdf-gate"
    app = await open_app(Settings(data_dir=tmp_path / "data", database_url=pg_url, pdf=True,
                                  review_picture_seconds=0.0, confirm_pdf_seconds=0.0), now=lambda: now)
    channel = RecordingChannel("test")
    service = ReminderService(app, senders={"test": channel}, clock=lambda: now)
    app.engine.pdf_made = service.pdf_made
    conn = await connect(pg_url)
    held = workers(pg_url, pdf_gate=gate)
    await until(lambda: workers_connected(conn), "a worker is connected")
    c = ChatClient(app.engine)
    await start_form(c)
    await c.fill(SME_STEPS)
    done, _next = await c.click("确认")
    return app, c, done, service, channel, held, gate, conn


async def test_the_docx_comes_at_once_and_the_pdf_follows_once(pg_url, tmp_path, workers):
    app, c, done, service, channel, held, gate, conn = await a_confirm_whose_pdf_is_held(
        tmp_path, pg_url, workers, AFTERNOON)
    try:
        [docx] = done.all_documents()
        assert docx.filename.endswith(".docx")
        assert PENDING in done.text
        assert done.image is None  # the picture of page 1 comes from the PDF, which is not made yet
        row = await conn.fetchrow("SELECT docx, pdf_pending FROM renders")
        assert docx.data == bytes(row["docx"]) and row["pdf_pending"]

        first = await service.run_due(AFTERNOON)  # the worker is still at it: looked at again later
        assert channel.sent == [] and first.sent == 0
        [planned] = await conn.fetch("SELECT kind, state, due_at FROM reminders WHERE kind LIKE 'pdf:%'")
        assert planned["state"] == "pending" and planned["due_at"] == AFTERNOON + r.PDF_AGAIN

        # the reminder service as serve runs it, with a tick of an hour: only the wake-up when this process
        # hears that the PDF is made sends it now (the row was put off by the look above)
        looping = asyncio.create_task(service.loop(tick=3600))
        try:
            gate.touch()
            await until(lambda: channel.sent, "the PDF is sent once it is made")
        finally:
            service.stop()
            await looping
        later = AFTERNOON + r.PDF_AGAIN
        [(user, [follow])] = channel.sent
        assert user == c.user_id
        pdf = follow.document
        assert pdf is not None and pdf.mime == PDF_MIME and pdf.filename == docx.filename[:-5] + ".pdf"
        assert pdf.data.startswith(b"%PDF") and pdf.data == bytes(await conn.fetchval("SELECT pdf FROM renders"))
        assert follow.text == gettext("zh_CN", "《{title}》的 PDF 已生成，可打印盖章。", title="对接表")
        async with app.store.sessions() as session:  # kept beside the .docx: 我的文件 lists it, any process serves it
            kept = list((await session.execute(select(col(StoredFile.name)).where(
                col(StoredFile.kind) == DOCUMENT).order_by(col(StoredFile.name)))).scalars())
        assert sorted(n.rsplit(".", 1)[1] for n in kept) == ["docx", "pdf"]

        assert (await service.run_due(later + timedelta(hours=1))).sent == 0  # once
        assert len(channel.sent) == 1
        assert "its PDF next" in held.said()
    finally:
        await conn.close()
        await app.close()


async def test_a_worker_killed_while_making_the_pdf_loses_nothing(pg_url, tmp_path, workers):
    """kill -9 of the worker holding the PDF job, at night: the user already has the .docx; another worker
    takes the PDF job once the first one's heartbeat is stale, and the PDF is sent once, quiet hours or not."""
    app, c, done, service, channel, held, gate, conn = await a_confirm_whose_pdf_is_held(
        tmp_path, pg_url, workers, NIGHT)
    try:
        assert [d.filename.rsplit(".", 1)[1] for d in done.all_documents()] == ["docx"]
        await until(lambda: "job held until" in held.said(), "the PDF job is in the first worker's hand")
        held.proc.send_signal(signal.SIGKILL)
        assert await held.exited() == -signal.SIGKILL
        second = workers(pg_url)
        await until(lambda: conn.fetchval("SELECT NOT pdf_pending FROM renders"), "the second worker makes the PDF",
                    BOUND)
        assert service.is_quiet(NIGHT)
        assert (await service.run_due(NIGHT)).sent == 1
        [(_user, [follow])] = channel.sent
        assert follow.document is not None and follow.document.data.startswith(b"%PDF")
        assert (await service.run_due(NIGHT + timedelta(minutes=5))).sent == 0
        assert "made (PDF" in second.said() and "made (PDF" not in held.said()
        async with app.store.sessions() as session:
            [row] = (await session.execute(select(Reminder).where(col(Reminder.kind).like("pdf:%")))).scalars()
        assert row.state == "sent"
    finally:
        await conn.close()
        await app.close()


async def test_a_pdf_that_fails_is_said_and_a_changed_form_is_not_followed(pg_url, tmp_path, workers):
    """The worker's PDF failed: the user is told to use the Word file (once). A PDF whose answers were
    changed and confirmed again before it came is not sent (the newer confirm has its own)."""
    app, c, done, service, channel, held, gate, conn = await a_confirm_whose_pdf_is_held(
        tmp_path, pg_url, workers, AFTERNOON)
    try:
        held.stop()
        await conn.execute("UPDATE renders SET pdf_pending = false, pdf_failed = true")  # as a failed PDF job
        assert (await service.run_due(AFTERNOON)).sent == 1
        [(_user, [said])] = channel.sent
        assert said.document is None
        assert said.text == gettext("zh_CN", "《{title}》的 PDF 暂时生成失败，请使用 Word 文件。", title="对接表")

        await conn.execute("INSERT INTO reminders (user_id, campaign_id, form_id, kind, due_at, state, body, "
                           "attempts, note, created_at) SELECT user_id, '', form_id, kind, $1, 'pending', "
                           "'[\"an older version\", \"x.pdf\"]', 0, '', $1 FROM reminders WHERE kind LIKE 'pdf:%'",
                           AFTERNOON)
        assert (await service.run_due(AFTERNOON)).skipped == 1
        assert len(channel.sent) == 1
    finally:
        await conn.close()
        await app.close()


async def test_a_busy_workers_pdf_is_waited_for_not_made_by_the_bot_as_well(pg_url, tmp_path, workers, monkeypatch):
    """The .docx is stored and its PDF queued behind other forms' PDFs past the bot's wait (WAIT_S): the bot
    does not make the files itself (200 confirms at once had the serves start LibreOffice 229 times beside
    the worker), nor withdraw the PDF job; the wait ends with the .docx alone and the PDF still to follow."""
    import json

    from bot.dialogs import printed
    from bot.dialogs.forms import FORMS
    from bot.documents import render_queue
    from bot.documents.produce import key_of

    app, c, done, service, channel, held, gate, conn = await a_confirm_whose_pdf_is_held(
        tmp_path, pg_url, workers, AFTERNOON)
    try:
        sub, version = await conn.fetchrow("SELECT submission_id, version FROM renders")
        answers = json.loads(await conn.fetchval("SELECT answers FROM submissions WHERE id = $1", sub))
        answers.pop(printed.PRINTED, None)  # marked at the confirm, after its files were made
        form = FORMS["sme_match"]
        assert key_of(form, answers) == version

        async def here():
            raise AssertionError("the bot made the files as well")

        monkeypatch.setattr(render_queue, "WAIT_S", 0.2)
        monkeypatch.setattr(render_queue, "PDF_WAIT_S", 0.2)
        made = await app.engine.queue.produce(form, answers, sub, True, here)  # past both bounds
        assert made is not None and made.pdf is None and made.pdf_pending
        assert made.docx == done.all_documents()[0].data
        assert await conn.fetchval("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'render_pdf'") == 1
        gate.touch()  # the worker goes on: the PDF is made by it, once
        await until(lambda: conn.fetchval("SELECT NOT pdf_pending FROM renders"), "the worker makes the PDF")
        assert (await service.run_due(AFTERNOON + r.PDF_AGAIN)).sent == 1
    finally:
        await conn.close()
        await app.close()


async def test_each_worker_makes_its_own_pdfs_and_the_docx_is_not_kept_waiting(pg_url, tmp_path, workers):
    """Two workers, every PDF held in the making: each has render_worker.PDF_AT_ONCE PDF jobs in hand (a
    limit per worker: pgqueuer's concurrency_limit, shared by all workers, let two make no more than one),
    and the next confirms still get their .docx at once (the PDFs in hand take no .docx job's place)."""
    gate = tmp_path / "pdf-gate"
    app = await open_app(Settings(data_dir=tmp_path / "data", database_url=pg_url, pdf=True,
                                  review_picture_seconds=0.0, confirm_pdf_seconds=0.0), now=lambda: AFTERNOON)
    service = ReminderService(app, senders={"test": RecordingChannel("test")}, clock=lambda: AFTERNOON)
    app.engine.pdf_made = service.pdf_made  # as serve: a PDF follows; the confirm does not wait for it
    conn = await connect(pg_url)
    pair = [workers(pg_url, pdf_gate=gate), workers(pg_url, pdf_gate=gate)]
    at_once = render_worker.PDF_AT_ONCE
    try:
        await until(lambda: all("taking jobs" in w.said() for w in pair), "both workers take jobs")
        for n in range(2 * at_once + 2):  # every worker's PDF hands full, and two confirms more
            c = ChatClient(app.engine, user_id=f"firm{n}")
            await start_form(c)
            await c.fill(SME_STEPS)
            done, _next = await c.click("确认")
            assert [d.filename.rsplit(".", 1)[1] for d in done.all_documents()] == ["docx"], n
            assert PENDING in done.text
        for w in pair:
            await until(lambda w=w: w.said().count("job held until") == at_once,
                        f"each worker holds {at_once} PDF jobs")
        assert await conn.fetchval("SELECT count(*) FROM renders WHERE pdf_pending") == 2 * at_once + 2
        gate.touch()
        await until(lambda: conn.fetchval("SELECT count(*) = 0 FROM renders WHERE pdf_pending"),
                    "every PDF is made")
    finally:
        gate.touch()
        await conn.close()
        await app.close()


async def test_the_pdf_to_follow_is_planned_by_the_confirms_own_commit(pg_url, tmp_path, workers, monkeypatch):
    """The database is gone the moment after the confirm's commit (or the serve is killed then): the PDF
    still follows, sent by another serve's reminder service, because the confirm's commit planned it."""
    gate = tmp_path / "pdf-gate"
    settings = Settings(data_dir=tmp_path / "data", database_url=pg_url, pdf=True, review_picture_seconds=0.0,
                        confirm_pdf_seconds=0.0)
    app = await open_app(settings, now=lambda: AFTERNOON)
    app.engine.pdf_made = lambda _submission: None  # as serve: the PDF follows; the confirm does not wait
    conn = await connect(pg_url)
    workers(pg_url, pdf_gate=gate)
    other = None
    try:
        await until(lambda: workers_connected(conn), "a worker is connected")
        c = ChatClient(app.engine)
        await start_form(c)
        await c.fill(SME_STEPS)
        commit = app.store.hot.commit

        async def then_gone(changes):
            ok = await commit(changes)

            def gone():
                raise OSError("the database went away")

            monkeypatch.setattr(app.store, "sessions", gone)  # every write of the ORM from here on fails
            return ok

        monkeypatch.setattr(app.store.hot, "commit", then_gone)
        done, _next = await c.click("确认")
        assert [d.filename.rsplit(".", 1)[1] for d in done.all_documents()] == ["docx"] and PENDING in done.text
        [planned] = await conn.fetch("SELECT kind, state FROM reminders WHERE kind LIKE 'pdf:%'")
        assert planned["state"] == "pending"

        other = await open_app(settings, now=lambda: AFTERNOON)  # another serve, on the same database
        channel = RecordingChannel("test")
        service = ReminderService(other, senders={"test": channel}, clock=lambda: AFTERNOON)
        gate.touch()
        await until(lambda: conn.fetchval("SELECT NOT pdf_pending FROM renders"), "the worker makes the PDF")
        assert (await service.run_due(AFTERNOON)).sent == 1
        [(user, [follow])] = channel.sent
        assert user == c.user_id and follow.document is not None and follow.document.data.startswith(b"%PDF")
    finally:
        gate.touch()
        await conn.close()
        if other is not None:
            await other.close()
        monkeypatch.undo()
        await app.close()
