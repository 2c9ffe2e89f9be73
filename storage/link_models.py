"""Short links to a user's pages (我的文件, a form's full review): `page_links`, one row a link.

The URL carries only the row's id (random, signed: see `bot.web.pagelinks`); who the link is for, which page
it opens and until when are here. A link is used again while more than half of its lifetime is left, so a
chat that shows the link at every reply does not make a row at every reply. Rows expired for longer than
`KEEP_EXPIRED` are deleted when new ones are made: until then an old link says "expired", not "invalid".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Index, delete, select
from sqlmodel import Field, SQLModel, col

from storage.models import utcnow
from storage.times import aware

KEEP_EXPIRED = timedelta(days=30)


class PageLink(SQLModel, table=True):
    __tablename__ = "page_links"
    __table_args__ = (Index("ix_page_links_owner", "channel", "external_id", "target"),
                      Index("ix_page_links_expires_at", "expires_at"))

    id: str = Field(primary_key=True, max_length=24)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    target: str = Field(max_length=64)  # "files", "review:<submission id>"
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


def _fresh(row: PageLink) -> PageLink:
    row.expires_at = aware(row.expires_at)
    row.created_at = aware(row.created_at)
    return row


async def reusable_link(store: Any, channel: str, external_id: str, target: str, until: datetime) -> str | None:
    """The id of a link of this owner and page that is valid until at least `until`."""
    async with store.sessions() as session:
        return (await session.execute(
            select(col(PageLink.id)).where(col(PageLink.channel) == channel,
                                           col(PageLink.external_id) == external_id,
                                           col(PageLink.target) == target, col(PageLink.expires_at) > until)
            .order_by(col(PageLink.expires_at).desc()).limit(1))).scalar_one_or_none()


async def add_link(store: Any, link_id: str, channel: str, external_id: str, target: str,
                   expires_at: datetime, now: datetime) -> None:
    """Keep a new link; links expired before `now - KEEP_EXPIRED` are dropped in the same transaction."""
    async with store.sessions() as session, session.begin():
        await session.execute(delete(PageLink).where(col(PageLink.expires_at) < now - KEEP_EXPIRED))
        session.add(PageLink(id=link_id, channel=channel, external_id=external_id, target=target,
                             expires_at=expires_at, created_at=now))


async def find_link(store: Any, link_id: str) -> PageLink | None:
    async with store.sessions() as session:
        row = await session.get(PageLink, link_id)
        return _fresh(row) if row is not None else None
