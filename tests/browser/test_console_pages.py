"""The district console in a real browser: an officer logs in, filters, opens a firm, returns it with a
reason, and the firm's chat hears why; other districts, logged-out requests and forged forms are refused;
a district of 300 firms pages and exports."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from aiohttp import web
from openpyxl import load_workbook
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "console"))

from console_helpers import PASSWORD, add_officer, seed_firms, sme_answers  # noqa: E402

from bot.app import open_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.console.web import add_routes  # noqa: E402
from bot.testing import ChatClient  # noqa: E402
from storage.models import Submission  # noqa: E402


@pytest.fixture
async def app(tmp_path):
    app = await open_app(Settings(data_dir=tmp_path / "data", pdf=False))
    yield app
    await app.close()


async def _serve(app, live_server) -> str:
    web_app = web.Application()
    add_routes(web_app, app)
    return await live_server(web_app)


async def _status(app, user_id: int) -> tuple[str, str | None]:
    async with app.store.sessions() as session:
        sub = (await session.execute(select(Submission).where(Submission.user_id == user_id))).scalar_one()
        return sub.status, sub.status_note


async def _log_in(page, base: str) -> None:
    await page.goto(base + "/console/")
    assert "/console/login" in page.url
    await page.fill("input[name=login]", "zhang@pudong.example")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(base + "/console/")


async def test_an_officer_returns_a_firm_and_its_chat_hears_why(app, browser, live_server, shots):
    jia, yi, _bing, huangpu = await seed_firms(app.store, [
        ("jia", "submitted", sme_answers("甲智能科技有限公司")),
        ("yi", "complete", sme_answers("乙精密机械有限公司")),
        ("bing", "draft", sme_answers("丙新材料有限公司")),
        ("hp", "submitted", sme_answers("黄浦某某有限公司", city="黄浦区"))])
    await add_officer(app.store, "zhang@pudong.example")
    base = await _serve(app, live_server)
    page = await browser.new_page()

    await page.goto(base + "/console/")  # logged out: the login page
    assert "/console/login?next=" in page.url
    await shots(page, "login")
    await _log_in(page, base)
    queue = await page.inner_text("#queue")
    assert "甲智能科技有限公司" in queue and "乙精密机械有限公司" in queue and "黄浦某某有限公司" not in queue
    await shots(page, "queue")

    await page.select_option("select[name=state]", "submitted")
    await page.click("#filters button[type=submit]")
    await page.wait_for_url("**state=submitted**")
    queue = await page.inner_text("#queue")
    assert "甲智能科技有限公司" in queue and "乙精密机械有限公司" not in queue
    assert "符合条件 1 家" in await page.inner_text("#count")
    await shots(page, "queue-filtered")

    await page.click("a.firm:has-text('甲智能科技有限公司')")
    await page.wait_for_url(f"{base}/console/firm/{jia}")
    assert "甲智能科技有限公司" in await page.inner_text("#firm-name")
    body = await page.inner_text("main")
    assert "统一社会信用代码" in body and "91310000132149237G" in body and "高精度视觉检测算法" in body
    await shots(page, "firm")

    await page.fill("form.review textarea[name=note]", "缺营业执照复印件，请补交")
    await page.click("form.review button[value=returned]")
    await page.wait_for_selector("#flash")
    assert "已退回" in await page.inner_text("#flash")
    card = f"#s{await _sub_id(app, jia)}"
    assert "退回" in await page.inner_text(f"{card} h2") and "缺营业执照复印件" in await page.inner_text(f"{card} .events")
    await shots(page, "returned")
    assert await _status(app, jia) == ("returned", "缺营业执照复印件，请补交")

    chat = ChatClient(app.engine, user_id="jia")  # the firm, at its next message
    replies = await chat.send("状态")
    assert "《对接表》被退回：缺营业执照复印件，请补交" in replies[0].text

    response = await page.goto(f"{base}/console/firm/{huangpu}")  # another district's firm, by URL
    assert response.status == 404 and "黄浦某某有限公司" not in await page.content()
    await shots(page, "other-district")

    await page.goto(f"{base}/console/firm/{yi}")  # a forged CSRF token
    await page.eval_on_selector("form.review input[name=csrf]", "e => e.value = 'forged-' + e.value.slice(7)")
    await page.click("form.review button[value=approved]")
    await page.wait_for_selector("#message")
    assert "表单已失效" in await page.inner_text("#message")
    await shots(page, "forged-csrf")
    assert await _status(app, yi) == ("complete", None)

    await page.goto(base + "/console/")
    await page.click("header button:has-text('退出')")
    await page.wait_for_url("**/console/login")
    await page.goto(f"{base}/console/firm/{jia}")
    assert "/console/login?next=" in page.url  # logged out again
    assert len(shots.taken) == 7 and all(p.stat().st_size > 1000 for p in shots.taken)


async def _sub_id(app, user_id: int) -> int:
    async with app.store.sessions() as session:
        return (await session.execute(select(Submission.id).where(Submission.user_id == user_id))).scalar_one()


async def test_a_district_of_300_firms_pages_and_exports(app, browser, live_server, shots, tmp_path):
    await seed_firms(app.store, [(f"f{i:03d}", ("submitted", "complete", "returned")[i % 3],
                                  sme_answers(f"浦东第{i:03d}号科技有限公司")) for i in range(300)]
                     + [(f"h{i}", "submitted", sme_answers(f"黄浦第{i}号有限公司", city="黄浦区")) for i in range(20)])
    await add_officer(app.store, "zhang@pudong.example")
    base = await _serve(app, live_server)
    page = await browser.new_page()
    await _log_in(page, base)
    assert "共 300 家企业" in await page.inner_text("#count") and "第 1/6 页" in await page.inner_text("#count")
    assert await page.locator("#queue tbody tr").count() == 50
    await shots(page, "queue-page-1")
    await page.click("#pages a[rel=next]")
    await page.wait_for_url("**page=2**")
    names = await page.locator("#queue a.firm").all_inner_texts()
    assert len(names) == 50 and names[0] == "浦东第050号科技有限公司"
    await page.goto(base + "/console/?page=6")
    assert await page.locator("#queue tbody tr").count() == 50
    await shots(page, "queue-page-6")

    async with page.expect_download() as info:
        await page.click("#export")
    download = await info.value
    path = tmp_path / download.suggested_filename
    await download.save_as(str(path))
    assert path.name.startswith("揭榜汇总-浦东-") and path.suffix == ".xlsx"
    ws = load_workbook(io.BytesIO(path.read_bytes())).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 301 and ws.auto_filter.ref == "A1:M301"
    assert {r[0] for r in rows[1:]} == {f"浦东第{i:03d}号科技有限公司" for i in range(300)}
    assert {r[10] for r in rows[1:]} == {"已盖章报送", "已填完待报送", "退回"}
