"""Every year: last year's answers carry over. A firm that finished 2024's 对接表 opens it for a made-up 2025
campaign (loaded as a pack with load-campaign) whose form is next year's version (tests/campaigns/forms_2025/sme_match.py: the shipped form file
plus a `changes` block — 法人代表 renamed 法定代表人, 上年度研发投入 added, 传真 removed, 企业性质's options
changed). It takes last year's answers over in one tap, is asked only what is new or changed, and confirms;
its 2024 submission and paper stay as they were printed.

The form is put in place in this process (FORMS), so documents are made here too (render_processes=0): a
render process imports the shipped form file, which has no version 2 (a real next year's form is shipped,
and a render process reads it like the bot)."""

from __future__ import annotations

import copy
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from campaign_helpers import Clock

from bot.__main__ import build_parser
from bot.admin import run
from bot.app import open_app
from bot.config import Settings
from bot.dialogs import printed
from bot.dialogs.forms import FORMS
from bot.dialogs.summary import review_rows
from bot.testing import ChatClient
from tests.campaigns.forms_2025 import sme_match as sme_match_2025
from tests.conftest import SME_STEPS, past_start
from tests.documents.conftest import Read
from tests.documents.test_printed_again_is_identical import body_hash

PACKS = Path(__file__).resolve().parent / "packs"  # the made-up 2025 notices

# What the 2025 form asks that 2024's answers do not answer: 上年度营业收入 (2024's figure now, not 2023's) and
# the 企业规模 computed from it, the new field, the choice whose old answer (民营) is no longer offered, and this
# year's 拟揭榜事项 (picked from this year's 需求目录: never carried over).
ASKED_2025 = {
    "revenue": "4100",
    "rd_expense": "260",
    "size": SME_STEPS["size"],
    "ownership": "私营",
    "items.0.name": "边缘计算网关",
    "items.0.code": "2025-SH-008",
    "items.#more": "否",
}
# The 2024 answers that carry over: all but 传真 (removed), those asked again above and the 事项.
CARRIED_2025 = [k for k in SME_STEPS if k != "fax" and k not in ASKED_2025 and not k.startswith("items.")]


async def admin(settings: Settings, clock: Clock, *argv: str) -> str:
    out = io.StringIO()
    code = await run(build_parser().parse_args(["admin", *argv]), settings, now=clock(), out=out)
    assert code == 0, out.getvalue()
    return out.getvalue()


async def open_form(c: ChatClient) -> None:
    await c.send("/start")
    if c.last.buttons and c.last.buttons[-1].label != "切换身份":
        await c.click("中小企业")
    await c.click("对接表")


async def answer_as_asked(c: ChatClient, answers: dict) -> list[str]:
    """Answer each question by its step key until the review; the step keys asked, in order."""
    asked: list[str] = []
    while c.last.screen != "review":
        assert c.step in answers, f"asked {c.step!r}, which should have carried over:\n{c.text}"
        asked.append(c.step)
        await c.send(answers[c.step])
    return asked


@pytest.fixture
async def in_2024(tmp_path, database_url):
    clock = Clock(datetime(2024, 7, 10, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai, 2024's campaign open
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, pdf=False, render_processes=0)
    app = await open_app(settings, now=clock)
    yield app, clock
    await app.close()


async def finish_2024(app, clock) -> tuple[ChatClient, bytes]:
    c = ChatClient(app.engine, user_id="firm")
    await open_form(c)
    await past_start(c)
    await c.fill(SME_STEPS)
    done, _next = await c.click("确认并生成文件")
    return c, done.document.data


async def to_2025(app, clock, monkeypatch, tmp_path) -> None:
    """The clock moves to 2025; next year's form ships; the 2025 notices are loaded as packs, Shanghai's
    naming version 2 of the 对接表 (the made-up packs of tests/campaigns/packs, one line changed)."""
    clock.at("2025-07-15 10:00")
    monkeypatch.setitem(FORMS, "sme_match", sme_match_2025.FORM)
    shanghai = (PACKS / "2025-shanghai.yaml").read_text(encoding="utf-8")
    assert shanghai.count("  sme_match:\n    version: 1\n") == 1
    pack = tmp_path / "2025-shanghai.yaml"
    pack.write_text(shanghai.replace("  sme_match:\n    version: 1\n", "  sme_match:\n    version: 2\n"), encoding="utf-8")
    await admin(app.settings, clock, "load-campaign", str(PACKS / "2025-national.yaml"), "--yes")
    assert "检查通过" in await admin(app.settings, clock, "load-campaign", str(pack), "--yes")
    app.store.forget()  # the bot sees the admin's campaign at once (else within its cache's seconds)


async def subs(app) -> list:
    async with app.store.user_tx("test", "firm") as tx:
        return await tx.submissions("sme_match")


async def test_last_years_answers_carry_over_in_one_tap_and_only_the_changes_are_asked(in_2024, monkeypatch, tmp_path):
    app, clock = in_2024
    c, paper_2024 = await finish_2024(app, clock)
    [old] = await subs(app)
    assert (old.status, old.campaign_id, old.form_version) == ("complete", "2024-shanghai", 1)
    kept_2024 = copy.deepcopy(old.answers)
    [file_2024] = (app.settings.documents_dir / str(old.user_id)).glob(f"{old.id}-*.docx")

    await to_2025(app, clock, monkeypatch, tmp_path)
    await open_form(c)
    assert c.last.screen == "start"
    assert [b.label for b in c.last.buttons] == [f"沿用去年《对接表》的答案（{len(CARRIED_2025)}项）", "逐项核对"]
    assert "您已确认过2024年度的《对接表》" in c.text
    for told in ("新增：上年度研发投入(万元)", "法人代表 改为 法定代表人", "不再填写：传真", "企业性质：选项有变化"):
        assert told in c.text
    await c.click("沿用去年")
    assert f"已沿用{len(CARRIED_2025)}项答案" in c.text
    assert c.step == "revenue" and "沿用上次" not in c.text and not c.last.buttons  # 2023's figure: not offered
    assert await answer_as_asked(c, ASKED_2025) == list(ASKED_2025)
    done, _next = await c.click("确认并生成文件")

    paper = Read.of(done.document.data)
    cells = [cell for row in paper.rows() for cell in row]
    assert paper.beside("法定代表人") == SME_STEPS["legal_rep"] and "法人代表" not in cells
    assert paper.beside("上年度研发投入(万元)") == "260"
    assert paper.beside("上年度营业收入(万元)") == "4100"  # this year's figure, asked, not last year's 3200
    assert "传真" not in cells
    assert "☑私营" in paper.beside("企业性质")
    assert paper.beside("企业名称") == SME_STEPS["company_name"]  # carried over, printed
    old_now, new = await subs(app)
    assert (new.status, new.campaign_id, new.form_version) == ("complete", "2025-shanghai", 2)
    assert new.answers["legal_rep"] == SME_STEPS["legal_rep"] and "fax" not in new.answers

    # 2024's submission and paper, as printed
    assert (old_now.id, old_now.status, old_now.campaign_id, old_now.form_version) == \
        (old.id, "complete", "2024-shanghai", 1)
    assert old_now.answers == kept_2024
    assert printed.print_state(old_now) == "complete"  # its digest still the printed answers'
    assert file_2024.read_bytes() and body_hash(file_2024.read_bytes()) == body_hash(paper_2024)
    again = FORMS["sme_match"].at(old_now.form_version).render(old_now.answers)  # printed again, 2025's file
    assert body_hash(again) == body_hash(paper_2024)
    assert "法人代表" in [cell for row in Read.of(again).rows() for cell in row]
    read_2024 = {r.label: r.value for r in review_rows(FORMS["sme_match"], old_now.answers, 1, "zh_CN")}
    assert read_2024["法人代表"] == SME_STEPS["legal_rep"] and "传真" in read_2024 and "上年度研发投入(万元)" not in read_2024
    assert read_2024["企业性质"] == "民营"


async def test_last_years_answers_one_by_one(in_2024, monkeypatch, tmp_path):
    """The second button: each carried answer offered at its question (沿用上次：…？), the changes asked."""
    app, clock = in_2024
    c, _paper = await finish_2024(app, clock)
    await to_2025(app, clock, monkeypatch, tmp_path)
    await open_form(c)
    await c.click("逐项核对")
    offered, typed = [], []
    while c.last.screen != "review":
        labels = [b.label for b in c.last.buttons]
        if c.step in ASKED_2025 or c.step == "reg_county":  # skipped last year: nothing to offer, asked again
            typed.append(c.step)
            await c.send(ASKED_2025.get(c.step, "跳过"))
        elif "是" in labels or "确认" in labels:  # 沿用上次：…？ 是 / 修改; 企业规模's 计算结果 确认
            assert c.step in CARRIED_2025, c.text
            offered.append(c.step)
            await c.click("确认" if "确认" in labels else "是")
        else:
            raise AssertionError(f"{c.step} neither offered nor new:\n{c.text}")
    assert typed == ["reg_county", *ASKED_2025]
    assert offered == [k for k in CARRIED_2025 if k != "reg_county"]


async def test_the_offer_in_english(in_2024, monkeypatch, tmp_path):
    app, clock = in_2024
    c, _paper = await finish_2024(app, clock)
    await to_2025(app, clock, monkeypatch, tmp_path)
    await c.send("English")
    await c.send("/start")
    await c.click("Matching Form")
    assert [b.label for b in c.last.buttons][0] == \
        f"Take over last year’s answers to the Matching form ({len(CARRIED_2025)})"
    assert "“法人代表 (Legal representative)” is now “法定代表人”" in c.text


@pytest.mark.parametrize(("moved_to", "offered"), [(None, True), ("2025-03-01 10:00", False)])
async def test_a_years_own_figure_is_offered_in_that_year_only(in_2024, moved_to, offered):
    """上年度营业收入 from the 对接表 is offered to the 需求表 of the same year (沿用上次的企业信息), never to a
    form filled in a later year, where it is another year's figure; the firm's other facts are offered both."""
    app, clock = in_2024
    c, _paper = await finish_2024(app, clock)
    if moved_to:
        clock.at(moved_to)
    await c.send("菜单")
    await c.click("切换身份")
    await c.click("大企业")
    await c.click("需求表")
    assert "沿用上次的企业信息？" in c.text and f"企业名称：{SME_STEPS['company_name']}" in c.text
    assert (f"上年度营业收入(万元)：{SME_STEPS['revenue']}" in c.text) is offered, c.text


async def test_a_campaign_whose_notice_prints_the_older_form_is_filled_in_that_version(in_2024, monkeypatch):
    """The bot knows version 2 of the 对接表, but 2025's Shanghai notice still prints version 1 (its pack says
    so): the firm's new submission is version 1, told of no change, and its paper is version 1's table."""
    app, clock = in_2024
    c, _paper = await finish_2024(app, clock)
    clock.at("2025-07-15 10:00")
    monkeypatch.setitem(FORMS, "sme_match", sme_match_2025.FORM)
    await admin(app.settings, clock, "load-campaign", str(PACKS / "2025-national.yaml"), "--yes")
    await admin(app.settings, clock, "load-campaign", str(PACKS / "2025-shanghai.yaml"), "--yes")  # version: 1
    app.store.forget()
    await open_form(c)
    assert "您已确认过2024年度的《对接表》" in c.text and "今年的表格有变化" not in c.text
    await c.click("沿用去年")
    this_year = {k: ASKED_2025[k] for k in ("revenue", "size", "items.0.name", "items.0.code", "items.#more")}
    assert await answer_as_asked(c, this_year) == list(this_year)  # 传真 and 民营 carried; no 研发投入
    done, _next = await c.click("确认并生成文件")
    cells = [cell for row in Read.of(done.document.data).rows() for cell in row]
    assert "法人代表" in cells and "法定代表人" not in cells and "上年度研发投入(万元)" not in cells and "传真" in cells
    _old, new = await subs(app)
    assert (new.status, new.campaign_id, new.form_version) == ("complete", "2025-shanghai", 1)
