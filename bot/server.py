"""`python -m bot serve telegram wechat wecom`: the named channels in one process, one aiohttp web server.

Channels are made by name through `bot.adapters.registry` (imported only when named, so the terminal
default never loads a platform library). A channel that is `WebRoutes` adds its routes to the server
(WeChat callbacks, the Telegram webhook); long polling needs none. The signed document downloads
(`/files/…`) are always served. `--install-menu` installs the menu of each `MenuInstaller`. `/healthz`,
`/readyz` and (when configured) `/metrics` are bot/probes.py's; `JIEBANG_METRICS_PORT` adds a second,
small site that serves `/metrics` alone.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

from aiohttp import web

from bot.access_log import AccessLogger
from bot.adapters import registry
from bot.adapters.base import Channel, MenuInstaller, WebRoutes
from bot.app import App, open_app
from bot.campaigns import ReminderService
from bot.config import Settings
from bot.probes import add_routes as add_probe_routes
from bot.probes import metrics_site_app
from bot.web.downloads import add_routes as add_download_routes

log = logging.getLogger(__name__)


def build_channels(app: App, web_app: web.Application, names: Sequence[str]) -> list[Channel]:
    """Make the named channels (`bot.adapters.registry`) and mount the routes of those reached over HTTP,
    and the signed downloads (`/files/…`, for channels that send a link instead of a file)."""
    channels = [registry.create(name, app) for name in names]
    for ch in channels:
        if isinstance(ch, WebRoutes):
            ch.add_routes(web_app)
    add_download_routes(web_app, app)
    return channels


DRAIN_SECONDS = 60.0  # at a stop, how long requests already taken may take to be answered


def make_runner(web_app: web.Application) -> web.AppRunner:
    """The server's runner; its access log names routes, never query strings or download tokens."""
    return web.AppRunner(web_app, access_log_class=AccessLogger, shutdown_timeout=DRAIN_SECONDS)


def warn_unshared_secret(settings: Settings, dialect: str) -> bool:
    """On PostgreSQL (where several `serve` processes share one database) a link-signing secret made in
    this process's data folder (bot/config.py effective_secret) is its own: the download links and pages
    it signs are refused by the others, and nothing else would say why. True: warned."""
    if settings.secret or dialect != "postgresql":
        return False
    log.warning("JIEBANG_SECRET is not set: this process made its own in %s; links it makes will not open "
                "on other serve processes — set the same JIEBANG_SECRET everywhere", settings.data_dir)
    return True


async def serve(settings: Settings, channels: Sequence[str], *, install_menu: bool = False,
                stop: asyncio.Event | None = None) -> int:
    """Run the named channels (`serve telegram wechat`) until SIGINT/SIGTERM (or `stop` is set); the exit
    status: 0, or 2 when a channel is unknown or its settings are missing or refused."""
    names = list(dict.fromkeys(channels))
    served = registry.names(served=True)
    unknown = [n for n in names if n not in served]
    if not names or unknown:
        log.error("%sname the channels to serve: %s", f"no channel {', '.join(unknown)}; " if unknown else "",
                  " ".join(served))
        return 2
    app = await open_app(settings)
    warn_unshared_secret(settings, app.store.dialect)
    web_app = web.Application(client_max_size=1024 * 1024)
    probes = add_probe_routes(web_app, app)  # /healthz, /readyz; /metrics with JIEBANG_METRICS_TOKEN
    from bot.console.web import add_routes as add_console_routes  # the district office's console: /console/
    add_console_routes(web_app, app)
    try:
        running = build_channels(app, web_app, names)
    except ValueError as e:  # a setting it needs is missing (TELEGRAM_TOKEN, WECHAT_TOKEN …)
        log.error("%s", e)
        await app.close()
        return 2
    runner = make_runner(web_app)
    await runner.setup()
    metrics_app = metrics_site_app(probes)
    metrics_runner = make_runner(metrics_app) if metrics_app is not None else None
    if metrics_runner is not None:
        await metrics_runner.setup()
    started: list[Channel] = []
    reminders = ReminderService(app, {ch.name: ch for ch in running})
    reminder_task: asyncio.Task | None = None
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        log.info("listening on http://%s:%d", settings.host, settings.port)
        if metrics_runner is not None:
            await web.TCPSite(metrics_runner, settings.metrics_host, settings.metrics_port).start()
            log.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)
        for ch in running:
            await ch.start()
            started.append(ch)
        if install_menu:
            await _install_menus(started)
        reminder_task = asyncio.create_task(reminders.loop())
        app.engine.pdf_made = reminders.pdf_made  # a PDF that follows a confirm goes when it is made, not at a tick
        if stop is None:
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await stop.wait()
    except (ValueError, OSError) as e:  # a token refused at start, the port taken
        log.error("%s", e)
        return 2
    finally:
        # Draining (SIGTERM): /readyz says so, the port stops taking connections, every request already
        # taken is answered (each callback's message handled and committed: aiohttp waits for its handlers,
        # DRAIN_SECONDS at most), then the channels finish what they received (a Telegram poll's updates,
        # WeChat's customer-service messages still to send) and the database closes.
        probes.draining = True
        reminders.stop()
        await runner.cleanup()
        if reminder_task is not None:
            await reminder_task
        for ch in started:
            await ch.stop()
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await app.close()
        log.info("stopped: every request taken was answered")
    return 0


async def _install_menus(channels: Sequence[Channel]) -> None:
    menus = [ch for ch in channels if isinstance(ch, MenuInstaller)]
    if not menus:
        log.warning("--install-menu: none of these channels has a menu to install")
    for ch in menus:
        log.info("%s menu: %s", ch.name, await ch.install_menu())
