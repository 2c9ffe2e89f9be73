"""JIEBANG_LOG_FORMAT=json: one JSON object per line, with the time, level, logger and message, the
traceback as text, and nothing that identifies a user beyond what bot/logsafe.py `who()` lets through."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.logformat import JsonFormatter
from bot.testing import FakeChannel

ROOT = Path(__file__).resolve().parents[1]
OPENID = "oQx9A1b2C3d4E5f6G7h8I9j0K1l2"
FIELDS = {"ts", "level", "logger", "message"}


@pytest.fixture
def json_log():
    """What the root logger writes, as JSON lines, while the test runs."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(old_level)


def _lines(out: io.StringIO) -> list[dict]:
    text = out.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]  # each line parses on its own


async def test_a_handled_message_logs_json_lines_without_the_openid(sqlite_app, json_log):
    channel = FakeChannel(sqlite_app, name="wechat")
    await channel.receive(OPENID, "/start")

    async def broken(ctx):
        raise RuntimeError("a screen that breaks")

    sqlite_app.engine.route = broken  # the engine logs the failure, with its traceback
    replies = await channel.receive(OPENID, "帮助")
    assert "没有处理成功" in replies[-1].text
    logging.getLogger("bot.test").info("a line with\nanother line and 中文")

    lines = _lines(json_log)
    assert lines and all(FIELDS <= set(line) for line in lines)
    for line in lines:
        assert line["ts"].endswith("Z") and datetime.fromisoformat(line["ts"]).utcoffset().total_seconds() == 0
    failed = [line for line in lines if line["logger"] == "bot.engine" and line["level"] == "ERROR"]
    assert len(failed) == 1 and "failed to handle wechat/oQx9…28" in failed[0]["message"]
    assert "RuntimeError: a screen that breaks" in failed[0]["exc_info"]
    assert {"logger": "bot.test", "level": "INFO", "message": "a line with\nanother line and 中文"}.items() \
        <= lines[-1].items()
    assert OPENID not in json_log.getvalue() and OPENID[:8] not in json_log.getvalue()


def _run(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


SERVE_LOGS = """
import logging
from bot.__main__ import _logging, build_parser
_logging(build_parser().parse_args(["serve", "telegram"]))
logging.getLogger("bot.server").info("listening on %s", "http://127.0.0.1:8080")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("bot.engine").exception("failed")
"""


def test_serve_logs_json_when_asked_and_text_otherwise(tmp_path):
    out = _run({"JIEBANG_LOG_FORMAT": "json", "JIEBANG_DATA_DIR": str(tmp_path)}, SERVE_LOGS)
    assert out.returncode == 0, out.stderr
    info, error = [json.loads(line) for line in out.stderr.splitlines()]
    assert {k: info[k] for k in ("level", "logger", "message")} == {
        "level": "INFO", "logger": "bot.server", "message": "listening on http://127.0.0.1:8080"}
    assert error["level"] == "ERROR" and "ZeroDivisionError" in error["exc_info"] and "exc_info" not in info
    out = _run({"JIEBANG_LOG_FORMAT": "", "JIEBANG_DATA_DIR": str(tmp_path)}, SERVE_LOGS)
    assert out.returncode == 0, out.stderr
    assert " INFO bot.server: listening on http://127.0.0.1:8080" in out.stderr.splitlines()[0]  # as before
    assert "Traceback" in out.stderr


def test_the_log_format_setting():
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"JIEBANG_LOG_FORMAT": " JSON "}).log_format == "json"


def test_a_wrong_log_format_is_said_in_one_line_at_start(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bot", "serve", "telegram"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120,
                         env={**os.environ, "JIEBANG_LOG_FORMAT": "xml", "JIEBANG_DATA_DIR": str(tmp_path)})
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "python -m bot: JIEBANG_LOG_FORMAT='xml': one of text, json is needed (default text)"]
