"""确认并生成文件: the form's documents made and handed over, the form marked complete for its campaign,
and the next step said in one message (the 申请书 still to write, what to print, where and by when)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from bot.campaigns import status as campaigns
from bot.dialogs import actions as a
from bot.dialogs import printed
from bot.dialogs.forms import FORMS
from bot.dialogs.items import link_items, parent_items
from bot.dialogs.state import Screen
from bot.documents.produce import PdfToFollow
from bot.handlers.context import Option
from bot.handlers.form.draw import question
from bot.handlers.session import FormSession, campaign_of
from bot.i18n import N_
from bot.messages import PDF_MIME, PNG_MIME, Reply

if TYPE_CHECKING:
    from bot.campaigns.model import Campaign


async def confirm(s: FormSession) -> list[Reply]:
    """Make the documents (the .docx, and a PDF where LibreOffice is installed) and hand them over, then say
    what comes next. The engine writes the files before the commit that marks the form complete."""
    ctx, t = s.ctx, s.ctx.t
    if s.step() is not None:
        return [question(s, t(N_("还有未填的项目。")))]
    assert ctx.produce is not None, "the engine passes the document maker"
    made = await (ctx.hand_over or ctx.produce)(s.form, s.answers, s.sub.id)
    docs = [s.document(s.filename(), made.docx)]
    lines = [t(N_("已生成《{title}》。"), title=t(s.form.title))]
    if made.pdf is not None:
        docs.append(s.document(s.filename(".pdf"), made.pdf, PDF_MIME))
    elif made.pdf_pending:  # a render worker is still making it: it follows in a message of its own
        lines.append(t(N_("（PDF 正在生成，稍后单独发给您。）")))
        ctx.pdfs_to_follow.append(PdfToFollow(s.sub.id, s.form.id, made.key, s.filename(".pdf")))
    elif made.pdf_failed:
        lines.append(t(N_("（PDF 暂时生成失败，请使用 Word 文件。）")))
    campaign = await campaign_of(ctx, s.form.id, s.sub)
    if campaign is not None and not s.sub.campaign_id:
        s.sub.campaign_id = campaign.id  # kept: next year's campaign does not take this form over
    s.answers[printed.PRINTED] = printed.digest(s.answers)
    s.save()
    ctx.tx.set_status(s.sub, "complete")
    s.state.screen = Screen.DONE
    picture = s.document(s.filename(".png"), made.preview, PNG_MIME) if made.preview else None
    done = dataclasses.replace(ctx.reply("\n".join(lines), document=docs[0]), documents=tuple(docs[1:]), image=picture,
                               page="files")
    return [done, await next_steps(s, campaign)]


async def next_steps(s: FormSession, campaign: Campaign | None) -> Reply:
    """After a confirmed form, in one short message: the 申请书 still to write, what to print and attach,
    the official platform, and where and by when the stamped paper goes."""
    ctx, t = s.ctx, s.ctx.t
    lines = [t(N_("接下来："))]
    options: list[Option] = []
    children = [f for f in FORMS.values() if f.per_item.partition(".")[0] == (s.form.per_item.partition(".")[0]
                                                                              or s.form.id)]
    for child in children:
        parent_id, _, group = child.per_item.partition(".")
        parents = await ctx.tx.submissions(parent_id)
        items = parent_items(parents[-1].answers if parents else {}, group)
        linked = link_items(items, await ctx.tx.submissions(child.id))
        for i, row in enumerate(items):
            sub = linked.get(i)
            if sub is not None and printed.print_state(sub) not in ("draft", "changed"):
                continue
            label = t(N_("写《{title}》{item}{n}《{name}》"), title=t(child.short_title), item=t(N_("事项")), n=i + 1,
                      name=row.get("name"))
            lines.append("· " + label)
            if len(options) < 3:
                options.append((label[:40], a.OpenForm(f"{child.id}:{i}")))
    paper = t(N_("· 打印、加盖企业公章"))
    if s.form.per_item or children:
        paper += t(N_("；申请书随附佐证材料复印件（专利、软著、认证等）"))
    lines.append(paper)
    lines.append(t(N_("· 同时在大中小企业融通创新平台（xieshouxingdong.cn）在线填报")))
    if campaign is not None:
        uf = await campaigns.tx_user_forms(ctx.tx)
        for line in (campaigns.deadline_line(ctx.lang, campaign, s.form.id, ctx.now()),
                     campaigns.where_line(ctx.lang, uf, campaign, s.form.id)):
            if line:
                lines.append("· " + line)
    lines.append(t(N_("盖章报送后回复“已报送”。")))
    options += [(t(N_("我的进度")), a.Command("status")), (t(N_("菜单")), a.Command("start"))]
    return ctx.reply("\n".join(lines), options)

