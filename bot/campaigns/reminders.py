"""Reminders: planned as rows, claimed atomically, sent through the user's channel, marked sent.

- `plan()` inserts one row per (user, campaign, form, deadline, kind) — 7, 3, 1 days before and on the
  day, at the campaign's `remind_time` (09:00 local) — for forms that are unfinished or finished but
  not marked 已盖章报送. The unique key makes planning idempotent; closed deadlines plan nothing.
- `run_due(now)` claims due rows (UPDATE … RETURNING; on PostgreSQL the candidates are picked
  `FOR UPDATE SKIP LOCKED`), so two processes never take the same row; a claim older than the lease is
  taken again, so a crash between claim and send is retried, not lost. Before sending, every row is
  checked against the database as it is now (opted out, submitted, deadline moved or passed, a newer
  reminder also due): then it is skipped, never sent late or twice.
- Quiet hours (21:00–08:00 local): nothing is sent; what is due waits until morning.
- A channel that cannot deliver now (or no channel running) → the reply goes to the outbox and is
  shown at the user's next message. A channel that can say when it may write unprompted
  (`allowance(user id, at)`, WeChat's windows) is asked first, and not sent into a closed window.
- A PDF that follows a confirm (`follow_pdf`: a render worker was still making it when the .docx was
  handed over) is a `pdf:<submission>` row due at once: sent when the worker has stored it, looked at
  again every PDF_AGAIN until then (PDF_GIVE_UP at most), quiet hours or not (it answers what the user
  just did). The serving process that handed the .docx over is woken when it hears the PDF is made.
- Announcements (a deadline moved, a form approved or returned, the new notice a user waited for:
  `tell_waiting`, bot/campaigns/waiting.py) are written to the outbox and a `notice:<outbox id>` row: the
  serving process pushes them; a pushed notice is marked delivered in the outbox, so it is not shown twice.

One module past 500 lines on purpose: it is one service over one table, every kind of row (reminder, PDF,
notice) taken by the same claim, checked by the same rules and sent by the same loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.campaigns import waiting
from bot.campaigns.model import Campaign, days_left
from bot.campaigns.repo import OPEN, UserForms, all_user_forms, load_campaigns, user_forms
from bot.campaigns.status import MAX_MISSING, _title, where_line
from bot.dialogs import walker as w
from bot.dialogs.forms import FORMS
from bot.i18n import N_, gettext, official
from bot.messages import PDF_MIME, Button, Document, Reply, reply_from_dict, reply_to_dict
from bot.metrics import Metrics
from storage.campaign_models import Reminder
from storage.file_models import DOCUMENT, keep_file, write_private
from storage.models import Outbox, Submission, User
from storage.render_models import Render
from storage.store import Store, UserTx, rowcount
from storage.tables import table_of
from storage.times import aware

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

PDF_AGAIN = timedelta(seconds=10)  # a PDF to follow not made yet is looked at again this much later
PDF_GIVE_UP = timedelta(minutes=15)  # and no longer after this (the user has the .docx, and 我的文件)
PDF_KIND = "pdf:"

Clock = Callable[[], datetime]
RESUME = "cmd:resume"  # the reminder's button: the engine opens the form where the user left it
STATUS = "cmd:status"


class Sender(Protocol):
    """What reminders are sent through: a channel (bot/adapters/base.py Channel is one), by its name."""

    name: str

    async def send(self, user_id: str, replies: Sequence[Reply]) -> bool: ...


class Wired(Protocol):
    """The running app (bot/app.py App): its store, and its settings' time zone."""

    store: Store
    settings: Settings


def system_clock() -> datetime:
    return datetime.now(UTC)


class PdfToFollow(Protocol):
    """bot/documents/produce.py PdfToFollow, as far as the reminders need it."""

    @property
    def submission(self) -> int: ...
    @property
    def form_id(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def filename(self) -> str: ...


def follow_pdf(tx: UserTx, pdfs: Sequence[PdfToFollow], now: datetime) -> None:
    """Plan the PDFs a confirm could not hand over yet (bot/documents/produce.py PdfToFollow): one row each,
    due now, written by the confirm's own commit (a serve that dies right after it, or a database that is
    away a moment later, loses no PDF), that any serving process sends once the render worker has stored
    the PDF."""
    for pdf in pdfs:
        tx.plan_reminder(pdf.form_id, f"{PDF_KIND}{pdf.submission}", [pdf.version, pdf.filename], now)


@dataclass
class RunResult:
    sent: int = 0
    queued: int = 0  # to the outbox: no channel running, or it would not deliver now
    skipped: int = 0
    retry: int = 0
    quiet: bool = False
    ids: list[int] = field(default_factory=list)  # rows pushed through a channel


def reminder_reply(lang: str, uf: UserForms, campaign: Campaign, form_id: str, now: datetime) -> Reply:
    """One message: the deadline, what is missing (by label) or that the paper is due, where it goes."""
    t = lambda s, **k: gettext(lang, s, **k)  # noqa: E731
    form = FORMS[form_id]
    d = campaign.deadline(form_id)
    assert d is not None
    left = days_left(d, now, campaign.tz)
    title = t(form.short_title)
    if left == 0:
        lines = [t(N_("⏰ 《{title}》今天（{date}）截止。"), title=title, date=d.isoformat())]
    else:
        lines = [t(N_("⏰ 《{title}》{date}截止，还有 {n} 天。"), title=title, date=d.isoformat(), n=left)]
    for sub in uf.forms.get(form_id, ()):
        if sub.status == "draft":
            _done, _total, missing = w.answered_sub(form, sub)
            names = t(N_("、")).join(official(lang, s.field.label) for s in missing[:MAX_MISSING])
            more = "…" if len(missing) > MAX_MISSING else ""
            lines.append(t(N_("《{title}》还缺 {k} 项：{names}{more}"), title=_title(lang, sub), k=len(missing),
                           names=names, more=more))
        elif sub.status in ("complete", "returned"):
            lines.append(t(N_("《{title}》已填完：请打印盖章后报送，报送后回复“已报送”。"), title=_title(lang, sub)))
    where = where_line(lang, uf, campaign, form_id)
    if where:
        lines.append(where)
    lines.append(t(N_("回复“退订提醒”不再提醒。")))
    return Reply("\n".join(lines), buttons=(Button(t(N_("继续填写")), RESUME),), language=lang)


class ReminderService:
    """`ReminderService(app, senders={"telegram": channel, …})`; `serve` runs `loop()` beside its channels."""

    def __init__(self, app: Wired | Store, senders: Mapping[str, Sender] | None = None, *, clock: Clock | None = None,
                 lease: timedelta = timedelta(minutes=5), quiet: tuple[int, int] = (21, 8),
                 tz: str | None = None, batch: int = 200, offsets: Sequence[int] | None = None,
                 worker: str | None = None, parallel: int = 8, metrics: Metrics | None = None) -> None:
        self.store = app if isinstance(app, Store) else app.store
        # what is sent, queued and failed, by channel: the app's metrics (bot/app.py App.metrics), if any
        self.metrics: Metrics | None = metrics or getattr(app, "metrics", None)
        self.parallel = max(1, parallel)  # reminders sent at once
        settings = getattr(app, "settings", None)
        self.documents_dir = settings.documents_dir if settings is not None else None  # a followed PDF's
        self._wake = asyncio.Event()
        self._made: set[str] = set()  # the kinds of PDF rows whose PDF this process heard is made
        self.senders = dict(senders or {})
        self.clock = clock or system_clock
        self.lease = lease
        self.quiet = quiet
        self.tz = ZoneInfo(tz or getattr(settings, "timezone", None) or "Asia/Shanghai")
        self.batch = batch
        self.offsets = None if offsets is None else tuple(offsets)  # None: each campaign's remind_days
        self.worker = worker or uuid.uuid4().hex[:12]
        self._stop = asyncio.Event()

    @property
    def _pg(self) -> bool:
        return self.store.dialect == "postgresql"

    def is_quiet(self, now: datetime) -> bool:
        start, end = self.quiet
        h = now.astimezone(self.tz).hour
        return h >= start or h < end if start > end else start <= h < end

    def next_morning(self, now: datetime) -> datetime:
        local = now.astimezone(self.tz)
        day = local.date() + (timedelta(days=1) if local.hour >= self.quiet[0] else timedelta())
        return datetime.combine(day, time(self.quiet[1]), self.tz).astimezone(UTC)

    # -- planning ---------------------------------------------------------------------------------

    def rows_for(self, uf: UserForms, now: datetime) -> list[dict[str, Any]]:
        if not uf.reminders_on:
            return []
        rows = []
        for form_id in uf.open_forms():
            campaign = uf.campaign(form_id)
            if campaign is None:
                continue
            for kind, deadline, due in campaign.due_times(form_id, self.offsets):
                if days_left(deadline, now, campaign.tz) < 0:
                    continue  # closed: never remind
                rows.append(dict(user_id=uf.user.id, campaign_id=campaign.id, form_id=form_id, kind=kind,
                                 deadline=deadline, due_at=due, state="pending", attempts=0, note="",
                                 created_at=now))
        return rows

    async def plan(self, now: datetime | None = None, user_ids: Iterable[int] | None = None) -> int:
        """Insert the reminders every user's open forms need; returns how many rows were new."""
        now = now or self.clock()
        async with self.store.sessions() as session:
            campaigns = await load_campaigns(session)
            if not any((d := c.deadline(f)) is not None and days_left(d, now, c.tz) >= 0
                       for c in campaigns for f in c.form_ids):
                return 0  # every deadline is closed or unknown: nothing to plan
            everyone = await all_user_forms(session, campaigns, user_ids)
        rows = []
        for uf in everyone:
            rows.extend(self.rows_for(uf, now))
        return await self._insert(rows)

    async def _insert(self, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        ins = pg_insert if self._pg else sqlite_insert
        table = table_of(Reminder)
        stmt = ins(table).on_conflict_do_nothing(
            index_elements=["user_id", "campaign_id", "form_id", "deadline", "kind"]).returning(table.c.id)
        async with self.store.sessions() as session, session.begin():
            # executemany with RETURNING: batched by SQLAlchemy ("insertmanyvalues"); only new rows return
            res = await session.execute(stmt, rows)
            return len(res.all())

    async def replan(self, campaign_id: str, form_id: str, now: datetime | None = None) -> int:
        """A deadline moved: pending reminders for any other deadline are cancelled, new ones planned."""
        now = now or self.clock()
        async with self.store.sessions() as session, session.begin():
            campaigns = {c.id: c for c in await load_campaigns(session, include_disabled=True)}
            c = campaigns.get(campaign_id)
            new_deadline = c.deadline(form_id) if c and not c.data.get("disabled") else None
            cond = [col(Reminder.campaign_id) == campaign_id, col(Reminder.form_id) == form_id,
                    col(Reminder.state) == "pending", col(Reminder.kind).like("d%")]
            if new_deadline is not None:
                cond.append(col(Reminder.deadline) != new_deadline)
            await session.execute(update(Reminder).where(*cond).values(state="cancelled", note="deadline moved"))
        return await self.plan(now)

    # -- sending ----------------------------------------------------------------------------------

    async def claim(self, now: datetime, only: str | None = None,
                    early: Iterable[str] = ()) -> list[tuple[int, str, int]]:
        """Take up to `batch` due rows for this worker: [(id, claim token, user id)]. Atomic across processes.
        `only`: rows whose kind starts so. `early`: rows of these kinds even when put off (PDF_AGAIN)."""
        token = f"{self.worker}:{uuid.uuid4().hex[:8]}"
        free = or_(col(Reminder.claimed_at).is_(None), col(Reminder.claimed_at) < now - self.lease)
        when = col(Reminder.due_at) <= now
        early = sorted(early)
        if early:
            when = or_(when, col(Reminder.kind).in_(early))
        due = and_(col(Reminder.state) == "pending", when, free)
        if only is not None:
            due = and_(due, col(Reminder.kind).startswith(only))
        pick = select(col(Reminder.id)).where(due).order_by(col(Reminder.due_at), col(Reminder.id)).limit(self.batch)
        if self._pg:
            pick = pick.with_for_update(skip_locked=True)
        async with self.store.sessions() as session, session.begin():
            # Two statements in one transaction: the picked rows stay locked until commit. (One UPDATE …
            # WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED) may take more than n rows on PostgreSQL:
            # the planner can run the sub-select more than once.)
            picked = list((await session.execute(pick)).scalars())
            if not picked:
                return []
            stmt = (update(Reminder).where(col(Reminder.id).in_(picked), due)
                    .values(claimed_at=now, claimed_by=token, attempts=col(Reminder.attempts) + 1)
                    .returning(col(Reminder.id), col(Reminder.user_id)).execution_options(synchronize_session=False))
            rows = sorted((await session.execute(stmt)).all())
        return [(rid, token, user_id) for rid, user_id in rows if rid is not None]

    async def _finish(self, rid: int, token: str, state: str, now: datetime, note: str = "") -> bool:
        async with self.store.sessions() as session, session.begin():
            res = await session.execute(
                update(Reminder).where(col(Reminder.id) == rid, col(Reminder.claimed_by) == token,
                                       col(Reminder.state) == "pending")
                .values(state=state, sent_at=now if state in ("sent", "queued") else None, note=note[:200])
                .execution_options(synchronize_session=False))
            return rowcount(res) > 0

    async def _prepare(self, rid: int, now: datetime) -> tuple[str, str, User | None, list[Reply], int | None]:
        """(verdict, note, user, replies, outbox id) for one claimed row, from the database as it is now."""
        async with self.store.sessions() as session:
            row = await session.get(Reminder, rid)
            if row is None:  # its user erased their data after the claim
                return "skip", "gone", None, [], None
            user = await session.get(User, row.user_id)
            if user is None:
                return "skip", "no user", None, [], None
            if row.kind.startswith(PDF_KIND):
                return await self._prepare_pdf(session, row, user, now)
            if row.kind.startswith("notice:"):
                box = await session.get(Outbox, int(row.kind.split(":", 1)[1]))
                if box is None or box.delivered_at is not None:
                    return "skip", "seen at a message", user, [], None
                return "send", "", user, [reply_from_dict(d) for d in box.replies], box.id
            uf = await user_forms(session, user)
            campaign = uf.campaign(row.form_id)
            if not uf.reminders_on:
                return "skip", "opted out", user, [], None
            if row.form_id not in uf.open_forms():
                return "skip", "submitted", user, [], None
            if campaign is None or campaign.id != row.campaign_id or row.deadline is None \
                    or campaign.deadline(row.form_id) != row.deadline:
                return "skip", "campaign or deadline changed", user, [], None
            if days_left(row.deadline, now, campaign.tz) < 0:
                return "skip", "closed", user, [], None
            newer = (await session.execute(
                select(col(Reminder.id)).where(
                    col(Reminder.user_id) == row.user_id, col(Reminder.campaign_id) == row.campaign_id,
                    col(Reminder.form_id) == row.form_id, col(Reminder.deadline) == row.deadline,
                    col(Reminder.kind).like("d%"), col(Reminder.due_at) > row.due_at,
                    col(Reminder.due_at) <= now).limit(1)
            )).first()
            if newer is not None:
                return "skip", "a newer reminder is due", user, [], None
            return "send", "", user, [reminder_reply(user.language, uf, campaign, row.form_id, now)], None

    async def _prepare_pdf(self, session: AsyncSession, row: Reminder, user: User,
                           now: datetime) -> tuple[str, str, User | None, list[Reply], int | None]:
        """A PDF that follows its confirm: "later" while the worker is making it; sent (and kept with the
        user's documents) once it is stored; said to have failed when it did."""
        sub = await session.get(Submission, int(row.kind.removeprefix(PDF_KIND)))
        version, filename = (row.body or ["", ""])[:2]
        if sub is None:
            return "skip", "gone", user, [], None
        which = and_(col(Render.submission_id) == sub.id, col(Render.version) == version)
        state = (await session.execute(select(col(Render.pdf_pending)).where(which))).first()
        if state is None:
            return "skip", "its answers changed, or it is older than the renders kept", user, [], None
        if state[0]:  # (its bytes are not read while it is being made: many serves look every PDF_AGAIN)
            if now - aware(row.created_at) > PDF_GIVE_UP:
                return "skip", "no PDF came", user, [], None
            return "later", "", user, [], None
        pdf = (await session.execute(select(col(Render.pdf)).where(which))).scalar()
        lang = user.language
        title = _title(lang, sub)
        if pdf is None:
            return "send", "PDF failed", user, [Reply(gettext(lang, N_("《{title}》的 PDF 暂时生成失败，请使用 Word 文件。"),
                                                            title=title), language=lang)], None
        assert user.id is not None and sub.id is not None
        name = f"{user.id}/{sub.id}-{filename}"
        path = self.documents_dir / str(user.id) / f"{sub.id}-{filename}" if self.documents_dir else None
        async with self.store.sessions() as w, w.begin():  # kept as the confirm keeps its files (我的文件)
            await keep_file(w, user.id, DOCUMENT, name, sub.id, PDF_MIME, pdf, now)
        if path is not None:
            await asyncio.to_thread(write_private, path, pdf)  # the local copy (the outbox reads it)
        doc = Document(filename=filename, data=pdf, path=path, mime=PDF_MIME)
        text = gettext(lang, N_("《{title}》的 PDF 已生成，可打印盖章。"), title=title)
        return "send", "", user, [Reply(text, document=doc, language=lang)], None

    async def _later(self, rid: int, token: str, now: datetime) -> None:
        """Give a claimed row back, due again PDF_AGAIN from now."""
        async with self.store.sessions() as session, session.begin():
            await session.execute(
                update(Reminder).where(col(Reminder.id) == rid, col(Reminder.claimed_by) == token,
                                       col(Reminder.state) == "pending")
                .values(due_at=now + PDF_AGAIN, claimed_at=None, claimed_by=None)
                .execution_options(synchronize_session=False))

    def pdf_made(self, submission: int) -> None:
        """The PDF to follow a confirm of `submission` is made (this process heard it): send it now, not at
        the next tick, even where a look before put it off."""
        self._made.add(f"{PDF_KIND}{submission}")
        self._wake.set()

    async def run_due(self, now: datetime | None = None, early: Iterable[str] = ()) -> RunResult:
        """Send what is due now (in quiet hours the PDFs that follow confirms alone). Safe to run in several
        processes at once. `early`: the rows of these kinds too, though put off (`pdf_made`)."""
        now = now or self.clock()
        result = RunResult()
        quiet = self.is_quiet(now)
        result.quiet = quiet
        claimed = await self.claim(now, only=PDF_KIND if quiet else None, early=early)
        # Several users at once: a real channel spends most of a send waiting on the network (its own
        # rate limits still hold). One user's reminders go one after another, in order: a channel's
        # per-user bookkeeping (WeChat's 5 messages per 48 h) is read and written around each send.
        per_user: dict[int, list[tuple[int, str]]] = {}
        for rid, token, user_id in claimed:
            per_user.setdefault(user_id, []).append((rid, token))
        slots = asyncio.Semaphore(self.parallel)

        async def one_user(rows: list[tuple[int, str]]) -> None:
            async with slots:
                for rid, token in rows:
                    await self._deliver(rid, token, now, result)

        await asyncio.gather(*(one_user(rows) for rows in per_user.values()))
        result.ids.sort()
        return result

    async def _deliver(self, rid: int, token: str, now: datetime, result: RunResult) -> None:
        try:
            verdict, note, user, replies, outbox_id = await self._prepare(rid, now)
        except Exception:
            log.exception("reminder %s: could not prepare", rid)
            result.retry += 1
            self._count("unknown", "failed")  # whose it is was not read
            return
        if verdict == "later":
            await self._later(rid, token, now)
            return
        if verdict == "skip" or user is None:  # (a row to send always has its user)
            await self._finish(rid, token, "skipped", now, note)
            result.skipped += 1
            return
        sender = self.senders.get(user.channel)
        ok = False
        if sender is not None and await self._may_push(sender, user.external_id, now):
            try:
                ok = bool(await asyncio.wait_for(sender.send(user.external_id, replies),
                                                 timeout=self.lease.total_seconds() / 2))
            except Exception as exc:  # network, timeout: the lease expires and it is tried again
                log.warning("reminder %s: %s send failed: %r", rid, user.channel, exc)
                result.retry += 1
                self._count(user.channel, "failed")
                return
        if ok:
            if outbox_id is not None:
                await self._mark_outbox(outbox_id, now)
            if not await self._finish(rid, token, "sent", now):
                log.warning("reminder %s: lease lost while sending (sent twice?)", rid)
            result.sent += 1
            self._count(user.channel, "sent")
            result.ids.append(rid)
            return
        if outbox_id is None:
            await self.store.outbox_put(user.channel, user.external_id, replies, reason=f"reminder:{rid}")
        await self._finish(rid, token, "queued", now, "outbox")
        result.queued += 1
        self._count(user.channel, "queued")

    def _count(self, channel: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.reminder(channel, outcome)

    @staticmethod
    async def _may_push(sender: Sender, external_id: str, now: datetime) -> bool:
        """A channel that says when it may write to a user unprompted (`allowance(user id, at)`: WeChat's
        customer-service windows, and consent to a notification) is asked first: into no window it is not
        sent; the reminder waits in the outbox for the user's next message. A channel without it is asked
        to send, and says whether it did."""
        allowance = getattr(sender, "allowance", None)
        if allowance is None:
            return True
        try:
            may = await allowance(external_id, now)
        except Exception as exc:  # the channel's own bookkeeping away: let send() decide
            log.warning("reminder: %s allowance unknown: %r", getattr(sender, "name", "?"), exc)
            return True
        return bool(may) or bool(getattr(may, "notify", False))

    async def _mark_outbox(self, outbox_id: int, now: datetime) -> None:
        async with self.store.sessions() as session, session.begin():
            await session.execute(update(Outbox).where(col(Outbox.id) == outbox_id, col(Outbox.delivered_at).is_(None))
                                  .values(delivered_at=now).execution_options(synchronize_session=False))

    # -- announcements ----------------------------------------------------------------------------

    async def announce(self, messages: Sequence[tuple[int, Sequence[Reply]]], reason: str, campaign_id: str,
                       form_id: str, now: datetime | None = None) -> int:
        """Queue `(user id, replies)` in the outbox (shown at the user's next message) and as notices
        this service pushes through their channel; with senders here, push now."""
        now = now or self.clock()
        async with self.store.sessions() as session, session.begin():
            for uid, replies in messages:
                user = await session.get(User, uid)
                if user is not None:
                    await self._queue(session, user, replies, reason, campaign_id, form_id, now)
        if self.senders:
            await self.run_due(now)
        return len(messages)

    @staticmethod
    async def _queue(session: AsyncSession, user: User, replies: Sequence[Reply], reason: str, campaign_id: str,
                     form_id: str, now: datetime) -> None:
        """One announcement: in the outbox (shown at the user's next message) and a notice row to push it."""
        assert user.id is not None
        box = Outbox(channel=user.channel, external_id=user.external_id,
                     replies=[reply_to_dict(r) for r in replies], reason=reason[:200], created_at=now)
        session.add(box)
        await session.flush()
        session.add(Reminder(user_id=user.id, campaign_id=campaign_id, form_id=form_id, kind=f"notice:{box.id}",
                             deadline=None, due_at=now, created_at=now))

    async def tell_waiting(self, campaign: Campaign, now: datetime | None = None) -> int:
        """`campaign` was loaded: the users who asked to hear of the next notice and for whom it is (their
        region, a later year) get one message each. Their rows are taken (waiting → queued) and the messages
        queued in one transaction, so a user is told once, however often packs are loaded and by whom."""
        now = now or self.clock()
        async with self.store.sessions() as session, session.begin():
            matching = await waiting.waiting_for(session, campaign)
            ids = [rid for rows in matching.values() for rid in rows]
            if not ids:
                return 0
            taken = (await session.execute(
                update(Reminder).where(col(Reminder.id).in_(ids), col(Reminder.state) == waiting.WAITING)
                .values(state="queued", sent_at=now, note=f"told: {campaign.id}"[:200])
                .returning(col(Reminder.user_id)).execution_options(synchronize_session=False))).scalars().all()
            told = 0
            for uid in sorted(set(taken)):
                user = await session.get(User, uid)
                if user is None:
                    continue
                await self._queue(session, user, [new_notice_reply(user.language, campaign)],
                                  f"new notice:{campaign.id}", campaign.id, "", now)
                told += 1
        if self.senders:
            await self.run_due(now)
        return told

    # -- background -------------------------------------------------------------------------------

    async def loop(self, tick: float = 30.0, plan_every: float = 600.0) -> None:
        """Plan every `plan_every` seconds, send what is due every `tick`; until `stop()`."""
        last_plan = last_forget = None
        while not self._stop.is_set():
            try:
                mono = asyncio.get_running_loop().time()
                if last_plan is None or mono - last_plan >= plan_every:
                    await self.plan()
                    last_plan = mono
                if last_forget is None or mono - last_forget >= 86400:
                    await self.store.forget_processed()
                    last_forget = mono
                made, self._made = self._made, set()
                await self.run_due(early=made)
            except Exception:
                log.exception("reminders: tick failed")
            waking = asyncio.ensure_future(self._wake.wait())
            stopped = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait((waking, stopped), timeout=tick, return_when=asyncio.FIRST_COMPLETED)
            waking.cancel()
            stopped.cancel()
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()


def concerned(uf: UserForms, campaign_id: str, form_id: str, states: Iterable[str] = OPEN) -> bool:
    c = uf.campaign(form_id)
    return c is not None and c.id == campaign_id and any(s.status in states for s in uf.forms.get(form_id, ()))


def deadline_notice(lang: str, uf: UserForms, campaign: Campaign, form_id: str, old: date | None,
                    now: datetime) -> Reply:
    from bot.campaigns.status import deadline_line

    t = lambda s, **k: gettext(lang, s, **k)  # noqa: E731
    title = t(FORMS[form_id].short_title)
    old_text = old.isoformat() if old else t(N_("另行通知"))
    lines = [t(N_("📢 《{title}》截止时间调整（原：{old}）"), title=title, old=old_text),
             deadline_line(lang, campaign, form_id, now), where_line(lang, uf, campaign, form_id)]
    return Reply("\n".join(x for x in lines if x), buttons=(Button(t(N_("继续填写")), RESUME),), language=lang)


def new_notice_reply(lang: str, campaign: Campaign) -> Reply:
    """To a user who asked to be told: the new notice is in, their answers wait for it."""
    t = lambda s, **k: gettext(lang, s, **k)  # noqa: E731
    lines = [t(N_("📢 新通知已发布：{name}（{number}）"), name=campaign.short_name, number=campaign.number),
             campaign.title,
             t(N_("您的答案都在：打开表格即可接着填写，或沿用已填的企业信息。回复“状态”查看截止时间和报送地点。"))]
    return Reply("\n".join(x for x in lines if x), buttons=(Button(t(N_("填写表格")), "cmd:start"),
                                                        Button(t(N_("我的进度")), STATUS)), language=lang)
