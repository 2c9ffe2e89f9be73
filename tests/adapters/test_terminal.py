"""The terminal chat in a real terminal: `python -m bot` on a pseudo-terminal, keys typed as a person types
them (arrow keys are escape sequences, Ctrl-C is the terminal's interrupt character)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEFT, UP, CTRL_C, ENTER = "\x1b[D", "\x1b[A", "\x03", "\r"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")


class Terminal:
    """`python -m bot` with a pseudo-terminal as its controlling terminal."""

    def __init__(self, data_dir: Path) -> None:
        import fcntl
        import pty
        import termios

        self.master, slave = pty.openpty()
        env = {**os.environ, "JIEBANG_DATA_DIR": str(data_dir), "LANG": "C.UTF-8", "TERM": "xterm", "JIEBANG_PDF": "off"}
        env.pop("JIEBANG_DATABASE_URL", None)

        def controlling_terminal() -> None:  # so Ctrl-C on it interrupts the process, as in a real terminal
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen([sys.executable, "-m", "bot"], stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=ROOT, close_fds=True, preexec_fn=controlling_terminal)
        os.close(slave)
        self.output = ""

    def read_until(self, marker: str, seconds: float = 120) -> str:
        """Everything shown from now until `marker` appears (the marker included)."""
        seen = b""
        deadline = time.monotonic() + seconds
        while marker not in seen.decode(errors="replace"):
            ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"waited {seconds}s for {marker!r}; the terminal shows:\n"
                                     f"{seen.decode(errors='replace')[-800:]}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # the process ended
                chunk = b""
            if not chunk:
                raise AssertionError(f"the bot exited before {marker!r}:\n{seen.decode(errors='replace')[-800:]}")
            seen += chunk
        text = seen.decode(errors="replace")
        self.output += text
        return text

    def type(self, keys: str, then: str = "> ") -> str:
        """Type `keys` (Enter included where given); what is shown until `then` (the next prompt)."""
        os.write(self.master, keys.encode())
        return self.read_until(then)

    def rest(self) -> str:
        out = b""
        while select.select([self.master], [], [], 0.2)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return out.decode(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path):
    opened: list[Terminal] = []

    def start() -> Terminal:
        t = Terminal(tmp_path)
        opened.append(t)
        t.read_until("> ")
        return t

    yield start
    for t in opened:
        t.close()


def open_form(t: Terminal) -> None:
    t.type("2" + ENTER)
    assert "开始填写" in t.type("1" + ENTER)  # the campaign's note first: the 2024 programme is over
    assert "企业名称" in t.type("1" + ENTER)


def test_arrow_keys_edit_the_line_and_are_not_stored_inside_the_answer(terminal):
    t = terminal()
    open_form(t)
    t.type("上海abcdef" + LEFT + LEFT + "X公司" + ENTER)  # the cursor went back two places: X公司 goes there
    preview = t.type("预览" + ENTER)
    assert "企业名称：上海abcdX公司ef" in preview
    assert "\x1b[D" not in preview.split("企业名称：", 1)[1].splitlines()[0]


def test_earlier_lines_come_back_with_the_up_arrow_and_edit_in_chinese(terminal):
    t = terminal()
    open_form(t)
    t.type("上海测试科技有限公司" + ENTER)
    assert "企业名称" in t.type("上一步" + ENTER)
    # ↑ is 上一步, ↑↑ the name; four characters back (before 有限公司) and 二号 goes in there
    t.type(UP + UP + LEFT * 4 + "二号" + ENTER)
    assert "企业名称：上海测试科技二号有限公司" in t.type("预览" + ENTER)


def test_ctrl_c_ends_the_chat_at_once_with_status_130_and_the_answers_kept(terminal):
    t = terminal()
    open_form(t)
    t.type("上海测试科技有限公司" + ENTER)
    t.type("91310000", then="91310000")  # half a line typed and shown, then Ctrl-C: no Enter needed to leave
    os.write(t.master, CTRL_C.encode())
    assert t.proc.wait(timeout=120) == 130  # an upper bound for a loaded machine, not a timing
    said = t.read_until("继续") + t.rest()
    assert "答案都已保存" in said and "Traceback" not in said
    assert said.strip().count("\n") <= 1  # one line

    again = terminal()  # nothing lost: the next run starts where this one stood
    assert "统一社会信用代码" in again.output
    assert "企业名称：上海测试科技有限公司" in again.type("预览" + ENTER)


def test_ctrl_c_right_after_enter_ends_the_chat_too(terminal):
    """Enter and Ctrl-C in one go (a person giving up as they send): the terminal used to throw away the rest
    of the line with half a Chinese character in it, and readline, waiting for the character's other bytes,
    ignored the interrupt: the chat looked frozen until the next key."""
    t = terminal()
    open_form(t)
    os.write(t.master, ("上海测试科技有限公司" + ENTER).encode())
    os.write(t.master, CTRL_C.encode())  # while the line is being read
    assert t.proc.wait(timeout=120) == 130  # an upper bound for a loaded machine, not a timing
    said = t.rest()
    assert "答案都已保存" in said and "Traceback" not in said
