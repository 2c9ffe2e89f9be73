"""A token bucket: how fast a channel may call its platform's API.

    bucket = TokenBucket(rate=1.0, burst=3)   # one call a second on average, three at once
    await bucket.take()                       # waits its turn; waiters are served in order
    bucket.pause(retry_after)                 # the platform said 429: nobody goes before then

The clock and the sleep are injectable, so tests run on a clock of their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


class TokenBucket:
    """`rate` tokens a second up to `burst` (at least 1); `take()` spends one, waiting if none is left."""

    def __init__(self, rate: float, burst: float, *, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate, self.burst = rate, max(1.0, burst)
        self.clock, self.sleep = clock, sleep
        self.tokens = self.burst
        self.stamp = clock()
        self.not_before = 0.0
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    async def take(self) -> None:
        async with self._lock:  # one waiter at a time: the others queue behind it, in order
            while True:
                now = self.clock()
                if now < self.not_before:
                    await self.sleep(self.not_before - now)
                    continue
                self._refill(now)
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await self.sleep((1 - self.tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        """Nobody takes a token for `seconds` from now (a 429's retry_after)."""
        self.not_before = max(self.not_before, self.clock() + seconds)

    def idle(self) -> bool:
        """Full again and nobody waiting: the bucket can be forgotten and made anew later."""
        now = self.clock()
        return not self._lock.locked() and now >= self.not_before and \
            self.tokens + (now - self.stamp) * self.rate >= self.burst
