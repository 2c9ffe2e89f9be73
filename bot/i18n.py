"""gettext catalogues (zh_CN default, en), loaded with the standard library's gettext.

Source strings are Chinese: the official wording is the interface, so the zh_CN catalogue is the
identity and en carries the translations. Mark strings with `N_` (no-op, found by
`pybabel extract -k N_`) where they are declared, translate with `gettext(lang, s)` where they are shown.

The catalogues' sources (.pot, .po) are in `locales/` at the top of the project, where pybabel works on
them. The compiled .mo files are read from inside the package when it was installed from a wheel
(setup.py copies them to `bot/locales/`), else from `locales/` itself (a checkout, `pip install -e`).
Babel compiles and tests the catalogues; nothing at run time needs it.
"""

from __future__ import annotations

import gettext as _gettext
import logging
from functools import cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"  # the sources: .pot, .po (and .mo)
PACKAGED_DIR = Path(__file__).resolve().parent / "locales"  # the compiled catalogues a wheel carries
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGES = ("zh_CN", "en")


def catalogue_dir() -> Path:
    """Where the compiled catalogues are read from."""
    if (PACKAGED_DIR / "en" / "LC_MESSAGES" / "messages.mo").exists():
        return PACKAGED_DIR
    return LOCALES_DIR


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
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue of `lang`; a missing one falls back to the Chinese source strings, said once in the log."""
    try:
        return _gettext.translation("messages", str(catalogue_dir()), languages=[lang])
    except OSError:
        if lang != DEFAULT_LANGUAGE:
            logging.getLogger(__name__).error("no %s catalogue under %s: replies stay Chinese", lang, catalogue_dir())
        return _gettext.NullTranslations()


def gettext(lang: str, message: str, **params: Any) -> str:
    text = translations(lang).gettext(message) if message else message
    return text.format(**params) if params else text


def ngettext(lang: str, singular: str, plural: str, n: int, **params: Any) -> str:
    text = translations(lang).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def official(lang: str, label: str) -> str:
    """An official label in another language: the form's own words first, the translation beside them,
    so a clerk can hold the paper form beside the chat: "企业名称 (Enterprise name)"."""
    tr = gettext(lang, label)
    return label if tr == label else f"{label} ({tr})"
