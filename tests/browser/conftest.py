"""A real browser for page tests: Debian's headless Chromium (/usr/bin/chromium) driven by Playwright.

Fixtures, for any page the server serves (the district console, a phone page):

    async def test_x(browser, live_server, shots):
        base = await live_server(web_app)        # an aiohttp app on 127.0.0.1, a free port
        page = await browser.new_page()
        await page.goto(base + "/console/")
        await shots(page, "login")               # a PNG under the test's tmp dir (kept, never committed)

The browser is started with a fresh user-data dir and everything that would reach the network switched
off (this machine's network is closed); Playwright never downloads a browser. Without Chromium or the
playwright package the tests are skipped with a reason (.ci/run installs Chromium).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("JIEBANG_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps", "--mute-audio"]


def _skip_reason() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    return None


@pytest.fixture
async def browser(tmp_path):
    """A browser context (Chromium, headless, its own fresh profile); closed after the test."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=ARGS,
            accept_downloads=True, locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15000)
        try:
            yield context
        finally:
            await context.close()


@pytest.fixture
async def live_server():
    """`await live_server(web_app)` → its base URL on 127.0.0.1 (a free port); stopped after the test."""
    from aiohttp import web

    runners = []

    async def start(web_app) -> str:
        runner = web.AppRunner(web_app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
def shots(tmp_path):
    """`await shots(page, name)`: a full-page PNG per page, numbered, under <tmp>/screenshots/."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    taken: list[Path] = []

    async def shot(page, name: str) -> Path:
        path = folder / f"{len(taken) + 1:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    shot.taken = taken
    return shot
