"""The token bucket that paces a channel's API calls, on a clock of the test's own (no wall clock)."""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.ratelimit import TokenBucket


class Clock:
    """Time moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds
        await asyncio.sleep(0)  # let other waiters run, as a real sleep would


def bucket(rate: float, burst: float) -> tuple[TokenBucket, Clock]:
    clock = Clock()
    return TokenBucket(rate, burst, clock=clock, sleep=clock.sleep), clock


async def test_a_burst_goes_at_once_then_one_waits_for_the_next_token():
    b, clock = bucket(rate=2.0, burst=3)
    for _ in range(3):
        await b.take()
    assert clock.slept == []
    await b.take()
    assert clock.slept == [0.5] and clock.now == 0.5
    await b.take()
    assert clock.slept == [0.5, 0.5]


async def test_a_quiet_spell_refills_up_to_the_burst_and_no_further():
    b, clock = bucket(rate=1.0, burst=2)
    await b.take()
    await b.take()
    clock.now += 100  # a long quiet spell does not bank 100 calls
    await b.take()
    await b.take()
    assert clock.slept == []
    await b.take()
    assert clock.slept == [1.0]


async def test_a_pause_holds_everyone_until_it_ends():
    b, clock = bucket(rate=10.0, burst=5)
    b.pause(3.0)  # a 429 with retry_after 3
    await b.take()
    assert clock.now == 3.0 and clock.slept == [3.0]
    b.pause(1.0)
    b.pause(0.5)  # a shorter pause does not shorten the longer one
    await b.take()
    assert clock.now == 4.0


async def test_waiters_are_served_in_the_order_they_came():
    b, clock = bucket(rate=1.0, burst=1)
    served: list[int] = []

    async def caller(i: int) -> None:
        await b.take()
        served.append(i)

    await asyncio.gather(*(caller(i) for i in range(5)))
    assert served == [0, 1, 2, 3, 4]
    assert clock.now == 4.0  # one token each: four waits of a second, none shared


async def test_idle_once_full_and_nobody_waits():
    b, clock = bucket(rate=1.0, burst=2)
    assert b.idle()
    await b.take()
    assert not b.idle()
    clock.now += 1.0
    assert b.idle()
    b.pause(5)
    assert not b.idle()


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError):
        TokenBucket(0, 1)
