"""admin migrate / backup / restore: the schema at the code's version; a consistent copy of the SQLite
database taken while the bot answers, and put back with the database it replaces kept beside it; bad files
and PostgreSQL are refused with one line."""

from __future__ import annotations

import asyncio
import io
import sqlite3

import pytest

from bot.__main__ import build_parser
from bot.admin import run
from bot.config import Settings
from bot.testing import ChatClient
from tests.conftest import PG_URL, SME_STEPS, _create_pg_database, _drop_pg_database, past_start


async def admin(settings: Settings, *argv: str, ask=None) -> tuple[int, str]:
    out = io.StringIO()
    code = await run(build_parser().parse_args(["admin", *argv]), settings, out=out, ask=ask or (lambda q: False))
    return code, out.getvalue()


async def fill_some(app, user: str, until: str) -> ChatClient:
    client = ChatClient(app.engine, user_id=user)
    await client.send("/start")
    await client.click("中小企业")
    await client.click("对接表")
    await past_start(client)
    await client.fill(SME_STEPS, until=until)
    return client


def company_names(db_file) -> list[str]:
    db = sqlite3.connect(db_file)
    try:
        rows = db.execute("SELECT json_extract(answers, '$.company_name') FROM submissions WHERE form_id = 'sme_match'")
        return sorted(name for (name,) in rows if name)  # a form opened, its first answer not yet given: no name
    finally:
        db.close()


async def test_a_backup_taken_while_users_answer_is_whole_and_restore_brings_it_back(sqlite_app, sqlite_settings,
                                                                                   tmp_path):
    await fill_some(sqlite_app, "before", until="reg_date")
    live = sqlite_settings.data_dir / "jiebang.sqlite3"
    copy = tmp_path / "copy.sqlite3"

    others = asyncio.gather(*(fill_some(sqlite_app, f"during{i}", until="reg_date") for i in range(3)))
    code, said = await admin(sqlite_settings, "backup", str(copy))  # users answer meanwhile
    await others
    assert code == 0, said
    assert "校验通过" in said
    db = sqlite3.connect(copy)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    assert "上海测试科技有限公司" in company_names(copy)  # what was committed before the copy is in it

    await fill_some(sqlite_app, "after", until="reg_date")  # after the backup: gone again after the restore
    users_now = len(company_names(live))
    code, said = await admin(sqlite_settings, "restore", str(copy), "--yes")
    assert code == 0, said
    assert len(company_names(live)) < users_now
    kept = [p for p in live.parent.iterdir() if p.name.startswith("jiebang.sqlite3.before-restore-")]
    assert len(kept) == 1 and len(company_names(kept[0])) == users_now  # the replaced database is kept


async def test_restore_asks_first_and_a_no_changes_nothing(sqlite_app, sqlite_settings, tmp_path):
    copy = tmp_path / "copy.sqlite3"
    assert (await admin(sqlite_settings, "backup", str(copy)))[0] == 0
    await fill_some(sqlite_app, "after", until="reg_date")
    live = sqlite_settings.data_dir / "jiebang.sqlite3"
    before = company_names(live)
    asked: list[str] = []
    code, said = await admin(sqlite_settings, "restore", str(copy), ask=lambda q: asked.append(q) or False)
    assert code == 1 and "没有恢复" in said and asked and "替换" in asked[0]
    assert company_names(live) == before


async def test_a_backup_never_overwrites_and_bad_files_are_refused_in_one_line(sqlite_app, sqlite_settings, tmp_path):
    copy = tmp_path / "copy.sqlite3"
    assert (await admin(sqlite_settings, "backup", str(copy)))[0] == 0
    code, said = await admin(sqlite_settings, "backup", str(copy))
    assert code == 2 and said.startswith("错误：文件已存在")
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    code, said = await admin(sqlite_settings, "restore", str(junk), "--yes")
    assert code == 2 and said.startswith("错误：这不是 SQLite 数据库文件") and "Traceback" not in said
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    code, said = await admin(sqlite_settings, "restore", str(other), "--yes")
    assert code == 2 and said.startswith("错误：这不是揭榜助手的数据库备份")
    code, said = await admin(sqlite_settings, "restore", str(tmp_path / "missing.sqlite3"), "--yes")
    assert code == 2 and said.startswith("错误：没有这个文件")


@pytest.mark.skipif(not PG_URL, reason="JIEBANG_TEST_POSTGRES_URL is not set (CI sets it; see .ci/run)")
async def test_postgresql_is_pointed_to_pg_dump(tmp_path):
    url, name = await _create_pg_database()
    try:
        settings = Settings(data_dir=tmp_path / "data", database_url=url, pdf=False)
        code, said = await admin(settings, "backup", str(tmp_path / "x.sqlite3"))
        assert code == 2 and "pg_dump" in said
        assert not (tmp_path / "x.sqlite3").exists()
    finally:
        await _drop_pg_database(name)


async def test_migrate_says_where_the_schema_stands(sqlite_app, sqlite_settings):
    from storage.migrate import head

    code, said = await admin(sqlite_settings, "migrate")
    assert code == 0 and said.strip() == f"数据库结构已是最新：{head()}"


async def test_a_backup_holds_no_live_wechat_token(sqlite_app, sqlite_settings, tmp_path):
    """WeChat's access token is a live credential for two hours: the copy has none, not even in its free
    pages; the running bot keeps its own, and a restored database fetches a new one."""
    live = sqlite_settings.data_dir / "jiebang.sqlite3"
    secret = "ACCESS_TOKEN_" + "x7Qp" * 20
    db = sqlite3.connect(live)
    with db:
        db.execute("INSERT INTO wechat_tokens (kind, app_id, token, expires_at, fetched_at) "
                   "VALUES ('oa:access_token', 'wx123', ?, '2026-12-08 10:00:00', '2026-12-08 08:00:00')", (secret,))
    db.close()
    copy = tmp_path / "copy.sqlite3"
    code, said = await admin(sqlite_settings, "backup", str(copy))
    assert code == 0, said
    assert secret.encode() not in copy.read_bytes()
    db = sqlite3.connect(copy)
    assert db.execute("SELECT count(*) FROM wechat_tokens").fetchone() == (0,)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    db = sqlite3.connect(live)
    assert db.execute("SELECT token FROM wechat_tokens").fetchone() == (secret,)  # the bot's own: untouched
    db.close()
