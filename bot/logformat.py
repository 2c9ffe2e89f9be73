"""`JIEBANG_LOG_FORMAT=json`: each log record as one JSON object on one line, for a log collector.

    {"ts": "2025-03-01T08:00:00.123456Z", "level": "INFO", "logger": "bot.server", "message": "listening on …"}

with "exc_info" (the traceback, as text) when the record has one. The message is the record's own,
formatted as in the text format: what it may say about a user is decided where it is logged
(bot/logsafe.py `who()`; the access log names routes, never query strings), not here.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of a `Settings.log_format`: "json", or the text lines of before."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT)
