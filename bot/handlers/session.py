"""One user's open form: its submission, the steps that apply, and what an accepted answer changes.

The screens (bot/handlers/form/) draw and handle; this binds a `Form` to a submission for one message:
the steps are computed once per message (and again only after an answer changes them), an accepted
answer clears what was derived from it, runs the form's cross-field rules and is kept in the profile.
Nothing here touches a file or the network: where a file is to be written, the screen names it in
`ctx.writes` and the engine writes it before the message's commit (its bytes go into the database with
that commit: `UserTx.keep_file`).
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.campaigns import status as campaigns
from bot.campaigns.model import pick
from bot.campaigns.repo import region_of
from bot.catalogue import repo as catalogue
from bot.config import Settings, local_today
from bot.dialogs import carry, printed
from bot.dialogs import walker as w
from bot.dialogs.fields import Field, Form, Group
from bot.dialogs.forms import FORMS, get_form
from bot.dialogs.items import link_items, parent_items, relinked
from bot.dialogs.results import Message
from bot.dialogs.summary import display, review_rows
from bot.documents.filenames import document_filename
from bot.domain.charcount import count_chars
from bot.handlers.context import Ctx, FileWrite
from bot.i18n import N_
from bot.messages import DOCX_MIME, PDF_MIME, Document
from storage import file_models as stored
from storage.file_models import DOCUMENT, EVIDENCE
from storage.hot import SubmissionLike, SubRow

if TYPE_CHECKING:
    from bot.campaigns.model import Campaign
    from storage.store import Store

_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')


PROFILE_YEARS = "profile_years"  # users.prefs: the year each of a year's own figures was given in


class FormSession:
    def __init__(self, ctx: Ctx, form: Form, sub: SubRow) -> None:
        self.ctx = ctx
        self.declared = form.origin or form  # the form file's form, every version (new submissions: its newest)
        self.form = form.at(sub.form_version)  # as this submission's version asks, reviews and prints it
        self.sub = sub
        self.answers: dict[str, Any] = dict(sub.answers or {})
        self._steps: list[w.Step] | None = None
        self.warnings: list[str] = []  # said once, before the next question (a printed form was changed)
        self.campaign: Any = None  # the campaign this form is for (prepare())
        self.catalogue: str | None = None  # that campaign's id, when it has a 需求目录 to pick 事项 from
        self.need: Any = None  # a 申请书's 需求, from the catalogue (shown at section 三)
        self.suggested: list[Any] = []  # needs the firm's 所属行业 and 企业概况 point to (at 事项名称)

    async def prepare(self) -> FormSession:
        """What the current step needs from outside the form: the campaign's 需求目录 (at 拟揭榜事项), the
        需求's own text (while a 申请书's section 三 is written). Read only where a step needs it."""
        step = self.step()
        if step is None:
            return self
        seq = self.steps()
        at = next((i for i, x in enumerate(seq) if x.path == step.path), 0)
        near = seq[at:at + 2]  # this step and the next: an answer here shows the next one
        needs_catalogue = any(x.field.catalogue for x in near)
        wants_need = self.form.per_item and any((x.field.section or "").startswith("三") for x in near)
        if not (needs_catalogue or wants_need):
            return self
        self.campaign = await campaign_of(self.ctx, self.form.id, self.sub)
        cid = self.campaign.id if self.campaign is not None else None
        store = self.ctx.tx.store
        if cid and await store.cached(("catalogue", cid), 30.0, lambda: catalogue.has_catalogue(store, cid)):
            self.catalogue = cid
            if any(x.field.catalogue == "name" and not w.has_value(self.answers, x.path) for x in near):
                self.suggested = await catalogue.suggest(self.ctx.tx.store, cid, self.answers.get("industry"),
                                                         str(self.answers.get("overview") or ""), limit=3)
            code = self.answers.get("item_code") or await self._item_code()
            if wants_need and code:
                self.need = await catalogue.by_code(self.ctx.tx.store, cid, str(code))
        return self

    async def _item_code(self) -> str | None:
        if not self.form.per_item:
            return None
        _parent, items = await parent_of(self.ctx, self.form.per_item)
        i = self.answers.get("_item")
        return items[i].get("code") if isinstance(i, int) and 0 <= i < len(items) else None

    @property
    def state(self):
        return self.ctx.state

    # -- where we are ------------------------------------------------------------------------------

    def steps(self) -> list[w.Step]:
        if self._steps is None:
            self._steps = w.steps(self.form, self.answers, self.sub.form_version)
        return self._steps

    def step(self) -> w.Step | None:
        return w.current_in(self.steps(), self.answers, self.state.position)

    def key(self, step: w.Step | None) -> str:
        """The step key a reply carries: "sme_match/revenue", "sme_match/items.0.name"."""
        return f"{self.form.id}/{step.path}" if step is not None else ""

    def progress(self, step: w.Step | None) -> tuple[int, int]:
        return w.progress_in(self.steps(), step)

    def section(self, step: w.Step | None) -> str:
        if step is None:
            return ""
        return (step.group.section if step.group else step.field.section) or ""

    # -- changing answers --------------------------------------------------------------------------

    def save(self) -> None:
        before = printed.print_state(self.sub)
        self._steps = None
        self.ctx.tx.save_answers(self.sub, self.answers)
        if before != "changed" and printed.print_state(self.sub) == "changed":
            t = self.ctx.t
            self.warnings.append("⚠ " + (t(N_("这份表格已盖章报送：交上去的纸质件与现在的答案不同了。改完请重新确认，生成新文件后再报送。"))
                                         if printed.was_handed_in(self.sub) else
                                         t(N_("已生成的表格与现在的答案不同了：改完请重新确认，生成新文件。"))))

    def take_warnings(self) -> list[str]:
        out, self.warnings = self.warnings, []
        return out

    # -- drafts of long text ---------------------------------------------------------------------------

    def draft(self, path: str) -> list[str]:
        return list((self.answers.get(printed.DRAFTS) or {}).get(path) or [])

    def set_draft(self, path: str, parts: list[str]) -> None:
        """Kept with the submission at once: 上一步, 修改 or a restart lose nothing typed."""
        drafts = dict(self.answers.get(printed.DRAFTS) or {})
        if parts:
            drafts[path] = list(parts)
        else:
            drafts.pop(path, None)
        if drafts:
            self.answers[printed.DRAFTS] = drafts
        else:
            self.answers.pop(printed.DRAFTS, None)
        self.ctx.tx.save_answers(self.sub, self.answers)

    def accept(self, step: w.Step, value: Any) -> list[Message]:
        """Store an answer; returns the notes of the form's rules that it completed."""
        old = w.get_value(self.answers, step.path)
        w.set_value(self.answers, step.path, value)
        if old != value:
            w.clear_dependents(self.form, self.answers, step.path)
        self.save()
        self.remember_profile(step, value)
        top = step.path.split(".", 1)[0]
        return [note for rule in self.form.rules
                if top in rule.fields and rule.ready(self.answers) and (note := rule.check(self.answers)) is not None]

    def set_group(self, key: str, rows: list[dict]) -> None:
        self.answers[key] = rows
        self.save()

    # -- a firm's facts, asked once ------------------------------------------------------------------

    def profile_offer(self, step: w.Step) -> Any:
        """What to offer at `step` ("沿用上次：…？"): last year's answer where it carries over (and was not
        taken over in one step), else the firm's fact kept from its earlier forms."""
        if self.state.fresh or w.has_value(self.answers, step.path) or self.draft(step.path):
            return None
        last = self.carried().get(step.path)
        if last not in (None, "", []):
            return last
        return self.profile_value(step.field)

    def carried(self) -> dict[str, Any]:
        """The earlier submission's answers that carry over into this one, until they are taken."""
        return dict((self.answers.get(carry.CARRIED) or {}).get("answers") or {})

    def profile_value(self, field: Field) -> Any:
        """The firm's fact kept for this field (from an earlier form), when it would be a valid answer."""
        key = field.profile_key
        if not key and not field.offer:
            return None
        prefs = self.ctx.tx.user.prefs or {}
        profile = prefs.get("profile", {})
        # a year's own figure (上年度营业收入: carries=False) is offered only in the year it was given in
        given_in = None if field.carries else (prefs.get(PROFILE_YEARS) or {})
        this_year = None if given_in is None else local_today(self.ctx.now()).year
        value = next((profile.get(k) for k in (key, *field.offer) if k and profile.get(k) not in (None, "", [])
                      and (given_in is None or given_in.get(k) == this_year)), None)
        if value is None:
            return None
        choices = field.choices_for(self.answers)
        if choices and not field.multi and value not in {c.value for c in choices}:
            return None
        if choices and field.multi and not (isinstance(value, list) and set(value) <= {c.value for c in choices}):
            return None
        return value

    def remember_profile(self, step: w.Step, value: Any) -> None:
        key = step.field.profile_key
        if key and value not in (None, ""):
            prefs = self.ctx.tx.user.prefs or {}
            changes: dict[str, Any] = {}
            profile = prefs.get("profile", {})
            if profile.get(key) != value:
                changes["profile"] = {**profile, key: value}
            if not step.field.carries:  # a year's own figure: the year it was given in (profile_value)
                years, year = prefs.get(PROFILE_YEARS) or {}, local_today(self.ctx.now()).year
                if years.get(key) != year:
                    changes[PROFILE_YEARS] = {**years, key: year}
            if changes:
                self.ctx.tx.update_prefs(**changes)

    # -- long text ---------------------------------------------------------------------------------

    def is_long(self, key: str) -> bool:
        return any(isinstance(i, Field) and i.key == key and i.long_text for i in self.form.items)

    def text_progress(self, step: w.Step, parts: list[str]) -> str:
        """Running count: this section, and the whole document against its guideline (warned, not enforced)."""
        t = self.ctx.t
        if step.field.long_text == "list":
            return t(N_("已列 {n} 项。"), n=len(parts))
        here = count_chars("\n".join(parts))
        line = t(N_("本节已写 {n} 字。"), n=here)
        guideline = self.form.text_guideline
        if guideline:
            total = here + sum(count_chars(v) for k, v in self.answers.items()
                               if isinstance(v, str) and k != step.path and self.is_long(k))
            line += " " + t(N_("全文约 {total}/{max} 字。"), total=total, max=guideline)
            if total > guideline:
                line += " " + t(N_("⚠ 已超过建议篇幅，请精简（仍可提交）。"))
        return line

    def keep_file(self, filename: str, data: bytes) -> str:
        """Keep a file sent as evidence with the submission; returns the name it is kept under."""
        folder = self.ctx.settings.files_dir / str(self.ctx.tx.user.id) / str(self.sub.id)
        name = _UNSAFE.sub("_", Path(filename).name)[-100:] or "file"
        files = list(self.answers.get("_files") or [])
        taken = {f.get("filename") for f in files}
        stem, suffix, n = Path(name).stem, Path(name).suffix, 1
        while name in taken:  # two files called 证书.pdf are two files: keep both
            n += 1
            name = f"{stem}-{n}{suffix}"
        self.ctx.writes.append(FileWrite(folder / name, data))
        self.ctx.tx.keep_file(EVIDENCE, f"{self.ctx.tx.user.id}/{self.sub.id}/{name}", data,
                              mimetypes.guess_type(name)[0] or "application/octet-stream", self.sub.id)
        files.append({"filename": name, "path": str(folder / name)})
        self.answers["_files"] = files
        self.save()
        return name

    # -- summary, documents -------------------------------------------------------------------------

    def summary_lines(self) -> list[str]:
        """The review: every question that applies with its answer, under its section's heading, then the
        lines the document prints from several answers (bot/dialogs/summary.py, shared with the pages)."""
        unfilled = self.ctx.t(N_("（未填）"))
        lines: list[str] = []
        section = None
        for row in review_rows(self.form, self.answers, self.sub.form_version, self.ctx.lang):
            if row.section and row.section != section:
                section = row.section
                lines.append(f"【{row.section}】")
            lines.append(f"{row.label}：{unfilled if row.missing else row.value}")
        return lines

    def filename(self, suffix: str | None = None) -> str:
        return document_filename(self.form, self.answers, suffix)

    def document(self, filename: str, data: bytes, mime: str = DOCX_MIME, *, keep: bool = True) -> Document:
        """A finished document, kept in the database with the confirm's commit (any process hands it out)
        and under the user's folder, its cache, where `kept_documents` finds it again. `keep=False`: in
        the folder only (the review's picture of page 1, made again at the confirm)."""
        name = f"{self.ctx.tx.user.id}/{self.sub.id}-{filename}"
        path = self.ctx.settings.documents_dir / str(self.ctx.tx.user.id) / f"{self.sub.id}-{filename}"
        self.ctx.writes.append(FileWrite(path, data))
        if keep:
            self.ctx.tx.keep_file(DOCUMENT, name, data, mime, self.sub.id)
        return Document(filename=filename, data=data, path=path, mime=mime)

    def show(self, value: Any, field: Field | None = None) -> str:
        """`display` in the user's language: official values, their translation beside them."""
        return display(value, field, None if self.ctx.lang == "zh_CN" else self.ctx.t)

    def group(self, key: str) -> Group | None:
        return next((i for i in self.form.items if isinstance(i, Group) and i.key == key), None)


async def kept_documents(settings: Settings, store: Store, user_id: int, sub: SubmissionLike) -> list[Document]:
    """The files a confirm kept for a submission (its .docx, and PDF where one was made): from the database
    (through the local folder, its cache: storage/file_models.py), and those only in the folder — kept
    before the files were stored in the database."""
    folder = settings.documents_dir / str(user_id)
    prefix = f"{sub.id}-"
    found: dict[str, Path] = {}
    for row in await stored.listed(store, DOCUMENT, user_id, sub.id):
        path = await stored.local_copy(store, settings.documents_dir, DOCUMENT, row.name, row.sha256)
        if path is not None:
            found[path.name] = path
    local = await asyncio.to_thread(lambda: [p for p in folder.glob(f"{prefix}*") if p.is_file()])
    for path in local:
        found.setdefault(path.name, path)
    paths = [found[n] for n in sorted(found) if found[n].suffix in (".docx", ".pdf")]
    return [Document(path.name.removeprefix(prefix), await asyncio.to_thread(path.read_bytes), path,
                     PDF_MIME if path.suffix == ".pdf" else DOCX_MIME)
            for path in paths]


# -- opening a form -----------------------------------------------------------------------------------


def split_ref(form_ref: str) -> tuple[str, int | None]:
    """"application:1" → ("application", 1): a per-item form and the item it is for."""
    form_id, _, item = form_ref.partition(":")
    return form_id, int(item) if item.isdigit() else None


async def parent_of(ctx: Ctx, per_item: str) -> tuple[dict, list[dict]]:
    """The answers of the form a per-item form hangs on, and its items (e.g. the 对接表's 拟揭榜事项)."""
    parent_id, _, group = per_item.partition(".")
    subs = await ctx.tx.submissions(parent_id)
    answers = subs[-1].answers if subs else {}
    return answers, parent_items(answers, group)


async def open_session(ctx: Ctx, form_ref: str | None = None) -> FormSession | None:
    """The form the user has open (or `form_ref`), with its newest submission (made if none)."""
    ref = form_ref or ctx.state.form or ""
    if "#" in ref:  # a per-item form whose item was removed: opened by its submission, kept to be read
        form_id, _, sid = ref.partition("#")
        form, orphan = get_form(form_id), await ctx.tx.submission(int(sid) if sid.isdigit() else None)
        if form is None or orphan is None or orphan.form_id != form_id:
            return None
        ctx.state.form, ctx.state.submission = ref, orphan.id
        return FormSession(ctx, form, orphan)
    form_id, item = split_ref(ref)
    form = get_form(form_id)
    if form is None:
        return None
    sub = None
    if form_ref is None or form_ref == ctx.state.form:
        sub = await ctx.tx.submission(ctx.state.submission)
    if sub is None and form.per_item:
        parent, items = await parent_of(ctx, form.per_item)
        if item is None or item >= len(items):
            return None
        sub = link_items(items, await ctx.tx.submissions(form.id)).get(item)
        if sub is None:
            answers = {"_item": item, "_item_id": items[item].get("_id"), "item_name": items[item]["name"],
                       "company_name": parent.get("company_name")}
            sub = await ctx.tx.new_submission(form.id, {k: v for k, v in answers.items() if v is not None},
                                              form_version=version_in(await campaign_of(ctx, form.id), form))
        elif (moved := relinked(sub, item, items[item])) is not None:
            ctx.tx.save_answers(sub, moved)  # the item moved or was renamed in the parent form
    elif sub is None:
        subs = await ctx.tx.submissions(form.id)
        sub = subs[-1] if subs else await ctx.tx.new_submission(
            form.id, {}, form_version=version_in(await campaign_of(ctx, form.id), form))
    if ref != ctx.state.form:
        ctx.state.reset_step()
        ctx.state.position = None
    ctx.state.form, ctx.state.submission = ref, sub.id
    return FormSession(ctx, form, sub)


def version_in(campaign: Campaign | None, form: Form) -> int:
    """The version of `form` a new submission for `campaign` is filled in: the one its notice prints (its
    pack's `version`) where the bot knows it, else the newest (a campaign that names none, or none yet)."""
    named = campaign.form_version(form.id) if campaign is not None else None
    known = form.origin or form
    return named if named is not None and 1 <= named <= known.version else known.version


async def campaign_of(ctx: Ctx, form_id: str, sub: SubmissionLike | None = None) -> Campaign | None:
    """The campaign a submission belongs to: the one it was confirmed for, else the one its firm's region
    and the newest year give (bot/campaigns/model.py pick)."""
    loaded = await campaigns.tx_campaigns(ctx.tx)
    if sub is not None and sub.campaign_id:
        fixed = next((c for c in loaded if c.id == sub.campaign_id), None)
        if fixed is not None:
            return fixed
    return pick(loaded, form_id, region_of(ctx.tx.user.prefs, await ctx.tx.submissions()))


async def follow_items(ctx: Ctx) -> list[str]:
    """A form whose items changed in this message: the per-item forms hanging on them follow (a renamed
    事项 renames its 申请书's “揭榜”事项名称, which then asks to be confirmed again). Returns what to say."""
    t = ctx.t
    notes: list[str] = []
    for parent in ctx.tx.saved():
        for child in FORMS.values():
            pid, _, group = child.per_item.partition(".")
            if pid != parent.form_id or (parent.loaded or {}).get(group) == (parent.answers or {}).get(group):
                continue
            items = parent_items(parent.answers or {}, group)
            for i, sub in link_items(items, await ctx.tx.submissions(child.id)).items():
                moved = relinked(sub, i, items[i])
                if moved is None:
                    continue
                renamed = moved.get("item_name") != (sub.answers or {}).get("item_name")
                was = printed.print_state(sub)
                ctx.tx.save_answers(sub, moved)
                if renamed and was != "draft":
                    notes.append(t(N_("《{title}》的“揭榜”事项名称已改为“{name}”，请打开它重新确认生成。"),
                                   title=t(child.short_title), name=moved.get("item_name")))
    return notes
