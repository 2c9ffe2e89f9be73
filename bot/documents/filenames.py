"""A form's document file name, from ``Form.filename`` and the answers, that every file system takes.

A company name may have 100 characters (300 bytes in UTF-8), more than a file name may (255 bytes on most
file systems, less once the bot puts the submission's number in front). The name is cut to ``MAX_BYTES``
UTF-8 bytes, the longest answer in it shortened first, so the form's words and every answer stay
recognisable; the extension is always kept. The full name stays inside the document.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from typing import Any

from bot.dialogs.fields import Form

MAX_BYTES = 150  # leaves room for a "<submission id>-" prefix and a longer extension within 255
# path separators, characters Windows refuses, whitespace (a file name in a chat reads better without it)
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


def _clean(value: Any) -> str:
    """An answer as a piece of a file name: no control characters, lone surrogates or separators."""
    raw = unicodedata.normalize("NFC", str(value))
    raw = "".join(ch for ch in raw if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    return _UNSAFE.sub("_", raw).strip("._ ")


def _size(name: str) -> int:
    return len(name.encode("utf-8"))


def _cut(text: str, max_bytes: int) -> str:
    out = text.encode("utf-8")[:max(0, max_bytes)].decode("utf-8", "ignore")
    return out.rstrip("._-")


def document_filename(form: Form, answers: Mapping[str, Any], suffix: str | None = None,
                      max_bytes: int = MAX_BYTES) -> str:
    """``中小企业揭榜对接表-上海某某科技有限公司.docx`` for `form` and `answers`; `suffix` (".pdf") replaces the
    template's extension. At most `max_bytes` UTF-8 bytes; safe as one path component anywhere."""
    template = form.filename or f"{form.id}.docx"
    stem_template, dot, ext = template.rpartition(".")
    if not dot:
        stem_template, ext = template, "docx"
    ext = (suffix or f".{ext}").lstrip(".")
    ext = _clean(ext)[:16] or "docx"
    keys = [name for _text, name, _spec, _conv in string.Formatter().parse(stem_template) if name]
    values = {k: _clean(answers.get(k)) if isinstance(answers.get(k), str | int) else "" for k in keys}
    try:
        stem_template.format(**values)
    except (KeyError, IndexError, ValueError):  # a template the answers cannot fill: the form's id
        stem_template, keys, values = form.id, [], {}
    room = max_bytes - _size(ext) - 1

    def stem() -> str:
        return re.sub(r"([-_])[-_]+", r"\1", _clean(stem_template.format(**values))) or _clean(form.id) or "document"

    while _size(stem()) > room and any(values.values()):
        longest = max(values, key=lambda k: _size(values[k]))
        values[longest] = values[longest][:-1].rstrip("._-")
    name = _cut(stem(), room) or "document"
    if _WINDOWS_RESERVED.match(name):
        name = f"_{name}"
    return f"{name}.{ext}"
