"""网上填报 over HTTP: a confirmed form's answers in the official table's order, each exactly as stored (the
official Chinese whatever the page's language), its 已填 marks kept in the database and set only by the
page itself for the link's own user; a draft, another user's form and an expired link are refused."""

from __future__ import annotations

import html as htmlmod
import re

from sqlalchemy import select

from bot.web import page_url
from storage.copy_models import CopyMark
from storage.erase import erase_user
from tests.web.pages_helpers import draft_sme, finished_sme, set_language

OVERVIEW = ["公司专注工业软件研发，拥有发明专利12项。", "产品服务于长三角200余家制造企业。"]
SECOND = ("智能产线缺陷识别", "2024-SH-021")
ORDER = ["company_name", "credit_code", "reg_province", "reg_city", "reg_county", "reg_date", "legal_rep",
         "legal_rep_phone", "legal_rep_mobile", "contact", "contact_phone", "contact_mobile", "fax", "email",
         "registered_capital", "employees", "revenue", "industry", "size", "ownership", "enterprise_types",
         "address", "postcode", "overview", "items.0.name", "items.0.code", "items.1.name", "items.1.code"]
ROW = re.compile(r'<div class="answer[^"]*" id="row-\d+" data-path="([^"]+)">\s*<div class="label"[^>]*>(.*?)</div>'
                 r'\s*<div class="value([^"]*)"[^>]*>(.*?)</div>', re.S)


async def _get(http, url: str) -> tuple[int, str]:
    async with http.get(url) as r:
        return r.status, await r.text()


def _rows(html: str) -> list[tuple[str, str, str | None]]:
    """(path, label, the text the 复制 button copies; None for an unanswered row) in the page's order."""
    return [(path, htmlmod.unescape(label), None if "missing" in cls else htmlmod.unescape(value))
            for path, label, cls, value in ROW.findall(html)]


async def _mark(http, url: str, path: str, on: bool, origin: str | None = None, headers: dict | None = None):
    headers = {**(headers or {}), **({"Origin": origin} if origin is not None else {})}
    async with http.post(url, json={"path": path, "on": on}, headers=headers) as r:
        return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def _marks(app, sub_id: int) -> set[str]:
    async with app.store.sessions() as session:
        return set((await session.execute(select(CopyMark.path).where(CopyMark.submission_id == sub_id))).scalars())


async def test_every_answer_in_the_official_order_exactly_as_stored(served):
    app, http, _base = served
    sub = await finished_sme(app, "alice", overview=OVERVIEW, more_items=(SECOND,))
    files_url = await page_url(app, "telegram", "alice", "files")
    status, html = await _get(http, f"{files_url}/copy/{sub.id}")
    assert status == 200
    assert "按官方表格顺序列出您的答案，逐项复制到大中小企业融通创新服务平台（xieshouxingdong.cn）" in html
    assert "不是该平台" in html  # never pretends to be it
    rows = _rows(html)
    assert [path for path, _label, _text in rows] == ORDER
    copied = {path: text for path, _label, text in rows}
    labels = {path: label for path, label, _text in rows}
    answers = sub.answers
    assert copied["company_name"] == "上海测试科技有限公司"
    assert copied["reg_date"] == "2015-03-02" == answers["reg_date"]  # as stored, not 2015年3月2日
    assert copied["employees"] == "85" and copied["registered_capital"] == "500"
    assert copied["ownership"] == "民营"  # the option's own words
    assert copied["size"] == "小型"
    assert copied["enterprise_types"] == "专精特新“小巨人”企业、创新型中小企业"  # joined as the document joins them
    assert copied["industry"] == "65 软件和信息技术服务业"  # as the table prints it
    assert copied["overview"] == "\n".join(OVERVIEW) == answers["overview"]  # whole, with its line break
    assert copied["items.1.name"] == "智能产线缺陷识别" and copied["items.1.code"] == "2024-SH-021"
    assert copied["reg_county"] is None and copied["fax"] is None  # skipped: nothing to copy
    for path in ORDER:  # every other answer: its stored text
        if "." not in path and copied[path] is not None and path not in ("industry", "enterprise_types"):
            assert copied[path] == str(answers[path]), path
    assert labels["items.0.name"] == "事项1 事项名称" and labels["items.1.code"] == "事项2 代码"
    assert "共 36 字（不超过 500 字）" in html  # counted as the programme counts: "12", "200" one each
    assert html.count('class="copy"') == 26 and "已填 0 / 26 项" in html
    async with http.get(f"{files_url}/copy/{sub.id}") as r:  # its script runs by a nonce of this response only
        csp, again = r.headers["Content-Security-Policy"], await r.text()
    nonce = re.search(r"'nonce-([A-Za-z0-9_-]+)'", csp).group(1)
    assert f'<script nonce="{nonce}">' in again and nonce not in html and "connect-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp

    status, html = await _get(http, files_url)  # 我的文件 links to it from the finished form's card
    card = html.split(f'id="form-{sub.id}"', 1)[1].split("</section>", 1)[0]
    assert f'/copy/{sub.id}">网上填报（逐项复制）</a>' in card


async def test_english_pages_keep_the_official_chinese_answers(served):
    app, http, _base = served
    sub = await finished_sme(app, "emma")
    await set_language(app, "telegram", "emma", "en")
    url = f"{await page_url(app, 'telegram', 'emma', 'files')}/copy/{sub.id}"
    status, html = await _get(http, url)
    assert status == 200 and '<html lang="en">' in html and "Fill in online" in html and ">Copy</button>" in html
    copied = {path: (label, text) for path, label, text in _rows(html)}
    assert copied["ownership"] == ("企业性质 (Ownership)", "民营")  # the value copied is the official one
    assert "民营 (Private" in html  # its reading beside it
    assert "Entered 0 of 24" in html
    status, html = await _get(http, url + "?lang=zh")  # the page's language asked for in the link
    assert '<html lang="zh-CN">' in html and ">复制</button>" in html and copied["ownership"][1] == "民营"
    alice = await finished_sme(app, "alice")
    status, html = await _get(http, f"{await page_url(app, 'telegram', 'alice', 'files')}/copy/{alice.id}?lang=en")
    assert '<html lang="en">' in html and "Entered 0 of 24" in html


async def test_a_draft_another_users_form_and_an_expired_link_are_refused(served, clock):
    app, http, base = served
    alice = await finished_sme(app, "alice")
    draft = await draft_sme(app, "bob")
    bob = await page_url(app, "telegram", "bob", "files")
    status, html = await _get(http, f"{bob}/copy/{alice.id}")
    assert status == 403 and "链接无效" in html and "上海测试科技有限公司" not in html  # today's refusal page
    assert await _mark(http, f"{bob}/copy/{alice.id}/mark", "company_name", True, base) == (403, {"error": "not_yours"})
    assert await _marks(app, alice.id) == set()

    status, html = await _get(http, f"{bob}/copy/{draft.id}")  # not confirmed: nothing final to copy yet
    assert status == 404 and "这份表格还没有确认" in html and "请在对话中填完并确认" in html
    assert f'href="{bob.removeprefix(base)}"' in html  # back to 我的文件
    status, html = await _get(http, bob)
    card = html.split(f'id="form-{draft.id}"', 1)[1].split("</section>", 1)[0]
    assert "/copy/" not in card  # a draft's card has no 网上填报
    assert (await _mark(http, f"{bob}/copy/{draft.id}/mark", "company_name", True, base))[0] == 404

    url = f"{await page_url(app, 'telegram', 'alice', 'files')}/copy/{alice.id}"
    clock.advance(hours=2)  # past the hour the link was good for
    status, html = await _get(http, url)
    assert status == 410 and "链接已过期" in html and "在对话中回复“文件”" in html
    status, _ = await _mark(http, url + "/mark", "company_name", True, base)
    assert status == 410 and await _marks(app, alice.id) == set()


async def test_marks_are_kept_and_set_only_from_the_page_itself(served):
    app, http, base = served
    sub = await finished_sme(app, "alice")
    page = f"{await page_url(app, 'telegram', 'alice', 'files')}/copy/{sub.id}"
    mark = page + "/mark"
    assert await _mark(http, mark, "company_name", True, base) == (
        200, {"path": "company_name", "on": True, "marked": 1, "total": 24})
    assert (await _mark(http, mark, "items.0.code", True, headers={"Sec-Fetch-Site": "same-origin"}))[1]["marked"] == 2
    assert (await _mark(http, mark, "items.0.code", True, base))[1]["marked"] == 2  # twice: still one mark
    assert await _marks(app, sub.id) == {"company_name", "items.0.code"}
    status, html = await _get(http, page)  # a reload shows them
    assert "已填 2 / 24 项" in html
    assert re.search(r'data-path="company_name" aria-describedby="label-1" checked', html)
    assert 'id="row-1" data-path="company_name"' in html and 'class="answer marked" id="row-1"' in html
    assert not re.search(r'data-path="credit_code" aria-describedby="label-2" checked', html)
    assert (await _mark(http, mark, "company_name", False, base))[1]["marked"] == 1
    assert await _marks(app, sub.id) == {"items.0.code"}

    # a request another site's page could make: no proof it comes from this page, or proof it does not
    for headers in ({}, {"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Sec-Fetch-Site": "cross-site", "Origin": base}, {"Sec-Fetch-Site": "same-site"}):
        status, body = await _mark(http, mark, "credit_code", True, headers=headers)
        assert (status, body) == (403, {"error": "not_same_origin"}), headers
    async with http.post(mark, data={"path": "credit_code", "on": "true"}, headers={"Origin": base}) as r:
        assert r.status == 415  # a form's post, which any site can make: refused
    assert (await _mark(http, mark, "reg_county", True, base))[0] == 400  # skipped: no answer to mark
    assert (await _mark(http, mark, "no_such_field", True, base))[0] == 400
    async with http.post(mark, json={"path": "credit_code", "on": "yes"}, headers={"Origin": base}) as r:
        assert r.status == 400
    assert await _marks(app, sub.id) == {"items.0.code"}

    await erase_user(app.store, "telegram", "alice")  # 删除我的数据 takes the marks with the answers
    assert await _marks(app, sub.id) == set()
