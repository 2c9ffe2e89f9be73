"""How a Reply looks on Telegram, and what the user types: no I/O, no state.

Telegram's limits (text 4096 and captions 1024 UTF-16 units, callback data 64 bytes); the channel's
own words (`TEXTS`: the group notice, a file too big, a failed download) and its command menu
(`COMMANDS`, `COMMAND_DESCRIPTIONS`); splitting a long text at line breaks (`split_text`), a document's
caption (`caption_of`), `/help@bot` read as `/help` (`command_text`), and a reply's buttons as an inline
keyboard with ☑/☐ on multi-select buttons (`keyboard`) and read back off a tapped one (`markup_labels`,
`unmark`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.messages import Reply

log = logging.getLogger("bot.adapters.telegram")  # the channel's one logger, whichever module logs

CHANNEL = "telegram"
MAX_TEXT = 4096  # Telegram counts UTF-16 code units
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
TICKED, UNTICKED = "☑ ", "☐ "

COMMANDS = ("start", "status", "files", "help", "cancel", "lang")
COMMAND_DESCRIPTIONS = {
    "zh": {"start": "开始 / 选择要填写的表格", "help": "帮助：随时可用的指令", "status": "我的进度：已填和缺少的项目",
           "files": "我的文件：再发一次已生成的表格", "cancel": "暂停填写（答案都会保留）", "lang": "切换语言 中文 / English"},
    "en": {"start": "Start / choose a form", "help": "Help: words that work at any question",
           "status": "Where am I: what is filled in and what is missing",
           "files": "My documents: the finished forms again", "cancel": "Pause (every answer is kept)",
           "lang": "Switch language 中文 / English"},
}
TEXTS = {
    "group": {
        "zh": "您好！为保护贵单位的资料，表格只在私聊中填写：请点我的头像，再点“发消息”。",
        "en": "Hello! To keep your company's answers private, forms are filled in a private chat only: "
              "tap my name, then “Send message”.",
    },
    "too_big": {
        "zh": "这个文件有 {mb:.1f} MB，超过了 Telegram 机器人能接收的 20 MB。请压缩后再发，或分成几个文件发送。",
        "en": "This file is {mb:.1f} MB, more than the 20 MB a Telegram bot can receive. "
              "Please compress it or send it in several parts.",
    },
    "download_failed": {
        "zh": "抱歉，文件没有收到，请再发一次。之前的回答都已保存。",
        "en": "Sorry, the file did not come through. Please send it again; your answers are all saved.",
    },
}


def channel_text(key: str, lang: str, **params: Any) -> str:
    """One of the channel's own `TEXTS` in the user's language."""
    table = TEXTS[key]
    return table["en" if lang == "en" else "zh"].format(**params)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> tuple[str, str]:
    """The longest head of `text` within `limit` UTF-16 units, and the rest."""
    if utf16_len(text) <= limit:
        return text, ""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:i], text[i:]
    return text, ""


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split at line breaks into parts within `limit`; a single longer line is cut where it must be."""
    parts: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        while utf16_len(line) > limit:
            if current is not None:
                parts.append(current)
                current = None
            head, line = _cut(line, limit)
            parts.append(head)
        candidate = line if current is None else f"{current}\n{line}"
        if utf16_len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current or "")
            current = line
    if current is not None:
        parts.append(current)
    return [p.strip("\n") for p in parts if p.strip()]


def caption_of(text: str) -> str:
    """One line for a document's caption: the first non-empty line, within 1024."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    head, rest = _cut(first, MAX_CAPTION)
    return head if not rest else _cut(first, MAX_CAPTION - 1)[0] + "…"


def command_text(text: str) -> str:
    """`/help@jiebang_bot` → `/help`: our commands as the engine knows them; other text as is. A deep link
    (t.me/<bot>?start=sme_pudong) arrives as `/start sme_pudong` and keeps its payload."""
    if not text.startswith("/"):
        return text
    head, _, rest = text.partition(" ")
    word = head[1:].split("@", 1)[0].lower()
    if word not in COMMANDS:
        return text
    payload = rest.strip()
    return f"/start {payload}" if word == "start" and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", payload) else f"/{word}"


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard; None when it has none (or a payload is too long)."""
    if not reply.buttons:
        return None
    for b in reply.buttons:
        if not 1 <= len(b.payload.encode()) <= MAX_CALLBACK_DATA:
            log.error("button payload over %d bytes, sending numbered lines instead: %r", MAX_CALLBACK_DATA, b.payload)
            return None
    buttons = [InlineKeyboardButton(text=_label(b.label, b.selected), callback_data=b.payload) for b in reply.buttons]
    per_row = 2 if all(len(b.label) <= 8 for b in reply.buttons) and not reply.multi else 1
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i:i + per_row] for i in range(0, len(buttons), per_row)])


def _label(label: str, selected: bool | None) -> str:
    if selected is None:
        return label
    return (TICKED if selected else UNTICKED) + label


def unmark(text: str) -> str:
    """A button's label without the ☑/☐ that `keyboard` put before it."""
    return text.removeprefix(TICKED).removeprefix(UNTICKED)


def markup_labels(markup: InlineKeyboardMarkup | None) -> list[str]:
    """The labels on a keyboard as Telegram shows them, row by row."""
    return [b.text for row in (markup.inline_keyboard if markup else []) for b in row]
