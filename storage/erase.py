"""删除我的数据: everything the bot keeps of one user, gone in one transaction.

The user's answers (submissions), documents, the stored documents and received files (`stored_files`), conversation, retry records,
reminders, outbox, the channel's bookkeeping and page links, and the user row itself. A 需求 an admin
published in the 需求目录 from the firm's 需求表 stays in the catalogue (it is the ministry's list now),
unlinked from the deleted submission. The files on disk (the cache of `stored_files`) are the caller's (bot/engine.py) to remove.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlmodel import SQLModel

if TYPE_CHECKING:
    from storage.store import Store


async def erase_user(store: Store, channel: str, external_id: str) -> int | None:
    """Delete one user and everything kept of them; returns the user's id (None: no such user)."""
    tables = SQLModel.metadata.tables
    users = tables["users"]
    async with store.sessions() as session, session.begin():
        uid = (await session.execute(select(users.c.id).where(users.c.channel == channel,
                                                              users.c.external_id == external_id))).scalar()
        if uid is None:
            return None
        subs = select(tables["submissions"].c.id).where(tables["submissions"].c.user_id == uid)
        for table in tables.values():
            cols = table.c
            if "source_submission_id" in cols:  # a published 需求 stays, unlinked
                await session.execute(update(table).where(cols.source_submission_id.in_(subs))
                                      .values(source_submission_id=None))
            elif "submission_id" in cols and table.name != "documents":
                await session.execute(delete(table).where(cols.submission_id.in_(subs)))
        for table in tables.values():
            cols = table.c
            if table.name in ("users", "submissions"):
                continue
            if "user_id" in cols and any(fk.column.table.name == "users" for fk in table.foreign_keys):
                await session.execute(delete(table).where(cols.user_id == uid))
            elif "channel" in cols and "external_id" in cols:
                await session.execute(delete(table).where(cols.channel == channel, cols.external_id == external_id))
        await session.execute(delete(tables["submissions"]).where(tables["submissions"].c.user_id == uid))
        await session.execute(delete(users).where(users.c.id == uid))
    return int(uid)
