"""The building blocks a form is declared with. A form is plain data: see `bot/dialogs/forms/`.

Meaning lives in `bot.domain`, checks in `bot.dialogs.validators`, one user's position in `storage`;
this module only says what is asked, in which order, and under which condition.

Next year's form is the same `Form` with `changes={2: (...)}`: what version 2 changed from version 1, as
small records (`Rename`, `Add`, `Remove`, `Move`, `NewChoices`). `form.at(v)` is the form as version `v`
asks and prints it (its items in that version's order, with its labels and choices); a submission keeps
the version it was filled against, so last year's is read and printed with last year's words.

    changes={2: (Rename("legal_rep", N_("法定代表人")),
                 Add(Field("rd_expense", N_("上年度研发投入(万元)"), validate=v.amount_wan, section=BASIC),
                     after="revenue"),
                 Remove("fax"),
                 NewChoices("ownership", (Choice(N_("国有")), Choice(N_("私营")), Choice(N_("外资")))))}
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterator, Mapping
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
    # Last year's answer is taken over into next year's form (bot/dialogs/carry.py). False for what is
    # each year's own (a declaration about this year's 需求).
    carries: bool = True

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
    # A group's items (拟揭榜事项, 需求) are each year's own, picked from that year's 需求目录: not taken over
    # into next year's form.
    carries: bool = False

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
    # against, so last year's finished form is read against last year's questions. At least the newest
    # version `changes` declares.
    version: int = 1
    # What each version changed from the one before: {2: (Rename(...), Add(...), ...)}, applied in order.
    changes: Mapping[int, tuple[Change, ...]] = field(default_factory=dict, compare=False)
    # Set on a form made by `at()`: the declared form it is a version of (else None), and those made.
    origin: Form | None = field(default=None, init=False, compare=False, repr=False)
    _versions: dict[int, Form] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.changes:
            object.__setattr__(self, "version", max(self.version, *self.changes))

    def at(self, version: int | None = None) -> Form:
        """The form as `version` asks and prints it (default: the newest): its items in that version's order,
        with that version's labels and choices, and nothing left to apply. Made once per version."""
        if self.origin is not None and version in (None, self.version):
            return self  # already a form at one version: itself
        origin = self.origin or self
        v = origin.version if version is None else version
        made = origin._versions.get(v)
        if made is None:
            if not 1 <= v <= origin.version:
                raise ValueError(f"form {origin.id!r} has versions 1 to {origin.version}, not {v}")
            made = origin._versions[v] = _resolve(origin, v)
        return made

    def changes_between(self, old: int, new: int) -> list[tuple[int, Change]]:
        """What changed from version `old` to version `new`, in order, each with the version that made it
        (fields declared with since/until as Add and Remove)."""
        origin = self.origin or self
        out: list[tuple[int, Change]] = []
        for v in range(old + 1, new + 1):
            for prefix, before, item in _declared(origin.items):
                if item.since == v:
                    out.append((v, Add(item, after=prefix + before if before else "")))
                if item.until == v - 1:
                    out.append((v, Remove(prefix + item.key)))
            out.extend((v, c) for c in origin.changes.get(v, ()))
        return out

    def declares(self, key: str) -> bool:
        """Whether some version of the form asks `key` ("items.code" for a group's field)."""
        origin = self.origin or self
        return any(key in origin.at(v).field_keys() for v in range(1, origin.version + 1))

    def serves(self, role: str | None) -> bool:
        return role is None or role in self.audiences

    def render(self, answers: Answers) -> bytes:
        """The document of `answers` as this form prints them: a form at a submission's version (`at`)
        prints that version's labels and choices."""
        module, _, name = self.renderer.partition(":")
        return getattr(importlib.import_module(module), name)(answers, self.at())

    def field_keys(self) -> list[str]:
        keys: list[str] = []
        for item in self.items:
            if isinstance(item, Group):
                keys.extend(f"{item.key}.{f.key}" for f in item.fields)
            else:
                keys.append(item.key)
        return keys


# -- what a version changed from the one before (Form.changes) ------------------------------------------
# A key names a field ("legal_rep"), a group ("items") or a group's field ("items.code").


@dataclass(frozen=True, slots=True)
class Rename:
    """A field's label changed for the same meaning: its answer is taken over into the new version (and a
    hint or printed label changed with it, where given). `asks_again`: the meaning changed too; the key (and
    so its place in the printed table) stays, but last year's answer is asked again."""

    key: str
    label: str
    hint: str | None = None
    print_label: str | None = None
    asks_again: bool = False


@dataclass(frozen=True, slots=True)
class Add:
    """A new field (or group) asked after `after` (a key; "items.name" adds to that group; empty: at the
    end of its section)."""

    item: Field | Group
    after: str = ""

    @property
    def key(self) -> str:
        group, dot, _ = self.after.rpartition(".")
        return f"{group}.{self.item.key}" if dot else self.item.key


@dataclass(frozen=True, slots=True)
class Remove:
    """A field no longer asked (nor printed): its answer stays in the older versions' submissions."""

    key: str


@dataclass(frozen=True, slots=True)
class Move:
    """A field asked elsewhere: after `after` (empty: first of its form or group)."""

    key: str
    after: str


@dataclass(frozen=True, slots=True)
class NewChoices:
    """A choice field's options changed. An old answer still among them is taken over; one that is not is
    asked again."""

    key: str
    choices: tuple[Choice, ...]


Change = Rename | Add | Remove | Move | NewChoices


def _declared(items: tuple[Field | Group, ...], prefix: str = "") -> Iterator[tuple[str, str, Field | Group]]:
    """Every item and group field as declared: (its group's prefix "items." or "", the key before it, it)."""
    before = ""
    for item in items:
        yield prefix, before, item
        if isinstance(item, Group):
            yield from _declared(item.fields, f"{item.key}.")
        before = item.key


def _resolve(form: Form, version: int) -> Form:
    """The declared form at `version`: fields of other versions (since/until) left out, then the changes of
    versions 2 … `version` applied in order."""
    items: list[Field | Group] = []
    for item in form.items:
        if not item.in_version(version):
            continue
        if isinstance(item, Group) and not all(f.in_version(version) for f in item.fields):
            item = dataclasses.replace(item, fields=tuple(f for f in item.fields if f.in_version(version)))
        items.append(item)
    for v in sorted(form.changes):
        if v > version:
            break
        for change in form.changes[v]:
            try:
                items = _apply(items, change)
            except LookupError as exc:
                raise ValueError(f"form {form.id!r} version {v}: {change!r}: {exc}") from None
    made = dataclasses.replace(form, items=tuple(items), version=version, changes={})
    object.__setattr__(made, "origin", form)
    return made


def _index(items: list[Any], key: str) -> int:
    for i, item in enumerate(items):
        if item.key == key:
            return i
    raise LookupError(f"no {key!r} here")


def _apply(items: list[Field | Group], change: Change) -> list[Field | Group]:
    """`items` with `change` made (a new list; the items themselves are never changed in place)."""
    key = change.key
    group_key, dot, sub = key.rpartition(".")
    if dot:  # a group's field: change the group's fields, the group's place stays
        i = _index(items, group_key)
        group = items[i]
        if not isinstance(group, Group):
            raise LookupError(f"{group_key!r} is not a group")
        inner = change
        if isinstance(change, Add | Move):
            inner = dataclasses.replace(change, after=change.after.rpartition(".")[2])
        if not isinstance(inner, Add):
            inner = dataclasses.replace(inner, key=sub)
        fields = _apply(list(group.fields), inner)
        if not all(isinstance(f, Field) for f in fields):
            raise LookupError("a group holds fields only")
        return [*items[:i], dataclasses.replace(group, fields=tuple(f for f in fields if isinstance(f, Field))),
                *items[i + 1:]]
    out = list(items)
    if isinstance(change, Add):
        if change.after:
            at = _index(out, change.after) + 1
        else:  # at the end of its section (or of the form)
            same = [i for i, x in enumerate(out) if x.section == change.item.section]
            at = same[-1] + 1 if same and change.item.section else len(out)
        out.insert(at, change.item)
        return out
    i = _index(out, key)
    if isinstance(change, Remove):
        del out[i]
    elif isinstance(change, Move):
        moved = out.pop(i)
        out.insert(_index(out, change.after) + 1 if change.after else 0, moved)
    else:
        f = out[i]
        if not isinstance(f, Field):
            raise LookupError(f"{key!r} is a group, not a field")
        if isinstance(change, Rename):
            f = dataclasses.replace(f, label=change.label, hint=f.hint if change.hint is None else change.hint,
                                    print_label=f.print_label if change.print_label is None else change.print_label)
        else:
            f = dataclasses.replace(f, choices=change.choices)
        out[i] = f
    return out
