"""What the conversation says about the catalogue: short lines for phones, in the form's words.

The lead's 拟揭榜事项 step calls `bot.catalogue.search/by_code/suggest/nearest_codes` and shows these.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.catalogue.index import Need
from bot.i18n import N_, gettext

# "需求目录在哪里看？" and the like: a question about the catalogue, not an 事项名称.
WHERE_WORDS = ("需求目录", "目录在哪", "哪里看", "在哪看", "在哪里查", "怎么查", "去哪找", "哪里找", "catalogue",
               "catalog", "where is the list")
MAX_CONTENT = 300  # characters of 需求内容 shown while writing section 三


def is_catalogue_question(text: str) -> bool:
    """"需求目录在哪里看？", "在哪看目录", "where is the catalogue?": answered, never stored as a name."""
    t = "".join((text or "").split()).lower()
    asks = t.endswith(("?", "？", "吗", "呢")) or any(w in t for w in ("哪", "怎么", "where", "how"))
    return asks and any(w.replace(" ", "") in t for w in WHERE_WORDS)


def where_published(lang: str) -> str:
    """Where the official list is, for a campaign without a catalogue in the bot."""
    return gettext(lang, N_("需求目录由工业和信息化部在全国大中小企业融通创新服务平台（xieshouxingdong.cn）公开发布，"
                            "请从中查找事项名称和代码；也可回复“联系”问所在区中小企业主管部门。"))


def how_to_search(lang: str) -> str:
    return gettext(lang, N_("可直接发送关键词（如：雷达、电池热失控）或事项代码，从需求目录中查找。"))


def item_line(lang: str, n: int, need: Need) -> str:
    """"1. 车载毫米波雷达目标识别算法（2024-SH-017，某汽车集团）"."""
    firm = need.firm or gettext(lang, N_("不公开"))
    return f"{n}. {need.name}（{need.code}，{firm}）"


def results_text(lang: str, query: str, needs: Sequence[Need]) -> str:
    if not needs:
        return gettext(lang, N_("需求目录中没有找到“{query}”。换个说法试试，或发送事项代码。"), query=query[:20])
    lines = [gettext(lang, N_("找到以下事项，请选择："))]
    lines += [item_line(lang, i, n) for i, n in enumerate(needs, 1)]
    return "\n".join(lines)


def suggestions_text(lang: str, needs: Sequence[Need]) -> str:
    if not needs:
        return how_to_search(lang)
    lines = [gettext(lang, N_("按贵企业的所属行业和企业概况，推荐以下事项："))]
    lines += [item_line(lang, i, n) for i, n in enumerate(needs, 1)]
    lines.append(how_to_search(lang))
    return "\n".join(lines)


def unknown_code_text(lang: str, code: str, nearest: Sequence[Need]) -> str:
    """A typed code that is not in the catalogue: refused, with the nearest ones."""
    if not nearest:
        return gettext(lang, N_("需求目录中没有代码“{code}”。"), code=code[:40])
    lines = [gettext(lang, N_("需求目录中没有代码“{code}”。最接近的是："), code=code[:40])]
    lines += [item_line(lang, i, n) for i, n in enumerate(nearest, 1)]
    return "\n".join(lines)


def withdrawn_text(lang: str, need: Need) -> str:
    return gettext(lang, N_("事项“{name}”（{code}）已撤回，不能再揭榜。"), name=need.name, code=need.code)


def need_text(lang: str, need: Need, limit: int = MAX_CONTENT) -> str:
    """The need's own text, shown while the SME writes section 三 of its 申请书."""
    content = need.content.strip()
    if len(content) > limit:
        content = content[:limit] + "…"
    head = gettext(lang, N_("揭榜需求（{code}）：{name}"), code=need.code, name=need.name)
    return f"{head}\n{content}" if content else head
