"""The catalogue in the database: read a campaign's needs (through its parent campaign when it has none
of its own), keep a search index per campaign until its rows change, write imported and proposed needs.

Every function takes an `AsyncSession` or the `Store` (then it opens a session of its own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from bot.catalogue.index import Index, Need, code_key, nearest
from storage.catalogue_models import CatalogueItem
from storage.models import utcnow

if TYPE_CHECKING:
    from storage.store import Store

SessionOrStore: TypeAlias = "AsyncSession | Store"

_cache: dict[tuple[str, str], tuple[tuple, Index]] = {}


@asynccontextmanager
async def _session(session_or_store: SessionOrStore) -> AsyncIterator[AsyncSession]:
    if isinstance(session_or_store, AsyncSession):
        yield session_or_store
        return
    async with session_or_store.sessions() as session:
        yield session


def _need(row: CatalogueItem) -> Need:
    return Need(id=row.id or 0, campaign_id=row.campaign_id, code=row.code, name=row.name,
                firm=row.firm if row.publish_name else "", industry=row.industry, region=row.region,
                content=row.content, state=row.state)


async def _signature(session: AsyncSession, campaign_id: str) -> tuple:
    q = select(func.count(col(CatalogueItem.id)), func.max(col(CatalogueItem.updated_at)),
               func.max(col(CatalogueItem.id))).where(col(CatalogueItem.campaign_id) == campaign_id)
    count, updated, top = (await session.execute(q)).one()
    return count, str(updated), top


async def _parents(session: AsyncSession, campaign_id: str) -> list[str]:
    """The campaign and the campaigns it names as `parent` (Shanghai's → the national one)."""
    from bot.campaigns.repo import load_campaigns

    by_id = {c.id: c for c in await load_campaigns(session, include_disabled=True)}
    chain, seen = [], set()
    cid: str | None = campaign_id
    while cid and cid not in seen:
        chain.append(cid)
        seen.add(cid)
        cid = (by_id[cid].data.get("parent") if cid in by_id else None)
    return chain


async def _own_index(session: AsyncSession, campaign_id: str) -> Index:
    sig = await _signature(session, campaign_id)
    bind = session.bind
    if isinstance(bind, AsyncConnection):
        bind = bind.engine
    key = (str(bind.url) if bind is not None else "", campaign_id)
    hit = _cache.get(key)
    if hit is not None and hit[0] == sig:
        return hit[1]
    rows = (await session.execute(select(CatalogueItem).where(
        col(CatalogueItem.campaign_id) == campaign_id).order_by(col(CatalogueItem.id)))).scalars().all()
    needs = [_need(r) for r in rows]
    index = Index([n for n in needs if n.published], needs)
    _cache[key] = (sig, index)
    return index


async def index_for(session_or_store: SessionOrStore, campaign_id: str) -> Index:
    """The index of the campaign's catalogue: its own items, else its parent campaign's (the national
    需求目录 serves a province whose campaign has no catalogue of its own)."""
    async with _session(session_or_store) as session:
        first = None
        for cid in await _parents(session, campaign_id):
            index = await _own_index(session, cid)
            first = first or index
            if index.all_needs:
                return index
        return first if first is not None else Index([])


async def has_catalogue(session_or_store: SessionOrStore, campaign_id: str | None) -> bool:
    """Whether the SME can pick from a catalogue (else: free text, with `chat.where_published`)."""
    if not campaign_id:
        return False
    return len(await index_for(session_or_store, campaign_id)) > 0


async def search(session_or_store: SessionOrStore, campaign_id: str, query: str, limit: int = 5) -> list[Need]:
    """Published needs for words ("雷达", "电池热失控") or a code, best first."""
    return (await index_for(session_or_store, campaign_id)).search(query, limit)


async def by_code(session_or_store: SessionOrStore, campaign_id: str, code: str) -> Need | None:
    """The need with this code (as people type it: case, width, separators and leading zeros do not
    matter), published or withdrawn (check `.published`); None when the catalogue has no such code."""
    index = await index_for(session_or_store, campaign_id)
    key = code_key(code)
    return next((n for n in index.all_needs if code_key(n.code) == key), None) if key else None


async def nearest_codes(session_or_store: SessionOrStore, campaign_id: str, code: str, limit: int = 3) -> list[Need]:
    """For a typed code that is not in the catalogue: the published needs whose codes are closest."""
    index = await index_for(session_or_store, campaign_id)
    codes = nearest((n.code for n in index.needs), code, limit)
    by = {n.code: n for n in index.needs}
    return [by[c] for c in codes]


async def suggest(session_or_store: SessionOrStore, campaign_id: str, industry: str | None, overview: str,
                  limit: int = 5) -> list[Need]:
    """Needs for a firm from its 所属行业 (two-digit code) and 企业概况 text."""
    return (await index_for(session_or_store, campaign_id)).suggest(industry, overview, limit)


async def needs_of(session_or_store: SessionOrStore, campaign_id: str, state: str | None = None) -> list[Need]:
    """The campaign's own items (not a parent's), by code."""
    async with _session(session_or_store) as session:
        q = select(CatalogueItem).where(col(CatalogueItem.campaign_id) == campaign_id)
        if state:
            q = q.where(col(CatalogueItem.state) == state)
        rows = (await session.execute(q.order_by(col(CatalogueItem.code)))).scalars().all()
        return [_need(r) for r in rows]


@dataclass
class Written:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    withdrawn: int = 0


_FIELDS = ("name", "firm", "publish_name", "industry", "region", "content", "state")


async def upsert(session: AsyncSession, campaign_id: str, rows: Sequence[Mapping[str, Any]],
                 replace: bool = False, source_submission_id: int | None = None) -> Written:
    """Write needs by (campaign, code): new ones added, changed ones updated; with `replace`, the
    campaign's published items missing from `rows` are withdrawn (never deleted: SMEs may have picked them)."""
    existing = {code_key(r.code): r for r in (await session.execute(
        select(CatalogueItem).where(col(CatalogueItem.campaign_id) == campaign_id))).scalars()}
    out = Written()
    seen: set[str] = set()
    now = utcnow()
    for data in rows:
        key = code_key(data["code"])
        seen.add(key)
        row = existing.get(key)
        values = {f: data[f] for f in _FIELDS if f in data}
        if row is None:
            row = CatalogueItem(campaign_id=campaign_id, code=data["code"], created_at=now, updated_at=now,
                                source_submission_id=source_submission_id, **values)
            existing[key] = row
            out.added += 1
        elif any(getattr(row, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(row, f, v)
            row.updated_at = now
            out.changed += 1
        else:
            out.unchanged += 1
            continue
        session.add(row)
    if replace:
        for key, row in existing.items():
            if key not in seen and row.state == "published":
                row.state, row.updated_at = "withdrawn", now
                session.add(row)
                out.withdrawn += 1
    await session.flush()
    return out


async def set_state(session: AsyncSession, campaign_id: str, codes: Iterable[str], state: str) -> list[str]:
    keys = {code_key(c) for c in codes}
    done = []
    q = select(CatalogueItem).where(col(CatalogueItem.campaign_id) == campaign_id)
    for row in (await session.execute(q)).scalars():
        if code_key(row.code) in keys and row.state != state:
            row.state, row.updated_at = state, utcnow()
            session.add(row)
            done.append(row.code)
    await session.flush()
    return done


async def proposed_from(session: AsyncSession, submission_ids: Iterable[int]) -> set[int]:
    ids = list(submission_ids)
    if not ids:
        return set()
    q = select(col(CatalogueItem.source_submission_id)).where(col(CatalogueItem.source_submission_id).in_(ids))
    return {x for x in (await session.execute(q)).scalars() if x is not None}


def need_rows_of(answers: Mapping[str, Any], codes: Sequence[str]) -> list[dict[str, Any]]:
    """A confirmed 需求表's needs as catalogue rows: its firm's name only when it chose 公开."""
    public = answers.get("publish_name") == "公开"
    needs = [n for n in answers.get("needs") or [] if isinstance(n, dict) and n.get("name")]
    out = []
    for need, code in zip(needs, codes, strict=False):
        out.append({"code": code, "name": str(need["name"]).strip(), "content": str(need.get("content") or ""),
                    "firm": str(answers.get("company_name") or "") if public else "", "publish_name": public,
                    "industry": str(answers.get("industry") or "")[:2],
                    "region": str(answers.get("reg_province") or ""), "state": "published"})
    return out
