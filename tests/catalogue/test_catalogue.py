"""The 需求目录: imported from the ministry's sheet whatever its header wording, searched by words and
codes, suggested from a firm's 行业 and 概况, extended by an admin from a confirmed 需求表."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot import catalogue
from bot.__main__ import build_parser
from bot.admin import run
from bot.catalogue import chat
from bot.catalogue.importer import CatalogueFileError, column_of, parse
from bot.config import Settings
from storage.store import Store

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "needs_2024.csv"
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, pdf=False)


async def admin(settings, *argv, code: int = 0) -> str:
    out = io.StringIO()
    status = await run(build_parser().parse_args(["admin", *argv]), settings, now=NOW, out=out)
    assert status == code, out.getvalue()
    return out.getvalue()


@pytest.fixture
async def store(settings):
    await admin(settings, "import-catalogue", "2024-national", str(DATA))
    s = Store(settings.effective_database_url)
    yield s
    await s.close()


def test_headers_are_read_by_meaning():
    assert [column_of(h) for h in ("序号", "需求编号", "事项名称", "名称", "编号", "代码", "需求名称（必填）",
                                  "发榜企业名称", "统一社会信用代码", "所属行业（大类代码）", "所在地区", "需求内容描述",
                                  "Need code")] == \
        ["", "code", "name", "name", "code", "code", "name", "firm", "", "industry", "region", "content", "code"]


def test_a_title_line_above_the_header_and_hidden_firms():
    parsed = parse([["2024年度大企业技术创新需求目录"], [],
                    ["编号", "名称", "企业", "行业", "需求描述"],
                    ["A-1", "雷达算法", "某汽车集团", "C36 汽车制造业", "……"],
                    ["A-2", "电池预警", "不公开", "汽车", "……"],
                    ["", "没有代码的行", "", "", ""],
                    ["A-1", "雷达算法（修订）", "某汽车集团", "36", "……"]])
    assert [(r["code"], r["name"], r["firm"], r["publish_name"], r["industry"]) for r in parsed.rows] == [
        ("A-1", "雷达算法（修订）", "某汽车集团", True, "36"), ("A-2", "电池预警", "", False, "")]
    assert parsed.problems == ["第 5 行所属行业“汽车”不是国民经济行业大类，已留空", "第 6 行缺少代码，已跳过",
                               "第 7 行代码 A-1 与前面重复，以此行为准"]


def test_a_sheet_without_name_and_code_columns_is_refused_in_one_line():
    with pytest.raises(CatalogueFileError, match="找不到表头"):
        parse([["企业", "内容"], ["x", "y"]])


async def test_import_is_counted_and_a_second_import_changes_only_what_changed(settings, store, tmp_path):
    assert len(await catalogue.needs_of(store, "2024-national")) == 313
    wb = Workbook()
    wb.active.append(["需求代码", "需求名称", "发榜单位", "状态"])
    wb.active.append(["2024-SH-001", "车载77GHz毫米波雷达目标识别算法（更新）", "申江汽车集团有限公司", "发布"])
    wb.active.append(["2024-SH-002", "4D成像雷达点云与摄像头融合感知", "申江汽车集团有限公司", "已撤回"])
    path = tmp_path / "更新.xlsx"
    wb.save(path)
    out = await admin(settings, "import-catalogue", "2024-national", str(path))
    assert "读入 2 条（新增 0，更新 2，未变 0" in out
    assert (await catalogue.by_code(store, "2024-national", "2024-SH-002")).published is False
    assert all(n.code != "2024-SH-002" for n in await catalogue.search(store, "2024-national", "雷达", limit=20))


async def test_a_missing_file_is_one_line(settings, tmp_path):
    out = await admin(settings, "import-catalogue", "2024-national", str(tmp_path / "没有.xlsx"), code=2)
    assert out.startswith("错误：没有这个文件") and out.count("\n") == 1
    (tmp_path / "坏.xlsx").write_bytes(b"not a workbook")
    out = await admin(settings, "import-catalogue", "2024-national", str(tmp_path / "坏.xlsx"), code=2)
    assert out.startswith("错误：无法读取 Excel 文件")


async def test_words_find_needs_partially_and_in_chinese(store):
    radar = [n.code for n in await catalogue.search(store, "2024-national", "雷达")]
    assert set(radar) == {"2024-SH-001", "2024-SH-002", "2024-SH-009", "2024-HB-003", "2024-SH-086"}
    assert (await catalogue.search(store, "2024-national", "电池热失控"))[0].code == "2024-SH-003"
    assert (await catalogue.search(store, "2024-national", "热失控"))[0].name == "动力电池热失控预警与早期探测"
    sic = [n.code for n in await catalogue.search(store, "2024-national", "碳化硅")]
    assert "2024-GD-006" in sic  # its name says SiC
    assert await catalogue.search(store, "2024-national", "  ") == []


async def test_a_code_as_people_type_it(store):
    for typed in ("2024-SH-003", "2024sh3", "２０２４－ＳＨ－００３", " 2024 SH 003 "):
        need = await catalogue.by_code(store, "2024-national", typed)
        assert need is not None and need.code == "2024-SH-003", typed
        assert (await catalogue.search(store, "2024-national", typed))[0].code == "2024-SH-003"
    assert await catalogue.by_code(store, "2024-national", "2024-SH-999") is None
    near = [n.code for n in await catalogue.nearest_codes(store, "2024-national", "2024-SH-17")]
    assert near[0] == "2024-SH-017" and len(near) == 3
    near = [n.code for n in await catalogue.nearest_codes(store, "2024-national", "2024-SH-0177")]
    assert "2024-SH-017" in near


async def test_suggestions_from_industry_and_overview(store):
    found = await catalogue.suggest(store, "2024-national", "38", "从事锂电池材料研发，主要产品为正极材料和电解液添加剂。")
    assert {"2024-JS-001", "2024-JS-020"} <= {n.code for n in found}
    by_industry_alone = await catalogue.suggest(store, "2024-national", "36", "")
    assert by_industry_alone and all(n.industry == "36" for n in by_industry_alone)


async def test_a_campaign_without_its_own_catalogue_uses_its_parents(store):
    assert await catalogue.has_catalogue(store, "2024-shanghai")  # Shanghai's parent is 2024-national
    assert (await catalogue.by_code(store, "2024-shanghai", "2024-SH-001")).name.startswith("车载77GHz")
    assert not await catalogue.has_catalogue(store, "no-such-campaign")


async def test_an_admin_proposes_a_confirmed_need_table_and_a_hidden_firm_stays_hidden(settings, store):
    from campaign_helpers import add_user

    needs = [{"name": "高温合金叶片精密铸造", "content": "开发单晶高温合金叶片精密铸造工艺。"},
             {"name": "叶片涂层寿命评估", "content": "建立热障涂层寿命评估方法。"}]
    await add_user(store, "big", [("large_need", "complete", {"company_name": "某航空集团有限公司",
                                                               "publish_name": "不公开", "industry": "37",
                                                               "reg_province": "上海市", "needs": needs})])
    await add_user(store, "draft", [("large_need", "draft", {"company_name": "草稿集团", "needs": needs})])
    listing = await admin(settings, "propose-need", "2024-national")
    assert "某航空集团有限公司（不公开）" in listing and "草稿集团" not in listing
    sub_id = listing.split("#", 1)[1].split(" ", 1)[0]
    assert all(n.name != "高温合金叶片精密铸造" for n in await catalogue.search(store, "2024-national", "高温合金叶片"))
    out = await admin(settings, "propose-need", "2024-national", sub_id, "--code", "2024-SH-901")
    assert "2024-SH-901  高温合金叶片精密铸造" in out and f"P{sub_id}-2  叶片涂层寿命评估" in out
    found = (await catalogue.search(store, "2024-national", "高温合金叶片"))[0]
    assert (found.code, found.firm, found.industry) == ("2024-SH-901", "", "37")
    assert "某航空集团" not in found.content + found.name + found.firm
    again = await admin(settings, "propose-need", "2024-national", sub_id, code=2)
    assert "已加入需求目录" in again


async def test_withdrawn_needs_are_named_but_not_offered(settings, store):
    await admin(settings, "withdraw-need", "2024-national", "2024-SH-086")
    need = await catalogue.by_code(store, "2024-national", "2024-SH-086")
    assert need is not None and not need.published
    assert "已撤回" in chat.withdrawn_text("zh_CN", need)
    assert all(n.code != "2024-SH-086" for n in await catalogue.search(store, "2024-national", "自动泊车"))


def test_a_question_about_the_catalogue_is_not_an_item_name():
    for q in ("需求目录在哪里看？", "目录在哪", "在哪看需求目录", "Where is the catalogue?"):
        assert chat.is_catalogue_question(q), q
    for name in ("高精度视觉检测算法", "需求目录管理系统开发", "雷达"):
        assert not chat.is_catalogue_question(name), name
    assert "xieshouxingdong.cn" in chat.where_published("zh_CN")
