"""Who may post to the callback URL: the message mode, fresh timestamps, nonces used once.

The plain `signature` is sha1(token, timestamp, nonce): it covers neither the body nor the openid and
never expires, so anyone who saw one request's query string could post any message as anyone. Hence:
- with an EncodingAESKey (安全模式, the default then) only encrypted messages whose msg_signature covers
  the ciphertext are accepted; `WECHAT_MODE=compatible` also takes plain ones (while switching modes);
- a timestamp more than `max_age` (5 minutes) away from the server's clock is refused;
- a (timestamp, nonce) pair is accepted once, in every process on the database: a second request with it
  is WeChat retrying the same delivery (answered as a retry: one effect) or a replay (refused).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum

from storage.channel_models import claim_nonce, errors, forget_nonces, runner

log = logging.getLogger(__name__)

MODES = ("", "safe", "compatible")
#: errors of a database that is briefly away or refused the channel's bookkeeping (storage/channel_models.py)
TRANSIENT = errors()


def resolve_mode(kind: str, setting: str, has_key: bool) -> str:
    """"safe" (encrypted only), "compatible" (encrypted or plain) or "plain" (no key: plain only)."""
    if kind == "wecom":
        return "safe"  # WeCom callbacks are always encrypted
    setting = (setting or "").strip().lower()
    if setting not in MODES:
        raise ValueError(f"WECHAT_MODE is 'safe' or 'compatible', not {setting!r}")
    if not has_key:
        if setting == "safe":
            raise ValueError("WECHAT_MODE=safe needs WECHAT_ENCODING_AES_KEY")
        return "plain"
    return setting or "safe"


class Verdict(Enum):
    NEW = "new"
    RETRY = "retry"  # the same delivery with the same pair: WeChat retrying
    REPLAY = "replay"  # another delivery with a pair already used


class Guard:
    def __init__(self, store, channel: str, clock: Callable[[], float], max_age: float = 300.0,
                 memory: int = 20000, db=None) -> None:
        self.store = store
        self.db = db or runner(store)  # one transaction for many callbacks (GroupCommit)
        self.channel = channel
        self.clock = clock
        self.max_age = max_age
        self.memory = memory
        self._seen: OrderedDict[tuple[int, str], str] = OrderedDict()  # this process's pairs
        self._forgot_at = float("-inf")

    def fresh(self, timestamp: str) -> bool:
        """A timestamp in whole seconds within `max_age` of now (either way: clocks drift)."""
        ts = timestamp.strip()
        return ts.isdigit() and len(ts) <= 12 and abs(self.clock() - int(ts)) <= self.max_age

    async def check(self, timestamp: str, nonce: str, delivery: str) -> Verdict:
        """Record the pair for this delivery. The database is the judge across processes; while it is away
        this process's memory still refuses what it has seen."""
        key, delivery = (int(timestamp), nonce), delivery[:200]
        seen = self._seen.get(key)
        if seen is None:
            now = self.clock()
            try:
                at = datetime.fromtimestamp(now, UTC)
                seen = await self.db.run(lambda session: claim_nonce(self.store, self.channel, key[0], nonce,
                                                                     delivery, at, session=session),
                                         f"nonce:{key[0]}:{nonce}")
            except TRANSIENT as exc:  # no retry here: the message's own work retries, within WeChat's 5 s
                log.warning("%s: nonce not recorded (database away: %s); this process still checks it",
                            self.channel, type(getattr(exc, "orig", None) or exc).__name__)
            self._seen[key] = delivery if seen is None else seen
            while len(self._seen) > self.memory:
                self._seen.popitem(last=False)
            if now - self._forgot_at >= 60:
                self._forgot_at = now
                await self._forget(now)
            if seen is None:
                return Verdict.NEW
        return Verdict.RETRY if seen == delivery else Verdict.REPLAY

    async def _forget(self, now: float) -> None:
        """Pairs older than twice `max_age` are refused by their timestamp already."""
        before = datetime.fromtimestamp(now, UTC) - timedelta(seconds=2 * self.max_age)
        try:
            await forget_nonces(self.store, before)
        except TRANSIENT:
            pass
        horizon = int(now - 2 * self.max_age)
        for key in [k for k in self._seen if k[0] < horizon]:
            del self._seen[key]
