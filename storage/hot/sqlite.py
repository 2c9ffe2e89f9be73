"""The hot path on SQLite: the standard library's sqlite3, a reader thread, a writer thread, group commit.

Reads run on a reader thread with a read-only connection of its own (in WAL a read never waits for the
writer); all writes go to one writer thread with one connection. The writer commits what is queued
together (group commit, one fsync for many users' messages, each in a SAVEPOINT of its own so a conflict
undoes only that message), and each message's reply is released only after the commit that holds it
(synchronous=FULL). When nothing else is in flight, a read or a commit runs on the event loop's thread
at once instead (see `SqliteHotPath.__init__`).
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from storage.hot.contract import (
    LOAD,
    SUB_COLUMNS,
    Commit,
    Conflict,
    Loaded,
    SubRow,
    UserRow,
    dumps,
    sub_row,
    utcnow,
)

SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite: naive UTC


def sqlite_ts(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_path(url: str) -> str:
    """The file of a sqlite URL (`sqlite+aiosqlite:////abs/path`, `sqlite:///relative/path`)."""
    from sqlalchemy.engine import make_url

    path = make_url(url).database or ""
    if not path or path == ":memory:":
        raise ValueError("the hot path needs an SQLite file, not an in-memory database")
    return path


_LOAD_SQLITE = LOAD.format(submission="COALESCE(json_extract(c.state, '$.submission'), json_extract(c.state, '$.sub'))",
                           key="u.id || ?", channel="?", external_id="?")


def _json(value: Any) -> Any:
    if value is None or isinstance(value, dict | list):
        return value
    return json.loads(value)


class _Job:
    __slots__ = ("fn", "future", "loop")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any], future: asyncio.Future,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.fn, self.future, self.loop = fn, future, loop


def _resolve(future: asyncio.Future, value: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class SqliteHotPath:
    MAX_BATCH = 128

    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)
        self.counters: Counter[str] = Counter()
        self._reader: sqlite3.Connection | None = None
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._reads: ThreadPoolExecutor | None = None
        # When nothing else is in flight, a read or a commit runs on the event loop's thread at once: a hop
        # to another thread costs more than the work (one user at a time: ~0.3 ms a hop on a busy machine).
        # It never waits there for a lock (busy_timeout 0 on those attempts): a busy database goes to the
        # threads, which may wait. Under load everything goes to the threads, which run beside the loop.
        self._inflight = 0
        self.solo = False  # the engine's guess that this message is alone (see Engine._alone): inline then
        self._inline_reader: sqlite3.Connection | None = None
        self._wconn: sqlite3.Connection | None = None
        self._batch_lock = threading.Lock()  # the writer connection: the writer thread, or one inline commit

    # -- connections ------------------------------------------------------------------------------

    def _connect(self, readonly: bool) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30,
                               cached_statements=256)
        if readonly:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA query_only=ON")
        else:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=0")  # from here the writer waits for the lock itself (_begin)
        return conn

    @property
    def reader(self) -> sqlite3.Connection:
        if self._reader is None:
            self._reader = self._connect(readonly=True)
        return self._reader

    def _read_now(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        self.counters["statements"] += 1
        return self.reader.execute(sql, params).fetchall()

    async def _read(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        """At once when nothing else is in flight; else on the reader thread (WAL reads never wait for the
        writer, and the event loop never waits for SQLite: a read blocked on a checkpoint would stop
        every user)."""
        if self._inflight == 0 and self.solo:
            try:
                if self._inline_reader is None:
                    self._inline_reader = self._connect(readonly=True)
                    self._inline_reader.execute("PRAGMA busy_timeout=0")
                self.counters["statements"] += 1
                return self._inline_reader.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
        if self._reads is None:
            self._reads = ThreadPoolExecutor(1, thread_name_prefix="sqlite-reader")
        self.counters["hops"] += 1
        self._inflight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._reads, self._read_now, sql, params)
        finally:
            self._inflight -= 1

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._writer, name="sqlite-writer", daemon=True)
                self._thread.start()

    def _writer_conn(self) -> sqlite3.Connection:
        if self._wconn is None:
            self._wconn = self._connect(readonly=False)
        return self._wconn

    async def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `fn(conn)` inside a transaction: at once when nothing else is in flight and the database is
        free, else on the writer thread (in a transaction shared with the other queued writes)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        job = _Job(fn, future, loop)
        if self._inflight == 0 and self.solo and self._batch_lock.acquire(blocking=False):
            try:
                if self._jobs.empty() and self._run_batch(self._writer_conn(), [job], wait=False):
                    return await future
            finally:
                self._batch_lock.release()
        self._start()
        self.counters["hops"] += 1
        self._inflight += 1
        try:
            self._jobs.put(job)
            return await future
        finally:
            self._inflight -= 1

    def _writer(self) -> None:
        with self._batch_lock:
            conn = self._writer_conn()
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                batch = [job]
                while len(batch) < self.MAX_BATCH:
                    try:
                        nxt = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        self._jobs.put(None)  # stop after this batch
                        break
                    batch.append(nxt)
                with self._batch_lock:
                    self._run_batch(conn, batch)
        finally:
            with self._batch_lock:
                conn.close()
                self._wconn = None

    @staticmethod
    def _begin(conn: sqlite3.Connection, wait: bool) -> bool:
        """BEGIN IMMEDIATE (the one write lock). The writer connection never waits inside SQLite (its
        busy_timeout is 0): the writer thread retries for up to 30 s itself, the loop's thread not at all."""
        deadline = time.monotonic() + 30
        delay = 0.001
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy:
                    raise
                if not wait:
                    return False  # another connection is writing: the writer thread waits for it instead
                if time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Job], wait: bool = True) -> bool:
        """One transaction for the batch, each job in a savepoint of its own when there are several (a
        conflict undoes that message only). `wait=False` (the loop's own thread): if the database is busy,
        return False with nothing done."""
        results: list[tuple[_Job, Any, BaseException | None]] = []
        try:
            if not self._begin(conn, wait):
                return False
            if len(batch) == 1:
                job = batch[0]
                try:
                    results.append((job, job.fn(conn), None))
                except BaseException as exc:
                    conn.execute("ROLLBACK")
                    results.append((job, None, exc))
            else:
                for job in batch:
                    conn.execute("SAVEPOINT m")
                    try:
                        value = job.fn(conn)
                    except BaseException as exc:  # this message's writes only: the others stay
                        conn.execute("ROLLBACK TO m")
                        conn.execute("RELEASE m")
                        results.append((job, None, exc))
                    else:
                        conn.execute("RELEASE m")
                        results.append((job, value, None))
            if conn.in_transaction:
                conn.execute("COMMIT")
                self.counters["commits"] += 1
                self.counters["batched"] += len(batch)
        except sqlite3.Error as exc:  # the commit itself failed (disk full, I/O): nothing of it stands
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(job, None, exc) for job in batch]
        for job, value, error in results:
            if wait:
                job.loop.call_soon_threadsafe(_resolve, job.future, value, error)
            else:
                _resolve(job.future, value, error)
        return True

    async def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._inline_reader is not None:
            self._inline_reader.close()
            self._inline_reader = None
        if self._thread is None and self._wconn is not None:
            self._wconn.close()
            self._wconn = None
        if self._reads is not None:
            reader, self._reader = self._reader, None
            if reader is not None:
                await asyncio.get_running_loop().run_in_executor(self._reads, reader.close)
            self._reads.shutdown(wait=True)
            self._reads = None

    # -- reads --------------------------------------------------------------------------------------

    async def load(self, channel: str, external_id: str, key: str) -> Loaded | None:
        rows = await self._read(_LOAD_SQLITE, (key, channel, external_id))
        if not rows:
            return None
        r = rows[0]
        sub = None
        if r[5] is not None:
            sub = SubRow(r[5], r[0], r[6], r[7], r[8], r[9], _json(r[10]) or {}, r[11] or 1, r[12], r[13],
                         r[14]).mark_loaded()
        return Loaded(UserRow(r[0], channel, external_id, r[1], _json(r[2]) or {}), _json(r[3]) or {}, r[4] or 0,
                      sub, _json(r[15]), bool(r[16]))

    async def submissions(self, user_id: int, form_id: str | None = None) -> list[SubRow]:
        sql = f"SELECT {SUB_COLUMNS} FROM submissions WHERE user_id = ?"
        params: tuple[Any, ...] = (user_id,)
        if form_id:
            sql += " AND form_id = ?"
            params = (user_id, form_id)
        return [sub_row(r, _json) for r in await self._read(sql + " ORDER BY id", params)]

    async def outbox(self, channel: str, external_id: str) -> list[tuple[int, list[dict]]]:
        rows = await self._read("SELECT id, replies FROM outbox WHERE channel = ? AND external_id = ? "
                          "AND delivered_at IS NULL ORDER BY id", (channel, external_id))
        return [(r[0], _json(r[1]) or []) for r in rows]

    # -- writes ---------------------------------------------------------------------------------------

    async def first_contact(self, channel: str, external_id: str, language: str) -> None:
        now = sqlite_ts(utcnow())

        def run(conn: sqlite3.Connection) -> None:
            self.counters["statements"] += 3
            conn.execute("INSERT INTO users (channel, external_id, language, prefs, created_at) "
                         "VALUES (?, ?, ?, '{}', ?) ON CONFLICT (channel, external_id) DO NOTHING",
                         (channel, external_id, language, now))
            (uid,) = conn.execute("SELECT id FROM users WHERE channel = ? AND external_id = ?",
                                  (channel, external_id)).fetchone()
            conn.execute("INSERT INTO conversations (user_id, state, version, updated_at) VALUES (?, '{}', 0, ?) "
                         "ON CONFLICT (user_id) DO NOTHING", (uid, now))

        await self._write(run)

    async def new_submission(self, user_id: int, form_id: str, answers: dict[str, Any],
                             campaign_id: str | None, form_version: int) -> SubRow:
        now = utcnow()
        ts = sqlite_ts(now)

        def run(conn: sqlite3.Connection) -> int:
            self.counters["statements"] += 1
            cur = conn.execute("INSERT INTO submissions (user_id, form_id, campaign_id, status, answers, form_version, "
                               "created_at, updated_at) VALUES (?, ?, ?, 'draft', ?, ?, ?, ?)",
                               (user_id, form_id, campaign_id, dumps(answers), form_version, ts, ts))
            return int(cur.lastrowid or 0)

        sid = await self._write(run)
        return SubRow(sid, user_id, form_id, campaign_id, "draft", None, dict(answers), form_version, now,
                      now).mark_loaded()

    async def commit(self, c: Commit) -> bool:
        ts = sqlite_ts(c.now)

        def run(conn: sqlite3.Connection) -> None:
            n = 1
            cur = conn.execute("UPDATE conversations SET state = ?, version = version + 1, updated_at = ? "
                               "WHERE user_id = ? AND version = ?", (c.state, ts, c.user_id, c.version))
            if cur.rowcount != 1:
                raise Conflict()
            if c.user is not None:
                n += 1
                conn.execute("UPDATE users SET language = ?, prefs = ? WHERE id = ?", (*c.user, c.user_id))
            for w in c.subs:
                s = w.sub
                n += 1
                if w.answers is not None and w.status:
                    conn.execute("UPDATE submissions SET answers = ?, status = ?, status_note = ?, campaign_id = ?, "
                                 "completed_at = ?, updated_at = ? WHERE id = ? AND user_id = ?",
                                 (w.answers, s.status, s.status_note, s.campaign_id, _opt_ts(s.completed_at), ts,
                                  s.id, c.user_id))
                elif w.answers is not None:
                    conn.execute("UPDATE submissions SET answers = ?, updated_at = ? WHERE id = ? AND user_id = ?",
                                 (w.answers, ts, s.id, c.user_id))
                else:
                    conn.execute("UPDATE submissions SET status = ?, status_note = ?, campaign_id = ?, "
                                 "completed_at = ?, updated_at = ? WHERE id = ? AND user_id = ?",
                                 (s.status, s.status_note, s.campaign_id, _opt_ts(s.completed_at), ts, s.id,
                                  c.user_id))
            if c.outbox_upto is not None:
                n += 1
                conn.execute("UPDATE outbox SET delivered_at = ? WHERE channel = ? AND external_id = ? "
                             "AND delivered_at IS NULL AND id <= ?", (ts, *c.outbox_owner, c.outbox_upto))
            for f in c.files:  # a confirm's documents, a received file: stored with the form that names them
                n += 1
                conn.execute("INSERT INTO stored_files (user_id, submission_id, kind, name, mime, data, sha256, "
                             "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET "
                             "user_id = excluded.user_id, submission_id = excluded.submission_id, "
                             "mime = excluded.mime, data = excluded.data, sha256 = excluded.sha256, "
                             "created_at = excluded.created_at",
                             (c.user_id, f.submission_id, f.kind, f.name, f.mime, f.data, f.sha256, ts))
            for r in c.reminders:  # a confirm's PDF to follow: planned with the confirm, never apart from it
                n += 1
                conn.execute("INSERT INTO reminders (user_id, campaign_id, form_id, kind, deadline, due_at, state, "
                             "body, attempts, note, created_at) VALUES (?, '', ?, ?, NULL, ?, 'pending', ?, 0, '', ?)",
                             (c.user_id, r.form_id, r.kind, sqlite_ts(r.due_at), r.body, ts))
            if c.processed is not None:
                n += 1
                conn.execute("INSERT INTO processed_messages (channel, message_id, user_id, replies, created_at) "
                             "VALUES (?, ?, ?, ?, ?)", (c.processed[0], c.processed[1], c.user_id, c.processed[2], ts))
            self.counters["statements"] += n

        try:
            await self._write(run)
        except Conflict:
            return False
        except sqlite3.IntegrityError:  # the same delivery, committed meanwhile by another process
            return False
        return True


def _opt_ts(value: Any) -> Any:
    return sqlite_ts(value) if isinstance(value, datetime) else value

