"""A form's answers as the review reads them, without a conversation: for pages and anything else that
shows a whole form outside the chat (the chat's review is `FormSession.summary_lines`, the same rows).

    rows = review_rows(form, sub.answers, sub.form_version, "en")
    # Row(section="一、企业基本情况 (…)", label="企业名称 (Company name)", value="上海…", missing=False, long=False,
    #     path="company_name", copy="上海…")

`Row.copy` is the answer as it goes into another form (the online platform's): the official Chinese
value whatever the page's language, a multi-choice joined as the document joins it ("、"), a long text
whole with its line breaks, a list one entry a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.dialogs import walker as w
from bot.dialogs.fields import Field, Form
from bot.i18n import gettext, official


def display(value: Any, field: Field | None = None, t: Any = None) -> str:
    """How a stored answer reads in a summary. With `t` (another language than the forms'), an option's
    official value keeps its translation beside it: "民营 (Private)"."""
    if field is not None and field.show is not None and value is not None:
        return field.show(value)
    if value is None:
        return "—"
    if isinstance(value, list):
        return "、".join(_option(v, field, t) for v in value) or "—"
    return _option(value, field, t)


def _option(value: Any, field: Field | None, t: Any) -> str:
    text = str(value)
    if t is None or field is None or callable(field.choices):
        return text
    choice = next((c for c in field.choices if c.value == value), None)
    if choice is None:
        return text
    tr = t(choice.text)
    return text if tr in (text, choice.text) else f"{text} ({tr})"


def copy_text(value: Any, field: Field) -> str:
    """The answer as a user copies it into another form: the official values (never a translation), a
    multi-choice joined with "、" as the document prints it, a field's own `show` (所属行业 "65 软件和信息
    技术服务业", as printed), a list of entries one a line, line breaks as LF; "" for no answer."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, list) and field.long_text == "list":
        text = "\n".join(str(v) for v in value)
    else:
        text = display(value, field)
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True, slots=True)
class Row:
    section: str  # the section the row is in ("" for none), translated
    label: str  # the official label, with its translation beside it for other languages
    value: str  # as the review shows it; "" when not answered
    missing: bool
    long: bool  # a long text (keep its line breaks)
    path: str = ""  # the step's path ("items.0.name"); "" for a printed-as line, which is no answer
    copy: str = ""  # the answer as stored, in the official Chinese: what a user copies ("" when not answered)


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
                        "" if missing else display(value, s.field, t), missing, bool(s.field.long_text),
                        s.path, "" if missing else copy_text(value, s.field)))
    for label, show in form.review_lines:
        rows.append(Row("", official(lang, label), show(answers), False, False))
    return rows
