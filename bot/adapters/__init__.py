"""The channels: one module (or folder) a platform, and the only place that knows a platform exists.

    base.py        the Channel protocol (start, stop, send) and its optional capabilities (WebRoutes,
                   MenuInstaller); `numbered()` for platforms without buttons
    registry.py    channel name → factory (`serve wechat telegram`)
    console.py     the terminal: the embedded default (`python -m bot`)
    telegram/      aiogram: polling or webhook; render, outbox (paced calls), delivery, channel
    wechat/        Official Account and WeCom: callbacks, inbound, planning, delivery, consent, menu and
                   the per-user bookkeeping beside them
    ratelimit.py   the token bucket the channels pace themselves with

A channel turns its platform's traffic into `bot.messages.Incoming`, hands it to the engine (through
`bot.app.App`) and renders the Replies. It may make links with `bot.web` (the pages beside it) and keep
its own rows in `storage`; it never imports the screens (bot/handlers) or the forms (bot/dialogs).
"""
