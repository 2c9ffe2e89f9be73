"""The form walker: asks a form's questions one at a time, checks each answer, goes back, skips,
edits, previews, summarises and confirms. It works for any `Form`; nothing here names a field.

Where the user stands is `bot.dialogs.state.ConversationState`; the answers live in the submission row.
Both are written in the same commit as the message that changed them.

A step is addressed by a path: "company_name", "items.0.name" (group item fields), "items.#more"
(the question "add another?"). The position is "the first unanswered step", unless the user went
back or picked an answer to edit: then `state.position` holds that path until it is answered.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.dialogs.errors import MESSAGES
from bot.dialogs.fields import Answers, Choice, Field, Form, Group
from bot.dialogs.results import Ambiguous, Invalid, Message
from bot.i18n import N_
from storage.hot import SubmissionLike

MAX_TRIES = 3
MORE = "#more"
_SPLIT_MULTI = re.compile(r"[\s,，、;；/]+")

YES_NO = (Choice("yes", N_("是")), Choice("no", N_("否")))

# The walker's own re-asks; the validators' messages are in bot.dialogs.errors.
WALKER_MESSAGES = {
    "empty": N_("请输入内容。"),
    "required": N_("这一项必须填写，不能跳过。"),
    "catalogue_text": "{text}",
    "nothing_to_close": N_("这一题不用回复“完成”，请直接发送答案。"),
    "catalogue_picked": N_("事项名称：{name}，代码：{code}（来自需求目录）"),
    "choose_listed": N_("请从下面的选项中选择，回复编号即可。"),
    "choose_listed_multi": N_("请回复选项编号，可多选，例如：1,3"),
    "choose_at_least_one": N_("请至少选择一项。"),
    "choose_one": N_("找到多个匹配，请选择："),
    "file_not_expected": N_("这一题需要文字回答，请直接输入。"),
}


@dataclass(frozen=True, slots=True)
class Step:
    path: str
    field: Field
    group: Group | None = None
    index: int | None = None  # item number within the group, from 0
    is_more: bool = False  # the question "add another?" of a group


def _more_field(group: Group) -> Field:
    return Field(f"{group.key}{MORE}", group.more_question, choices=YES_NO)


_STEPS: dict[tuple[int, int | None, int], Step] = {}  # (field, item index, group) → its Step, made once


def _step(field: Field, group: Group | None = None, index: int | None = None) -> Step:
    key = (id(field), index, id(group))
    step = _STEPS.get(key)
    if step is None:
        if group is None:
            path = field.key
        elif index is None:
            path = f"{group.key}.{MORE}"
        else:
            path = f"{group.key}.{index}.{field.key}"
        step = _STEPS[key] = Step(path, field, group, index, path.endswith(MORE))
    return step


_MORE_FIELDS: dict[int, Field] = {}


_PLANS: dict[int, tuple[Form, list[tuple[Field | Group, Step | None]]]] = {}


def _plan(form: Form) -> list[tuple[Field | Group, Step | None]]:
    """The items of `form` (a form at one version), each with its Step when it is always asked (no
    condition). Kept with the form it was made for (an id alone may be a new form's, in tests)."""
    made = _PLANS.get(id(form))
    if made is None or made[0] is not form:
        made = _PLANS[id(form)] = (form, [
            (item, _step(item) if isinstance(item, Field) and item.when is None else None) for item in form.items])
    return made[1]


def steps(form: Form, answers: Answers, version: int | None = None) -> list[Step]:
    """The steps that apply, in order, given the answers so far (conditions are re-read each time), in the
    form as version `version` asks it (a submission's own; default: the form as it is now), in that
    version's order, with its labels and choices (Form.at)."""
    out: list[Step] = []
    form = form.at(version)
    v = form.version
    for item, always in _plan(form):
        if always is not None:
            out.append(always)
        elif isinstance(item, Group):
            if not item.applies(answers):
                continue
            rows = answers.get(item.key) or []
            count = max(len(rows), item.min_items)
            conditional = any(f.when is not None for f in item.fields)
            for i in range(count):
                row = rows[i] if i < len(rows) else {}
                ctx = {**answers, **row} if conditional else answers
                out.extend(_step(f, item, i) for f in item.fields
                           if f.applies(ctx) and f.in_version(v))
            if count < item.max_items and answers.get(f"{item.key}{MORE}") is None:
                more = _MORE_FIELDS.get(id(item))
                if more is None:
                    more = _MORE_FIELDS[id(item)] = _more_field(item)
                out.append(_step(more, item))
        elif item.applies(answers):
            out.append(_step(item))
    return out


MISSING = object()
_MISSING = MISSING


def get_value(answers: Answers, path: str) -> Any:
    parts = path.split(".")
    if len(parts) == 1:
        return answers.get(path, _MISSING)
    key, idx, sub = parts
    if sub == MORE:
        return _MISSING
    rows = answers.get(key) or []
    i = int(idx)
    return rows[i].get(sub, _MISSING) if i < len(rows) else _MISSING


def has_value(answers: Answers, path: str) -> bool:
    if "." not in path:
        return path in answers
    return get_value(answers, path) is not _MISSING


def new_row() -> dict[str, Any]:
    """A new item of a repeatable group. Its `_id` stays with it through moves, removals of others and
    edits, so what hangs on an item (its 申请书) can find it."""
    return {"_id": uuid.uuid4().hex[:12]}


def set_value(answers: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    if len(parts) == 1:
        answers[path] = value
        return
    key, idx, sub = parts
    rows = [dict(r) for r in (answers.get(key) or [])]
    i = int(idx)
    while len(rows) <= i:
        rows.append(new_row())
    rows[i][sub] = value
    answers[key] = rows


def clear_dependents(form: Form, answers: dict[str, Any], changed: str) -> None:
    """A changed answer clears the answers derived from it (e.g. 企业规模 from 从业人数)."""
    pending = [changed]
    while pending:
        key = pending.pop()
        for item in form.items:
            if isinstance(item, Field) and key in item.depends_on and item.key in answers:
                del answers[item.key]
                pending.append(item.key)


def current_step(form: Form, answers: Answers, at: str | None) -> Step | None:
    return current_in(steps(form, answers), answers, at)


def current_in(seq: list[Step], answers: Answers, at: str | None) -> Step | None:
    """The step at `at` if it applies, else the first unanswered one (None: everything answered)."""
    if at:
        for s in seq:
            if s.path == at:
                return s
    for s in seq:
        if s.is_more or not has_value(answers, s.path):
            return s
    return None


def progress(form: Form, answers: Answers, step: Step | None) -> tuple[int, int]:
    return progress_in(steps(form, answers), step)


def progress_in(all_steps: list[Step], step: Step | None) -> tuple[int, int]:
    """(number of this question, questions in all) — "add another?" questions are not counted."""
    seq = [s for s in all_steps if not s.is_more]
    total = len(seq)
    if step is None:
        return total, total
    for i, s in enumerate(seq, 1):
        if s.path == step.path:
            return i, total
    return total, total


def answered_count(form: Form, answers: Answers, version: int | None = None) -> tuple[int, int, list[Step]]:
    """(questions answered, questions in all, the required ones still unanswered) in the form's `version`
    (a submission's own: a form changed next year never turns a finished old one into "26/27")."""
    seq = [s for s in steps(form, answers, version) if not s.is_more]
    answered = sum(1 for s in seq if has_value(answers, s.path))
    missing = [s for s in seq if not s.field.optional and not has_value(answers, s.path)]
    return answered, len(seq), missing


def answered_sub(form: Form, sub: SubmissionLike) -> tuple[int, int, list[Step]]:
    """`answered_count` of a submission, in the version of the form it was filled against."""
    return answered_count(form, sub.answers or {}, getattr(sub, "form_version", None))


# -- matching an answer to choices -----------------------------------------------------------------


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", s).lower()


def match_choice(text: str, choices: tuple[Choice, ...], tr: Callable[[str], str]) -> int | None:
    """Index of the choice the text names: by number, by value, or by (translated) label."""
    t = text.strip().rstrip(".、")
    if t.isdigit():
        n = int(t)
        return n - 1 if 1 <= n <= len(choices) else None
    nt = _norm(t)
    for i, c in enumerate(choices):
        if nt in (_norm(c.value), _norm(c.text), _norm(tr(c.text))):
            return i
    # a unique prefix / containment match ("民营企业" → 民营, "小巨人" → 专精特新“小巨人”企业)
    hits = [i for i, c in enumerate(choices) if nt and (_norm(c.value) in nt or nt in _norm(c.value))]
    if len(hits) == 1:
        return hits[0]
    # the first words of an option's label ("确认" for "确认：本企业不是发榜大企业的子公司…")
    if len(nt) >= 2 and not hits:
        heads = [i for i, c in enumerate(choices)
                 if _norm(tr(c.text)).startswith(nt) or _norm(c.text).startswith(nt)]
        return heads[0] if len(heads) == 1 else None
    return None


def match_multi(text: str, choices: tuple[Choice, ...], tr: Callable[[str], str]) -> list[int] | None:
    parts = [p for p in _SPLIT_MULTI.split(text.strip()) if p]
    if not parts:
        return None
    picked: list[int] = []
    for p in parts:
        i = match_choice(p, choices, tr)
        if i is None:
            return None
        if i not in picked:
            picked.append(i)
    return sorted(picked)


def render_message(tr: Callable[[str], str], msg: Message | Invalid | Ambiguous) -> str:
    template = WALKER_MESSAGES.get(msg.code) or MESSAGES.get(msg.code, msg.code)
    params = {k: (tr(v) if isinstance(v, str) else v) for k, v in (msg.params or {}).items()}
    try:
        return tr(template).format(**params)
    except (KeyError, IndexError, ValueError):
        return tr(template)
