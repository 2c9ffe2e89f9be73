"""我的文件 in a real browser at phone size (390×844): a user's forms with their states and the page-1
picture, 查看 shows the PDF inline, 下载 Word gives the .docx, another user's forms are refused, an
expired link is a phone page that says what to do. One screenshot per page (under the test's tmp dir)."""

from __future__ import annotations

import io
import re

import docx
import pytest
from aiohttp import web

from bot.app import open_app
from bot.config import Settings
from bot.documents.pdf import pdf_available
from bot.documents.preview import preview_available
from bot.web import page_url
from bot.web.downloads import add_routes
from tests.web.pages_helpers import Clock, draft_sme, finished_sme, set_status

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def pdf():
    return True


@pytest.fixture
async def app(tmp_path, clock, pdf):
    app = await open_app(Settings(data_dir=tmp_path / "data", link_ttl_seconds=3600, pdf=pdf), now=clock)
    yield app
    await app.close()


async def _serve(app, live_server) -> str:
    """The pages on a loopback server; links are made for its address."""
    web_app = web.Application()
    add_routes(web_app, app)
    base = await live_server(web_app)
    app.settings = Settings(data_dir=app.settings.data_dir, link_ttl_seconds=3600, pdf=app.settings.pdf,
                            public_url=base)
    return base


async def _phone(browser):
    page = await browser.new_page()
    await page.set_viewport_size(PHONE)
    return page


@pytest.mark.skipif(not (pdf_available() and preview_available()), reason="needs LibreOffice and pdftoppm")
async def test_my_files_shows_states_and_page_one_and_opens_the_pdf_and_the_word_file(app, browser, live_server,
                                                                                      shots):
    base = await _serve(app, live_server)
    done = await finished_sme(app, "alice")
    draft = await draft_sme(app, "alice-draft")  # another user: her drafts are not on alice's page
    page = await _phone(browser)
    url = await page_url(app, "telegram", "alice", "files")
    assert re.fullmatch(re.escape(base) + r"/m/[A-Za-z0-9_-]{18}", url)

    downloads = []
    page.on("download", lambda d: downloads.append(d))
    await page.goto(url)
    card = page.locator(f"#form-{done.id}")
    text = await card.inner_text()
    assert "中小企业“揭榜”对接表" in text and "已完成" in text
    assert "查看" in text and "下载 Word" in text
    assert "截止" in text and "报送" in text  # by when and where to hand it in
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    img = card.locator("img.preview")
    await img.scroll_into_view_if_needed()
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await img.element_handle())
    shown = await img.bounding_box()
    assert 300 < shown["width"] <= 390 and shown["height"] > shown["width"]  # an A4 page, as wide as the phone
    assert f"form-{draft.id}" not in await page.content()
    await shots(page, "my-files")

    async with page.expect_response(re.compile(r"/pdf/")) as opened:
        await card.get_by_text("查看", exact=True).click()
    response = await opened.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline;")
    await page.wait_for_url(re.compile(r"/pdf/\d+$"))
    assert await page.evaluate("document.contentType") == "application/pdf"  # shown in the browser's viewer
    await shots(page, "pdf-inline")
    assert (await (await page.request.get(page.url)).body()).startswith(b"%PDF")
    assert downloads == []  # shown, not downloaded
    await page.go_back()

    async with page.expect_download() as downloading:
        await page.locator(f"#form-{done.id} a.word").click()
    download = await downloading.value
    assert download.suggested_filename == "中小企业揭榜对接表-上海测试科技有限公司.docx"
    word = docx.Document(io.BytesIO((await download.path()).read_bytes()))
    assert "上海测试科技有限公司" in "\n".join(c.text for t in word.tables for r in t.rows for c in r.cells)

    await card.get_by_text("查看全部内容").click()
    await page.wait_for_url("**/review/**")
    review = await page.inner_text("#answers")
    assert "统一社会信用代码" in review and "91310000132149237G" in review and "高精度视觉检测算法" in review
    await shots(page, "review")


@pytest.mark.parametrize("pdf", [False])
async def test_states_a_person_reads_and_the_reason_a_form_came_back(app, browser, live_server, shots):
    await _serve(app, live_server)
    returned = await finished_sme(app, "bob")
    await set_status(app, returned.id, "returned", "企业规模与营业收入不符，请核对")
    page = await _phone(browser)
    await page.goto(await page_url(app, "telegram", "bob", "files"))
    text = await page.inner_text(f"#form-{returned.id}")
    assert "退回" in text and "退回原因：企业规模与营业收入不符，请核对" in text
    await shots(page, "returned")

    await set_status(app, returned.id, "complete", None, company_name="上海改过名字有限公司")  # changed after print
    await page.reload()
    text = await page.inner_text(f"#form-{returned.id}")
    assert "已修改待确认" in text and "重新确认" in text
    await set_status(app, returned.id, "approved", None, company_name="上海测试科技有限公司")
    await page.reload()
    text = await page.inner_text(f"#form-{returned.id}")
    assert "初审通过" in text and "截止" not in text  # nothing left to hand in


@pytest.mark.parametrize("pdf", [False])
async def test_another_users_forms_are_refused(app, browser, live_server, shots):
    await _serve(app, live_server)
    alice = await finished_sme(app, "alice")
    await finished_sme(app, "mallory", company="马洛里有限公司")
    page = await _phone(browser)
    mine = await page_url(app, "telegram", "mallory", "files")
    for path in (f"/review/{alice.id}", f"/pdf/{alice.id}", f"/docx/{alice.id}", f"/preview/{alice.id}"):
        response = await page.goto(mine + path)
        assert response.status == 403, path
        assert "链接无效" in await page.inner_text("#message")
        assert "上海测试科技有限公司" not in await page.content()
    await shots(page, "refused")
    response = await page.goto(mine[:-1] + ("A" if mine[-1] != "A" else "B"))  # a link we never made
    assert response.status == 403 and "链接无效" in await page.inner_text("#message")


@pytest.mark.parametrize("pdf", [False])
async def test_an_expired_link_is_a_phone_page_that_says_what_to_do(app, browser, live_server, clock, shots):
    await _serve(app, live_server)
    await finished_sme(app, "carol")
    url = await page_url(app, "telegram", "carol", "files")
    clock.advance(hours=2)  # past the hour the link was good for
    page = await _phone(browser)
    response = await page.goto(url)
    assert response.status == 410 and response.headers["content-type"].startswith("text/html")
    message = await page.inner_text("#message")
    assert "链接已过期" in message and "在对话中回复“文件”，即可获得新的链接。" in message
    assert "width=device-width" in await page.get_attribute("meta[name=viewport]", "content")
    font = await page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "Noto Sans CJK SC" in font and "PingFang SC" in font and "Microsoft YaHei" in font
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shots(page, "expired")
