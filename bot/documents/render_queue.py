"""On PostgreSQL a form's files are made by render workers (`python -m bot worker`, render_worker.py) through
a job queue in the database (pgqueuer); this is the bot's side of it, and what both sides share.

A job is one submission's one version of its answers (`key_of`: the digest of the form and answers) with
the answers themselves in its payload, since a review's answers may not be committed yet when it is
enqueued. Its dedupe key `render:<submission>:<version>` makes a second enqueue of a job still queued or
in hand a no-op. A newer version supersedes an older one: enqueueing it cancels the older jobs of that
submission (the queue's own cancellation: a queued one is dropped, one in hand is told to stop), and a
worker checks at pick time that no newer job or result of that submission exists before it renders.

With PDFs on, a render is two jobs: the .docx (this one, DOCX_PRIORITY: every waiting .docx before any
PDF), stored as soon as it is made with `pdf_pending`, and in the same transaction a PDF job of its own
(PDF_ENTRYPOINT, priority 0, at most PDF_AT_ONCE per worker, on a queue manager of their own) that adds
the PDF and the picture of page 1.
A confirm hands the .docx over when the PDF is not there within JIEBANG_CONFIRM_PDF_SECONDS
(`produce(..., docx_only=True)`), and the PDF follows (bot/campaigns/reminders.py follow_pdf): 200
confirms at once wait for 200 .docx, not for 200 PDFs on one LibreOffice.

`RenderQueue.produce` is what the engine's ProducedCache calls: it takes a stored result if there is one,
else enqueues and waits for the worker's NOTIFY (storage/render_models.py: one LISTEN connection per
process, and a look at the table every POLL_S in case a notice was missed), bounded by WAIT_S. When no
worker is connected at all (workers hold a shared advisory lock while they run), or none made it in
time, or the queue itself fails, it makes the files in its own process as on SQLite and logs why: a
deployment that forgot to start workers still confirms.

The queue's own tables are made and upgraded by the queue library itself (`ensure_queue_schema`: at
`admin migrate`, a worker's start and a bot process's first review), not by our alembic revisions: they follow the installed library's version (its upgrade converges whatever
is installed onto what it declares, under its own advisory lock), SQLite never has them, and alembic's
autogenerate ignores them (storage/migrations/env.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.dialogs.fields import Form
from bot.documents.produce import Produced, key_of
from storage import render_models as renders
from storage.hot.postgres import pg_dsn

log = logging.getLogger(__name__)

ENTRYPOINT = "render"
PDF_ENTRYPOINT = "render_pdf"  # the PDF of a .docx already stored (pdf_pending)
DOCX_PRIORITY = 10  # the queue takes higher first: a waiting .docx goes before any PDF
WAIT_S = 60.0  # a confirm waits this long for a worker, then makes its files itself
POLL_S = 5.0  # a waiting process looks at the table this often, beside the NOTIFY
PDF_WAIT_S = 600.0  # then, with the .docx stored and its PDF job queued, this much longer for the PDF
# Every worker holds this advisory lock (shared) on its queue connection while it runs; it goes when the
# worker's connection does, however the worker ended.
WORKER_LOCK = (4674011, 2)
_NO_WORKER_LOG_S = 300.0  # "no worker is connected" at most this often in the log


@dataclass(frozen=True, slots=True)
class RenderJob:
    submission: int
    form_id: str
    version: str
    answers: dict[str, Any]
    pdf: bool

    @property
    def dedupe_key(self) -> str:
        return f"{submission_prefix(self.submission)}{self.version}"

    def payload(self) -> bytes:
        return json.dumps({"submission": self.submission, "form": self.form_id, "version": self.version,
                           "answers": self.answers, "pdf": self.pdf},
                          ensure_ascii=False, default=str).encode()

    @classmethod
    def of(cls, payload: bytes | None) -> RenderJob:
        d = json.loads(payload or b"{}")
        return cls(int(d["submission"]), str(d["form"]), str(d["version"]), dict(d["answers"]), bool(d["pdf"]))


def submission_prefix(submission: int) -> str:
    return f"render:{submission}:"


@dataclass(frozen=True, slots=True)
class PdfJob:
    """The PDF of a .docx a worker stored with `pdf_pending` (it reads the .docx from there)."""

    submission: int
    form_id: str
    version: str

    @property
    def dedupe_key(self) -> str:
        return f"{submission_prefix(self.submission)}{self.version}:pdf"

    def payload(self) -> bytes:
        return json.dumps({"submission": self.submission, "form": self.form_id, "version": self.version}).encode()

    @classmethod
    def of(cls, payload: bytes | None) -> PdfJob:
        d = json.loads(payload or b"{}")
        return cls(int(d["submission"]), str(d["form"]), str(d["version"]))


def job_of(form: Form, answers: dict[str, Any], submission: int, pdf: bool) -> RenderJob:
    return RenderJob(submission, form.id, key_of(form, answers), dict(answers), pdf)


async def ensure_queue_schema(conn: Any) -> None:
    """Make or upgrade the queue library's tables (a no-op when they are current). On one connection: the
    library's upgrade lock is a session's."""
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    await Queries(AsyncpgDriver(conn)).apply_upgrade()


async def ensure_queue_schema_at(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg_dsn(url))
    try:
        await ensure_queue_schema(conn)
    finally:
        await conn.close()


def queue_table() -> str:
    """The queue library's table of jobs waiting or in hand (its name can be changed by its PGQUEUER_*
    settings)."""
    from pgqueuer.domain.settings import db_settings

    return db_settings().qualified.queue_table


async def workers_connected(conn: Any) -> bool:
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND classid = $1 AND objid = $2 AND objsubid = 2)", *WORKER_LOCK))


@dataclass(eq=False)
class _Waiter:
    woken: asyncio.Event = field(default_factory=asyncio.Event)
    status: str = ""  # "ok" or "failed", from the worker's notice


class RenderQueue:
    """The bot's side: enqueue a form's render, wait for its result. Connects at first use."""

    def __init__(self, url: str) -> None:
        import pgqueuer.queries  # noqa: F401 - 0.2 s of imports, at start rather than in a user's review

        self.dsn = pg_dsn(url)
        self._pool: Any = None
        self._listener: Any = None
        self._opening = asyncio.Lock()
        self._schema_ready = False
        self._waiters: dict[tuple[int, str], set[_Waiter]] = {}
        self._no_worker_logged = 0.0

    async def _connect(self) -> Any:
        import asyncpg

        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(self.dsn, min_size=0, max_size=4, command_timeout=30)
            if self._listener is None or self._listener.is_closed():
                self._listener = await asyncpg.connect(self.dsn)
                await self._listener.add_listener(renders.RENDERED, self._heard)
                for waiting in self._waiters.values():  # a notice may have gone while nobody listened
                    for w in waiting:
                        w.woken.set()
            if not self._schema_ready:
                async with self._pool.acquire() as conn:
                    await ensure_queue_schema(conn)
                self._schema_ready = True
        return self._pool

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        said = renders.read_notice(payload)
        if said is None:
            return
        submission, version, status = said
        for w in self._waiters.get((submission, version), ()):
            w.status = status
            w.woken.set()

    async def ping(self) -> str | None:
        """For /readyz: None when the queue's table answers (made first if it is not there yet)."""
        pool = await self._connect()
        async with pool.acquire() as conn:
            await conn.fetchval(f"SELECT count(*) FROM {queue_table()} WHERE entrypoint = $1", ENTRYPOINT)
        return None

    async def enqueue(self, job: RenderJob) -> None:
        """Queue a render; older versions' jobs of the same submission are cancelled."""
        from pgqueuer.db import AsyncpgDriver
        from pgqueuer.queries import Queries

        pool = await self._connect()
        async with pool.acquire() as conn:
            queries = Queries(AsyncpgDriver(conn))
            older = await conn.fetch(f"SELECT id FROM {queue_table()} WHERE entrypoint IN ($1, $2) "
                                     "AND dedupe_key LIKE $3 AND dedupe_key NOT LIKE $4",
                                     ENTRYPOINT, PDF_ENTRYPOINT, submission_prefix(job.submission) + "%",
                                     job.dedupe_key + "%")
            if older:
                await queries.mark_job_as_cancelled([r["id"] for r in older])
            await queries.enqueue(ENTRYPOINT, job.payload(), priority=DOCX_PRIORITY, dedupe_key=job.dedupe_key,
                                  on_conflict="skip")

    async def produce(self, form: Form, answers: dict[str, Any], submission: int, pdf: bool,
                      here: Callable[[], Awaitable[Produced]] | None, docx_only: bool = False) -> Produced | None:
        """The form's files from a render worker; made `here` when no worker is connected, none made them
        within WAIT_S, the worker's render failed, or the queue cannot be reached. `docx_only`: the .docx
        as soon as it is stored, its PDF perhaps still being made (`pdf_pending`); None instead of making
        anything here (the caller has a full wait going that does)."""
        import asyncpg

        job = job_of(form, answers, submission, pdf)
        key = (submission, job.version)
        waiter = _Waiter()
        self._waiters.setdefault(key, set()).add(waiter)  # before anything: no notice can pass unheard
        try:
            # a database that hangs is waited for no longer
            async with asyncio.timeout(WAIT_S + (0 if docx_only else PDF_WAIT_S) + 3 * POLL_S):
                made, why = await self._from_workers(job, waiter, docx_only)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            made, why = None, f"the job queue failed ({exc!r})"  # the confirm goes on without it
        finally:
            waiting = self._waiters.get(key)
            if waiting is not None:
                waiting.discard(waiter)
                if not waiting:
                    del self._waiters[key]
        if made is not None:
            return Produced(job.version, made.docx, made.pdf, made.pdf_failed, made.preview, made.pdf_pending)
        if here is None:
            return None
        if why:
            log.warning("%s: making submission %d's files in this process", why, submission)
        return await here()

    async def _from_workers(self, job: RenderJob, waiter: _Waiter,
                            docx_only: bool = False) -> tuple[renders.Made | None, str]:
        def enough(made: renders.Made | None) -> bool:
            return made is not None and (docx_only or not made.pdf_pending)

        pool = await self._connect()
        async with pool.acquire() as conn:
            made = await renders.find(conn, job.submission, job.version)
            if enough(made):
                return made, ""
            if not await workers_connected(conn):
                if docx_only:
                    return None, ""
                now = time.monotonic()
                if now - self._no_worker_logged > _NO_WORKER_LOG_S:
                    self._no_worker_logged = now
                    return None, "no render worker is connected (start `python -m bot worker`)"
                return None, ""
        if made is None:  # (stored with its PDF still being made: that job is queued already)
            await self.enqueue(job)
        deadline, extended = time.monotonic() + WAIT_S, False
        while True:
            left = deadline - time.monotonic()
            if left <= 0 and made is not None and made.pdf_pending and not docx_only:
                # the .docx is stored and its PDF queued behind others': a worker is at it, and making
                # the files here would only add to the crowd on the cores (with 200 confirms it did)
                if extended:
                    return made, ""  # the .docx alone; the PDF follows when it comes (reminders.follow_pdf)
                deadline, extended = deadline + PDF_WAIT_S, True
                continue
            if left <= 0:
                break
            try:
                await asyncio.wait_for(waiter.woken.wait(), min(POLL_S, left))
            except TimeoutError:
                pass
            waiter.woken.clear()
            if waiter.status == "failed":
                return None, "the render worker could not make them (its log says why)"
            if self._listener is None or self._listener.is_closed():
                await self._connect()  # listen again; every waiter looks at the table once more
            async with pool.acquire() as conn:
                made = await renders.find(conn, job.submission, job.version)
            if enough(made):
                return made, ""
        if docx_only:
            return None, ""  # the full wait beside this one goes on, and decides
        await self.withdraw(job)  # made here now: a worker that picks it later would make them twice
        return None, f"no render worker made them within {WAIT_S:.0f} s"

    async def withdraw(self, job: RenderJob) -> None:
        """Cancel the job if it is still queued or in hand (the bot makes the files itself instead)."""
        from pgqueuer.db import AsyncpgDriver
        from pgqueuer.queries import Queries

        pool = await self._connect()
        async with pool.acquire() as conn:
            ids = [r["id"] for r in await conn.fetch(
                f"SELECT id FROM {queue_table()} WHERE entrypoint IN ($1, $2) AND dedupe_key LIKE $3",
                ENTRYPOINT, PDF_ENTRYPOINT, job.dedupe_key + "%")]
            if ids:
                await Queries(AsyncpgDriver(conn)).mark_job_as_cancelled(ids)

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
