"""网上填报: a confirmed form's answers one by one, in the official table's order, to copy into the online
platform (大中小企业融通创新服务平台), each with its 已填 mark (storage/copy_models.py).

    rows = copy_rows(form, sub, "zh_CN", marked={"company_name"})
    # CopyRow(n=1, path="company_name", label="企业名称", copy="上海…", marked=True, chars=None, …)

The rows are the review's (bot.dialogs.summary.review_rows: the steps in order, a repeated group's items
as 事项1, 事项2 …), without its printed-as lines, which are no answer of their own. What a row copies is
`Row.copy`: the official Chinese answer whatever the page's language.

The mark is set with a POST from the page's own script: `same_origin` is its CSRF defence (the link's id in
the path is the capability; a browser says where a request comes from, and a page elsewhere cannot make a
browser say it comes from here), and the body must be JSON, which no form of another site can post.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from bot.dialogs.fields import Form, Group
from bot.dialogs.summary import review_rows
from bot.domain.charcount import count_chars
from bot.web.text import word
from storage.hot import SubmissionLike

MAX_PATH = 64  # copy_marks.path


@dataclass(frozen=True, slots=True)
class CopyRow:
    n: int  # 1, 2 … in the page (element ids)
    section: str
    label: str  # the official label (its translation beside it in other languages)
    path: str  # the step's path: what a mark names
    copy: str  # exactly what the 复制 button copies; "" when not answered
    gloss: str  # another language's reading of the answer ("民营 (Private)"), where it differs from `copy`
    long: bool
    chars: str  # a long text's 字 count as the programme counts it ("共 123 字"); "" for others
    marked: bool

    @property
    def missing(self) -> bool:
        return not self.copy


def copy_rows(form: Form, sub: SubmissionLike, lang: str, marked: Collection[str] = ()) -> list[CopyRow]:
    """Every answer of `sub` in the official table's order, marked where `marked` names its path."""
    rows: list[CopyRow] = []
    version = getattr(sub, "form_version", None)
    maxima = _max_chars(form.at(version))
    for r in review_rows(form, sub.answers, version, lang):
        if not r.path:
            continue
        chars = ""
        if r.long and r.copy:
            parts = r.path.split(".")
            limit = maxima.get((parts[0], parts[-1]) if len(parts) == 3 else ("", r.path))
            n = count_chars(r.copy)
            chars = word(lang, "chars_max", n=n, max=limit) if limit else word(lang, "chars", n=n)
        gloss = r.value if r.copy and r.value != r.copy and not r.long else ""
        rows.append(CopyRow(len(rows) + 1, r.section, r.label, r.path, r.copy, gloss, r.long, chars,
                            bool(r.copy) and r.path in marked))
    return rows


def _max_chars(form: Form) -> dict[tuple[str, str], int]:
    """(group key or "", field key) → the field's 字 guideline, for the long texts that have one."""
    out: dict[tuple[str, str], int] = {}
    for item in form.items:
        if isinstance(item, Group):
            out.update({(item.key, f.key): f.max_chars for f in item.fields if f.max_chars})
        elif item.max_chars:
            out[("", item.key)] = item.max_chars
    return out


def progress(rows: list[CopyRow]) -> tuple[int, int]:
    """(answers marked 已填, answers in all): the rows without an answer have nothing to copy."""
    answered = [r for r in rows if not r.missing]
    return sum(1 for r in answered if r.marked), len(answered)


def same_origin(request: web.Request, public_url: str = "") -> bool:
    """The request comes from a page of this site: Sec-Fetch-Site says so (every current browser sends it),
    or, from a browser that does not, its Origin is this host (as the request reached us, or JIEBANG_PUBLIC_URL's)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin", "")
    if not origin or origin == "null":
        return False
    netloc = urlsplit(origin).netloc.lower()
    allowed = {request.host.lower()}
    if public_url:
        allowed.add(urlsplit(public_url).netloc.lower())
    return bool(netloc) and netloc in allowed
