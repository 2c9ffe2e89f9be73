"""The hot path's contract: the rows a message reads and writes, and what a driver does with them.

No I/O and no driver here: the value types (`UserRow`, `SubRow`, `Loaded`, `SubWrite`, `Commit`), the
read-only views that a message's rows and the ORM's rows both fit (`SubmissionLike`, `UserLike`), the
protocol both drivers implement (`HotPath`), `Conflict`, the retry record's key (`message_key`), the JSON
and the clock both write with (`dumps`, `utcnow`), and the text both drivers share: the one statement that
reads a message's rows (`LOAD`, which each driver fills in with its dialect's spelling) and the submission
columns (`SUB_COLUMNS`, `sub_row`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


def utcnow() -> datetime:
    return datetime.now(UTC)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# -- rows -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class UserRow:
    id: int
    channel: str
    external_id: str
    language: str
    prefs: dict[str, Any]


@dataclass(slots=True, eq=False)
class SubRow:
    """One submission, as the dialogs and status see it (the fields of storage.models.Submission)."""

    id: int
    user_id: int
    form_id: str
    campaign_id: str | None
    status: str
    status_note: str | None
    answers: dict[str, Any]
    form_version: int = 1
    created_at: Any = None
    updated_at: Any = None
    completed_at: Any = None
    loaded_status: tuple[Any, ...] = ()  # as read: a status write is skipped when nothing changed
    loaded: dict[str, Any] | None = None  # the answers as read (the dialogs replace, never mutate, values)

    def mark_loaded(self) -> SubRow:
        self.loaded_status = (self.status, self.status_note, self.campaign_id, self.completed_at)
        self.loaded = self.answers
        return self


class SubmissionLike(Protocol):
    """What reading a submission needs, from a `SubRow` (a message's view) or a `storage.models.Submission`
    (admin, reminders, the console): read-only, so either fits."""

    @property
    def id(self) -> int | None: ...
    @property
    def user_id(self) -> int: ...
    @property
    def form_id(self) -> str: ...
    @property
    def campaign_id(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def status_note(self) -> str | None: ...
    @property
    def answers(self) -> dict[str, Any]: ...
    @property
    def form_version(self) -> int: ...


class UserLike(Protocol):
    """What reading a user needs, from a `UserRow` or a `storage.models.User`."""

    @property
    def id(self) -> int | None: ...
    @property
    def channel(self) -> str: ...
    @property
    def external_id(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def prefs(self) -> dict[str, Any]: ...


@dataclass(slots=True)
class Loaded:
    """What one statement reads for a message."""

    user: UserRow
    state: dict[str, Any]
    version: int
    submission: SubRow | None
    replayed: list[dict] | None  # the replies of this delivery, if it was handled already
    outbox: bool  # something waits in the outbox


@dataclass(slots=True)
class SubWrite:
    sub: SubRow
    answers: str | None  # the whole answers JSON, when changed
    status: bool  # status, note, campaign, completed_at changed
    # The same change as a top-level patch (changed keys' new values, removed keys), where PostgreSQL can
    # apply it to the stored jsonb: it then parses a few hundred bytes, not the whole form.
    patch: str | None = None
    removed: list[str] | None = None


@dataclass(frozen=True, slots=True)
class FileRow:
    """A file a message's commit stores with the conversation (table `stored_files`, storage/file_models.py)."""

    kind: str
    name: str
    submission_id: int | None
    mime: str
    data: bytes
    sha256: str

    @classmethod
    def of(cls, kind: str, name: str, submission_id: int | None, mime: str, data: bytes) -> FileRow:
        return cls(kind, name, submission_id, mime, data, hashlib.sha256(data).hexdigest())


@dataclass(frozen=True, slots=True)
class ReminderRow:
    """A message a reminder service sends later, planned by a message's commit (table `reminders`,
    storage/campaign_models.py; campaign "" and no deadline): a confirm's PDF that is still being made."""

    form_id: str
    kind: str
    body: str  # JSON
    due_at: datetime


@dataclass(slots=True)
class Commit:
    """One message's writes, applied all or nothing, only if the conversation is still at `version`."""

    user_id: int
    version: int
    state: str  # JSON
    now: datetime
    user: tuple[str, str] | None = None  # (language, prefs JSON) when changed
    subs: list[SubWrite] = field(default_factory=list)
    processed: tuple[str, str, str] | None = None  # (channel, key, replies JSON)
    outbox_upto: int | None = None  # mark the user's waiting outbox rows up to this id delivered
    outbox_owner: tuple[str, str] = ("", "")
    files: list[FileRow] = field(default_factory=list)  # at a confirm, or an answer that sends a file
    reminders: list[ReminderRow] = field(default_factory=list)  # sent later: only if the conversation's write is


class HotPath(Protocol):
    """The storage contract of the engine's per-message path (the store's other users keep the ORM)."""

    counters: Counter[str]
    solo: bool  # set by the engine: this message is likely alone (one user at a time, or a quiet moment)

    async def load(self, channel: str, external_id: str, key: str) -> Loaded | None: ...

    async def first_contact(self, channel: str, external_id: str, language: str) -> None: ...

    async def submissions(self, user_id: int, form_id: str | None = None) -> list[SubRow]: ...

    async def new_submission(self, user_id: int, form_id: str, answers: dict[str, Any],
                             campaign_id: str | None, form_version: int) -> SubRow: ...

    async def outbox(self, channel: str, external_id: str) -> list[tuple[int, list[dict]]]: ...

    async def commit(self, commit: Commit) -> bool:
        """True when written; False when the conversation moved on (another process): nothing written."""
        ...

    async def close(self) -> None: ...


def message_key(user_id: int, message_id: str) -> str:
    """The retry record's key: a channel's message ids need only be unique per user (a new Telegram bot
    token starts its update ids again), so another user's id never finds these replies."""
    import hashlib

    key = f"{user_id}:{message_id}"
    return key if len(key) <= 128 else f"{user_id}:#{hashlib.sha256(message_id.encode()).hexdigest()}"


def key_suffix(message_id: str) -> str:
    """`message_key` without the user id (the statement that reads the user prepends it)."""
    return message_key(0, message_id)[1:]


class Conflict(Exception):
    """The conversation moved on under this commit (another process wrote it first)."""


# -- the statements both drivers share ----------------------------------------------------------------

# One statement reads everything a message needs: the user, their conversation, the submission the state
# names, whether this delivery was handled already (its replies) and whether anything waits in the outbox.
LOAD = """
SELECT u.id, u.language, u.prefs, c.state, c.version,
       s.id, s.form_id, s.campaign_id, s.status, s.status_note, s.answers, s.form_version,
       s.created_at, s.updated_at, s.completed_at,
       p.replies,
       EXISTS (SELECT 1 FROM outbox o WHERE o.channel = u.channel AND o.external_id = u.external_id
               AND o.delivered_at IS NULL)
FROM users u
JOIN conversations c ON c.user_id = u.id
LEFT JOIN submissions s ON s.user_id = u.id AND s.id = {submission}
LEFT JOIN processed_messages p ON p.channel = u.channel AND p.message_id = {key}
WHERE u.channel = {channel} AND u.external_id = {external_id}
"""

SUB_COLUMNS = "id, user_id, form_id, campaign_id, status, status_note, answers, form_version, " \
              "created_at, updated_at, completed_at"


def sub_row(row: Sequence[Any], decode: Callable[[Any], Any]) -> SubRow:
    """A row of `SUB_COLUMNS`; `decode` makes the stored answers a dict (SQLite's text, asyncpg's as is)."""
    return SubRow(row[0], row[1], row[2], row[3], row[4], row[5], decode(row[6]) or {}, row[7] or 1,
                  row[8], row[9], row[10]).mark_loaded()

