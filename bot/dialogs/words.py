"""The words that work at any question, in Chinese and English: one table for all of them.

Compared without case, width or spaces; a trailing ?/。/! does not hide one ("我在哪？", "where am I?").
A few take an argument after the word: "联系 浦东", "contact Pudong", "已报送 2".
"""

from __future__ import annotations

import re
import unicodedata

from bot.domain import regions

WORDS: dict[str, tuple[str, ...]] = {
    "start": ("/start", "开始", "start", "菜单", "menu", "/menu", "填表"),
    "help": ("/help", "帮助", "help", "?", "？"),
    "status": ("/status", "状态", "status", "进度", "我的进度", "whereami", "我在哪", "我在哪里", "填到哪了",
               "到哪了", "还差什么", "还缺什么", "还差哪些"),
    "back": ("/back", "上一步", "back", "返回"),
    "skip": ("/skip", "跳过", "skip"),
    "edit": ("/edit", "修改", "edit"),
    "preview": ("/preview", "预览", "preview"),
    "cancel": ("/cancel", "取消", "cancel", "退出"),
    "lang": ("/lang", "language", "语言"),
    "lang_en": ("english", "/en"),
    "lang_zh": ("中文", "/zh", "chinese"),
    "files": ("/files", "文件", "我的文件", "files", "重新下载", "下载文件"),
    "resume": ("/resume",),
    "contact": ("联系", "/contact", "contact", "联系方式", "报送地址"),
    "remind_off": ("退订提醒", "/remindoff", "remindoff", "关闭提醒", "取消提醒"),
    "remind_on": ("开启提醒", "/remindon", "remindon", "订阅提醒", "打开提醒"),
    "submitted": ("已报送", "已盖章报送", "/submitted", "submitted"),
    "notify_new": ("有新通知时告诉我", "有新通知告诉我", "新通知提醒", "/notifynew", "notifynew",
                   "tellmewhenthenewnoticeisout"),
    "erase": ("删除我的数据", "删除数据", "删除我的信息", "/deletedata", "deletemydata", "/forgetme"),
}
# Words that act on the open form: the screen gets them as actions (bot/dialogs/actions.py).
FORM_WORDS = ("back", "skip", "edit", "preview", "cancel")
# Inside a long section being written, only these act; any other word is a paragraph of the text.
WHILE_WRITING = ("back", "skip", "edit", "cancel", "start")
_WITH_ARGUMENT = ("contact", "submitted", "start")
_EXACT = {word: name for name, words in WORDS.items() for word in words}
_PREFIXES = sorted(((word, name) for name, words in WORDS.items() if name in _WITH_ARGUMENT for word in words),
                   key=lambda p: -len(p[0]))


def _squeeze(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")


def lookup(text: str) -> tuple[str, str] | None:
    """(name, argument) of the word the text is, or None when it is not one of them (an answer)."""
    key = _squeeze(text)
    if not key:
        return None
    name = _EXACT.get(key) or _EXACT.get(key.rstrip("?？。.!！～~") or key)
    if name is not None:
        return name, ""
    for word, name in _PREFIXES:
        if not key.startswith(word):
            continue
        rest = key[len(word):]
        if name == "contact" and len(rest) <= 6 and not (word.isascii() and rest.isascii()):
            return name, rest  # "联系浦东", "contact 浦东"
        if name == "contact" and word.isascii() and regions.is_latin_district(rest):
            return name, rest  # "contact Pudong"; not "contactless …", an answer
        if name == "submitted" and (rest.isdigit() or rest in ("全部", "all")):
            return name, rest
        if name == "start" and word == "/start" and re.fullmatch(r"[a-z0-9_\-]{1,64}", rest):
            return name, rest  # a deep link or a QR code's scene: "/start sme_pudong"
    return None


def named(name: str) -> tuple[str, str] | None:
    """A command button's name ("cmd:status") as a word; None for a name that is not one."""
    return (name, "") if name in WORDS else None
