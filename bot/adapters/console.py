"""The terminal channel: the embedded default. One line is one message.

Interactive (a tty): a `> ` prompt. Piped: no prompt, replies printed, clean exit at end of input.
Choices are numbered lines; the number or the text both answer; multi-select takes `1,3` or `1 3`.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Sequence
from typing import TextIO

from bot.adapters.base import Handler, numbered
from bot.i18n import N_, gettext
from bot.messages import Incoming, Reply

CHANNEL = "console"


class ConsoleChannel:
    name = CHANNEL

    def __init__(self, handler: Handler, user_id: str = "local", language: str | None = None,
                 stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.handler = handler
        self.user_id = user_id
        self.language = language
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty()

    async def start(self) -> None:  # the console runs in the foreground: see run()
        return None

    async def stop(self) -> None:
        return None

    async def send(self, user_id: str, replies: Sequence[Reply]) -> bool:
        for reply in replies:
            self._print(reply)
        return True

    def _print(self, reply: Reply) -> None:
        out = numbered(reply)
        for doc in reply.all_documents():
            where = doc.path.resolve() if doc.path else doc.filename
            out += "\n" + gettext(self.language or "zh_CN", N_("文件：{path}"), path=where)
        self.stdout.write(out + "\n\n")
        self.stdout.flush()

    async def _read(self) -> str | None:
        if self.interactive:
            try:
                return await asyncio.to_thread(input, "> ")
            except EOFError:
                return None
        line = await asyncio.to_thread(self.stdin.readline)
        return None if line == "" else line.rstrip("\r\n")

    async def say(self, text: str, unless_shown: list[str] | None = None) -> list[str]:
        """Send one line; print the replies unless they are exactly `unless_shown` (already on screen)."""
        incoming = Incoming(channel=CHANNEL, user_id=self.user_id, text=text,
                            message_id=uuid.uuid4().hex, language=self.language)
        replies = await self.handler.handle(incoming)
        shown = [numbered(reply) for reply in replies]
        if shown != unless_shown:
            await self.send(self.user_id, replies)
        return shown

    async def run(self) -> int:
        """Chat until end of input. Every accepted answer is already stored when it is shown."""
        opening = await self.say("/resume")  # where they stand, before they type
        first = True
        while True:
            line = await self._read()
            if line is None:
                return 0
            if line.strip():
                # A script that begins with /start would get the greeting it has just seen a second time.
                await self.say(line, unless_shown=opening if first and not self.interactive else None)
                first = False
