"""The database itself: its schema brought up to date, a copy of the SQLite file, and putting one back.

    python -m bot admin migrate           # the schema at the code's version (before serve/workers start)
    python -m bot admin backup /srv/backup/jiebang-2026-12-07.sqlite3
    python -m bot admin restore /srv/backup/jiebang-2026-12-07.sqlite3 [--yes]

Both use SQLite's online backup API (sqlite3.Connection.backup): pages are copied under SQLite's own locks,
so a serving bot keeps answering and the copy is one consistent moment of the database (a transaction that
commits during the copy is in it whole or not at all). The copy is checked (integrity_check) before it is
called done. `restore` checks the file first (an SQLite database of this bot's), keeps the database it
replaces beside it (`<name>.before-restore-<time>`), asks (or --yes), then brings the schema up to date.

The copy leaves out WeChat's live access tokens (LIVE_SECRETS): a backup file is carried and kept where
a token must not be. Only the database: the documents and the files users sent are in it (`stored_files`) since migration
0010; those kept before are plain files under the data folder (documents/, files/), written atomically,
and are copied as files (cp -a, rsync). PostgreSQL has its own
tools (pg_dump / pg_restore, README "Deployment").
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.admin.shared import AdminError, Declare, existing_file, writable
from storage.hot.sqlite import sqlite_path
from storage.migrate import current, upgrade
from storage.store import Store

PAGES_PER_STEP = 256  # pages copied between two looks at the live database: writers wait only that long
# Not in a copy: WeChat's access tokens and jsapi tickets (storage/token_models.py) are live credentials for
# two hours, and a backup travels; a restored database fetches new ones at its first call (one fetch).
LIVE_SECRETS = frozenset({"wechat_tokens"})


def add_commands(declare: Declare) -> None:
    declare("migrate", cmd_migrate, help="bring the database's schema to this code's version (every answer kept)")
    p = declare("backup", cmd_backup, help="a consistent copy of the SQLite database, safe while the bot runs")
    p.add_argument("path", help="the copy's file (it must not exist yet)")
    p = declare("restore", cmd_restore, help="put a backup's database back (the current one is kept beside it)")
    p.add_argument("path", help="a file made by admin backup")
    p.add_argument("--yes", action="store_true", help="without asking")


async def cmd_migrate(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    """`admin` upgrades the schema before every command; this one only says where it now stands. On
    PostgreSQL it also brings the render workers' job queue to the installed queue library's version (the
    library's own upgrade; workers and bots do it too at their start, so this only puts it first)."""
    async with store.engine.connect() as conn:
        at = await conn.run_sync(current)
    print(f"数据库结构已是最新：{at}", file=out)
    if store.dialect == "postgresql":
        from bot.documents.render_queue import ensure_queue_schema_at

        await ensure_queue_schema_at(store.url)
        print("任务队列（pgqueuer）的表已是最新", file=out)
    return 0


def database_file(store: Store) -> Path:
    url = str(store.engine.url)
    if not url.startswith("sqlite"):
        raise AdminError("backup/restore are for the SQLite file; PostgreSQL: pg_dump / pg_restore (README)")
    return Path(sqlite_path(url))


def copy_database(source: Path, target: Path) -> None:
    """SQLite's online backup from one file to another, less the live WeChat credentials (LIVE_SECRETS),
    then integrity_check of the copy."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst, pages=PAGES_PER_STEP)
        tables = {r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        dst.execute("PRAGMA secure_delete = ON")  # the rows' bytes overwritten, not left in free pages
        with dst:
            for table in LIVE_SECRETS & tables:
                dst.execute(f"DELETE FROM {table}")  # noqa: S608 - a name of ours
        checked = dst.execute("PRAGMA integrity_check").fetchone()
    finally:
        dst.close()
        src.close()
    if not checked or checked[0] != "ok":
        raise AdminError(f"副本校验失败（{checked[0] if checked else '无结果'}）：{target}")


def check_backup(path: Path) -> str:
    """The schema revision of a backup file; AdminError when it is not an SQLite database of this bot's."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if db.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise AdminError(f"这个文件已损坏：{path}")
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"users", "submissions", "alembic_version"} <= tables:
                raise AdminError(f"这不是揭榜助手的数据库备份：{path}")
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise AdminError(f"这不是 SQLite 数据库文件：{path}（{exc}）") from exc
    return row[0] if row else "?"


async def cmd_backup(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    live = database_file(store)
    target = writable(args.path)
    if target.exists():
        raise AdminError(f"文件已存在，不覆盖：{target}")
    await asyncio.to_thread(copy_database, live, target)
    print(f"已备份数据库 {live} → {target}（{target.stat().st_size:,} 字节，校验通过）", file=out)
    print(f"生成的表格和用户发送的文件已在数据库中；此前保存的仍在 {live.parent / 'documents'} 和 "
          f"{live.parent / 'files'}，请一并复制。", file=out)
    return 0


async def cmd_restore(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    live = database_file(store)
    source = existing_file(args.path)
    if source.resolve() == live.resolve():
        raise AdminError("这就是正在使用的数据库")
    revision = await asyncio.to_thread(check_backup, source)
    if not args.yes and not args.ask(f"用 {source}（结构版本 {revision}）替换 {live}？当前数据库会另存一份。"):
        print("没有恢复（加 --yes 不再询问）。", file=out)
        return 1
    kept = live.with_name(f"{live.name}.before-restore-{now.strftime('%Y%m%d-%H%M%S')}")
    await asyncio.to_thread(copy_database, live, kept)
    await asyncio.to_thread(copy_database, source, live)
    fresh = Store(f"sqlite+aiosqlite:///{live}")
    try:
        await upgrade(fresh.engine)
    finally:
        await fresh.close()
    print(f"已恢复：{source} → {live}；原数据库另存为 {kept}", file=out)
    return 0
