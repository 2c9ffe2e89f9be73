"""The paced way out to the Bot API: `Outbox`, through which every call that sends something goes.

About 30 calls a second overall and one message a second per chat, a short burst allowed (token buckets,
`bot.adapters.ratelimit`); a 429 is waited out (`retry_after`) and the call made again, never dropped; a
network or server error is retried a few times, anything else raised to the caller.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod

from bot.adapters.ratelimit import TokenBucket

log = logging.getLogger("bot.adapters.telegram")  # the channel's one logger, whichever module logs


class Outbox:
    """The one way out: every call that sends something waits its turn here.

    Overall `global_rate` calls a second; messages to one chat `chat_rate` a second (`chat_burst` at
    once). A 429 is waited out and the same call made again — never dropped; a network or server error
    is retried a few times; anything else is raised to the caller, which logs it and carries on.
    """

    def __init__(self, bot: Bot, *, global_rate: float = 30.0, chat_rate: float = 1.0, chat_burst: float = 3.0,
                 network_retries: int = 3) -> None:
        self.bot = bot
        self.global_bucket = TokenBucket(global_rate, global_rate)
        self.chat_rate, self.chat_burst = chat_rate, chat_burst
        self.network_retries = network_retries
        self._chats: dict[int, TokenBucket] = {}

    def _chat(self, chat_id: int) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) > 10_000:  # forget chats whose bucket has filled up again
                self._chats = {k: b for k, b in self._chats.items() if not b.idle()}
            bucket = self._chats[chat_id] = TokenBucket(self.chat_rate, self.chat_burst)
        return bucket

    async def call(self, method: TelegramMethod, *, chat_id: int | None = None, paced: bool = True) -> Any:
        """Make one Bot API call in turn. `paced`: counts against the chat's one-a-second budget."""
        failures = 0
        while True:
            if paced and chat_id is not None:
                await self._chat(chat_id).take()
            await self.global_bucket.take()
            try:
                return await self.bot(method)
            except TelegramRetryAfter as e:
                log.warning("telegram %s to chat %s: 429, waiting %ss and sending again", method.__api_method__,
                            chat_id, e.retry_after)
                if chat_id is not None:
                    self._chat(chat_id).pause(e.retry_after)
                await asyncio.sleep(e.retry_after)
            except (TelegramNetworkError, TelegramServerError) as e:
                failures += 1
                if failures > self.network_retries:
                    raise
                delay = min(0.5 * 2 ** failures, 10.0)
                log.warning("telegram %s to chat %s failed (%s), retry %d in %.1fs", method.__api_method__, chat_id,
                            e, failures, delay)
                await asyncio.sleep(delay)
