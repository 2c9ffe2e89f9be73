"""python -m bot admin load-campaign: next year's notice as a pack file — checked, shown against the database
(a new campaign, or what changes and whom it touches), confirmed, applied; a dry run writes nothing."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from campaign_helpers import SH_DRAFT, add_user
from sqlalchemy import select

from bot.__main__ import build_parser
from bot.admin import run
from bot.campaigns import status_for
from bot.campaigns.pack import PACKS_DIR
from bot.campaigns.repo import get_campaign
from bot.config import Settings
from storage.campaign_models import Reminder

PACKS = Path(__file__).resolve().parent / "packs"
NATIONAL, SHANGHAI = PACKS / "2025-national.yaml", PACKS / "2025-shanghai.yaml"
CATALOGUE = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "needs_2024.csv"


async def admin(settings, clock, *argv, code: int = 0, ask=None) -> str:
    out = io.StringIO()
    got = await run(build_parser().parse_args(["admin", *argv]), settings, now=clock(), out=out, ask=ask)
    assert got == code, out.getvalue()
    return out.getvalue()


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url)


@pytest.fixture
def july_2025(clock):
    clock.at("2025-07-02 10:00")  # both 2025 notices issued; their first deadline not yet
    return clock


async def _reminders(store) -> list[tuple[str, str, str, str, str]]:
    async with store.sessions() as session:
        rows = (await session.execute(select(Reminder).where(Reminder.kind.like("d%")))).scalars().all()
    return sorted((r.campaign_id, r.form_id, r.kind, str(r.deadline), r.state) for r in rows)


async def _status(store, clock, user: str) -> str:
    async with store.user_tx("test", user) as tx:
        return await status_for(tx, tx.user.language, clock())


async def test_a_dry_run_shows_the_new_campaign_and_whom_it_moves_and_writes_nothing(store, settings, july_2025):
    await add_user(store, "sh", [("sme_match", "draft", SH_DRAFT)])
    await add_user(store, "js", [("sme_match", "draft", {"reg_province": "江苏省"})])
    out = await admin(settings, july_2025, "load-campaign", str(SHANGHAI), "--dry-run", code=2)
    assert out == "错误：2025-shanghai.yaml:5: parent: 2025-national 不是已有的活动（先载入它；admin campaigns 列出全部）\n"
    await admin(settings, july_2025, "load-campaign", str(NATIONAL), "--yes")
    out = await admin(settings, july_2025, "load-campaign", str(SHANGHAI), "--dry-run")
    assert out.splitlines() == [
        "2025-shanghai.yaml：检查通过",
        "新活动 2025-shanghai：2025年度上海（沪经信企〔2025〕200号），上海市经济信息化委关于组织开展2025年度大企业“发榜”"
        "中小企业“揭榜”工作的通知",
        "  large_need   截止 2025-07-21；报送 于老师，大木桥路108号606室",
        "  sme_match    截止 2025-09-30（区级初审后报送）；报送 所在区中小企业主管部门",
        "  application  截止 2025-09-30；报送 所在区中小企业主管部门",
        "  区联系人 3 个，市级联系人 1 个",
        "用户：",
        "  1 位用户的 1 份未完成表格将归入 2025-shanghai（原属 2025-national 1 份）",
        "  1 位用户会收到截止提醒（5、1、0 天前，09:30）",
        "（试运行：没有写入。去掉 --dry-run 即载入）",
    ]
    async with store.sessions() as session:
        assert await get_campaign(session, "2025-shanghai") is None
    assert await _reminders(store) == []
    assert "2025年度全国" in await _status(store, july_2025, "sh")


async def test_applying_a_new_pack_gives_its_region_the_new_deadlines_and_reminders(store, settings, july_2025):
    await add_user(store, "sh", [("sme_match", "draft", SH_DRAFT)])
    await add_user(store, "js", [("sme_match", "draft", {"reg_province": "江苏省"})])
    await admin(settings, july_2025, "load-campaign", str(NATIONAL), "--yes")
    asked: list[str] = []
    out = await admin(settings, july_2025, "load-campaign", str(SHANGHAI), ask=lambda q: asked.append(q) or True)
    assert asked == ["载入 2025-shanghai，确定吗？"]
    assert "已载入 2025-shanghai（2025年度上海，沪经信企〔2025〕200号）" in out and "新增提醒 3 条" in out
    assert "截止：2025-09-30，还有 90 天（2025年度上海）" in await _status(store, july_2025, "sh")
    assert "浦东 中小企业推进服务中心" in await _status(store, july_2025, "sh")
    assert "截止：另行通知（2025年度全国）" in await _status(store, july_2025, "js")
    assert await _reminders(store) == [("2025-shanghai", "sme_match", k, "2025-09-30", "pending") for k in ("d0", "d1", "d5")]
    again = await admin(settings, july_2025, "load-campaign", str(SHANGHAI))
    assert again.splitlines() == ["2025-shanghai.yaml：检查通过", "没有变化：2025-shanghai 与文件相同。"]


def _changed(tmp_path: Path) -> Path:
    text = SHANGHAI.read_text(encoding="utf-8")
    for old, new in (("deadline: 2025-09-30\n    deadline_text", "deadline: 2025-10-15\n    deadline_text"),
                     ('phone: "68811103"', 'phone: "68811109"'), ("沪经信企〔2025〕200号", "沪经信企〔2025〕201号"),
                     ('  - {district: 闵行, office: 企业服务中心, phone: "34203361", address: 七莘路412号1013室}\n', ""),
                     ("  application:\n    version: 1\n    deadline: 2025-09-30\n    to: district\n", "")):
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "2025-shanghai.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_a_changed_pack_shows_what_moves_and_who_is_told_then_applies_it(store, settings, july_2025, tmp_path):
    await add_user(store, "sh", [("sme_match", "draft", SH_DRAFT)])
    await add_user(store, "mh", [("sme_match", "draft", {**SH_DRAFT, "reg_city": "闵行区"})])
    await admin(settings, july_2025, "load-campaign", str(NATIONAL), "--yes")
    await admin(settings, july_2025, "load-campaign", str(SHANGHAI), "--yes")
    changed = _changed(tmp_path)
    out = await admin(settings, july_2025, "load-campaign", str(changed), "--dry-run")
    assert out.splitlines() == [
        "2025-shanghai.yaml：检查通过",
        "2025-shanghai（2025年度上海，沪经信企〔2025〕201号）已有，将修改：",
        "  文号：沪经信企〔2025〕200号 → 沪经信企〔2025〕201号",
        "  删除表格：application",
        "  截止 sme_match：2025-09-30（区级初审后报送） → 2025-10-15（区级初审后报送）",
        "  联系人：删除 闵行；修改 浦东（phone 68811103 → 68811109）",
        "用户：",
        "  sme_match 截止改变：将通知 2 位用户，并重新安排提醒",
        "  2 位用户会收到截止提醒（5、1、0 天前，09:30）",
        "（试运行：没有写入。去掉 --dry-run 即载入）",
    ]
    assert await store.outbox_take("test", "sh") == []  # a dry run tells nobody
    assert "2025-09-30" in await admin(settings, july_2025, "show", "2025-shanghai")

    out = await admin(settings, july_2025, "load-campaign", str(changed), "--yes")
    assert "已通知 2 位用户" in out
    [notice] = await store.outbox_take("test", "sh")
    assert notice.text.splitlines()[:3] == ["📢 《对接表》截止时间调整（原：2025-09-30）", "区级初审后报送",
                                             "截止：2025-10-15，还有 105 天（2025年度上海）"]
    assert "电话 68811109" in notice.text
    rows = await _reminders(store)
    assert {r for r in rows if r[4] == "pending"} == {("2025-shanghai", "sme_match", k, "2025-10-15", "pending")
                                                      for k in ("d0", "d1", "d5")}
    assert {r[4] for r in rows if r[3] == "2025-09-30"} == {"cancelled"}
    shown = await admin(settings, july_2025, "show", "2025-shanghai")
    assert "沪经信企〔2025〕201号" in shown and '"application"' not in shown and "闵行" not in shown


async def test_without_a_terminal_nothing_is_loaded_unless_yes(store, settings, july_2025, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # CI, a cron job: no one to answer
    out = await admin(settings, july_2025, "load-campaign", str(NATIONAL), code=2)
    assert out.splitlines()[-1] == "错误：未确认，2025-national 没有载入。确认请加 --yes（先看变化：--dry-run）"
    async with store.sessions() as session:
        assert await get_campaign(session, "2025-national") is None
    assert "已载入 2025-national" in await admin(settings, july_2025, "load-campaign", str(NATIONAL), "--yes")


async def test_a_pack_with_problems_is_refused_with_every_problem_on_its_line(store, settings, july_2025, tmp_path):
    bad = tmp_path / "campaign-2025.yaml"
    text = NATIONAL.read_text(encoding="utf-8").replace("deadline: 2025-07-10", "deadline: 2025-13-01")
    bad.write_text(text.replace("region: 全国", "region: 全国\nregoin: 全国"), encoding="utf-8")
    out = await admin(settings, july_2025, "load-campaign", str(bad), code=2)
    assert out.splitlines() == [
        "错误：campaign-2025.yaml 有 2 处问题，没有载入：",
        "campaign-2025.yaml:5: regoin: unknown key (did you mean region?)",
        "campaign-2025.yaml:12: forms.large_need.deadline: 2025-13-01 is not a date (YYYY-MM-DD or 另行通知)",
    ]
    assert "没有这个文件" in await admin(settings, july_2025, "load-campaign", str(tmp_path / "no.yaml"), code=2)


async def test_the_shipped_pack_loaded_again_changes_nothing_and_a_catalogue_comes_with_its_pack(
        store, settings, july_2025, tmp_path):
    out = await admin(settings, july_2025, "load-campaign", "--dry-run", str(PACKS_DIR / "2024-shanghai.yaml"))
    assert out.splitlines() == ["2024-shanghai.yaml：检查通过", "没有变化：2024-shanghai 与文件相同。"]
    shutil.copy(CATALOGUE, tmp_path / "需求目录.csv")
    pack = tmp_path / "2025-national.yaml"
    pack.write_text(NATIONAL.read_text(encoding="utf-8") + "catalogue: 需求目录.csv\n", encoding="utf-8")
    out = await admin(settings, july_2025, "load-campaign", str(pack), "--yes")
    assert "  需求目录：需求目录.csv，313 条" in out and "需求目录：新增 313，更新 0，未变 0" in out
    assert "2024-SH-001" in await admin(settings, july_2025, "catalogue", "2025-national", "--search", "毫米波雷达")
