"""A chat client that talks to the engine the way a channel does: for tests and benchmarks.

    client = ChatClient(app.engine, user_id="alice")
    await client.send("/start")
    await client.click("对接表")
    await client.send("上海某某科技有限公司")
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from bot.messages import Incoming, Reply

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

    async def fill(self, answers: Mapping[str, str | list[str]], until: str | None = None, limit: int = 80) -> Reply:
        """Answer questions by matching the start of the current question to a key of `answers`.

        Stops at the review (or when the question starting with `until` comes up).
        """
        for _ in range(limit):
            text = self.text
            question = _question_line(text)
            if until and question.startswith(until):
                return self.last
            if self.last.buttons and any(b.payload.endswith(":confirm") for b in self.last.buttons):
                return self.last
            key = next((k for k in sorted(answers, key=len, reverse=True) if question.startswith(k)), None)
            if key is None:
                raise AssertionError(f"no answer for question {question!r}; last reply:\n{text}")
            value = answers[key]
            for message in ([value] if isinstance(value, str) else value):  # long text: several messages
                await self.send(message)
        raise AssertionError(f"form did not finish; last reply:\n{self.text}")


def _question_line(text: str) -> str:
    """The line of a reply that holds the question: the first line with a progress mark (n/N)."""
    for line in text.splitlines():
        if line.rstrip().endswith(")") and "/" in line.rsplit("(", 1)[-1]:
            return line.strip()
    lines = [x for x in text.splitlines() if x.strip()]
    return lines[-1].strip() if lines else ""
