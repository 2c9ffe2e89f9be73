"""The terminal channel: the embedded default. One line is one message.

Interactive (a tty): a `> ` prompt with line editing (GNU readline, from the standard library): the
arrow keys move in the line and through this session's earlier lines, Chinese included, and never
end up inside an answer. Piped: no prompt, replies printed, clean exit at end of input.
Choices are numbered lines; the number or the text both answer; multi-select takes `1,3` or `1 3`.

Finished files are shown as their paths on disk; so is a reply's picture (page 1 as it will print, kept
under the data folder's previews/ when it has no file of its own). There is no web server here: a reply's
page (我的文件, a full review) is not linked, its whole text is printed.

Ctrl-C ends the chat at once (exit status 130) with one line saying the answers are saved: every
answer shown as saved was committed before it was shown; a message still being handled is dropped
whole (its transaction rolls back) and was never shown as saved. Ctrl-D ends it too (status 0).

Lines are read in the main thread between messages, with the event loop idle (`chat(runner)`), so
the terminal's own Ctrl-C handling and readline's clean-up apply. Nothing runs in the background of
a terminal chat.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.adapters.base import Handler, numbered
from bot.i18n import N_, gettext
from bot.messages import Incoming, Reply

if TYPE_CHECKING:
    from bot.app import App
    from bot.config import Settings

CHANNEL = "console"
PROMPT = "> "
INTERRUPTED = N_("已退出。您的答案都已保存，再次运行 python -m bot 即可继续。")
PICTURE = N_("第1页预览：{path}")
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


def enable_line_editing() -> bool:
    """Arrow keys, history and wide characters in `input()`: import readline (False where it is missing)."""
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without a readline
        return False
    readline.set_history_length(500)  # this session only: answers are not written to a history file
    readline.set_completer(lambda _text, _state: None)  # Tab completes nothing (not file names)
    return True


def _keep_typed_input(stream: TextIO) -> Callable[[], None]:
    """The terminal keeps what was typed when Ctrl-C interrupts (NOFLSH); returns what undoes it."""
    try:
        import termios

        fd = stream.fileno()
        before = termios.tcgetattr(fd)
        after = list(before)
        after[3] |= termios.NOFLSH
        termios.tcsetattr(fd, termios.TCSANOW, after)
    except (ImportError, OSError, ValueError, AttributeError):
        return lambda: None

    def undo() -> None:
        try:
            termios.tcsetattr(fd, termios.TCSANOW, before)
        except (OSError, ValueError):
            pass

    return undo


class CtrlC:
    """Ctrl-C while input() waits ends the chat at once, whenever it comes.

    Typed right after a line (Enter, then Ctrl-C at once) it was lost and the chat looked frozen: the
    terminal threw away the input not yet read (the rest of the line, half a Chinese character among it), and
    readline, waiting inside for that character's other bytes, does not act on a signal there; where
    CPython's readline waits itself, it acts on a signal only when that select() is interrupted by it. So
    while input() waits the terminal keeps what was typed (NOFLSH), and the signal's byte on a wakeup fd wakes
    a watcher thread, which interrupts the main thread again until Python has acted on it.
    """

    def __init__(self) -> None:
        self._acted = threading.Event()
        self._reading = False
        self._main = threading.main_thread().ident or 0
        r, w = os.pipe()
        os.set_blocking(w, False)
        self._r = r
        try:
            signal.set_wakeup_fd(w, warn_on_full_buffer=False)  # for the rest of the chat
        except ValueError:  # not the main thread: nothing to watch
            os.close(r)
            os.close(w)
            self._r = -1
            return
        threading.Thread(target=self._watch, name="ctrl-c", daemon=True).start()

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._r, 64)
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT in data:
                while self._reading and not self._acted.wait(0.05):
                    signal.pthread_kill(self._main, signal.SIGINT)  # EINTR: readline acts on it now

    def _interrupted(self, signum: int, frame: object) -> None:
        self._acted.set()
        raise KeyboardInterrupt

    def read(self, prompt: str) -> str:
        """input(prompt), Ctrl-C raising KeyboardInterrupt as soon as it is typed."""
        if self._r < 0:
            return input(prompt)
        self._acted.clear()
        old = signal.signal(signal.SIGINT, self._interrupted)
        keep = _keep_typed_input(sys.stdin)
        self._reading = True
        try:
            return input(prompt)
        finally:
            self._reading = False
            signal.signal(signal.SIGINT, old)
            keep()


class ConsoleChannel:
    name = CHANNEL

    def __init__(self, handler: Handler, user_id: str = "local", language: str | None = None,
                 stdin: TextIO | None = None, stdout: TextIO | None = None, previews: Path | None = None) -> None:
        self.handler = handler
        self.previews = previews  # where a picture without a file of its own is put to be opened
        self.user_id = user_id
        self.language = language
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty()
        self._ctrl_c: CtrlC | None = None
        self._shown_language = language or "zh_CN"  # the language of the last reply, for the exit line

    @classmethod
    def for_app(cls, app: App, **options: Any) -> ConsoleChannel:
        """The registry's factory: a terminal chat with `app.engine`."""
        settings = getattr(app, "settings", None)
        if settings is not None:
            options.setdefault("previews", settings.data_dir / "previews")
        return cls(app.engine, **options)

    async def start(self) -> None:  # the console runs in the foreground: see chat()
        return None

    async def stop(self) -> None:
        return None

    async def send(self, user_id: str, replies: Sequence[Reply]) -> bool:
        try:
            for reply in replies:
                self._print(reply)
        except (OSError, ValueError):  # the terminal went away (closed, a broken pipe)
            return False
        return True

    def _print(self, reply: Reply) -> None:
        out = numbered(reply)
        for doc in reply.all_documents():
            where = doc.path.resolve() if doc.path else doc.filename
            out += "\n" + gettext(reply.language or self.language or "zh_CN", N_("文件：{path}"), path=where)
        picture = self._picture(reply)
        if picture is not None:
            out += "\n" + gettext(reply.language or self.language or "zh_CN", PICTURE, path=picture)
        self.stdout.write(out + "\n\n")
        self.stdout.flush()
        self._shown_language = reply.language or self._shown_language

    def _picture(self, reply: Reply) -> Path | None:
        """Where the reply's picture is on disk (written to `previews` when it has no file of its own)."""
        image = reply.image
        if image is None:
            return None
        if image.path is not None and image.path.exists():
            return image.path.resolve()
        if not image.data:
            return None
        folder = self.previews or Path(tempfile.gettempdir()) / "jiebang-previews"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / (_UNSAFE_NAME.sub("_", Path(image.filename).name) or "page-1.png")
            path.write_bytes(image.data)
        except OSError:
            return None
        return path.resolve()

    def _read(self) -> str | None:
        """The next line; None at end of input. Ctrl-C raises KeyboardInterrupt here, at once."""
        if self.interactive:
            if self._ctrl_c is None:
                self._ctrl_c = CtrlC()
            try:
                return self._ctrl_c.read(PROMPT)
            except EOFError:
                return None
        line = self.stdin.readline()
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

    def chat(self, runner: asyncio.Runner) -> int:
        """Chat until end of input (0). Each line is handled in `runner`; reading happens between."""
        if self.interactive:
            enable_line_editing()
        opening = runner.run(self.say("/resume"))  # where they stand, before they type
        first = True
        while True:
            line = self._read()
            if line is None:
                return 0
            if line.strip():
                # A script that begins with /start would get the greeting it has just seen a second time.
                runner.run(self.say(line, unless_shown=opening if first and not self.interactive else None))
                first = False

    def interrupted(self, stream: TextIO | None = None) -> int:
        """Ctrl-C: one line that nothing is lost; the exit status."""
        stream = stream or sys.stderr
        try:
            stream.write("\n" + gettext(self._shown_language, INTERRUPTED) + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass
        return EXIT_INTERRUPTED


def run_terminal(settings: Settings, *, user_id: str = "local", language: str | None = None) -> int:
    """`python -m bot`: the terminal chat on `settings`' database; its exit status."""
    from bot.app import open_app

    with asyncio.Runner() as runner:
        app = runner.run(open_app(settings))
        channel = ConsoleChannel(app.engine, user_id=user_id, language=language)
        try:
            return channel.chat(runner)
        except KeyboardInterrupt:
            return channel.interrupted()
        finally:
            runner.run(app.close())
