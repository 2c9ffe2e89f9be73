"""Shared fixtures. Storage-backed tests run on a SQLite file and, when JIEBANG_TEST_POSTGRES_URL is set
(CI sets it), on a real PostgreSQL: each test gets a database of its own."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from bot.app import open_app
from bot.config import Settings

PG_URL = os.environ.get("JIEBANG_TEST_POSTGRES_URL", "")
TESTS = Path(__file__).resolve().parent

# The cases that start a real outside program (Chromium, LibreOffice, mypy, a wheel build, `serve` processes)
# or run on the real PostgreSQL: marked `slow`, so `pytest -m "not slow"` is a quick loop while writing code.
# The README's test command (and so .ci/run) runs them all, spread over every core (pytest-xdist, pyproject
# addopts).
SLOW_FOLDERS = {"browser", "fleet"}
SLOW_FILES = {"test_pdf_print.py", "test_docx_pdf.py", "test_pdf_resident.py", "test_preview.py", "test_types.py",
              "test_packaging.py", "test_layers.py", "test_imports.py", "test_render_queue.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        where = item.path.relative_to(TESTS).parts
        on_postgres = "postgresql" in getattr(getattr(item, "callspec", None), "id", "").split("-")
        if where[0] in SLOW_FOLDERS or item.path.name in SLOW_FILES or on_postgres:
            item.add_marker(pytest.mark.slow)

async def past_start(client, facts: str = "逐项核对") -> None:
    """Past the screen before question 1 of a new form (its campaign, and the firm's facts to take over)."""
    if client.last.screen == "start":
        labels = [b.label for b in client.last.buttons]
        await client.click("开始填写" if "开始填写" in labels else facts)


# The answers of a whole 对接表, by step key (what ChatClient.fill answers by).
SME_STEPS = {
    "company_name": "上海测试科技有限公司",
    "credit_code": "91310000132149237G",
    "reg_province": "上海",
    "reg_city": "浦东新区",
    "reg_county": "跳过",
    "reg_date": "2015-03-02",
    "legal_rep": "张三",
    "legal_rep_phone": "021-68811103",
    "legal_rep_mobile": "13912345678",
    "contact": "李四 总经理助理",
    "contact_phone": "021-68811104",
    "contact_mobile": "13812345678",
    "fax": "跳过",
    "email": "lisi@example.com",
    "registered_capital": "500",
    "employees": "85",
    "revenue": "3200",
    "industry": "65",
    "size": "1",
    "ownership": "民营",
    "enterprise_types": "1,3",
    "address": "上海市浦东新区学林路36弄13号",
    "postcode": "200120",
    "overview": ["公司专注工业软件研发，拥有发明专利12项。", "完成"],  # a long section: closed by 完成
    "items.0.name": "高精度视觉检测算法",
    "items.0.code": "2024-SH-017",
    "items.#more": "否",
}

# The same answers keyed by the start of the question's text, for tests that see only what a platform
# shows (Telegram, WeChat, the terminal).
SME_ANSWERS = {
    "企业名称": "上海测试科技有限公司",
    "统一社会信用代码": "91310000132149237G",
    "企业注册地（省）": "上海",
    "企业注册地（市(区)）": "浦东新区",
    "企业注册地（县）": "跳过",
    "注册时间": "2015-03-02",
    "法人代表": "张三",
    "联系电话（法人代表）": "021-68811103",
    "手机（法人代表）": "13912345678",
    "联系人及职务": "李四 总经理助理",
    "联系电话（联系人）": "021-68811104",
    "手机（联系人）": "13812345678",
    "传真": "跳过",
    "电子邮箱": "lisi@example.com",
    "注册资本(万元)": "500",
    "从业人数(人)": "85",
    "上年度营业收入(万元)": "3200",
    "所属行业": "65",
    "企业规模": "1",
    "企业性质": "民营",
    "企业类型(可多选)": "1,3",
    "通讯地址": "上海市浦东新区学林路36弄13号",
    "邮编": "200120",
    "企业概况": ["公司专注工业软件研发，拥有发明专利12项。", "完成"],
    "事项 1 · 事项名称": "高精度视觉检测算法",
    "事项 1 · 代码": "2024-SH-017",
    "还要添加": "否",
}


async def _create_pg_database() -> tuple[str, str]:
    import asyncpg

    name = f"t_{uuid.uuid4().hex[:12]}"
    base, _, _db = PG_URL.rpartition("/")
    admin = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{base}/{name}", name


async def _drop_pg_database(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request, tmp_path):
    """A fresh database: a SQLite file, or (with JIEBANG_TEST_POSTGRES_URL) a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("JIEBANG_TEST_POSTGRES_URL is not set (CI sets it; see .ci/run)")
    url, name = await _create_pg_database()
    yield url
    await _drop_pg_database(name)


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    """PDFs off: a cold LibreOffice start takes seconds; the tests that are about PDFs turn them on."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, pdf=False)


@pytest.fixture
async def app(settings):
    app = await open_app(settings)
    yield app
    await app.close()


@pytest.fixture
def sqlite_settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", pdf=False)


@pytest.fixture
async def sqlite_app(sqlite_settings):
    app = await open_app(sqlite_settings)
    yield app
    await app.close()
