"""When an Official Account may message a user unprompted: WeChat's customer-service windows.

WeChat's rules (客服消息下发规则), as the official documentation states them today —
https://developers.weixin.qq.com/doc/offiaccount/Customer_Service/Customer_Service_Messages.html (服务号)
and https://developers.weixin.qq.com/doc/subscription/guide/product/kf/intro.md (公众号/订阅号):

    场景             下发额度   额度有效期
    用户发送消息      5条       48小时
    点击自定义菜单     3条       1分钟   (click, scancode_push, scancode_waitmsg menu buttons only)
    关注公众号        3条       1分钟
    扫描二维码        3条       1分钟
    (支付成功         无限制     48小时 — 服务号 only; this bot takes no payments)

"在用户点击菜单消息时，触发的是点击菜单事件 … 不会产生用户发送消息场景的客服消息下发额度": a menu click
opens only the short window. The 48 h quota fell from 20 to 5 from 12 June 2023 (new accounts) to August
2023 (all accounts), per the 微信公众平台 announcement of 30 May 2023.

The documentation does not say how two open windows share their quota. Modelled on the safe side:
each window counts every message sent while it is open, and the larger remainder is what may be sent.
A new user action of the same kind opens its window afresh. WeChat stays the judge: a send it refuses
with 45047 (quota) or 45015 (out of time) closes the windows here (`exhausted`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.channel_models import ChannelState
from storage.times import aware


@dataclass(frozen=True)
class Window:
    length: timedelta
    quota: int


MESSAGE = Window(timedelta(hours=48), 5)
EVENT = Window(timedelta(minutes=1), 3)
#: the WeChat event (lower-cased) → what it opens; a user message (any MsgType but event) is "message"
OPENED_BY = {"subscribe": "follow", "click": "click", "scancode_push": "click", "scancode_waitmsg": "click",
             "scan": "scan"}


@dataclass(frozen=True)
class Allowance:
    """What may be sent to one user at one moment, by customer-service message."""

    count: int  # messages that may be sent now (0: none)
    until: datetime | None = None  # when the window granting them closes
    opened_by: str | None = None  # message | follow | click | scan
    notify: bool = False  # a subscription notification may be sent anyway (the user consented)

    def __bool__(self) -> bool:
        return self.count > 0


def _at(t: float | datetime) -> datetime:
    return aware(t) if isinstance(t, datetime) else datetime.fromtimestamp(float(t), UTC)


def opened_by(msg_type: str, event: str = "") -> str | None:
    """Which window a callback opens: "message", "follow", "click", "scan", or None."""
    if msg_type.lower() != "event":
        return "message"
    return OPENED_BY.get(event.lower())


def allowance(state: ChannelState, at: float | datetime) -> Allowance:
    """Whether, and how many, customer-service messages may go to this user at `at` (epoch or datetime)."""
    now = _at(at)
    best = Allowance(0, notify=bool(state.notify))
    for opened, sent, window, kind in ((state.message_at, state.message_sent, MESSAGE, "message"),
                                       (state.event_at, state.event_sent, EVENT, state.event_kind)):
        opened = aware(opened)
        if opened is None or not opened <= now < opened + window.length:
            continue
        left = max(0, window.quota - sent)
        until = opened + window.length
        if (left, until) > (best.count, best.until or now):
            best = Allowance(left, until, kind, bool(state.notify))
    return best


# -- the same changes the database functions make, for the copy a process keeps in memory ------------

def open_window(kind: str, at: float | datetime) -> dict:
    """The column values a user action sets: its window starts now with nothing sent."""
    if kind == "message":
        return {"message_at": _at(at), "message_sent": 0}
    return {"event_kind": kind, "event_at": _at(at), "event_sent": 0}


def closed() -> dict:
    """Nothing more may be sent (unfollowed, or WeChat said the quota or time is up)."""
    return {"message_sent": MESSAGE.quota, "event_sent": EVENT.quota}


def applied(state: ChannelState, values: dict) -> ChannelState:
    """A copy of `state` with plain values set (SQL expressions are the database's business)."""
    fresh = ChannelState(**{name: getattr(state, name) for name in ChannelState.model_fields})
    for name, value in values.items():
        setattr(fresh, name, value)
    return fresh
