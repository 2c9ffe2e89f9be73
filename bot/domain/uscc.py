"""统一社会信用代码 (GB 32100-2015): normalise, check, and say what is wrong."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^i mod 31
# Letters outside the alphabet that users type for a digit that looks the same.
LOOKALIKE = {"O": "0", "I": "1"}


def normalise(raw: str) -> str:
    """Full width → half width, upper case, no spaces or dashes, O→0 and I→1 (never valid letters)."""
    text = unicodedata.normalize("NFKC", raw).upper()
    text = "".join(ch for ch in text if not ch.isspace() and ch not in "-—_·.")
    return "".join(LOOKALIKE.get(ch, ch) for ch in text)


def check_char(body17: str) -> str:
    """The 18th character for the first 17."""
    s = sum(VALUE[c] * w for c, w in zip(body17, WEIGHTS, strict=True))
    return ALPHABET[(31 - s % 31) % 31]


@dataclass(frozen=True, slots=True)
class Problem:
    code: str  # uscc_length | uscc_char | uscc_region | uscc_check
    params: dict


def grouped(code: str) -> str:
    """The code in its parts, for reading against the licence: 登记管理部门与机构类别, 行政区划码,
    主体标识码, 校验码 — "91 310000 132149237 G"."""
    return " ".join(p for p in (code[:2], code[2:8], code[8:17], code[17:]) if p)


def problem(code: str) -> Problem | None:
    """None when `code` (already normalised) is a valid credit code, else what is wrong.

    A wrong check character means one character (or two swapped) was mistyped somewhere: which one
    cannot be known, so the code is shown grouped for comparing with the licence. The computed 18th
    character is never offered: changing it to fit would save a wrong code that passes."""
    if len(code) != 18:
        return Problem("uscc_length", {"n": len(code)})
    for i, ch in enumerate(code, 1):
        if ch not in VALUE:
            return Problem("uscc_char", {"pos": i, "char": ch})
    for i in range(2, 8):  # positions 3–8: the registering authority's GB/T 2260 region code
        if not code[i].isdigit():
            return Problem("uscc_region", {"pos": i + 1, "char": code[i]})
    if code[17] != check_char(code[:17]):
        return Problem("uscc_check", {"code": grouped(code)})
    return None


def is_valid(raw: str) -> bool:
    return problem(normalise(raw)) is None
