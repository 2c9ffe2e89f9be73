"""`python -m bot serve`: the networked channels in one process, sharing one aiohttp web server.

Each web-facing channel adds its routes to the server (WeChat callbacks, the Telegram webhook,
signed document downloads); Telegram long polling needs no route. Channels are imported only when
named, so the terminal default never loads a platform library.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from bot.access_log import AccessLogger
from bot.app import open_app
from bot.campaigns import ReminderService
from bot.config import Settings

log = logging.getLogger(__name__)


async def build_channels(app, web_app: web.Application, *, telegram: bool, wechat: bool, wecom: bool) -> list:
    channels = []
    if telegram:
        from bot.adapters.telegram import TelegramChannel

        channels.append(TelegramChannel(app))
    if wechat:
        from bot.adapters.wechat import WeChatChannel

        channels.append(WeChatChannel(app, kind="oa"))
    if wecom:
        from bot.adapters.wechat import WeChatChannel

        channels.append(WeChatChannel(app, kind="wecom"))
    for ch in channels:
        add_routes = getattr(ch, "add_routes", None)
        if add_routes is not None:
            add_routes(web_app)
    if wechat or wecom:
        from bot.adapters.links import add_routes as add_link_routes

        add_link_routes(web_app, app)
    return channels


def make_runner(web_app: web.Application) -> web.AppRunner:
    """The server's runner; its access log names routes, never query strings or download tokens."""
    return web.AppRunner(web_app, access_log_class=AccessLogger)


async def serve(settings: Settings, *, telegram: bool, wechat: bool, wecom: bool = False,
                install_menu: bool = False) -> int:
    if not (telegram or wechat or wecom):
        log.error("name at least one channel: --telegram, --wechat or --wecom")
        return 2
    app = await open_app(settings)
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app.router.add_get("/healthz", lambda _r: web.Response(text="ok"))
    from bot.console.web import add_routes as add_console_routes  # the district office's console: /console/
    add_console_routes(web_app, app)
    channels = await build_channels(app, web_app, telegram=telegram, wechat=wechat, wecom=wecom)
    runner = make_runner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    log.info("listening on http://%s:%d", settings.host, settings.port)
    for ch in channels:
        await ch.start()
        if install_menu and hasattr(ch, "install_menu"):
            log.info("%s menu: %s", ch.name, await ch.install_menu())
    reminders = ReminderService(app, {ch.name: ch for ch in channels})
    reminder_task = asyncio.create_task(reminders.loop())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        reminders.stop()
        await reminder_task
        for ch in channels:
            await ch.stop()
        await runner.cleanup()
        await app.close()
    return 0
