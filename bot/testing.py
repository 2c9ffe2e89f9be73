"""A chat client that talks to the engine the way a channel does: for tests and benchmarks.

    client = ChatClient(app.engine, user_id="alice")
    await client.send("/start")
    await client.click("对接表")
    await client.send("上海某某科技有限公司")
    await client.fill({"credit_code": "91310000132149237G", ...})  # by step key, up to the review
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from bot.adapters.base import Handler
from bot.messages import Document, Incoming, Reply

if TYPE_CHECKING:
    from bot.app import App

_ids = itertools.count(1)


class ChatClient:
    def __init__(self, engine, *, channel: str = "test", user_id: str = "u1", language: str | None = None) -> None:
        self.engine = engine
        self.channel = channel
        self.user_id = user_id
        self.language = language
        self.replies: list[Reply] = []

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    @property
    def text(self) -> str:
        return self.last.text

    async def deliver(self, incoming: Incoming) -> list[Reply]:
        replies = await self.engine.handle(incoming)
        self.replies.extend(replies)
        return replies

    def incoming(self, text: str = "", payload: str | None = None, message_id: str | None = None) -> Incoming:
        return Incoming(channel=self.channel, user_id=self.user_id, text=text, payload=payload,
                        message_id=message_id or f"m{next(_ids)}", language=self.language)

    async def send(self, text: str, message_id: str | None = None) -> list[Reply]:
        return await self.deliver(self.incoming(text, message_id=message_id))

    async def click(self, label: str) -> list[Reply]:
        """Tap the button of the last reply whose label contains `label`."""
        for b in self.last.buttons:
            if label in b.label:
                return await self.deliver(self.incoming(b.label, payload=b.payload))
        raise AssertionError(f"no button {label!r} in: {self.last.text!r} {[b.label for b in self.last.buttons]}")

    @property
    def step(self) -> str:
        """The step key of the question the last reply asks ("company_name", "items.0.name"), or ""."""
        return self.last.step.partition("/")[2]

    async def fill(self, answers: Mapping[str, str | list[str]], until: str | None = None, limit: int = 120) -> Reply:
        """Answer each question by its step key — the path after the form id that every reply carries:
        "company_name", "items.0.name", "items.#more" (add another?). A list is a long text sent in
        several messages. Stops at the review, or when the step `until` is asked.
        """
        for _ in range(limit):
            if self.last.screen == "review":
                return self.last
            key = self.step
            if until and key == until:
                return self.last
            if not key:
                raise AssertionError(f"not at a question (screen {self.last.screen!r}):\n{self.text}")
            if key not in answers:
                raise AssertionError(f"no answer for step {key!r}; last reply:\n{self.text}")
            value = answers[key]
            for message in ([value] if isinstance(value, str) else value):  # long text: several messages
                await self.send(message)
        raise AssertionError(f"form did not finish; last reply:\n{self.text}")




class FakeChannel:
    """A channel for tests, made like any other (`registry.register("fake", "bot.testing:FakeChannel")`).

    The user's side: `await channel.receive("u1", "/start")`, `await channel.tap("u1", "对接表")`. What the
    channel was asked to deliver is kept as it came, per user: `channel.sent` ((user id, Reply) pairs),
    `channel.replies("u1")`, `channel.documents("u1")`. `refuse = True` makes it refuse delivery, as a
    platform does (the user blocked the bot, a quota is used): `send()` then returns False and the
    replies go to `channel.refused` instead.
    """

    def __init__(self, app: App | None = None, *, name: str = "fake", engine: Handler | None = None,
                 refuse: bool = False) -> None:
        if engine is None:
            if app is None:
                raise TypeError("FakeChannel needs an app or an engine")
            engine = app.engine
        self.name = name
        self.engine: Handler = engine
        self.refuse = refuse
        self.sent: list[tuple[str, Reply]] = []
        self.refused: list[tuple[str, Reply]] = []
        self.running = False

    async def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False

    async def send(self, user_id: str, replies: Sequence[Reply]) -> bool:
        into = self.refused if self.refuse else self.sent
        into.extend((user_id, reply) for reply in replies)
        return not self.refuse

    async def receive(self, user_id: str, text: str = "", *, payload: str | None = None,
                      message_id: str | None = None, language: str | None = None) -> list[Reply]:
        """A message from the user: the engine's replies, delivered (or refused) like any others."""
        replies = await self.engine.handle(Incoming(channel=self.name, user_id=user_id, text=text, payload=payload,
                                                    message_id=message_id or f"f{next(_ids)}", language=language))
        await self.send(user_id, replies)
        return replies

    async def tap(self, user_id: str, label: str) -> list[Reply]:
        """Tap the button of the user's last reply whose label contains `label`."""
        last = self.replies(user_id)[-1:]
        for b in (last[0].buttons if last else ()):
            if label in b.label:
                return await self.receive(user_id, b.label, payload=b.payload)
        raise AssertionError(f"no button {label!r} in the last reply to {user_id}: {last}")

    def replies(self, user_id: str) -> list[Reply]:
        return [r for u, r in self.sent if u == user_id]

    def documents(self, user_id: str) -> list[Document]:
        return [d for r in self.replies(user_id) for d in r.all_documents()]
