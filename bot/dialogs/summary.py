"""A form's answers as the review reads them, without a conversation: for pages and anything else that
shows a whole form outside the chat (the chat's review is `FormSession.summary_lines`, the same rows).

    rows = review_rows(form, sub.answers, sub.form_version, "en")
    # Row(section="一、企业基本情况 (…)", label="企业名称 (Company name)", value="上海…", missing=False, long=False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.dialogs import walker as w
from bot.dialogs.fields import Form
from bot.dialogs.session import display
from bot.i18n import gettext, official


@dataclass(frozen=True, slots=True)
class Row:
    section: str  # the section the row is in ("" for none), translated
    label: str  # the official label, with its translation beside it for other languages
    value: str  # as the review shows it; "" when not answered
    missing: bool
    long: bool  # a long text (keep its line breaks)


def review_rows(form: Form, answers: Mapping[str, Any] | None, version: int | None, lang: str) -> list[Row]:
    """Every question that applies, in order, with its answer, then the form's printed-as lines."""
    answers = dict(answers or {})
    t = None if lang == "zh_CN" else (lambda m: gettext(lang, m))  # official values, translations beside
    rows: list[Row] = []
    for s in w.steps(form, answers, version):
        if s.is_more:
            continue
        section = (s.group.section if s.group else s.field.section) or ""
        label = official(lang, s.field.label)
        if s.group is not None:
            label = f"{gettext(lang, s.group.label)}{(s.index or 0) + 1} {label}"
        value = w.get_value(answers, s.path)
        missing = value is w.MISSING
        rows.append(Row(gettext(lang, section) if section else "", label,
                        "" if missing else display(value, s.field, t), missing, bool(s.field.long_text)))
    for label, show in form.review_lines:
        rows.append(Row("", official(lang, label), show(answers), False, False))
    return rows
