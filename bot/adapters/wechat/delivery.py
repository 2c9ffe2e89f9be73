"""Sending through WeChat's API what a plan says may go (planning.py), and the messages nobody asked for
(reminders).

One message at a time: on the OA as customer-service messages while a window is open (windows.py; WeChat's
QUOTA and OUT_OF_TIME errors close it), on WeCom as application messages; a picture or a file is uploaded
as media first. What cannot be sent goes to the outbox (book.py), which the engine shows before its next
reply, or, with the database away, is held in memory until it can be stored; a picture that cannot go is
left out. A reminder goes as a subscription notification where the user consented (its whole text waits
in the outbox for their next message), else it is planned like a reply and goes only if all of it fits
within the windows open now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.adapters.wechat import windows
from bot.adapters.wechat.api import OUT_OF_TIME, QUOTA, ApiError, WeChatAPI
from bot.adapters.wechat.book import Book, who
from bot.adapters.wechat.budget import Out
from bot.adapters.wechat.planning import Planner
from bot.messages import Reply
from bot.metrics import Metrics
from storage.channel_models import ChannelState

log = logging.getLogger(__name__)


def default_notification_data(replies: Sequence[Reply]) -> dict[str, str]:
    """Template fields for a reminder: thing1 = first line, thing2 = second line (each ≤ 20 characters,
    the `thing` limit). Pass `notification_data=` to match your template's keywords."""
    lines = [x.strip() for r in replies for x in r.text.splitlines() if x.strip()] or ["揭榜助手提醒"]
    return {"thing1": lines[0][:20], "thing2": (lines[1] if len(lines) > 1 else "回复任意消息查看详情")[:20]}


class Delivery:
    """One account's sending: `deliver` what was planned, `unprompted` a reminder. `clock` (epoch seconds)
    judges the windows."""

    def __init__(self, api: WeChatAPI, book: Book, planner: Planner, settings, name: str, kind: str,
                 clock: Callable[[], float],
                 notification_data: Callable[[Sequence[Reply]], dict[str, str]] | None = None,
                 metrics: Metrics | None = None) -> None:
        self.metrics = metrics  # customer-service (OA) / app (WeCom) messages sent, and WeChat's refusals
        self.api = api
        self.book = book
        self.planner = planner
        self.settings = settings
        self.name = name
        self.kind = kind
        self.clock = clock
        self.notification_data = notification_data or default_notification_data

    async def deliver(self, user: str, messages: Sequence[Out], reason: str, keep: bool = True,
                      state: ChannelState | None = None) -> bool:
        """Send through the API. What cannot be sent goes to the outbox (judged and shown at the next
        message), or, with the database away, is held here; `keep=False`: left to the caller. A picture
        that cannot go is left out. Never raises."""
        def left_from(i: int) -> list[Reply]:
            found: list[Reply] = []
            for out in messages[i:]:
                if out.kind != "image":
                    found += [r for r in out.sources if not any(r is x for x in found)]
            return found

        i = 0
        try:
            if state is None and self.kind == "oa":
                state = await self.book.read(user)
            for i, out in enumerate(messages):
                failed, state = await self._send_out(user, out, state)
                if failed and out.kind == "image" and not failed.startswith("closed"):
                    log.warning("%s %s: a picture left out (%s)", self.name, who(user), failed)
                    continue
                if failed:
                    left = left_from(i)
                    log.warning("%s %s: %d replies kept for the next message (%s)", self.name, who(user),
                                len(left), failed)
                    return await self._keep(user, left, f"{reason}: {failed}", keep)
            return True
        except Exception:
            log.exception("%s %s: delivery failed", self.name, who(user))
            return await self._keep(user, left_from(i), f"{reason}: failed", keep)

    async def _keep(self, user: str, replies: list[Reply], reason: str, keep: bool) -> bool:
        if keep:
            await self.book.keep(user, replies, reason)
        return False

    async def _send_out(self, user: str, out: Out, state: ChannelState | None) -> tuple[str | None, ChannelState | None]:
        """Send one message: (None when sent, else why not — "closed…" when no more may go now; the
        user's row as it is now)."""
        oa = self.kind == "oa"
        if oa:
            assert state is not None, "an OA's delivery reads the user's row first (deliver)"
            allowed = windows.allowance(state, self.clock())
            if not allowed:
                return ("closed: customer-service quota used" if allowed.until
                        else "closed: outside the customer-service window"), state
        try:
            if out.kind == "text":
                if oa:
                    await self.api.custom_send_text(user, out.text)
                else:
                    await self.api.app_send(user, self.settings.wecom_agent_id, "text", {"content": out.text})
            else:
                assert out.doc is not None
                media_id = await self.api.upload_media(out.kind, out.doc.filename, out.doc.data, out.doc.mime)
                if oa:
                    await self.api.custom_send_image(user, media_id)
                else:
                    await self.api.app_send(user, self.settings.wecom_agent_id, out.kind, {"media_id": media_id})
        except ApiError as exc:
            if self.metrics is not None:
                self.metrics.wechat_customer_service(self.name, exc.errcode or -1)
            if oa and exc.errcode in QUOTA | OUT_OF_TIME:  # WeChat is the judge: nothing more in these windows
                return f"closed: api {exc}", await self.book.write(user, windows.closed())
            return f"api {exc}", state
        if self.metrics is not None:
            self.metrics.wechat_customer_service(self.name)
        if oa:
            assert state is not None  # as above: the row, and every row this function hands back
            state = await self.book.count_sent(user, state)
        return None, state

    async def unprompted(self, user: str, replies: list[Reply]) -> tuple[str, bool]:
        """Push replies nobody asked for: (how — subscribe / custom / app / outbox —, whether delivered).
        OA: a subscription notification when the user consented, else customer-service messages while a
        window is open. WeCom: application messages. Not delivered: left to the caller."""
        if self.kind == "wecom":
            plan = await self.planner.plan(user, replies, [], None, prompted=False)
            ok = not plan.left and await self.deliver(user, plan.messages, reason="reminder", keep=False)
            return ("app" if ok else "outbox"), ok
        state = await self.book.read(user)
        template = self.settings.wechat_reminder_template_id
        if template and state.notify:
            try:
                await self.api.subscribe_send(user, template, self.notification_data(replies))
            except ApiError as exc:
                log.warning("wechat %s: subscription notification failed: %s", who(user), exc)
            else:  # the notification is a summary: the whole text waits for their next message
                await self.book.keep(user, replies, "after a notification")
                return "subscribe", True
        plan = await self.planner.plan(user, replies, [], state, prompted=False)
        if plan.messages and not plan.left:  # all of it within the windows open now, or none of it
            ok = await self.deliver(user, plan.messages, reason="reminder", keep=False, state=state)
            return ("custom" if ok else "outbox"), ok
        return "outbox", False
