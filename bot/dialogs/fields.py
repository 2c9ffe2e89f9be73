"""The building blocks a form is declared with. A form is plain data: see `bot/dialogs/forms/`.

Meaning lives in `bot.domain`, checks in `bot.dialogs.validators`, one user's position in `storage`;
this module only says what is asked, in which order, and under which condition.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.dialogs.results import Invalid, Message, Ok, Result

Answers = Mapping[str, Any]
Validator = Callable[[str, Answers], Result]


@dataclass(frozen=True, slots=True)
class Choice:
    """One option. `value` is stored and printed in the document (the form's own wording)."""

    value: str
    label: str | None = None  # shown instead of value (marked with N_), when they differ

    @property
    def text(self) -> str:
        return self.label or self.value


@dataclass(frozen=True, slots=True)
class When:
    """Ask a field only when `test(answers)` holds. `fields` names the answers the test reads."""

    fields: tuple[str, ...]
    test: Callable[[Answers], bool]

    def __call__(self, answers: Answers) -> bool:
        return bool(self.test(answers))


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    label: str  # the official label, verbatim (N_)
    hint: str = ""  # one short line: format or example (N_)
    validate: Validator | None = None  # free-text answers
    choices: tuple[Choice, ...] | Callable[[Answers], tuple[Choice, ...]] = ()
    multi: bool = False  # several choices may be ticked
    optional: bool = False  # 跳过/skip allowed
    when: When | None = None
    # A computed field proposes a value from other answers and the user confirms it.
    compute: Callable[[Answers], Ok | Invalid] | None = None
    depends_on: tuple[str, ...] = ()  # a change to one of these clears this answer
    example: str = ""  # a worked example, shown after repeated failed tries (N_)
    section: str = ""  # heading the field belongs to, for summaries (N_)
    # Long text may arrive in several messages, closed by 完成/done. "list": each message is one item
    # of a list (and files sent here are kept with the submission).
    long_text: bool | str = False
    max_chars: int | None = None  # for long text: the guideline, counted as the form counts
    # A firm's fact shared by all of a user's forms (and next year's): offered prefilled when known.
    # True shares it under `key`; a string shares it under that name.
    profile: bool | str = False
    guidance: str = ""  # the form's own guidance line or sample, shown with the question (N_)
    show: Callable[[Any], str] | None = None  # how a stored answer reads in summaries (e.g. "36 汽车制造业")
    # The label as the printed table has it, where the question needs more words to stand alone
    # (asked "联系电话（法人代表）", printed "联系电话" in the 法人代表 row). Empty: the label.
    print_label: str = ""
    # The form versions that ask it: a field added in next year's form says since=2 (and the form's
    # version goes to 2); one dropped says until=1. Submissions keep the version they were filled against.
    since: int = 1
    until: int | None = None
    # More profile keys to offer from when the field's own is empty (申请书 section 一 offers the 对接表's
    # 企业概况); read only, never written.
    offer: tuple[str, ...] = ()
    # Values that end the form here instead of being confirmed (企业规模 大型 on the SME form): the walker
    # says why and offers to correct the figures the value was computed from (`depends_on`).
    stops: tuple[str, ...] = ()
    # "name" / "code": filled from the campaign's 需求目录 where it has one (search, pick, check).
    catalogue: str = ""

    def in_version(self, version: int) -> bool:
        return self.since <= version and (self.until is None or version <= self.until)

    @property
    def printed_label(self) -> str:
        return self.print_label or self.label

    @property
    def profile_key(self) -> str | None:
        if self.profile is True:
            return self.key
        return self.profile or None

    def choices_for(self, answers: Answers) -> tuple[Choice, ...]:
        c = self.choices
        return c(answers) if callable(c) else c

    def applies(self, answers: Answers) -> bool:
        return self.when is None or self.when(answers)


@dataclass(frozen=True, slots=True)
class Group:
    """A repeatable group of fields (事项 1, 事项 2 …), stored as a list of dicts under `key`."""

    key: str
    label: str  # e.g. 事项 (N_); items are shown as "事项 1"
    fields: tuple[Field, ...]
    more_question: str  # asked after each complete item (N_)
    min_items: int = 1
    max_items: int = 20
    section: str = ""
    when: When | None = None
    since: int = 1
    until: int | None = None

    def applies(self, answers: Answers) -> bool:
        return self.when is None or self.when(answers)

    def in_version(self, version: int) -> bool:
        return self.since <= version and (self.until is None or version <= self.until)


@dataclass(frozen=True, slots=True)
class Rule:
    """A check across answers (Django's `Form.clean()`): run once every field it reads has an answer,
    whichever of them was answered last. `check(answers)` returns a note to show (`Message`), or None."""

    fields: tuple[str, ...]
    check: Callable[[Answers], Message | None]

    def ready(self, answers: Answers) -> bool:
        return all(answers.get(k) not in (None, "", []) for k in self.fields)


@dataclass(frozen=True, slots=True)
class Form:
    id: str  # stable id, stored with every submission
    title: str  # the official title (N_)
    short_title: str  # for menus and status lines (N_)
    items: tuple[Field | Group, ...]
    filename: str  # document file name, formatted with the answers, e.g. "…-{company_name}.docx"
    renderer: str = ""  # "module:function" turning answers into .docx bytes (imported when needed)
    audiences: tuple[str, ...] = ("sme",)  # who fills it in: "sme" (揭榜), "large" (发榜), or both
    per_item: str = ""  # one submission per item of another form's group, e.g. "sme_match.items"
    text_guideline: int | None = None  # the whole document's 字 guideline (warned, not enforced)
    notes: tuple[str, ...] = field(default=())  # the form's 注, shown before the summary (N_)
    rules: tuple[Rule, ...] = ()  # checks across fields, run when all their fields are known
    # Lines the review shows after the answers, as the document will print them: (label (N_), answers → text)
    review_lines: tuple[tuple[str, Callable[[Answers], str]], ...] = ()
    # Bumped when a year's form changes its questions: a submission records the version it was filled
    # against, so last year's finished form is read against last year's questions.
    version: int = 1

    def serves(self, role: str | None) -> bool:
        return role is None or role in self.audiences

    def render(self, answers: Answers) -> bytes:
        module, _, name = self.renderer.partition(":")
        return getattr(importlib.import_module(module), name)(answers)

    def field_keys(self) -> list[str]:
        keys: list[str] = []
        for item in self.items:
            if isinstance(item, Group):
                keys.extend(f"{item.key}.{f.key}" for f in item.fields)
            else:
                keys.append(item.key)
        return keys
