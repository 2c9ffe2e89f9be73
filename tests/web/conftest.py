"""The phone pages over real HTTP on loopback: an app (SQLite, or PostgreSQL where storage matters), its
pages served, and a client."""

from __future__ import annotations

import dataclasses

import aiohttp
import pytest
from aiohttp import web

from bot.app import open_app
from bot.config import Settings
from bot.web.downloads import add_routes
from tests.web.pages_helpers import Clock


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
async def served(tmp_path, clock, database_url):
    """(app, http, base): the pages on 127.0.0.1, links made for that address, PDFs off; on SQLite and
    (with JIEBANG_TEST_POSTGRES_URL) PostgreSQL."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, secret="s3cret", link_ttl_seconds=3600,
                        pdf=False, wechat_app_id="wxAPPID", wechat_app_secret="APPSECRET")
    app = await open_app(settings, now=clock)
    web_app = web.Application()
    add_routes(web_app, app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    app.settings = dataclasses.replace(settings, public_url=base)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
        yield app, http, base
    await runner.cleanup()
    await app.close()
