"""`python -m bot worker`: makes forms' files for the bots, from the job queue in PostgreSQL.

Run any number of them, on any machine that reaches the database (JIEBANG_DATABASE_URL): each takes
render jobs (render_queue.py), makes the .docx (the form's renderer, in a render process of its own as
the bot does: worker.py) and, where JIEBANG_PDF is on and LibreOffice is installed here, the PDF and
the picture of page 1 (produce.py), stores them in `renders` (storage/render_models.py) and NOTIFYs the
process waiting for them.

- With PDFs on, the .docx is stored as soon as it is made (`pdf_pending`) together with a PDF job of its
  own (PDF_ENTRYPOINT, lower priority, PDF_AT_ONCE at a time): every waiting .docx is made before any
  PDF, so a crowd's confirms do not wait behind LibreOffice. The PDF job adds the PDF and the picture.
- At pick time a job is checked: its result already stored (the job ran before, its worker killed after
  storing) or a newer version of the same submission queued or made: then it is not rendered again.
- A job in hand sends a heartbeat every HEARTBEAT_S / 2; one whose heartbeat is older than HEARTBEAT_S
  (its worker was killed, or lost the database) is picked again by any worker.
- A newer version's enqueue cancels the job in hand (the queue's cancellation NOTIFY): it stops.
- A render whose renderer raises is reported to the waiting process at once (it makes the files itself
  and says why); a database error is retried by the queue (up to 3 tries, 1 s then 2 s apart).
- SIGTERM or Ctrl-C: no new job is taken, the jobs in hand are finished and stored, then exit 0.
- The database away (restarted, a failover, the network): the worker says so in one line and connects
  again, 1 s later, then 2, 4 … up to RECONNECT_MAX_S apart (`keep_working`); the jobs wait in the
  database, a job it had in hand is picked again by the heartbeat rule above. It never exits for it.

Refused on SQLite (the caller, bot/__main__.py, says so): there the bot makes the files itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from datetime import timedelta
from typing import Any

from bot.config import Settings, set_local_zone
from bot.dialogs.forms import FORMS
from bot.documents.pdf import pdf_available
from bot.documents.produce import make_pdf, produce
from bot.documents.render_queue import (
    ENTRYPOINT,
    PDF_ENTRYPOINT,
    POLL_S,
    WORKER_LOCK,
    PdfJob,
    RenderJob,
    ensure_queue_schema,
    queue_table,
    submission_prefix,
)
from bot.documents.worker import RenderPool
from storage import render_models as renders
from storage.hot.postgres import pg_dsn
from storage.migrate import upgrade

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0  # a job in hand whose worker has been silent this long is picked again
BATCH = 2  # .docx jobs taken in one go; at most twice as many in hand (PDF jobs have hands of their own)
LOG_KEEP = "7 days"  # the queue's log of each job's moves (3-4 rows a job) and its per-second counts
LOG_PRUNE_S = 3600.0  # a worker drops what is older than LOG_KEEP this often (at its start too)
PDF_POLL_S = 0.5  # a worker whose PDF hands are full looks for the next PDF job this often
RECONNECT_MAX_S = 30.0  # the longest wait between two tries to reach a database that is away
PDF_AT_ONCE = 2  # PDF jobs in this worker's hand at once (its LibreOffice converts one, the next one waits)
# Test-only: a job waits before it renders until the file this names exists, so a test can hold a job in
# a worker's hand (to kill or stop the worker then). Read by this module only; never set it in production.
TEST_GATE = "JIEBANG_TEST_RENDER_GATE"
TEST_PDF_GATE = "JIEBANG_TEST_PDF_GATE"  # the same, for a PDF job (after its .docx was stored)


class RenderWorker:
    """What one job is: check, make, store, tell."""

    def __init__(self, settings: Settings, pool: Any, renderer: RenderPool) -> None:
        self.settings = settings
        self.pool = pool
        self.renderer = renderer
        self.check = (f"SELECT EXISTS (SELECT 1 FROM renders WHERE submission_id = $1 AND version = $2), "
                      f"EXISTS (SELECT 1 FROM {queue_table()} WHERE entrypoint = $3 AND dedupe_key LIKE $4 "
                      f"AND id > $5) OR EXISTS (SELECT 1 FROM renders WHERE submission_id = $1 AND job_id > $5)")

    async def __call__(self, job: Any, context: Any) -> None:
        import asyncpg

        rj = RenderJob.of(job.payload)
        what = f"submission {rj.submission} ({rj.form_id}, version {rj.version[:12]}, job {job.id})"
        async with self.pool.acquire() as conn:
            done, superseded = await conn.fetchrow(self.check, rj.submission, rj.version, ENTRYPOINT,
                                                   submission_prefix(rj.submission) + "%", int(job.id))
            if done:  # made before: its worker was killed between storing and saying it was done
                log.info("%s: already made", what)
                pending = await conn.fetchval("SELECT pdf_pending FROM renders WHERE submission_id = $1 "
                                              "AND version = $2", rj.submission, rj.version)
                await conn.execute("SELECT pg_notify($1, $2)", renders.RENDERED,
                                   renders.notice(rj.submission, rj.version, "docx" if pending else "ok"))
                return
            if superseded:
                log.info("%s: skipped, a newer version of the answers is queued or made", what)
                return
        form = FORMS.get(rj.form_id)
        if form is None:
            log.error("%s: no form %r here (is this worker older than the bot?)", what, rj.form_id)
            await self._failed(rj)
            return
        await _test_gate(TEST_GATE)
        pdf_after = rj.pdf and self.settings.pdf and pdf_available()  # a PDF job of its own, after the .docx
        made, started = None, time.monotonic()
        with context.cancellation:
            try:
                made = await produce(form, rj.answers, rj.pdf and self.settings.pdf and not pdf_after,
                                     self.renderer)
            except Exception:
                log.exception("%s: rendering failed", what)
                await self._failed(rj)
                return
        if made is None or context.cancellation.cancel_called:
            log.info("%s: cancelled, a newer version of the answers was queued", what)
            return
        result = renders.Made(made.docx, made.pdf, made.preview, made.pdf_failed, pdf_pending=pdf_after)
        try:
            async with self.pool.acquire() as conn, conn.transaction():  # the .docx and its PDF job, or neither
                await renders.store(conn, rj.submission, rj.version, rj.form_id, int(job.id), result)
                if pdf_after:
                    pdf_job = PdfJob(rj.submission, rj.form_id, rj.version)
                    await _queries(conn).enqueue(PDF_ENTRYPOINT, pdf_job.payload(), dedupe_key=pdf_job.dedupe_key,
                                                 on_conflict="skip")
        except asyncpg.ForeignKeyViolationError:
            log.info("%s: the submission is gone (its user's data erased): nothing kept", what)
            return
        log.info("%s: made (.docx %d bytes%s) in %.2f s, %s", what, len(made.docx),
                 ", its PDF next" if pdf_after else f", PDF {len(made.pdf)} bytes" if made.pdf else "",
                 time.monotonic() - started, _waited(job))

    async def _failed(self, rj: RenderJob) -> None:
        async with self.pool.acquire() as conn:
            await renders.say_failed(conn, rj.submission, rj.version)


class PdfWorker:
    """What one PDF job is: the stored .docx, still `pdf_pending`, to a PDF and the picture of page 1."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def __call__(self, job: Any, context: Any) -> None:
        pj = PdfJob.of(job.payload)
        what = f"submission {pj.submission} ({pj.form_id}, version {pj.version[:12]}, PDF job {job.id})"
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT docx FROM renders WHERE submission_id = $1 AND version = $2 "
                                      "AND pdf_pending", pj.submission, pj.version)
        if row is None:  # made already (a job run twice), or a newer version or 删除我的数据 took the row
            log.info("%s: nothing to make (its PDF is made, or its .docx is gone)", what)
            return
        await _test_gate(TEST_PDF_GATE)
        made, started = None, time.monotonic()
        with context.cancellation:
            try:
                made = await make_pdf(pj.form_id, bytes(row[0]))
            except Exception:  # the user has the .docx; they are told the PDF failed
                log.exception("%s: the PDF failed", what)
                made = (None, True, None)
        if made is None or context.cancellation.cancel_called:
            log.info("%s: cancelled, a newer version of the answers was queued", what)
            return
        pdf, failed, preview = made
        async with self.pool.acquire() as conn:
            kept = await renders.store_pdf(conn, pj.submission, pj.version, pdf, preview, failed)
        log.info("%s: %s in %.2f s, %s", what, ("PDF failed" if failed else f"made (PDF {len(pdf or b'')} bytes)")
                 if kept else "made, but its .docx is gone or has its PDF already: not kept",
                 time.monotonic() - started, _waited(job))


def _queries(conn: Any) -> Any:
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    return Queries(AsyncpgDriver(conn))


async def _test_gate(setting: str) -> None:
    gate = os.environ.get(setting)
    if not gate:
        return
    log.info("job held until %s exists (%s, a test setting)", gate, setting)
    while not _exists(gate):  # noqa: ASYNC110 - another process makes the file: nothing here to wait on
        await asyncio.sleep(0.05)


def _exists(path: str) -> bool:
    return os.path.exists(path)


async def keep_working(settings: Settings, stop: asyncio.Event | None = None, signals: bool = True) -> int:
    """`python -m bot worker`: run_worker until SIGTERM / SIGINT (or `stop`), connecting again whenever the
    database is away, however long; 0 at the end."""
    from storage.hot import transient_errors

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()

    def stopping(signum: int) -> None:  # between two tries: nothing in hand
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    delay = 1.0
    while not stop.is_set():
        began = time.monotonic()
        try:
            await run_worker(settings, stop, signals)  # its signals set `stop` too
            why = "its connection to the database ended"
        except Exception as exc:  # noqa: BLE001 - the database's errors come wrapped too; the rest re-raised
            away = _found(exc, transient_errors())
            if away is None:
                raise
            why = f"the database is unreachable ({type(away).__name__})"  # never the URL: it has the password
        if stop.is_set():
            break
        if time.monotonic() - began > 4 * RECONNECT_MAX_S:
            delay = 1.0  # it had been working: a new outage starts from a short wait
        log.warning("render worker %d: %s; connecting again in %.0f s", os.getpid(), why, delay)
        if signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stopping, sig)
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass
        finally:
            if signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
        delay = min(delay * 2, RECONNECT_MAX_S)
    return 0


def _found(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """`exc`, or the one of `kinds` it was raised from or groups (the queue library's task groups raise an
    ExceptionGroup of what their tasks raised), else None."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, kinds):
            return e
        todo += [x for x in (e.__cause__, e.__context__) if x is not None]
        if isinstance(e, BaseExceptionGroup):
            todo += list(e.exceptions)
    return None


async def run_worker(settings: Settings, stop: asyncio.Event | None = None, signals: bool = True) -> int:
    """Take render jobs until SIGTERM / SIGINT (or `stop`, for tests in one process); then finish the jobs
    in hand and return 0.

    Two queue managers, each on a connection of its own: one takes .docx jobs (BATCH at a time, twice that
    in hand), the other PDF jobs (PDF_AT_ONCE in hand). A queue manager's cap is this worker's own, while an
    entrypoint's concurrency_limit in pgqueuer is shared by every worker: with one manager for both, PDFs in
    hand took the slots of the .docx behind them (200 confirms: a .docx waited 6 s in the queue to be made in
    0.35 s), and two workers made no more PDFs at once than one."""
    import asyncpg
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.executors import DatabaseRetryEntrypointExecutor
    from pgqueuer.qm import QueueManager
    from pgqueuer.queries import Queries

    set_local_zone(settings.timezone)
    url = settings.effective_database_url
    await upgrade(url)  # the renders table (alembic, as every bot process does at start)
    dsn = pg_dsn(url)
    conn = await asyncpg.connect(dsn)  # the .docx queue's: its LISTEN, picks, heartbeats and our advisory lock
    pdf_conn = await asyncpg.connect(dsn)  # the PDF queue's
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=3, command_timeout=30)  # results
    renderer = RenderPool(settings.render_processes)  # its own: closed when the worker stops
    loop = asyncio.get_running_loop()
    helpers: list[asyncio.Task[None]] = []  # the stop's forwarding, the log's pruning
    try:
        await ensure_queue_schema(conn)
        await conn.execute("SELECT pg_advisory_lock_shared($1, $2)", *WORKER_LOCK)  # "a worker is here"
        docx_qm = QueueManager(Queries(AsyncpgDriver(conn)))
        pdf_qm = QueueManager(Queries(AsyncpgDriver(pdf_conn)))
        managers = (docx_qm, pdf_qm)
        # with its hands full and PDFs queued, a queue manager looks again every min_dequeue_poll_interval
        # (0.1 s): a PDF can wait that much longer for a free hand, the database need not be asked 10 times a s
        pdf_qm.min_dequeue_poll_interval = timedelta(seconds=PDF_POLL_S)

        def retried(parameters: Any) -> Any:
            return DatabaseRetryEntrypointExecutor(parameters, max_attempts=3)

        docx_qm.entrypoint(ENTRYPOINT, accepts_context=True, executor_factory=retried)(
            RenderWorker(settings, pool, renderer))
        pdf_qm.entrypoint(PDF_ENTRYPOINT, accepts_context=True, executor_factory=retried)(PdfWorker(pool))

        def stopping(signum: int) -> None:
            log.info("%s: finishing the %d job(s) in hand, then stopping", signal.Signals(signum).name,
                     sum(len(qm.job_context) for qm in managers))
            for qm in managers:
                qm.shutdown.set()
            if stop is not None:
                stop.set()  # keep_working: stopped, not away

        if signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stopping, sig)
        if stop is not None:
            helpers += [loop.create_task(_forward(stop, qm.shutdown)) for qm in managers]
        helpers.append(loop.create_task(_pruning(pool)))
        log.info("render worker %d taking jobs (PDF %s)", os.getpid(), "on" if settings.pdf else "off")
        poll, beat = timedelta(seconds=POLL_S), timedelta(seconds=HEARTBEAT_S)
        await _together(docx_qm.run(dequeue_timeout=poll, batch_size=BATCH, max_concurrent_tasks=2 * BATCH,
                                    heartbeat_timeout=beat),
                        pdf_qm.run(dequeue_timeout=poll, batch_size=1, max_concurrent_tasks=PDF_AT_ONCE,
                                   heartbeat_timeout=beat),
                        [qm.shutdown for qm in managers])
    finally:
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        if signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        await pool.close()
        await conn.close()
        await pdf_conn.close()
        renderer.close()
    log.info("render worker %d stopped", os.getpid())
    return 0


async def _together(first: Any, second: Any, shutdowns: list[asyncio.Event]) -> None:
    """Run both queue managers; when one ends (stopped, or its connection lost) the other is stopped too,
    finishing its jobs in hand; the first error is raised after both have ended."""
    tasks = [asyncio.ensure_future(first), asyncio.ensure_future(second)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for event in shutdowns:
            event.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def prune_queue_log(conn: Any, keep: str = LOG_KEEP) -> int:
    """Drop the queue's log rows older than `keep` once they are counted in its statistics, and statistics
    older than that: pgqueuer keeps both for ever (it marks a log row aggregated and leaves it). Returns the
    log rows dropped. Any worker may run it; two at once drop the same rows once."""
    from pgqueuer.domain.settings import db_settings

    names = db_settings().qualified
    dropped = await conn.fetchval(
        f"WITH gone AS (DELETE FROM {names.queue_table_log} WHERE aggregated AND created < now() - $1::text::interval "
        f"RETURNING 1) SELECT count(*) FROM gone", keep)
    await conn.execute(f"DELETE FROM {names.statistics_table} WHERE created < now() - $1::text::interval", keep)
    return int(dropped)


async def _pruning(pool: Any) -> None:
    """prune_queue_log every LOG_PRUNE_S while the worker runs; a database that is away is tried next time."""
    while True:
        try:
            async with pool.acquire() as conn:
                dropped = await prune_queue_log(conn)
            if dropped:
                log.info("the queue's log: %d row(s) older than %s dropped", dropped, LOG_KEEP)
        except Exception as e:  # a housekeeping chore: never the worker's end
            log.warning("the queue's log was not pruned (%s); again in %.0f s", type(e).__name__, LOG_PRUNE_S)
        await asyncio.sleep(LOG_PRUNE_S)


def _waited(job: Any) -> str:
    """How long the job waited in the queue before a worker took it (the queue's own clock for both)."""
    try:
        return f"{(job.updated - job.created).total_seconds():.2f} s in the queue"
    except (AttributeError, TypeError):
        return "its wait in the queue unknown"


async def _forward(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()
