"""On PostgreSQL a form's files are made by render workers (`python -m bot worker`) through the job queue.

Real processes where a process's death or a signal is the point: a worker is started as `python -m bot
worker` against a database of the test's own, held in the middle of a job by the test-only gate
(JIEBANG_TEST_RENDER_GATE: the job waits until a file exists), then killed or stopped. Every wait is a
bound (120 s), never a timing. PDFs are off.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.app import open_app
from bot.config import Settings
from bot.dialogs.forms import FORMS
from bot.documents import render_queue, render_worker
from bot.documents.pdf import pdf_available
from bot.documents.preview import preview_available
from bot.documents.produce import Produced, key_of
from bot.documents.render_queue import ENTRYPOINT, RenderQueue, job_of, workers_connected
from bot.testing import ChatClient
from storage.migrate import upgrade
from tests.conftest import PG_URL, SME_STEPS, _create_pg_database, _drop_pg_database
from tests.documents.test_docx_sme_match import ANSWERS
from tests.test_conversation import start_form

pytestmark = pytest.mark.slow  # real PostgreSQL and real processes

ROOT = Path(__file__).resolve().parents[2]
FORM = FORMS["sme_match"]
BOUND = 120.0  # seconds: an upper limit for anything to happen, never how long it should take


@pytest.fixture
async def pg_url():
    if not PG_URL:
        pytest.skip("JIEBANG_TEST_POSTGRES_URL is not set (CI sets it; see .ci/run)")
    url, name = await _create_pg_database()
    yield url
    await _drop_pg_database(name)


@pytest.fixture(autouse=True)
def _bounded(monkeypatch):
    monkeypatch.setattr(render_queue, "WAIT_S", BOUND)  # a waiting confirm's bound, as generous as the tests'


async def until(check, what: str, bound: float = BOUND):
    """Wait until `check()` (sync or async) returns something true; fail after `bound` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    while True:
        got = check()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        if loop.time() > deadline:
            raise AssertionError(f"not within {bound:.0f} s: {what}")
        await asyncio.sleep(0.1)


class Worker:
    """`python -m bot worker` in a process of its own; its log in a file."""

    def __init__(self, url: str, folder: Path, gate: Path | None = None, pdf: bool = False) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.log = folder / f"worker-{len(list(folder.glob('worker-*.log')))}.log"
        env = {**os.environ, "JIEBANG_DATABASE_URL": url, "JIEBANG_PDF": "on" if pdf else "off",
               "JIEBANG_DATA_DIR": str(folder),
               "PYTHONPATH": str(ROOT)}
        env.pop(render_worker.TEST_GATE, None)
        if gate is not None:
            env[render_worker.TEST_GATE] = str(gate)
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=env,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)

    def said(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def exited(self) -> int:
        return await until(lambda: self.proc.poll() is not None, "the worker exits") and self.proc.returncode

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start(url: str, gate: Path | None = None, pdf: bool = False) -> Worker:
        w = Worker(url, tmp_path / "workers", gate, pdf)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


async def connect(url: str):
    import asyncpg

    return await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))


async def a_submission(conn) -> int:
    """A user's submission row (a render's result is kept only for a submission that exists)."""
    uid = await conn.fetchval("INSERT INTO users (channel, external_id, language, prefs, created_at) "
                              "VALUES ('test', 'queue', 'zh_CN', '{}', now()) RETURNING id")
    return await conn.fetchval("INSERT INTO submissions (user_id, form_id, status, answers, form_version, created_at, "
                               "updated_at) VALUES ($1, 'sme_match', 'draft', '{}', 1, now(), now()) RETURNING id", uid)


async def stored(conn) -> list[tuple[int, str]]:
    return [(r[0], r[1]) for r in await conn.fetch("SELECT submission_id, version FROM renders ORDER BY job_id")]


async def statuses(conn, job_id: int) -> set[str]:
    return {r[0] for r in await conn.fetch("SELECT status::text FROM pgqueuer_log WHERE job_id = $1", job_id)}


def engine_settings(tmp_path, url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=url, pdf=False)  # JIEBANG_RENDER_QUEUE: on


def test_the_setting():
    assert Settings.from_env({}).render_queue is True
    assert Settings.from_env({"JIEBANG_RENDER_QUEUE": "off"}).render_queue is False
    with pytest.raises(ValueError, match="JIEBANG_RENDER_QUEUE"):
        Settings.from_env({"JIEBANG_RENDER_QUEUE": "sometimes"})
    pg = "postgresql+asyncpg://u@h/db"
    assert Settings(database_url=pg).queue_renders
    assert not Settings(database_url=pg, render_queue=False).queue_renders
    assert not Settings().queue_renders  # SQLite: the render process in the bot's own, as always


def test_the_worker_refuses_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JIEBANG_DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(tmp_path), "worker"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=BOUND)
    assert done.returncode == 2
    assert "the worker needs PostgreSQL; on SQLite documents are made in the bot's process" in done.stderr


async def test_a_confirm_hands_over_the_documents_a_worker_made(pg_url, tmp_path, workers, caplog):
    caplog.set_level(logging.INFO, logger="bot.documents.render_queue")
    app = await open_app(engine_settings(tmp_path, pg_url))
    conn = await connect(pg_url)
    try:
        w = workers(pg_url)
        await until(lambda: workers_connected(conn), "a worker is connected")
        c = ChatClient(app.engine)
        await start_form(c)
        await c.fill(SME_STEPS)  # the review enqueues the render
        done, _next = await c.click("确认")
        [docx] = done.all_documents()
        [(sub, version)] = await stored(conn)
        row = await conn.fetchval("SELECT docx FROM renders WHERE submission_id = $1", sub)
        assert docx.filename.endswith(".docx") and docx.data == bytes(row)  # the worker's, not one made here
        assert not [r for r in caplog.records if "in this process" in r.getMessage()]
        await until(lambda: "made (.docx" in w.said(), "the worker logs what it made")  # after its notice
        await c.send("删除我的数据")
        await c.click("确定，全部删除")
        assert await stored(conn) == []  # 删除我的数据 takes the worker's copy too
    finally:
        await conn.close()
        await app.close()


@pytest.mark.skipif(not (pdf_available() and preview_available()), reason="needs LibreOffice and pdftoppm")
async def test_the_worker_makes_the_pdf_and_the_picture_the_review_shows(pg_url, tmp_path, workers, caplog):
    """With PDFs on, the review waits for its picture of page 1: the worker's, as are the confirm's PDF."""
    caplog.set_level(logging.INFO, logger="bot.documents.render_queue")
    app = await open_app(Settings(data_dir=tmp_path / "data", database_url=pg_url, pdf=True,
                                  review_picture_seconds=180.0))
    conn = await connect(pg_url)
    try:
        workers(pg_url, pdf=True)
        await until(lambda: workers_connected(conn), "a worker is connected")
        c = ChatClient(app.engine)
        await start_form(c)
        review = await c.fill(SME_STEPS)
        assert review.image is not None and review.image.filename.endswith(".png")
        done, _next = await c.click("确认")
        docx, pdf = done.all_documents()
        pdf_row, preview_row = await conn.fetchrow("SELECT pdf, preview FROM renders")
        assert pdf.filename.endswith(".pdf") and pdf.data == bytes(pdf_row) and pdf.data.startswith(b"%PDF")
        assert review.image.data == bytes(preview_row) == done.image.data
        assert not [r for r in caplog.records if "in this process" in r.getMessage()]
    finally:
        await conn.close()
        await app.close()


async def test_a_worker_killed_mid_render_loses_no_document_and_makes_it_once(pg_url, tmp_path, workers, caplog):
    """kill -9 of the worker with the job in hand: another worker picks it again once its heartbeat is
    stale, the result is stored once, and the confirm that waited hands over those documents, once."""
    caplog.set_level(logging.INFO, logger="bot.documents.render_queue")
    gate = tmp_path / "gate"
    app = await open_app(engine_settings(tmp_path, pg_url))
    conn = await connect(pg_url)
    try:
        first = workers(pg_url, gate)
        await until(lambda: workers_connected(conn), "the first worker is connected")
        c = ChatClient(app.engine)
        await start_form(c)
        await c.fill(SME_STEPS)  # the review: its render is enqueued and taken by the first worker
        await until(lambda: conn.fetchval("SELECT count(*) FROM pgqueuer WHERE status = 'picked'"),
                    "the first worker takes the job")
        await until(lambda: "job held until" in first.said(), "the job is in the first worker's hand")
        first.proc.send_signal(signal.SIGKILL)
        assert await first.exited() == -signal.SIGKILL
        gate.touch()
        second = workers(pg_url, gate)
        done, _next = await asyncio.wait_for(c.click("确认"), BOUND)  # waits for the second worker
        documents = done.all_documents()
        assert [d.filename for d in documents] == ["中小企业揭榜对接表-上海测试科技有限公司.docx"]
        [(sub, version)] = await stored(conn)  # one result
        row = await conn.fetchval("SELECT docx FROM renders WHERE submission_id = $1", sub)
        assert documents[0].data == bytes(row)
        await until(lambda: "made (.docx" in second.said(), "the second worker logs what it made")
        assert "made (.docx" not in first.said()
        assert not [r for r in caplog.records if "in this process" in r.getMessage()]
    finally:
        await conn.close()
        await app.close()


async def test_sigterm_finishes_the_job_in_hand_then_exits_0(pg_url, tmp_path, workers):
    await upgrade(pg_url)
    conn = await connect(pg_url)
    queue = RenderQueue(pg_url)
    gate = tmp_path / "gate"
    try:
        sub = await a_submission(conn)
        w = workers(pg_url, gate)
        await until(lambda: workers_connected(conn), "the worker is connected")
        job = job_of(FORM, ANSWERS, sub, pdf=False)
        await queue.enqueue(job)
        await until(lambda: "job held until" in w.said(), "the job is in the worker's hand")
        w.proc.send_signal(signal.SIGTERM)
        await until(lambda: "SIGTERM: finishing the 1 job(s) in hand" in w.said(), "the worker heard SIGTERM")
        gate.touch()
        assert await w.exited() == 0
        assert await stored(conn) == [(sub, job.version)]  # finished and stored
        assert await conn.fetchval("SELECT count(*) FROM pgqueuer") == 0  # and done: no worker takes it again
        assert not await workers_connected(conn)
    finally:
        await queue.close()
        await conn.close()


async def test_a_newer_version_supersedes_the_queued_one(pg_url, tmp_path, workers):
    """v1 then v2 of one submission queued before any worker runs: the worker renders v2 only."""
    await upgrade(pg_url)
    conn = await connect(pg_url)
    queue = RenderQueue(pg_url)
    try:
        sub = await a_submission(conn)
        v1 = job_of(FORM, ANSWERS, sub, pdf=False)
        v2 = job_of(FORM, {**ANSWERS, "employees": "86"}, sub, pdf=False)
        await queue.enqueue(v1)
        [(v1_id,)] = await conn.fetch("SELECT id FROM pgqueuer")
        await queue.enqueue(v2)
        assert await conn.fetchval("SELECT count(*) FROM pgqueuer") == 1  # v1 cancelled
        w = workers(pg_url)
        await until(lambda: stored(conn), "the worker stores a result")
        assert await stored(conn) == [(sub, v2.version)]
        assert await statuses(conn, v1_id) == {"queued", "canceled"}  # never picked, never rendered
        await until(lambda: "made (.docx" in w.said(), "the worker logs what it made")
        assert w.said().count("made (.docx") == 1
    finally:
        await queue.close()
        await conn.close()


class Counted:
    """The worker's maker of files, counting what it is asked to make."""

    def __init__(self, fails: bool = False) -> None:
        self.made: list[str] = []
        self.fails = fails

    async def __call__(self, form, answers, pdf=True, renderer=None) -> Produced:
        self.made.append(key_of(form, answers))
        if self.fails:
            raise RuntimeError("a renderer's bug")
        return Produced(key_of(form, answers), FORM.render(answers), None)


@pytest.fixture
async def in_process_worker(pg_url, monkeypatch):
    """run_worker in this process (no signals), its maker of files counted."""
    counted = Counted()
    monkeypatch.setattr(render_worker, "produce", counted)
    stop = asyncio.Event()
    settings = Settings(database_url=pg_url, pdf=False, render_processes=0)
    await upgrade(pg_url)
    task: list[asyncio.Task] = []

    def start() -> Counted:
        task.append(asyncio.get_running_loop().create_task(render_worker.run_worker(settings, stop, signals=False)))
        return counted

    yield start, counted
    stop.set()
    if task:
        assert await asyncio.wait_for(task[0], BOUND) == 0


async def test_an_older_job_picked_after_a_newer_one_was_queued_is_skipped(pg_url, in_process_worker):
    """The check at pick time: with both versions queued (the older not cancelled), only the newer is made."""
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    start, counted = in_process_worker
    conn = await connect(pg_url)
    try:
        sub = await a_submission(conn)
        await render_queue.ensure_queue_schema(conn)
        v1 = job_of(FORM, ANSWERS, sub, pdf=False)
        v2 = job_of(FORM, {**ANSWERS, "employees": "86"}, sub, pdf=False)
        queries = Queries(AsyncpgDriver(conn))
        for job in (v1, v2):  # straight into the queue: no cancellation of v1
            await queries.enqueue(ENTRYPOINT, job.payload(), dedupe_key=job.dedupe_key)
        start()
        await until(lambda: stored(conn), "the worker stores a result")
        await until(lambda: conn.fetchval("SELECT count(*) = 0 FROM pgqueuer"), "both jobs are done")
        assert counted.made == [v2.version]
        assert await stored(conn) == [(sub, v2.version)]
    finally:
        await conn.close()


async def test_a_job_run_twice_stores_one_result_and_renders_once(pg_url, monkeypatch):
    """A worker killed after storing, before the queue heard the job was done: the job is picked again."""
    import anyio
    from pgqueuer.models import Context

    counted = Counted()
    monkeypatch.setattr(render_worker, "produce", counted)
    await upgrade(pg_url)
    conn = await connect(pg_url)
    pool = None
    try:
        import asyncpg

        await render_queue.ensure_queue_schema(conn)
        sub = await a_submission(conn)
        pool = await asyncpg.create_pool(pg_url.replace("postgresql+asyncpg", "postgresql"), min_size=1, max_size=2)
        maker = render_worker.RenderWorker(Settings(database_url=pg_url, pdf=False), pool, None)
        job = SimpleNamespace(id=7, payload=job_of(FORM, ANSWERS, sub, pdf=False).payload())
        for _ in range(2):
            await maker(job, Context(cancellation=anyio.CancelScope(), resources={}))
        assert len(counted.made) == 1
        assert await stored(conn) == [(sub, key_of(FORM, ANSWERS))]
    finally:
        if pool is not None:
            await pool.close()
        await conn.close()


async def test_a_render_that_fails_in_the_worker_is_made_here_at_once(pg_url, in_process_worker, caplog):
    start, counted = in_process_worker
    counted.fails = True
    caplog.set_level(logging.INFO, logger="bot.documents.render_queue")
    conn = await connect(pg_url)
    queue = RenderQueue(pg_url)
    try:
        sub = await a_submission(conn)
        start()
        await until(lambda: workers_connected(conn), "the worker is connected")
        here = Produced(key_of(FORM, ANSWERS), b"made here", None)

        async def make_here() -> Produced:
            return here

        assert await queue.produce(FORM, ANSWERS, sub, False, make_here) is here
        assert counted.made == [key_of(FORM, ANSWERS)]
        assert any("could not make them" in r.getMessage() for r in caplog.records)  # not the bound's end
    finally:
        await queue.close()
        await conn.close()


async def test_without_a_worker_the_bot_makes_the_documents_and_says_why(pg_url, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="bot.documents.render_queue")
    app = await open_app(engine_settings(tmp_path, pg_url))
    conn = await connect(pg_url)
    try:
        c = ChatClient(app.engine)
        await start_form(c)
        await c.fill(SME_STEPS)
        done, _next = await c.click("确认")
        assert [d.filename for d in done.all_documents()] == ["中小企业揭榜对接表-上海测试科技有限公司.docx"]
        assert any("no render worker is connected" in r.getMessage() for r in caplog.records)
        assert await conn.fetchval("SELECT count(*) FROM pgqueuer") == 0  # nothing left queued for nobody
    finally:
        await conn.close()
        await app.close()


async def test_admin_migrate_makes_the_job_queue_on_postgresql(pg_url, tmp_path):
    """The deployment's upgrade step (deploy/systemd/jiebang-migrate.service) puts the queue's tables first."""
    from tests.admin.test_database import admin

    code, said = await admin(Settings(data_dir=tmp_path, database_url=pg_url), "migrate")
    assert code == 0 and "任务队列" in said
    conn = await connect(pg_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pgqueuer") == 0
    finally:
        await conn.close()


async def test_a_job_the_bot_stopped_waiting_for_is_withdrawn_not_made_twice(pg_url, tmp_path, workers,
                                                                             monkeypatch):
    """A worker busy with another form; the bot stops waiting (WAIT_S) and makes the files itself: its job is
    cancelled, so the worker never makes them a second time (at 200 users, 1 worker, PDFs on, 62 forms were
    made twice, each bot process starting a LibreOffice of its own on cores already full)."""
    await upgrade(pg_url)
    conn = await connect(pg_url)
    queue = RenderQueue(pg_url)
    gate = tmp_path / "gate"
    try:
        busy = await a_submission(conn)
        waited = await conn.fetchval("INSERT INTO submissions (user_id, form_id, status, answers, form_version, "
                                     "created_at, updated_at) SELECT user_id, 'sme_match', 'draft', '{}', 1, now(), "
                                     "now() FROM submissions WHERE id = $1 RETURNING id", busy)
        w = workers(pg_url, gate)
        await until(lambda: workers_connected(conn), "the worker is connected")
        held = job_of(FORM, ANSWERS, busy, pdf=False)
        await queue.enqueue(held)
        await until(lambda: "job held until" in w.said(), "the worker holds the first job")
        monkeypatch.setattr(render_queue, "WAIT_S", 0.5)  # the bound of this one wait: the worker is held
        here = Produced("made-here", b"docx made here", None)

        async def made_here() -> Produced:
            return here

        got = await queue.produce(FORM, {**ANSWERS, "employees": "86"}, waited, False, made_here)
        assert got is here
        withdrawn = job_of(FORM, {**ANSWERS, "employees": "86"}, waited, pdf=False)
        assert await conn.fetchval("SELECT count(*) FROM pgqueuer WHERE dedupe_key = $1 AND status = 'queued'",
                                   withdrawn.dedupe_key) == 0
        gate.touch()
        await until(lambda: stored(conn), "the held job is stored")

        async def queue_empty() -> bool:
            return await conn.fetchval("SELECT count(*) FROM pgqueuer") == 0

        await until(queue_empty, "the queue is empty")
        assert await stored(conn) == [(busy, held.version)]  # never the withdrawn one
    finally:
        await queue.close()
        await conn.close()


async def test_the_queues_log_is_pruned_once_counted_and_a_week_old(pg_url):
    """pgqueuer keeps a log row for every move of every job for ever (its statistics count them and leave
    them): a worker drops the counted ones past a week, and statistics past a week; nothing newer, and no
    log row not yet counted."""
    conn = await connect(pg_url)
    try:
        await render_queue.ensure_queue_schema(conn)
        rows = [(1, "8 days", True), (2, "8 days", False), (3, "6 days", True), (4, "0 days", False)]
        for job, age, counted in rows:
            await conn.execute("INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority, created, aggregated) "
                               "VALUES ($1, 'successful', $2, 10, now() - $3::text::interval, $4)",
                               job, ENTRYPOINT, age, counted)
        for age in ("8 days", "6 days"):
            await conn.execute("INSERT INTO pgqueuer_statistics (count, created, entrypoint, priority, status) "
                               "VALUES (1, date_trunc('sec', now() - $1::text::interval), $2, 10, 'successful')", age, ENTRYPOINT)
        assert await render_worker.prune_queue_log(conn) == 1
        assert [r[0] for r in await conn.fetch("SELECT job_id FROM pgqueuer_log ORDER BY job_id")] == [2, 3, 4]
        assert await conn.fetchval("SELECT count(*) FROM pgqueuer_statistics") == 1
        assert await render_worker.prune_queue_log(conn) == 0  # again: nothing more
    finally:
        await conn.close()


async def test_a_worker_rides_out_the_database_going_away(pg_url, tmp_path, workers):
    """Every connection of a worker cut at once (the database restarted, a failover): the worker says so in
    one line, connects again and makes the next confirm's documents; it does not exit."""
    await upgrade(pg_url)
    conn = await connect(pg_url)
    app = None
    try:
        w = workers(pg_url)
        await until(lambda: workers_connected(conn), "a worker is connected")
        await until(lambda: "taking jobs" in w.said(), "the worker takes jobs")
        theirs = await conn.fetchval("SELECT array_agg(pid) FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND pid <> pg_backend_pid()")  # nothing else is connected yet
        assert len(theirs) >= 3  # its two queues' connections and its pool
        await conn.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", theirs)
        try:
            await until(lambda: "connecting again" in w.said(), "the worker says it lost the database")
            await until(lambda: w.said().count("taking jobs") == 2, "the worker connects again", BOUND)
        except AssertionError as exc:  # say what the worker did (exited? with what?)
            raise AssertionError(f"{exc}; worker exit {w.proc.poll()}, its log:\n{w.said()}") from None
        assert w.proc.poll() is None and "Traceback" not in w.said()

        app = await open_app(engine_settings(tmp_path, pg_url))
        c = ChatClient(app.engine)
        await start_form(c)
        await c.fill(SME_STEPS)
        done, _next = await c.click("确认")
        [docx] = done.all_documents()
        [(sub, _version)] = await stored(conn)
        assert docx.data == bytes(await conn.fetchval("SELECT docx FROM renders WHERE submission_id = $1", sub))
        await until(lambda: "made (.docx" in w.said(), "the worker made them")
    finally:
        await conn.close()
        if app is not None:
            await app.close()


def test_a_lost_database_is_recognised_however_the_queue_library_wraps_it():
    """keep_working reconnects for the database's own errors, raised bare, from another, or in a task group's
    ExceptionGroup; anything else (a bug) is not taken for the database being away."""
    import asyncpg

    lost = asyncpg.InterfaceError("connection is closed")
    try:
        try:
            raise lost
        except asyncpg.InterfaceError as exc:
            raise RuntimeError("dequeue failed") from exc
    except RuntimeError as exc:
        wrapped = exc
    kinds = (OSError, asyncpg.InterfaceError)
    assert render_worker._found(lost, kinds) is lost
    assert render_worker._found(ExceptionGroup("tasks", [ValueError("x"), wrapped]), kinds) is lost
    assert render_worker._found(ExceptionGroup("tasks", [ValueError("a bug")]), kinds) is None
