"""python -m bot admin: next year's campaign in a few commands, contacts from a sheet, the roll-up, states."""

from __future__ import annotations

import io

from campaign_helpers import SH_DRAFT, add_user, submissions
from openpyxl import Workbook, load_workbook

from bot.__main__ import build_parser
from bot.admin import run
from bot.campaigns.repo import load_campaigns
from bot.config import Settings


async def admin(settings, clock, *argv) -> str:
    out = io.StringIO()
    args = build_parser().parse_args(["admin", *argv])
    code = await run(args, settings, now=clock(), out=out)
    assert code == 0, out.getvalue()
    return out.getvalue()


def _settings(db_url, tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url)


async def test_next_years_campaign_in_three_commands(db_url, tmp_path, clock, store):
    s = _settings(db_url, tmp_path)
    listing = await admin(s, clock, "campaigns")
    assert "2024-shanghai  2024 上海市  沪经信企〔2024〕481号" in listing and "2024-07-22（已截止）" in listing
    await admin(s, clock, "add-campaign", "2027-shanghai", "--copy-from", "2024-shanghai", "--year", "2027",
                "--number", "沪经信企〔2027〕1号", "--title", "2027年度通知")
    await admin(s, clock, "set-deadline", "2027-shanghai", "sme_match", "2027-03-10")
    listing = await admin(s, clock, "campaigns")
    assert "2027-shanghai  2027 上海市  沪经信企〔2027〕1号" in listing
    assert "sme_match    截止 2027-03-10\n" in listing
    async with store.sessions() as session:  # prepared ahead: nobody is moved into it before it is enabled
        assert "2027-shanghai" not in {c.id for c in await load_campaigns(session)}
    assert "已启用" in await admin(s, clock, "enable", "2027-shanghai")
    async with store.sessions() as session:
        assert "2027-shanghai" in {c.id for c in await load_campaigns(session)}
    await admin(s, clock, "edit-campaign", "2027-shanghai", "--remind-time", "10:30",
                "--set", "forms.large_need.to.phone=23119342")
    shown = await admin(s, clock, "show", "2027-shanghai")
    assert '"remind_time": "10:30"' in shown and '"phone": "23119342"' in shown
    assert '"district": "浦东"' in shown  # the offices came along


async def test_a_deadline_set_later_is_announced_to_the_users_it_concerns(db_url, tmp_path, clock, store):
    s = _settings(db_url, tmp_path)
    await add_user(store, "sh", [("sme_match", "draft", SH_DRAFT)])
    await add_user(store, "js", [("sme_match", "draft", {"reg_province": "江苏省"})])
    await admin(s, clock, "add-campaign", "2027-shanghai", "--copy-from", "2024-shanghai", "--year", "2027", "--enabled")
    out = await admin(s, clock, "set-deadline", "2027-shanghai", "sme_match", "2027-03-10")
    assert "已通知 1 位用户" in out
    [notice] = await store.outbox_take("test", "sh")
    assert "《对接表》截止时间调整（原：另行通知）" in notice.text and "2027-03-10" in notice.text
    assert await store.outbox_take("test", "js") == []


async def test_contacts_import_from_csv_and_xlsx(db_url, tmp_path, clock, store):
    s = _settings(db_url, tmp_path)
    csv_path = tmp_path / "附件1.csv"
    csv_path.write_text("序号,区,部门,电话,单位地址\n1,浦东,新中心,1234 5678,浦东新区某路1号\n"
                        "2,新区,某办,87654321,某路2号\n", encoding="utf-8")
    out = await admin(s, clock, "import-contacts", "2024-shanghai", str(csv_path))
    assert "已导入 2 条（新增 1），共 21 条" in out
    wb = Workbook()
    wb.active.append(["部门", "电话", "邮箱"])
    wb.active.append(["市级新联系人", "23119999", "a@b.cn"])
    xlsx = tmp_path / "c.xlsx"
    wb.save(xlsx)
    await admin(s, clock, "import-contacts", "2024-shanghai", str(xlsx))
    shown = await admin(s, clock, "show", "2024-shanghai")
    assert '"phone": "12345678"' in shown and '"office": "新中心"' in shown and "a@b.cn" in shown


async def test_users_progress_and_the_xlsx_rollup(db_url, tmp_path, clock, store):
    s = _settings(db_url, tmp_path)
    await add_user(store, "u1", [("sme_match", "draft", SH_DRAFT)])
    await add_user(store, "u2", [("large_need", "submitted", {"company_name": "大集团", "reg_province": "北京市"})])
    users = await admin(s, clock, "users")
    assert "test:u1 上海测试科技有限公司 上海市浦东 | 2024-shanghai sme_match 3/" in users
    assert "大集团 北京市 | 2024-national large_need" in users and "已盖章报送" in users
    path = tmp_path / "rollup.xlsx"
    await admin(s, clock, "export", str(path), "--campaign", "2024-shanghai")
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][:7] == ("用户", "渠道", "企业名称", "省份", "区", "活动", "表格")
    assert len(rows) == 2 and rows[1][2] == "上海测试科技有限公司" and rows[1][4] == "浦东"


async def test_set_status_returned_with_reason_is_shown_to_the_user(db_url, tmp_path, clock, store):
    s = _settings(db_url, tmp_path)
    await add_user(store, "u1", [("sme_match", "submitted", SH_DRAFT)])
    await admin(s, clock, "set-status", "test:u1", "sme_match", "returned", "--note", "缺营业执照复印件")
    [sub] = await submissions(store, "u1")
    assert (sub.status, sub.status_note) == ("returned", "缺营业执照复印件")
    [notice] = await store.outbox_take("test", "u1")
    assert "《对接表》被退回：缺营业执照复印件" in notice.text and notice.buttons[0].payload == "cmd:status"


# -- guards: what an operator's slip must not do ---------------------------------------------------------

async def admin_fails(settings, clock, *argv, ask=None) -> str:
    out = io.StringIO()
    code = await run(build_parser().parse_args(["admin", *argv]), settings, now=clock(), out=out, ask=ask)
    assert code == 2, out.getvalue()
    text = out.getvalue()
    assert text.startswith("错误：") and text.count("\n") == 1, text  # one line, never a traceback
    return text


async def test_submitted_is_refused_on_an_unfinished_form(db_url, tmp_path, clock, store):
    s = _settings(db_url, tmp_path)
    await add_user(store, "u1", [("sme_match", "draft", SH_DRAFT)])
    out = await admin_fails(s, clock, "set-status", "test:u1", "sme_match", "submitted")
    assert "《对接表》还没填完（已答 3/" in out and "不能设为已盖章报送" in out
    [sub] = await submissions(store, "u1")
    assert sub.status == "draft"
    assert await store.outbox_take("test", "u1") == []


async def test_a_past_deadline_is_refused_unless_past_is_given(db_url, tmp_path, clock, store):
    s = _settings(db_url, tmp_path)
    await admin(s, clock, "add-campaign", "2027-shanghai", "--copy-from", "2024-shanghai", "--year", "2027", "--enabled")
    out = await admin_fails(s, clock, "set-deadline", "2027-shanghai", "sme_match", "2026-11-01")
    assert "2026-11-01 已经过去（今天是 2026-11-24）" in out and "--past" in out
    assert "另行通知" in await admin(s, clock, "show", "2027-shanghai")
    assert "→ 2026-11-01" in await admin(s, clock, "set-deadline", "2027-shanghai", "sme_match", "2026-11-01",
                                         "--past", "--no-announce")


async def test_a_deadline_for_many_users_is_confirmed_first(db_url, tmp_path, clock, store):
    s = _settings(db_url, tmp_path)
    for i in range(12):
        await add_user(store, f"sh{i}", [("sme_match", "draft", SH_DRAFT)])
    await admin(s, clock, "add-campaign", "2027-shanghai", "--copy-from", "2024-shanghai", "--year", "2027", "--enabled")
    asked = []
    out = await admin_fails(s, clock, "set-deadline", "2027-shanghai", "sme_match", "2027-03-10",
                            ask=lambda q: asked.append(q) or False)
    assert asked and "将通知 12 位用户" in asked[0]
    assert "将通知 12 位用户，未确认" in out and "--yes" in out
    assert "另行通知" in await admin(s, clock, "show", "2027-shanghai")  # unchanged
    assert await store.outbox_take("test", "sh0") == []
    out = await admin(s, clock, "set-deadline", "2027-shanghai", "sme_match", "2027-03-10", "--yes")
    assert "已通知 12 位用户" in out


async def test_a_closed_standard_input_is_a_no(db_url, tmp_path, clock, store, monkeypatch):
    s = _settings(db_url, tmp_path)
    for i in range(11):
        await add_user(store, f"sh{i}", [("sme_match", "draft", SH_DRAFT)])
    await admin(s, clock, "add-campaign", "2027-shanghai", "--copy-from", "2024-shanghai", "--year", "2027", "--enabled")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # CI: no one to answer
    out = io.StringIO()
    code = await run(build_parser().parse_args(["admin", "set-deadline", "2027-shanghai", "sme_match",
                                                "2027-03-10"]), s, now=clock(), out=out)
    assert code == 2 and "未确认" in out.getvalue()


async def test_the_text_of_a_deadline_is_shown_to_users(db_url, tmp_path, clock, store):
    s = _settings(db_url, tmp_path)
    await add_user(store, "sh", [("sme_match", "draft", SH_DRAFT)])
    await admin(s, clock, "add-campaign", "2027-shanghai", "--copy-from", "2024-shanghai", "--year", "2027", "--enabled")
    out = await admin(s, clock, "set-deadline", "2027-shanghai", "sme_match", "2027-03-10",
                      "--text", "纸质件请于当日17:00前送达")
    assert "（纸质件请于当日17:00前送达）" in out
    [notice] = await store.outbox_take("test", "sh")
    assert "2027-03-10" in notice.text and "纸质件请于当日17:00前送达" in notice.text


async def test_missing_files_and_folders_are_one_line(db_url, tmp_path, clock, store):
    s = _settings(db_url, tmp_path)
    out = await admin_fails(s, clock, "import-contacts", "2024-shanghai", str(tmp_path / "附件1.xlsx"))
    assert "没有这个文件" in out
    out = await admin_fails(s, clock, "import-contacts", "2024-shanghai", str(tmp_path))
    assert "这是文件夹" in out
    out = await admin_fails(s, clock, "export", str(tmp_path / "no" / "such" / "rollup.xlsx"))
    assert "没有这个文件夹" in out
    out = await admin_fails(s, clock, "add-campaign", "2027-x", "--file", str(tmp_path / "c.json"))
    assert "没有这个文件" in out
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    assert "不是有效的 JSON" in await admin_fails(s, clock, "add-campaign", "2027-x", "--file", str(tmp_path / "bad.json"))


def test_global_options_are_accepted_after_the_subcommand(tmp_path):
    from bot.__main__ import _settings as settings_of

    url = f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}"
    for argv in (["--database-url", url, "admin", "campaigns"], ["admin", "--database-url", url, "campaigns"],
                 ["admin", "campaigns", "--database-url", url, "--data-dir", str(tmp_path)]):
        args = build_parser().parse_args(argv)
        assert settings_of(args).database_url == url, argv
    args = build_parser().parse_args(["admin", "set-status", "test:u1", "sme_match", "returned", "-v", "--note", "x"])
    assert args.verbose is True and args.note == "x"
