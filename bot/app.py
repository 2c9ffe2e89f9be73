"""Wiring: settings → store → engine. Channels get an `App` and talk to `app.engine`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import Settings, keep_private, set_local_zone
from bot.engine import Engine
from bot.metrics import Metrics
from storage.migrate import upgrade
from storage.store import Store


@dataclass
class App:
    settings: Settings
    store: Store
    engine: Engine

    @property
    def metrics(self) -> Metrics:
        """The app's metrics (one registry per app), which the engine counts into."""
        return self.engine.metrics

    async def close(self) -> None:
        await self.engine.close()
        await self.store.close()


async def open_app(settings: Settings | None = None, now: Callable[[], datetime] | None = None) -> App:
    settings = settings or Settings.from_env()
    set_local_zone(settings.timezone)  # every date rule counts days in JIEBANG_TIMEZONE
    keep_private(settings.data_dir)
    store = Store(settings.effective_database_url)
    store.documents_root = settings.documents_dir
    await upgrade(store.engine)  # alembic: an upgrade keeps every answer
    keep_private(settings.data_dir)  # the database file the upgrade may just have made
    await store.forget_processed()  # a long-running server does this daily too (ReminderService.loop)
    return App(settings=settings, store=store, engine=Engine(store, settings, now=now))
