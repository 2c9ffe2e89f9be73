"""The district office's console over real HTTP on loopback: login, invites, districts, verdicts, roll-up."""

from __future__ import annotations

import io
import re

from console_helpers import PASSWORD, add_application, add_officer, csrf_of, log_in, seed_firms, sme_answers
from openpyxl import load_workbook
from sqlalchemy import select

from bot.__main__ import build_parser
from bot.admin import run as run_admin
from bot.testing import ChatClient
from storage.models import Submission


async def _status(app, user_id: int) -> tuple[str, str | None]:
    async with app.store.sessions() as session:
        sub = (await session.execute(select(Submission).where(Submission.user_id == user_id))).scalar_one()
        return sub.status, sub.status_note


async def _firm_page(client, user_id: int) -> tuple[str, str]:
    """A firm's page and the submission id its verdict form carries."""
    page = await (await client.get(f"/console/firm/{user_id}")).text()
    return page, re.search(r'name="submission" value="(\d+)"', page).group(1)


async def test_a_logged_out_request_is_sent_to_login_and_back(client):
    r = await client.get("/console/?state=submitted", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"].startswith("/console/login?next=")
    r = await client.get("/console/firm/1", allow_redirects=False)
    assert r.status == 302
    page = await client.get(r.headers["Location"])
    assert 'name="next" value="/console/firm/1"' in await page.text()


async def test_login_goes_to_the_page_asked_for_and_never_to_another_host(client, console_app):
    await add_officer(console_app.store, "zhang@pudong.example")
    page = await client.get("/console/login?next=https://evil.example/")
    token = csrf_of(html := await page.text())
    assert 'name="next" value=""' in html
    r = await client.post("/console/login", data={"login": "zhang@pudong.example", "password": PASSWORD,
                                                  "csrf": token, "next": "//evil.example/x"}, allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/console/"


async def test_wrong_passwords_are_rate_limited_even_before_the_right_one(client, console_app):
    await add_officer(console_app.store, "li@huangpu.example", district="黄浦")
    for _ in range(5):
        r = await log_in(client, "li@huangpu.example", "wrong password!")
        assert r.status == 200 and "登录名或密码不对" in await r.text()
    r = await log_in(client, "li@huangpu.example", PASSWORD)
    assert r.status == 429 and "尝试次数过多" in await r.text()
    assert (await client.get("/console/", allow_redirects=False)).status == 302  # still logged out
    refused = {reason: console_app.metrics.registry.get_sample_value("jiebang_console_logins_refused_total",
                                                                      {"reason": reason}) for reason in ("bad", "limited")}
    assert refused == {"bad": 5, "limited": 1}  # what an operator's monitoring sees of it


async def test_an_invite_link_sets_a_password_once(client, console_app, tmp_path):
    out = io.StringIO()
    args = build_parser().parse_args(["admin", "invite-officer", "2024-shanghai", "浦东新区", "wang@pudong.example"])
    assert await run_admin(args, console_app.settings, out=out) == 0, out.getvalue()
    link = re.search(r"(/console/invite/\S+)", out.getvalue()).group(1)
    assert "（2024-shanghai 浦东）" in out.getvalue()
    page = await client.get(link)
    assert page.status == 200 and "wang@pudong.example" in (html := await page.text())
    r = await client.post(link, data={"password": "short", "again": "short", "csrf": csrf_of(html)})
    assert "密码至少 10 位" in await r.text()
    r = await client.post(link, data={"password": PASSWORD, "again": PASSWORD, "csrf": csrf_of(html)},
                          allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/console/"
    assert (await client.get("/console/")).status == 200
    assert (await client.get(link)).status == 410  # spent


async def test_an_officer_sees_only_their_district(client, console_app):
    pudong, huangpu = await seed_firms(console_app.store, [
        ("p1", "submitted", sme_answers("浦东测试科技有限公司")),
        ("h1", "submitted", sme_answers("黄浦测试科技有限公司", city="黄浦区"))])
    await add_officer(console_app.store, "zhang@pudong.example")
    assert (await log_in(client, "zhang@pudong.example", PASSWORD)).status == 302
    queue = await (await client.get("/console/")).text()
    assert "浦东测试科技有限公司" in queue and "黄浦测试科技有限公司" not in queue
    assert (await client.get(f"/console/firm/{pudong}")).status == 200
    assert (await client.get(f"/console/firm/{huangpu}")).status == 404
    assert (await client.get(f"/console/firm/{huangpu}/file/1/x.pdf")).status == 404
    r = await client.post(f"/console/firm/{huangpu}/review", data={
        "csrf": csrf_of(queue), "submission": "2", "action": "approved", "note": ""})
    assert r.status == 404 and await _status(console_app, huangpu) == ("submitted", None)


async def test_a_returned_form_tells_the_firm_why_at_its_next_message(client, console_app):
    [uid] = await seed_firms(console_app.store, [("p1", "submitted", sme_answers("浦东测试科技有限公司"))])
    await add_officer(console_app.store, "zhang@pudong.example")
    await log_in(client, "zhang@pudong.example", PASSWORD)
    page, sub_id = await _firm_page(client, uid)
    r = await client.post(f"/console/firm/{uid}/review", data={"csrf": csrf_of(page), "submission": sub_id,
                                                              "action": "returned", "note": ""})
    assert r.status == 400 and "退回需要写明原因" in await r.text()
    r = await client.post(f"/console/firm/{uid}/review", data={"csrf": csrf_of(page), "submission": sub_id,
                                                              "action": "returned", "note": "缺营业执照复印件"})
    assert r.status == 200 and "已退回" in await r.text()
    assert await _status(console_app, uid) == ("returned", "缺营业执照复印件")
    chat = ChatClient(console_app.engine, user_id="p1")
    replies = await chat.send("状态")
    assert "《对接表》被退回：缺营业执照复印件" in replies[0].text
    assert "被退回：缺营业执照复印件" in replies[-1].text  # and the status says so too


async def test_a_forged_csrf_token_is_refused(client, console_app):
    [uid] = await seed_firms(console_app.store, [("p1", "submitted", sme_answers("浦东测试科技有限公司"))])
    await add_officer(console_app.store, "zhang@pudong.example")
    await log_in(client, "zhang@pudong.example", PASSWORD)
    page, sub_id = await _firm_page(client, uid)
    for forged in ("", "x" * 43, csrf_of(page)[:-2] + "AA"):
        r = await client.post(f"/console/firm/{uid}/review", data={"csrf": forged, "submission": sub_id,
                                                                  "action": "approved"})
        assert r.status == 403
    assert await _status(console_app, uid) == ("submitted", None)
    r = await client.post("/console/login", data={"login": "zhang@pudong.example", "password": PASSWORD,
                                                  "csrf": "forged"}, allow_redirects=False)
    assert r.status == 403


async def test_filters_and_the_rollup_carry_the_answers(client, console_app):
    await seed_firms(console_app.store, [
        ("p1", "submitted", sme_answers("甲科技有限公司", items=[{"name": "雷达算法", "code": "2024-SH-001"},
                                                          {"name": "电池预警", "code": "2024-SH-003"}])),
        ("p2", "complete", sme_answers("乙科技有限公司", reg_county="张江镇")),
        ("p3", "draft", sme_answers("丙科技有限公司"))])
    await add_officer(console_app.store, "zhang@pudong.example")
    await log_in(client, "zhang@pudong.example", PASSWORD)
    html = await (await client.get("/console/?state=submitted")).text()
    assert "甲科技有限公司" in html and "乙科技有限公司" not in html and "符合条件 1 家" in html
    html = await (await client.get("/console/?area=张江镇")).text()
    assert "乙科技有限公司" in html and "甲科技有限公司" not in html
    r = await client.get("/console/export.xlsx")
    assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(await r.read())).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:10] == ("企业名称", "统一社会信用代码", "企业规模", "所属行业", "联系人", "联系电话", "区", "表格",
                            "事项名称", "代码")
    assert ws.auto_filter.ref == f"A1:M{len(rows)}"
    jia = [r for r in rows if r[0] == "甲科技有限公司"]
    assert [(r[8], r[9], r[10]) for r in jia] == [("雷达算法", "2024-SH-001", "已盖章报送"),
                                                 ("电池预警", "2024-SH-003", "已盖章报送")]
    assert jia[0][3] == "65 软件和信息技术服务业" and jia[0][7] == "对接表" and jia[0][2] == "小型"
    assert len(rows) == 1 + 2 + 1 + 1


async def test_a_pdf_opens_inline_and_another_firms_file_is_not_reachable(client, console_app):
    a, b = await seed_firms(console_app.store, [("p1", "complete", sme_answers("甲科技有限公司")),
                                                ("p2", "complete", sme_answers("乙科技有限公司"))])
    folder = console_app.settings.documents_dir / str(a)
    folder.mkdir(parents=True)
    async with console_app.store.sessions() as session:
        sub_a = (await session.execute(select(Submission.id).where(Submission.user_id == a))).scalar_one()
    (folder / f"{sub_a}-对接表.pdf").write_bytes(b"%PDF-1.4 test")
    await add_officer(console_app.store, "zhang@pudong.example")
    await log_in(client, "zhang@pudong.example", PASSWORD)
    html = await (await client.get(f"/console/firm/{a}")).text()
    assert "<iframe" in html and "对接表.pdf" in html
    r = await client.get(f"/console/firm/{a}/file/{sub_a}/对接表.pdf")
    assert r.status == 200 and r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("inline;") and await r.read() == b"%PDF-1.4 test"
    assert (await client.get(f"/console/firm/{b}/file/{sub_a}/对接表.pdf")).status == 404
    assert (await client.get(f"/console/firm/{a}/file/{sub_a}/..%2F..%2Fsecret.key")).status == 404


async def test_a_provincial_officer_of_a_national_campaign_sees_their_province(client, console_app):
    await seed_firms(console_app.store, [
        ("j1", "submitted", sme_answers("苏州测试有限公司", city="苏州市", province="江苏省")),
        ("z1", "submitted", sme_answers("杭州测试有限公司", city="杭州市", province="浙江省"))])
    await add_officer(console_app.store, "js@example.gov", district="江苏省", campaign="2024-national")
    await log_in(client, "js@example.gov", PASSWORD)
    html = await (await client.get("/console/")).text()
    assert "苏州测试有限公司" in html and "杭州测试有限公司" not in html and "苏州市" in html


async def test_each_item_has_its_application_beside_it_in_the_page_and_the_rollup(client, console_app):
    items = [{"_id": "a", "name": "雷达算法", "code": "2024-SH-001"}, {"_id": "b", "name": "电池预警", "code": "2024-SH-003"}]
    [uid] = await seed_firms(console_app.store, [("p1", "submitted", sme_answers("甲科技有限公司", items=items))])
    await add_application(console_app.store, uid, items[1], 1, "returned", plan_team="五人团队", status_note=None)
    await add_officer(console_app.store, "zhang@pudong.example")
    await log_in(client, "zhang@pudong.example", PASSWORD)
    html = await (await client.get(f"/console/firm/{uid}")).text()
    assert "申请书《电池预警》" in html and "五人团队" in html and "（一）攻关团队情况" in html
    assert html.index("对接表") < html.index("申请书《电池预警》")
    ws = load_workbook(io.BytesIO(await (await client.get("/console/export.xlsx")).read())).active
    rows = [r[7:11] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert rows == [("对接表", "雷达算法", "2024-SH-001", "已盖章报送"), ("对接表+申请书", "电池预警", "2024-SH-003", "退回")]


async def test_the_console_prints_the_registered_place_as_the_review_and_the_docx_do(client, console_app):
    """上海市 + 上海市 + 浦东 reviewed as 「上海市市浦东新区」: the console shows the printed line and files the
    firm under 浦东新区, by the same function as the review and the .docx (bot.domain.places)."""
    from bot.domain.places import registered_place

    answers = sme_answers("市市测试有限公司", city="上海市", reg_county="浦东")
    [uid] = await seed_firms(console_app.store, [("p1", "submitted", answers)])
    await add_officer(console_app.store, "zhang@pudong.example")
    await log_in(client, "zhang@pudong.example", PASSWORD)
    html = await (await client.get(f"/console/firm/{uid}")).text()
    assert registered_place(answers) == "上海市浦东新区_____县"
    assert "<th>企业注册地（打印为）</th><td class=\"\">上海市浦东新区_____县</td>" in html
    assert "· 浦东新区 ·" in html and "市市浦东" not in html
    queue = await (await client.get("/console/?area=浦东新区")).text()
    assert "市市测试有限公司" in queue
    ws = load_workbook(io.BytesIO(await (await client.get("/console/export.xlsx")).read())).active
    assert [r[6] for r in ws.iter_rows(min_row=2, values_only=True)] == ["浦东新区"]


async def test_a_provincial_rollup_names_the_city_officially_however_it_was_typed(client, console_app):
    await seed_firms(console_app.store, [
        ("j1", "submitted", sme_answers("苏州甲有限公司", city="苏州", province="江苏省")),
        ("j2", "submitted", sme_answers("苏州乙有限公司", city="江苏苏州市", province="江苏"))])
    await add_officer(console_app.store, "js@example.gov", district="江苏省", campaign="2024-national")
    await log_in(client, "js@example.gov", PASSWORD)
    ws = load_workbook(io.BytesIO(await (await client.get("/console/export.xlsx")).read())).active
    assert [r[6] for r in ws.iter_rows(min_row=2, values_only=True)] == ["苏州市", "苏州市"]
