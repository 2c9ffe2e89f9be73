"""Short links to a user's pages: about 40 characters, an id in the database (not a path or an owner in
the URL), one user's pages only, expiring; whatever arrives in place of an id is a phone page, never a
500 or text/plain."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

import pytest

from bot.messages import Reply
from bot.web import page_url, pagelinks, with_page_link
from storage.link_models import PageLink
from tests.web.pages_helpers import finished_sme


def _id(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def test_a_link_is_short_and_names_nothing_but_a_stored_id(served):
    app, http, base = served
    url = await page_url(app, "telegram", "123456789", "files")
    assert re.fullmatch(re.escape(base) + r"/m/[A-Za-z0-9_-]{18}", url)
    assert len(url) - len(base) == 21  # "https://jiebang.example.cn/m/…" is 47 characters
    assert "123456789" not in url and "files" not in url
    async with app.store.sessions() as session:
        row = await session.get(PageLink, _id(url))
    assert (row.channel, row.external_id, row.target) == ("telegram", "123456789", "files")
    async with http.get(url) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
        assert r.headers["Cache-Control"] == "private, no-store" and r.headers["Referrer-Policy"] == "no-referrer"


async def test_a_link_is_used_again_while_more_than_half_its_time_is_left(served, clock):
    app, _http, _base = served
    first = await page_url(app, "telegram", "42", "files")
    clock.advance(minutes=29)
    assert await page_url(app, "telegram", "42", "files") == first  # one row, not one per reply
    assert await page_url(app, "telegram", "42", "review:7") != first  # another page
    assert await page_url(app, "wecom", "42", "files") != first  # another user (the same id elsewhere)
    clock.advance(minutes=2)
    assert await page_url(app, "telegram", "42", "files") != first  # under half left: a fresh one


async def test_an_expired_link_is_a_410_page_that_says_reply_files(served, clock):
    app, http, _base = served
    url = await page_url(app, "telegram", "42", "files")
    clock.advance(hours=1)
    async with http.get(url) as r:
        assert r.status == 410 and r.headers["Content-Type"] == "text/html; charset=utf-8"
        html = await r.text()
    assert '<html lang="zh-CN">' in html and 'name="viewport"' in html and "Noto Sans CJK SC" in html
    assert "链接已过期" in html and "在对话中回复“文件”" in html


async def test_expired_rows_are_forgotten_after_a_month_and_still_read_as_expired(served, clock):
    app, http, _base = served
    old = await page_url(app, "telegram", "42", "files")
    clock.advance(days=31, hours=2)
    await page_url(app, "telegram", "43", "files")  # a new link clears the long-expired ones
    async with app.store.sessions() as session:
        assert await session.get(PageLink, _id(old)) is None
    async with http.get(old) as r:
        assert r.status == 410 and "链接已过期" in await r.text()  # signed by us: expired, not "invalid"


@pytest.mark.parametrize("bad", ["x", "链接", "%FF%FE", "%ED%A0%80" * 6, "a" * 18, "a" * 5000, "%00" * 18,
                                 "..%2F..%2Fsecret.key", "wx%2F..%2F..", "files", "AAAAAAAAAAAAAAAAAA%20"])
async def test_anything_but_an_id_of_ours_is_a_403_page(served, bad):
    _app, http, base = served
    for path in (f"/m/{bad}", f"/m/{bad}/pdf/1", f"/m/{bad}/review/1", f"/m/{bad}/docx/1", f"/m/{bad}/preview/1"):
        async with http.get(base + path) as r:
            assert r.status in (403, 404), (path[:60], r.status)
            assert r.headers["Content-Type"] == "text/html; charset=utf-8"
            assert "链接无效" in await r.text()


async def test_a_tampered_id_is_refused_without_reading_the_database(served):
    app, http, _base = served
    url = await page_url(app, "telegram", "42", "files")
    link_id = _id(url)
    flipped = link_id[:5] + ("B" if link_id[5] == "A" else "A") + link_id[6:]  # the random part, not the tag
    assert not pagelinks.signed(app.settings.effective_secret(), flipped)
    async with http.get(url.replace(link_id, flipped)) as r:
        assert r.status == 403
    assert pagelinks.signed(app.settings.effective_secret(), link_id)
    assert not pagelinks.signed("another secret", link_id)


async def test_a_link_opens_its_own_users_forms_only(served):
    app, http, _base = served
    alice = await finished_sme(app, "alice")
    bob = await finished_sme(app, "bob", company="乙公司有限公司")
    mine = await page_url(app, "telegram", "bob", "files")
    async with http.get(mine) as r:
        html = await r.text()
    assert f'id="form-{bob.id}"' in html and f'id="form-{alice.id}"' not in html
    for kind in ("review", "docx", "pdf", "preview"):
        async with http.get(f"{mine}/{kind}/{alice.id}") as r:
            assert r.status == 403, kind
            assert "上海测试科技有限公司" not in await r.text()
    theirs = await page_url(app, "telegram", "bob", f"review:{alice.id}")  # a review link for a form not his
    async with http.get(theirs) as r:
        assert r.status == 403 and "链接无效" in await r.text()


async def test_without_a_public_url_there_is_no_link_and_the_log_says_so_once(served, caplog, monkeypatch):
    import dataclasses

    app, _http, _base = served
    app.settings = dataclasses.replace(app.settings, public_url="")
    monkeypatch.setattr(pagelinks, "_told_no_url", False)
    caplog.set_level(logging.WARNING, logger="bot.web.pagelinks")
    assert await page_url(app, "telegram", "42", "files") == ""
    assert await page_url(app, "telegram", "42", "files") == ""
    assert len([r for r in caplog.records if "JIEBANG_PUBLIC_URL" in r.getMessage()]) == 1
    reply = Reply("全部内容……", page="files", summary="简短")
    assert await with_page_link(app, "telegram", "42", reply, limit=5) == "全部内容……"  # the text whole


async def test_the_link_line_in_the_users_language_and_the_summary_when_the_text_is_too_long(served):
    app, _http, base = served
    long = Reply("审核内容\n" * 400, page="review:3", summary="《对接表》共 30 项，已填完。")
    sent = await with_page_link(app, "telegram", "42", long, limit=4096)
    assert sent.startswith("审核内容\n")  # under the limit: the whole text, then the link
    assert sent.splitlines()[-1] == f"查看全部：{base}/m/{_id(sent.splitlines()[-1])}"
    sent = await with_page_link(app, "telegram", "42", long, limit=1000)
    assert sent.startswith("《对接表》共 30 项，已填完。\n\n查看全部：" + base + "/m/")  # over it: the summary
    english = Reply("Done.", page="files", language="en")
    line = (await with_page_link(app, "telegram", "42", english)).splitlines()[-1]
    assert line.startswith("My files: " + base + "/m/")
    assert await with_page_link(app, "telegram", "42", Reply("没有页面")) == "没有页面"


async def test_a_non_ascii_or_control_character_path_is_a_page_not_a_500(served):
    _app, http, base = served
    for raw in ("/m/" + quote("链接", safe=""), "/m/%C3%28", "/m/a/b/c/d/e", "/m/", "/m/x/pdf/%E9%93%BE"):
        async with http.get(base + raw) as r:
            assert r.status in (403, 404) and r.headers["Content-Type"].startswith("text/html"), raw
