"""Console fixtures: an app on a SQLite file (PDFs off), the console mounted on a real aiohttp server on
loopback, and an HTTP client that keeps cookies like a browser."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bot.app import open_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.console.web import add_routes  # noqa: E402


@pytest.fixture
async def console_app(tmp_path):
    app = await open_app(Settings(data_dir=tmp_path / "data", pdf=False))
    yield app
    await app.close()


@pytest.fixture
async def client(console_app):
    web_app = web.Application()
    add_routes(web_app, console_app)
    async with TestClient(TestServer(web_app)) as c:
        yield c
