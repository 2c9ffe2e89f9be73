"""Delivery: how one chat's replies go out, in order, through the `Outbox`.

`Delivery.deliver(chat_id, replies, ...)` sends one chat's replies in order (a lock per chat)
and keeps track of which of our messages still show a keyboard:

- A tapped keyboard is taken off its message, and so are the keyboards of earlier questions, so none
  can be tapped twice into two answers. A multi-select toggle instead re-draws the tapped message's
  keyboard (editMessageReplyMarkup, or editMessageText when the text changed) — read off the reply
  alone, never off a button's payload.
- A reply: its text split within 4096 (the keyboard on the last part), the page link
  (`bot.web.pagelinks.with_page_link`), its picture as a photo and its documents, the text as a caption
  where it fits (a document's caption the first line, within 1024).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import (
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import BufferedInputFile, Message

from bot.adapters.base import numbered
from bot.adapters.telegram.outbox import Outbox
from bot.adapters.telegram.render import (
    CHANNEL,
    MAX_CAPTION,
    MAX_TEXT,
    TICKED,
    UNTICKED,
    caption_of,
    keyboard,
    markup_labels,
    split_text,
    unmark,
    utf16_len,
)
from bot.messages import Reply
from bot.web.pagelinks import with_page_link

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("bot.adapters.telegram")  # the channel's one logger, whichever module logs


class Delivery:
    """`Delivery(app, outbox)`; `await deliver(chat_id, replies, where=…)`. Says whether all went out."""

    def __init__(self, app: App, outbox: Outbox) -> None:
        self.app = app
        self.outbox = outbox
        self._send_locks: dict[int, asyncio.Lock] = {}
        self._keyboards: dict[int, dict[int, str]] = {}  # chat → our messages still showing a keyboard → step

    def _send_lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._send_locks.get(chat_id)
        if lock is None:
            if len(self._send_locks) > 10_000:
                self._send_locks = {k: v for k, v in self._send_locks.items() if v.locked()}
            lock = self._send_locks[chat_id] = asyncio.Lock()
        return lock

    async def deliver(self, chat_id: int, replies: Sequence[Reply], *, where: str, tapped: Message | None = None,
                      answer: bool = True) -> bool:
        """Render replies in order. `answer`: they answer the user's last message, so earlier keyboards go."""
        async with self._send_lock(chat_id):
            in_place = False
            if tapped is not None and tapped.reply_markup is not None:
                in_place = self._toggles_in_place(chat_id, tapped, replies)
                if not in_place:
                    await self._remove_keyboard(chat_id, tapped.message_id, where)
            if answer:
                for message_id in self._keyboards.pop(chat_id, {}):
                    if tapped is None or message_id != tapped.message_id:
                        await self._remove_keyboard(chat_id, message_id, where)
            if in_place and tapped is not None:
                return await self._redraw(chat_id, tapped, replies[0], where)
            ok = True
            for reply in replies:
                ok = await self._send_reply(chat_id, reply, where) and ok
            return ok

    def _toggles_in_place(self, chat_id: int, tapped: Message, replies: Sequence[Reply]) -> bool:
        """A multi-select toggle: the same question comes back with new ticks, to draw on the same message.
        Read off the reply: one multi-select reply whose buttons have the tapped keyboard's labels (and,
        where this run drew that keyboard, the same step)."""
        if len(replies) != 1 or not replies[0].multi or replies[0].all_documents():
            return False
        reply = replies[0]
        old = markup_labels(tapped.reply_markup)
        if not any(x.startswith((TICKED, UNTICKED)) for x in old):
            return False
        drawn_for = self._keyboards.get(chat_id, {}).get(tapped.message_id)
        if drawn_for and reply.step and drawn_for != reply.step:
            return False
        return [unmark(x) for x in old] == [b.label for b in reply.buttons] and utf16_len(reply.text) <= MAX_TEXT

    async def _redraw(self, chat_id: int, tapped: Message, reply: Reply, where: str) -> bool:
        markup = keyboard(reply)
        old_text = tapped.text or ""
        if markup is not None and old_text.endswith(reply.text):
            method: TelegramMethod = EditMessageReplyMarkup(chat_id=chat_id, message_id=tapped.message_id,
                                                            reply_markup=markup)
        else:
            method = EditMessageText(chat_id=chat_id, message_id=tapped.message_id,
                                     text=reply.text if markup else numbered(reply), reply_markup=markup)
        try:
            await self.outbox.call(method, chat_id=chat_id, paced=False)
        except TelegramBadRequest as e:
            if "not modified" not in str(e):
                log.warning("telegram: %s: could not redraw message %s (%s); sending it anew", where,
                            tapped.message_id, e)
                await self._remove_keyboard(chat_id, tapped.message_id, where)
                return await self._send_reply(chat_id, reply, where)
        except TelegramAPIError as e:
            log.error("telegram: %s: %s failed: %s", where, method.__api_method__, e)
            return False
        self._keyboards.setdefault(chat_id, {})[tapped.message_id] = reply.step
        return True

    async def _remove_keyboard(self, chat_id: int, message_id: int, where: str) -> None:
        try:
            await self.outbox.call(EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id), chat_id=chat_id,
                                   paced=False)
        except TelegramAPIError as e:  # already without keyboard, deleted, too old: nothing to tap anyway
            log.debug("telegram: %s: keyboard of message %s stays: %s", where, message_id, e)

    async def _send_reply(self, chat_id: int, reply: Reply, where: str) -> bool:
        markup = keyboard(reply)
        text = reply.text if markup is not None or not reply.buttons else numbered(reply)
        text = await with_page_link(self.app, CHANNEL, str(chat_id), reply, MAX_TEXT, utf16_len, text)
        docs = reply.all_documents()
        image = reply.image if reply.image is not None and reply.image.data else None
        parts = split_text(text) if text.strip() else []
        caption = ""
        if docs or image:
            if len(parts) == 1 and utf16_len(parts[0]) <= MAX_CAPTION:
                caption, parts = parts[0], []
            elif parts and docs:
                caption = caption_of(text)
        methods: list[SendMessage | SendPhoto | SendDocument] = [SendMessage(chat_id=chat_id, text=p) for p in parts]
        if image is not None:  # page 1 as it will print; it carries the text where no document does
            methods.append(SendPhoto(chat_id=chat_id, photo=BufferedInputFile(image.data, filename=image.filename),
                                     caption=caption if caption and not docs else None))
        for i, doc in enumerate(docs):
            methods.append(SendDocument(chat_id=chat_id, document=BufferedInputFile(doc.data, filename=doc.filename),
                                        caption=caption if i == 0 and caption else None))
        if not methods:
            return True
        methods[-1].reply_markup = markup  # the keyboard goes on the last part
        ok = True
        for method in methods:
            try:
                sent = await self.outbox.call(method, chat_id=chat_id)
            except TelegramAPIError as e:
                log.error("telegram: %s: %s to chat %s failed: %s", where, method.__api_method__, chat_id, e)
                ok = False
                continue
            if getattr(method, "reply_markup", None) is not None and isinstance(sent, Message):
                self._keyboards.setdefault(chat_id, {})[sent.message_id] = reply.step
        return ok
