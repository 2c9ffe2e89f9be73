"""网上填报 in a real browser at phone size (390×844): 复制 puts exactly the stored answer on the clipboard (a
short answer, a choice, several choices, a long section with its line break), by the Clipboard API and
by the fallback where there is none; 已填 on two rows survives a reload and the count says 2; the page reads
without JavaScript too; on a desktop the answers sit in a table; another user's page is refused. One
screenshot per page (under the test's tmp dir)."""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from bot.app import open_app
from bot.config import Settings
from bot.web import page_url
from bot.web.downloads import add_routes
from tests.web.pages_helpers import Clock, finished_sme

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
OVERVIEW = ["公司专注工业软件研发，拥有发明专利12项。", "产品服务于长三角200余家制造企业。"]


@pytest.fixture
async def app(tmp_path):
    app = await open_app(Settings(data_dir=tmp_path / "data", link_ttl_seconds=3600, pdf=False), now=Clock())
    yield app
    await app.close()


async def _serve(app, live_server) -> str:
    web_app = web.Application()
    add_routes(web_app, app)
    base = await live_server(web_app)
    app.settings = Settings(data_dir=app.settings.data_dir, link_ttl_seconds=3600, pdf=False, public_url=base)
    return base


async def _phone(browser):
    page = await browser.new_page()
    await page.set_viewport_size(PHONE)
    return page


def _row(page, path: str):
    return page.locator(f'.answer[data-path="{path}"]')


async def _copy(page, path: str) -> str:
    """Tap 复制 on the row of `path`; what the clipboard then holds."""
    button = _row(page, path).locator("button.copy")
    await button.click()
    await page.wait_for_function("b => b.textContent === '已复制'", arg=await button.element_handle())
    return await page.evaluate("navigator.clipboard.readText()")


async def test_copy_puts_the_stored_answer_on_the_clipboard_and_marks_survive_a_reload(app, browser, live_server,
                                                                                        shots):
    base = await _serve(app, live_server)
    sub = await finished_sme(app, "alice", overview=OVERVIEW)
    await browser.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = await _phone(browser)
    await page.goto(await page_url(app, "telegram", "alice", "files"))
    await page.locator(f"#form-{sub.id}").get_by_text("网上填报（逐项复制）").click()
    await page.wait_for_url(re.compile(rf"/copy/{sub.id}$"))
    head = await page.inner_text("#copy-head")
    assert "按官方表格顺序列出您的答案，逐项复制到大中小企业融通创新服务平台（xieshouxingdong.cn）" in head
    assert "不是该平台" in head
    assert await page.inner_text("#progress") == "已填 0 / 24 项"
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    await shots(page, "copy-page")

    assert await _copy(page, "credit_code") == "91310000132149237G"
    assert await _copy(page, "ownership") == "民营"
    assert await _copy(page, "enterprise_types") == "专精特新“小巨人”企业、创新型中小企业"
    assert await _copy(page, "overview") == "\n".join(OVERVIEW) == sub.answers["overview"]
    assert await _row(page, "overview").locator(".chars").inner_text() == "共 36 字（不超过 500 字）"
    await shots(page, "copied")

    for path in ("company_name", "overview"):
        async with page.expect_response(re.compile(r"/mark$")) as posted:
            await _row(page, path).locator("label.markbox").click()
        assert (await posted.value).status == 200
    await page.wait_for_function("document.getElementById('progress').textContent === '已填 2 / 24 项'")
    await page.reload()
    assert await page.inner_text("#progress") == "已填 2 / 24 项"
    for path in ("company_name", "overview"):
        assert await _row(page, path).locator("input.mark").is_checked()
    assert not await _row(page, "credit_code").locator("input.mark").is_checked()
    await shots(page, "marked")

    async with page.expect_response(re.compile(r"/mark$")):  # and off again
        await _row(page, "company_name").locator("input.mark").uncheck()
    await page.wait_for_function("document.getElementById('progress').textContent === '已填 1 / 24 项'")
    await page.reload()
    assert await page.inner_text("#progress") == "已填 1 / 24 项"
    assert not await _row(page, "company_name").locator("input.mark").is_checked()

    await page.set_viewport_size(DESKTOP)  # a desktop: label, answer and buttons side by side
    label = await _row(page, "company_name").locator(".label").bounding_box()
    value = await _row(page, "company_name").locator(".value").bounding_box()
    button = await _row(page, "company_name").locator("button.copy").bounding_box()
    assert label["x"] < value["x"] < button["x"] and abs(label["y"] - value["y"]) < 10
    await shots(page, "desktop")


async def test_without_the_clipboard_api_the_fallback_copies_and_without_javascript_the_text_is_there(
        app, browser, live_server, shots):
    base = await _serve(app, live_server)
    sub = await finished_sme(app, "alice", overview=OVERVIEW)
    await browser.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    url = f"{await page_url(app, 'telegram', 'alice', 'files')}/copy/{sub.id}"

    page = await _phone(browser)  # a browser without navigator.clipboard: the hidden textarea and execCommand
    await page.add_init_script("Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined})")
    await page.goto(url)
    assert await page.evaluate("navigator.clipboard === undefined")
    button = _row(page, "overview").locator("button.copy")
    await button.click()
    await page.wait_for_function("b => b.textContent === '已复制'", arg=await button.element_handle())
    reader = await browser.new_page()
    await reader.goto(url)
    assert await reader.evaluate("navigator.clipboard.readText()") == "\n".join(OVERVIEW)
    await reader.close()

    page = await _phone(browser)  # JavaScript off: every answer to select, no dead buttons
    cdp = await browser.new_cdp_session(page)
    await cdp.send("Emulation.setScriptExecutionDisabled", {"value": True})
    await page.goto(url)
    assert await _row(page, "overview").locator(".value").inner_text() == "\n".join(OVERVIEW)
    assert await page.locator("button.copy:visible").count() == 0
    assert "需要打开 JavaScript" in await page.inner_text("#copy-head")
    await shots(page, "no-javascript")


async def test_another_users_copy_page_is_refused(app, browser, live_server, shots):
    await _serve(app, live_server)
    alice = await finished_sme(app, "alice")
    await finished_sme(app, "mallory", company="马洛里有限公司")
    page = await _phone(browser)
    mine = await page_url(app, "telegram", "mallory", "files")
    response = await page.goto(f"{mine}/copy/{alice.id}")
    assert response.status == 403
    assert "链接无效" in await page.inner_text("#message")
    assert "上海测试科技有限公司" not in await page.content()
    await shots(page, "refused")
