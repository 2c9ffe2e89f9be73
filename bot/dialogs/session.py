"""One user filling in one form: ask, check, store, go back, skip, edit, preview, review, confirm.

State kept in the conversation row (ctx.state):
  form, sub        which form and submission is open
  mode             "ask" | "edit" | "review" | "cancel"
  at               an explicit step path (after 上一步 / 修改), else the first unanswered step
  tries            failed tries at the current step
  pending          options offered for an ambiguous answer ([value, label] pairs)
  toggles          multi-select ticks not yet confirmed
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from bot.context import Ctx
from bot.dialogs import walker as w
from bot.dialogs.fields import Choice, Field, Form, Group
from bot.dialogs.results import Ambiguous, Invalid, Message, Ok
from bot.documents.produce import key_of, produce
from bot.domain.charcount import count_chars
from bot.i18n import N_
from bot.messages import DOCX_MIME, PDF_MIME, Document, Reply
from storage.models import Submission

_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def _section(step: w.Step | None) -> str:
    if step is None:
        return ""
    return (step.group.section if step.group else step.field.section) or ""


def _display(value: Any, field: Field | None = None) -> str:
    if field is not None and field.show is not None and value is not None:
        return field.show(value)
    if value is None:
        return "—"
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "—"
    return str(value)


class FormSession:
    def __init__(self, ctx: Ctx, form: Form, sub: Submission) -> None:
        self.ctx = ctx
        self.form = form
        self.sub = sub
        self.answers: dict[str, Any] = dict(sub.answers or {})

    @property
    def state(self) -> dict[str, Any]:
        return self.ctx.state

    # -- where we are ------------------------------------------------------------------------------

    def step(self) -> w.Step | None:
        return w.current_step(self.form, self.answers, self.state.get("at"))

    def _reset_step_state(self) -> None:
        for k in ("tries", "pending", "toggles", "computed", "parts", "fresh"):
            self.state.pop(k, None)

    def _save(self) -> None:
        self.ctx.tx.save_answers(self.sub, self.answers)

    # -- asking ----------------------------------------------------------------------------------

    def question(self, prefix: str = "", step: w.Step | None = None) -> Reply:
        """The current question as one message (with `prefix` lines before it), or the review."""
        step = step or self.step()
        if step is None:
            return self.review(prefix)
        self.state["mode"] = "ask"
        self.state["at_path"] = step.path
        t, f = self.ctx.t, step.field
        lines = [prefix] if prefix else []
        if step.is_more:
            lines.append(t(f.label))
            return self.ctx.reply("\n".join(lines), [(t(c.text), f"c{i}") for i, c in enumerate(f.choices)])
        n, total = w.progress(self.form, self.answers, step)
        title = self.ctx.label(f.label)
        if step.group is not None:
            title = f"{t(step.group.label)} {step.index + 1} · {title}"
        lines.append(f"{title} ({n}/{total})")
        if f.compute is not None:
            return self._ask_computed(step, lines)
        if self.state.get("pending"):
            lines.append(t(N_("请选择：")))
            return self.ctx.reply("\n".join(lines), [(label, f"p{i}") for i, (_v, label)
                                                      in enumerate(self.state["pending"])])
        if f.hint:
            lines.append(t(f.hint))
        if f.guidance:
            lines.append(t(f.guidance))
        if f.long_text:
            lines.append(self._text_progress(step))
        offered = self._profile_offer(step)
        if offered is not None:
            lines.append(t(N_("沿用上次：{value}？"), value=_display(offered, f)))
            return self.ctx.reply("\n".join(lines), [(t(N_("是")), "pf_yes"), (t(N_("修改")), "pf_no")])
        current = w.get_value(self.answers, step.path)
        if current is not w._MISSING and self.state.get("at"):
            lines.append(t(N_("当前：{value}（发送新答案，或回复“跳过”保留）"), value=_display(current, f)))
        choices = f.choices_for(self.answers)
        if choices:
            if f.multi:
                ticks = set(self.state.get("toggles") or [])
                opts = [(t(c.text), f"t{i}") for i, c in enumerate(choices)] + [(t(N_("完成")), "done")]
                return self.ctx.reply("\n".join(lines), opts, multi=True,
                                      selected=[i in ticks for i in range(len(choices))] + [False])
            return self.ctx.reply("\n".join(lines), [(t(c.text), f"c{i}") for i, c in enumerate(choices)])
        return self.ctx.reply("\n".join(lines))

    def _ask_computed(self, step: w.Step, lines: list[str]) -> Reply:
        t, f = self.ctx.t, step.field
        result = f.compute(self.answers)
        if isinstance(result, Ok):
            self.state["computed"] = result.value
            lines.append(t(N_("计算结果：{value}"), value=t(str(result.value))))
            if result.note:
                lines.append(w.render_message(t, result.note))
            return self.ctx.reply("\n".join(lines), [(t(N_("确认")), "ok"), (t(N_("修改数字")), "edit")])
        self.state.pop("computed", None)
        lines.append(w.render_message(t, result))
        return self.ctx.reply("\n".join(lines), [(t(c.text), f"c{i}") for i, c in enumerate(f.choices_for(self.answers))])

    # -- answering -------------------------------------------------------------------------------

    def answer(self, text: str, action: str | None) -> Reply:
        step = self.step()
        if step is None:
            return self.review()
        f = step.field
        t = self.ctx.t
        if action == "edit":
            return self.edit_list()
        if action == "pf_yes" and (offered := self._profile_offer(step)) is not None:
            return self._accept(step, offered)
        if action == "pf_no":
            self.state["fresh"] = True
            return self.question(step=step)
        if f.long_text:
            return self._answer_long(step, text)
        if f.compute is not None and action == "ok" and "computed" in self.state:
            return self._accept(step, self.state["computed"])
        if self.state.get("pending"):
            if action and action.startswith("p"):
                value = self.state["pending"][int(action[1:])][0]
                return self._accept(step, value)
            self.state.pop("pending", None)  # they typed something new instead: check that
        choices = f.choices_for(self.answers)
        if f.compute is not None and "computed" in self.state and not action:
            return self._fail(step, Invalid("choose_listed"))
        if choices and f.multi:
            return self._answer_multi(step, choices, text, action)
        if choices:
            idx = int(action[1:]) if action and action.startswith("c") else w.match_choice(text, choices, t)
            if idx is None or idx >= len(choices):
                return self._fail(step, Invalid("choose_listed"))
            if step.is_more:
                return self._more(step, choices[idx].value == "yes")
            return self._accept(step, choices[idx].value)
        if self.ctx.incoming.attachment is not None and not text:
            return self._fail(step, Invalid("file_not_expected"))
        if f.validate is None:
            return self._accept(step, text)
        if not text:
            return self._fail(step, Invalid("empty"))
        result = f.validate(text, self.answers)
        if isinstance(result, Ambiguous):
            self.state["pending"] = [[v, label] for v, label in result.options]
            return self.question(w.render_message(t, result), step)
        if isinstance(result, Invalid):
            return self._fail(step, result)
        return self._accept(step, result.value, result.note)

    # -- long text in several messages, and lists of evidence ------------------------------------------

    DONE_WORDS = ("完成", "done", "/done", "好了", "写完了")

    def _answer_long(self, step: w.Step, text: str) -> Reply:
        t, f = self.ctx.t, step.field
        parts: list[str] = list(self.state.get("parts") or [])
        attachment = self.ctx.incoming.attachment
        if attachment is not None:
            saved = self._keep_file(attachment)
            parts.append(f"📎 {saved}")
            if text:
                parts.append(text)
        elif text.strip().lower() not in self.DONE_WORDS:
            if not text:
                return self._fail(step, Invalid("empty"))
            parts.append(text)
        else:
            if not parts:
                if f.optional:
                    return self._accept(step, [] if f.long_text == "list" else None)
                return self._fail(step, Invalid("empty"))
            value: Any = parts if f.long_text == "list" else "\n".join(parts)
            if f.validate is not None:
                result = f.validate(value, self.answers)
                if isinstance(result, Invalid):
                    self.state["parts"] = []
                    return self._fail(step, result)
                if isinstance(result, Ok):
                    value = result.value
            return self._accept(step, value)
        self.state["parts"] = parts
        lines = [] if f.long_text == "list" else [t(N_("已收到第 {n} 段。"), n=len(parts))]
        return self.ctx.reply("\n".join([*lines, self._text_progress(step), t(N_("继续发送，或回复“完成”。"))]))

    def _text_progress(self, step: w.Step) -> str:
        """Running count: this section, and the whole document against its guideline (warned, not enforced)."""
        t = self.ctx.t
        parts = self.state.get("parts") or []
        if step.field.long_text == "list":
            return t(N_("已列 {n} 项。"), n=len(parts))
        here = count_chars("\n".join(parts))
        line = t(N_("本节已写 {n} 字。"), n=here)
        guideline = self.form.text_guideline
        if guideline:
            total = here + sum(count_chars(v) for k, v in self.answers.items()
                               if isinstance(v, str) and k != step.path and self._is_long(k))
            line += " " + t(N_("全文约 {total}/{max} 字。"), total=total, max=guideline)
            if total > guideline:
                line += " " + t(N_("⚠ 已超过建议篇幅，请精简（仍可提交）。"))
        return line

    def _is_long(self, key: str) -> bool:
        return any(isinstance(i, Field) and i.key == key and i.long_text for i in self.form.items)

    def _keep_file(self, attachment) -> str:
        folder = self.ctx.settings.files_dir / str(self.ctx.tx.user.id) / str(self.sub.id)
        folder.mkdir(parents=True, exist_ok=True)
        name = _UNSAFE.sub("_", Path(attachment.filename).name)[-100:] or "file"
        stem, suffix, n = Path(name).stem, Path(name).suffix, 1
        while (folder / name).exists():  # two files called 证书.pdf are two files: keep both
            n += 1
            name = f"{stem}-{n}{suffix}"
        _write(folder / name, attachment.data)
        files = list(self.answers.get("_files") or [])
        files.append({"filename": name, "path": str(folder / name)})
        self.answers["_files"] = files
        self._save()
        return name

    # -- a firm's facts, asked once ---------------------------------------------------------------------

    def _profile_offer(self, step: w.Step) -> Any:
        key = step.field.profile_key
        if not key or self.state.get("fresh") or w.has_value(self.answers, step.path):
            return None
        value = (self.ctx.tx.user.prefs or {}).get("profile", {}).get(key)
        if value in (None, "", []):
            return None
        choices = step.field.choices_for(self.answers)
        if choices and not step.field.multi and value not in {c.value for c in choices}:
            return None
        return value

    def _remember_profile(self, step: w.Step, value: Any) -> None:
        key = step.field.profile_key
        if key and value not in (None, ""):
            profile = dict((self.ctx.tx.user.prefs or {}).get("profile", {}))
            if profile.get(key) != value:
                profile[key] = value
                self.ctx.tx.update_prefs(profile=profile)

    def _answer_multi(self, step: w.Step, choices: tuple[Choice, ...], text: str, action: str | None) -> Reply:
        ticks: list[int] = list(self.state.get("toggles") or [])
        if action and action.startswith("t"):
            i = int(action[1:])
            ticks = [x for x in ticks if x != i] if i in ticks else sorted([*ticks, i])
            self.state["toggles"] = ticks
            return self.question(step=step)
        if action == "done":
            if not ticks:
                return self._fail(step, Invalid("choose_at_least_one"))
            return self._accept(step, [choices[i].value for i in ticks])
        picked = w.match_multi(text, choices, self.ctx.t)
        if not picked:
            return self._fail(step, Invalid("choose_listed_multi"))
        return self._accept(step, [choices[i].value for i in picked])

    def _more(self, step: w.Step, yes: bool) -> Reply:
        group = step.group
        assert group is not None
        if yes:
            rows = list(self.answers.get(group.key) or [])
            rows.append(w.new_row())
            self.answers[group.key] = rows
        else:
            self.answers[f"{group.key}{w.MORE}"] = False
        self._save()
        self._reset_step_state()
        self.state.pop("at", None)
        return self.question()

    def _accept(self, step: w.Step, value: Any, note: Message | None = None) -> Reply:
        old = w.get_value(self.answers, step.path)
        w.set_value(self.answers, step.path, value)
        if old != value:
            w.clear_dependents(self.form, self.answers, step.path)
        self._save()
        self._remember_profile(step, value)
        self._reset_step_state()
        self.state.pop("at", None)
        t = self.ctx.t
        if value is None:  # skipped: nothing to show but that it was
            prefix = t(N_("✓ 已跳过：{label}"), label=t(step.field.label))
        else:
            prefix = t(N_("✓ 已保存：{label} {value}"), label=t(step.field.label), value=_display(value, step.field))
        if note:
            prefix += "\n" + w.render_message(t, note)
        reply = self.question(prefix)
        section, after = _section(step), _section(self.step())
        if section and after != section:
            reply = dataclasses.replace(reply, section_done=True)
        return reply

    def _fail(self, step: w.Step, error: Invalid) -> Reply:
        """One message: what is wrong, then the question again; after 3 tries, an example and ways out."""
        t = self.ctx.t
        tries = int(self.state.get("tries", 0)) + 1
        self.state["tries"] = tries
        lines = ["✗ " + w.render_message(t, error)]
        if tries >= w.MAX_TRIES:
            f = step.field
            if f.example:
                lines.append(t(N_("例如：{example}"), example=t(f.example)))
            ways = [t(N_("“帮助”看说明")), t(N_("“修改”改前面的答案"))]
            if f.optional:
                ways.insert(0, t(N_("“跳过”跳过此项")))
            lines.append(t(N_("也可以回复：{ways}"), ways="；".join(ways)))
        return self.question("\n".join(lines), step)

    # -- moving around -----------------------------------------------------------------------------

    def back(self) -> Reply:
        seq = [s for s in w.steps(self.form, self.answers)]
        step = self.step()
        idx = len(seq) if step is None else next((i for i, s in enumerate(seq) if s.path == step.path), 0)
        prev = next((seq[i] for i in range(idx - 1, -1, -1) if not seq[i].is_more), None)
        self._reset_step_state()
        if prev is None:
            return self.question(self.ctx.t(N_("已经是第一题了。")))
        self.state["at"] = prev.path
        return self.question()

    def skip(self) -> Reply:
        step = self.step()
        t = self.ctx.t
        if step is None:
            return self.review()
        if self.state.get("at") and w.has_value(self.answers, step.path):
            self._reset_step_state()
            self.state.pop("at", None)
            return self.question(t(N_("已保留原答案。")))
        if not step.field.optional:
            return self.question("✗ " + t(N_("{label}是必填项，不能跳过。"), label=t(step.field.label)), step)
        return self._accept(step, None)

    def edit_list(self, prefix: str = "") -> Reply:
        """Every answer to pick from; a repeatable group's items one entry each (edit, remove, move)."""
        t = self.ctx.t
        self.state["mode"] = "edit"
        self._reset_step_state()
        options = []
        listed: set[tuple[str, int]] = set()
        for s in w.steps(self.form, self.answers):
            if s.group is not None:
                if s.index is None or (s.group.key, s.index) in listed:
                    continue
                listed.add((s.group.key, s.index))
                row = (self.answers.get(s.group.key) or [{}])[s.index] if s.index < len(
                    self.answers.get(s.group.key) or []) else {}
                first = _display(row.get(s.group.fields[0].key)) if row else "—"
                options.append((f"{t(s.group.label)}{s.index + 1}：{first}"[:60], f"g:{s.group.key}.{s.index}"))
                continue
            if not w.has_value(self.answers, s.path):
                continue
            label = t(s.field.label)
            options.append((f"{label}：{_display(w.get_value(self.answers, s.path))}"[:60], f"e:{s.path}"))
        for item in self.form.items:
            if isinstance(item, Group) and item.applies(self.answers) and \
                    len(self.answers.get(item.key) or []) < item.max_items:
                options.append((t(N_("添加{label}"), label=t(item.label)), f"ga:{item.key}"))
        if not options:
            return self.question(t(N_("还没有可修改的答案。")))
        lines = [prefix] if prefix else []
        lines.append(t(N_("要修改哪一项？回复编号：")))
        return self.ctx.reply("\n".join(lines), options)

    def _group(self, key: str) -> Group | None:
        return next((i for i in self.form.items if isinstance(i, Group) and i.key == key), None)

    def group_action(self, action: str) -> Reply:
        """g: an item's menu; gd: remove it; gu: move it up; ga: add one."""
        t = self.ctx.t
        kind, _, ref = action.partition(":")
        key, _, idx = ref.partition(".")
        group = self._group(key)
        if group is None:
            return self.edit_list()
        rows = [dict(r) for r in self.answers.get(key) or []]
        if kind == "ga":
            rows.append(w.new_row())
            self.answers[key] = rows
            self.answers.pop(f"{key}{w.MORE}", None)
            self._save()
            self.state.pop("at", None)
            return self.question()
        i = int(idx) if idx.isdigit() else -1
        if not 0 <= i < len(rows):
            return self.edit_list()
        name = f"{t(group.label)}{i + 1}"
        if kind == "gd":
            if len(rows) <= group.min_items:
                return self.edit_list("✗ " + t(N_("至少要保留 {n} 项。"), n=group.min_items))
            rows.pop(i)
            self.answers[key] = rows
            self._save()
            return self.edit_list(t(N_("已删除{name}。"), name=name))
        if kind == "gu" and i > 0:
            rows[i - 1], rows[i] = rows[i], rows[i - 1]
            self.answers[key] = rows
            self._save()
            return self.edit_list(t(N_("已将{name}上移。"), name=name))
        options = [(t(N_("修改{label}"), label=t(f.label)), f"e:{key}.{i}.{f.key}") for f in group.fields]
        if len(rows) > group.min_items:
            options.append((t(N_("删除此项")), f"gd:{key}.{i}"))
        if i > 0:
            options.append((t(N_("上移")), f"gu:{key}.{i}"))
        options.append((t(N_("返回")), "edit"))
        return self.ctx.reply(name, options)

    def pick_edit(self, path: str) -> Reply:
        self.state["at"] = path
        self._reset_step_state()
        step = self.step()
        if step is None or step.path != path:
            self.state.pop("at", None)
        return self.question()

    # -- summary, review, document -------------------------------------------------------------------

    def summary_lines(self) -> list[str]:
        t = self.ctx.t
        unfilled = t(N_("（未填）"))
        lines: list[str] = []
        section = None
        for s in w.steps(self.form, self.answers):
            if s.is_more:
                continue
            sec = (s.group.section if s.group else s.field.section) or ""
            if sec and sec != section:
                section = sec
                lines.append(f"【{t(sec)}】")
            label = t(s.field.label)
            if s.group is not None:
                label = f"{t(s.group.label)}{s.index + 1} {label}"
            value = w.get_value(self.answers, s.path)
            lines.append(f"{label}：{unfilled if value is w._MISSING else _display(value, s.field)}")
        return lines

    def preview(self) -> Reply:
        t = self.ctx.t
        head = t(N_("《{title}》已填内容："), title=t(self.form.title))
        text = "\n".join([head, *self.summary_lines()])
        if self.step() is None:
            return self.review()
        return self.question(text + "\n—")

    def review(self, prefix: str = "") -> Reply:
        t = self.ctx.t
        self.state["mode"] = "review"
        self.state.pop("at", None)
        lines = [prefix] if prefix else []
        lines.append(t(N_("全部填完了。请核对《{title}》："), title=t(self.form.title)))
        lines.extend(self.summary_lines())
        lines.extend(t(n) for n in self.form.notes)
        return self.ctx.reply("\n".join(lines), [(t(N_("确认并生成文件")), "confirm"), (t(N_("修改")), "edit")])

    def filename(self) -> str:
        try:
            name = self.form.filename.format(**{k: v for k, v in self.answers.items() if isinstance(v, str)})
        except (KeyError, IndexError, ValueError):
            name = f"{self.form.id}.docx"
        return _UNSAFE.sub("_", name)

    async def confirm(self) -> Reply:
        """Render the document (and a PDF where LibreOffice is installed), keep it, hand it over."""
        t = self.ctx.t
        if self.step() is not None:
            return self.question(t(N_("还有未填的项目。")))
        made = self.ctx.extras.get("produced")
        if made is None or made.key != key_of(self.form, self.answers):
            made = await produce(self.form, self.answers, self.ctx.settings.pdf)
        filename = self.filename()
        docs = [self._keep(filename, made.docx)]
        lines = [t(N_("已生成《{title}》。请打印、加盖企业公章后报送。"), title=t(self.form.title))]
        if made.pdf is not None:
            docs.append(self._keep(filename.removesuffix(".docx") + ".pdf", made.pdf, PDF_MIME))
        elif made.pdf_failed:
            lines.append(t(N_("（PDF 暂时生成失败，请使用 Word 文件。）")))
        self.ctx.tx.set_status(self.sub, "complete")
        self.state["mode"] = "done"
        return dataclasses.replace(self.ctx.reply("\n".join(lines), document=docs[0]), documents=tuple(docs[1:]))

    def _keep(self, filename: str, data: bytes, mime: str = DOCX_MIME) -> Document:
        """Write a document under the user's folder, as `kept_documents` finds it again."""
        folder = self.ctx.settings.documents_dir / str(self.ctx.tx.user.id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.sub.id}-{filename}"
        _write(path, data)
        return Document(filename=filename, data=data, path=path, mime=mime)


def kept_documents(settings: Any, user_id: int, sub: Submission) -> list[Document]:
    """The files `FormSession.confirm` kept for a submission (its .docx, and PDF where one was made)."""
    folder = settings.documents_dir / str(user_id)
    prefix = f"{sub.id}-"
    return [Document(path.name.removeprefix(prefix), path.read_bytes(), path,
                     PDF_MIME if path.suffix == ".pdf" else DOCX_MIME)
            for path in sorted(folder.glob(f"{prefix}*")) if path.suffix in (".docx", ".pdf")]


def _write(path: Path, data: bytes) -> None:
    """Atomically: a crash leaves no half file under the real name."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
