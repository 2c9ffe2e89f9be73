"""The words of the phone pages, marked for the catalogues; templates say `_("key")`."""

from __future__ import annotations

from typing import Any

from bot.i18n import N_, gettext

WORDS = {
    "brand": N_("揭榜助手"),
    "files": N_("我的文件"),
    "review": N_("填写内容"),
    "progress": N_("已答 {done}/{total}"),
    "returned": N_("退回原因：{note}"),
    "no_note": N_("请联系报送部门"),
    "view": N_("查看"),
    "word": N_("下载 Word"),
    "pdf": N_("下载 PDF"),
    "full": N_("查看全部内容"),
    "changed": N_("文件是修改前的版本：请在对话中重新确认，生成新文件。"),
    "no_files": N_("填完并确认后，这里会有可打印的文件。"),
    "no_pdf": N_("没有 PDF 版本，可下载 Word 打印。"),
    "preview_alt": N_("第1页预览"),
    "empty": N_("还没有表格。在对话中回复“开始”即可填写。"),
    "until": N_("本页链接有效期至 {time}"),
    "back": N_("返回我的文件"),
    "unfilled": N_("（未填）"),
    "expired_title": N_("链接已过期"),
    "expired_body": N_("为保护您的资料，链接只在一段时间内有效。"),
    "next": N_("在对话中回复“文件”，即可获得新的链接。"),
    "invalid_title": N_("链接无效"),
    "invalid_body": N_("这个链接不是有效的文件链接，或者不属于您。请使用对话中发给您的链接。"),
    "gone_title": N_("找不到这份文件"),
    "gone_body": N_("它可能已被删除或重新生成。"),
    "wx_title": N_("无法确认您的微信身份"),
    "wx_body": N_("请在微信中，从公众号菜单“我的文件”打开本页。"),
    "snapshot_body": N_("这是朋友圈里的快照页：请在微信中，从公众号菜单“我的文件”打开本页。"),
    "busy_title": N_("暂时打不开"),
    "busy_body": N_("请稍后再试。"),
    "unconfirmed_title": N_("这份表格还没有确认"),
    "unconfirmed_body": N_("请在对话中填完并确认。确认后，这里会按官方表格顺序列出您的答案，方便逐项复制到网上。"),
    # 网上填报: the answers one by one, to copy into the online platform
    "copy_link": N_("网上填报（逐项复制）"),
    "copy_title": N_("网上填报"),
    "copy_intro": N_("按官方表格顺序列出您的答案，逐项复制到大中小企业融通创新服务平台（xieshouxingdong.cn）"),
    "copy_not_platform": N_("本页由揭榜助手提供，不是该平台：复制后，请到平台的网页上粘贴。"),
    "copy_progress": N_("已填 {n} / {m} 项"),
    "copy": N_("复制"),
    "copied": N_("已复制"),
    "copy_failed": N_("没能自动复制：文字已选中，请长按后选“复制”。"),
    "marked": N_("已填"),
    "mark_failed": N_("没能保存“已填”，请再试一次。"),
    "mark_expired": N_("链接已过期：在对话中回复“文件”，即可获得新的链接。"),
    "chars": N_("共 {n} 字"),
    "chars_max": N_("共 {n} 字（不超过 {max} 字）"),
    "noscript": N_("复制按钮和“已填”需要打开 JavaScript；也可以长按或拖选文字复制。"),
}

STATES = {
    "draft": N_("填写中"),
    "complete": N_("已完成"),
    "changed": N_("已修改待确认"),
    "submitted": N_("已报送"),
    "received": N_("已收到纸质件"),
    "approved": N_("初审通过"),
    "returned": N_("退回"),
}

# The line a chat adds under a reply that has a page (bot.web.pagelinks.with_page_link).
LINK_LINES = {"files": N_("我的文件：{url}"), "review": N_("查看全部：{url}")}


def word(lang: str, key: str, **params: Any) -> str:
    return gettext(lang, WORDS[key], **params)


def state_name(lang: str, state: str) -> str:
    return gettext(lang, STATES.get(state, STATES["complete"]))


def link_line(lang: str, target: str, url: str) -> str:
    kind = "review" if target.startswith("review") else "files"
    return gettext(lang, LINK_LINES[kind], url=url)
