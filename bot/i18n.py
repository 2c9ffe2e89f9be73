"""gettext catalogues (zh_CN default, en) loaded with babel.

Source strings are Chinese: the official wording is the interface, so the zh_CN catalogue is the
identity and en carries the translations. Mark strings with `N_` (no-op, found by
`pybabel extract -k N_`) where they are declared, translate with `gettext(lang, s)` where they are shown.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGES = ("zh_CN", "en")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated when shown."""
    return message


def normalise_language(hint: str | None) -> str:
    if not hint:
        return DEFAULT_LANGUAGE
    h = hint.replace("-", "_").lower()
    if h.startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


@cache
def translations(lang: str) -> NullTranslations:
    return Translations.load(str(LOCALES_DIR), [lang], domain="messages")


def gettext(lang: str, message: str, **params: Any) -> str:
    text = translations(lang).gettext(message) if message else message
    return text.format(**params) if params else text


def ngettext(lang: str, singular: str, plural: str, n: int, **params: Any) -> str:
    text = translations(lang).ngettext(singular, plural, n)
    return text.format(n=n, **params)
