"""Count characters as the form counts them (like a word processor's 字数)."""

from __future__ import annotations

import re

_CJK_OR_WIDE_PUNCT = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff60\u2018-\u201f\u2026\u2014]"
_TOKEN = re.compile(rf"{_CJK_OR_WIDE_PUNCT}|[A-Za-z0-9]+")


def count_chars(text: str) -> int:
    """Each CJK character or full-width punctuation mark counts 1, each run of Latin letters or
    digits counts 1 (a word), white space and ASCII punctuation count 0."""
    return len(_TOKEN.findall(text or ""))
