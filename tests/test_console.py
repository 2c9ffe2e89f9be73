"""The terminal channel as a user meets it: a real `python -m bot` process, piped."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import docx
import pytest

from tests.conftest import SME_ANSWERS

ROOT = Path(__file__).resolve().parent.parent


def run_bot(data_dir: Path, lines: list[str], *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "JIEBANG_DATA_DIR": str(data_dir)}
    env.pop("JIEBANG_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "bot", *args], input="\n".join(lines) + "\n", text=True,
                          capture_output=True, env=env, cwd=ROOT, timeout=60)


def test_help_lists_subcommands_and_options(tmp_path):
    out = run_bot(tmp_path, [], "--help")
    assert out.returncode == 0
    for word in ("serve", "--user", "JIEBANG_DATA_DIR"):
        assert word in out.stdout


def test_admin_prints_its_answer_without_log_chatter(tmp_path):
    out = run_bot(tmp_path, [], "admin", "campaigns")
    assert out.returncode == 0, out.stderr
    assert "2024-shanghai" in out.stdout and "沪经信企〔2024〕481号" in out.stdout
    assert out.stderr == ""  # a fresh database is migrated quietly


def test_piped_start_shows_the_menu_and_exits_cleanly(tmp_path):
    out = run_bot(tmp_path / "d", ["/start"])
    assert out.returncode == 0, out.stderr
    assert "1. 大企业（发榜）\n2. 中小企业（揭榜）" in out.stdout
    assert out.stdout.count("您好，我是揭榜助手") == 1  # greeted once, not once on opening and again for /start
    assert "Traceback" not in out.stderr
    assert (tmp_path / "d" / "jiebang.sqlite3").exists()


def test_piped_whole_form_writes_the_docx_and_prints_its_path(tmp_path):
    lines = ["/start", "2", "1", "1", *_answers_in_order(), "1"]  # 1: 开始填写, past the campaign's note
    out = run_bot(tmp_path, lines)
    assert out.returncode == 0, out.stderr
    assert "已生成《中小企业“揭榜”对接表》" in out.stdout
    docs = list((tmp_path / "documents").rglob("*.docx"))
    assert [d.name.split("-", 1)[1] for d in docs] == ["中小企业揭榜对接表-上海测试科技有限公司.docx"]
    assert str(docs[0].resolve()) in out.stdout


def test_piped_large_enterprise_need_form_with_two_needs(tmp_path):
    lines = ["/start", "1", "1", "1", "上海大集团有限公司", "公开", "91310000132149237G", "上海", "王五", "赵六 技术中心主任",
             "021-68811103", "跳过", "zhao@example.com", "13912345678", "50000", "3000", "500000", "国有", "36", "1",
             "上海市经济和信息化委员会", "上海市浦东新区世纪大道1号", "200120",
             "电池外壳改性材料", "研发一款改性材料。", "参数要求：熔指 20g/10min。", "完成", "是",
             "焊接视觉检测", "视觉检测焊缝缺陷。", "完成", "否", "1", "1"]
    out = run_bot(tmp_path, lines)
    assert out.returncode == 0, out.stderr
    assert "需求1 需求内容：研发一款改性材料。\n参数要求：熔指 20g/10min。" in out.stdout  # two parts, one answer
    assert "已生成《大企业技术创新需求表》" in out.stdout
    [doc] = (tmp_path / "documents").rglob("*.docx")
    assert doc.name.endswith("-大企业技术创新需求表-上海大集团有限公司.docx") and str(doc.resolve()) in out.stdout
    cells = _cells(doc)
    assert cells.index("电池外壳改性材料") < cells.index("焊接视觉检测")


def test_piped_application_for_the_matchmaking_forms_item(tmp_path):
    run_bot(tmp_path, ["/start", "2", "1", "1", *_answers_in_order(), "1"])
    sections = [x for i in range(8) for x in (f"第{i + 1}节内容。", "完成")]
    out = run_bot(tmp_path, ["菜单", "2", "1", *sections, "发明专利 ZL2020XXXXXXX.X", "完成", "1"])
    assert out.returncode == 0, out.stderr
    assert "2. 申请书 事项1《高精度视觉检测算法》" in out.stdout
    assert "已生成《大中小企业融通创新项目中小企业“揭榜”申请书》" in out.stdout
    [doc] = (tmp_path / "documents").rglob("*揭榜申请书*.docx")
    assert doc.name.endswith("-揭榜申请书-高精度视觉检测算法-上海测试科技有限公司.docx")
    text = _cells(doc) + "\n".join(p.text for p in docx.Document(str(doc)).paragraphs)
    for value in ("高精度视觉检测算法", "第1节内容。", "第8节内容。", "发明专利 ZL2020XXXXXXX.X"):
        assert value in text


def _cells(path: Path) -> str:
    return "\n".join(c.text for t in docx.Document(str(path)).tables for r in t.rows for c in r.cells)


def test_two_users_share_a_machine(tmp_path):
    run_bot(tmp_path, ["/start", "2", "1", "1", "甲公司"], "--user", "alice")
    out = run_bot(tmp_path, ["预览"], "--user", "bob")
    assert "甲公司" not in out.stdout
    out = run_bot(tmp_path, ["预览"], "--user", "alice")
    assert "甲公司" in out.stdout


def _answers_in_order() -> list[str]:
    order = ["企业名称", "统一社会信用代码", "企业注册地（省）", "企业注册地（市(区)）", "企业注册地（县）", "注册时间",
             "法人代表", "联系电话（法人代表）", "手机（法人代表）", "联系人及职务", "联系电话（联系人）", "手机（联系人）",
             "传真", "电子邮箱", "注册资本(万元)", "从业人数(人)", "上年度营业收入(万元)", "所属行业", "企业规模",
             "企业性质", "企业类型(可多选)", "通讯地址", "邮编", "企业概况", "事项 1 · 事项名称", "事项 1 · 代码", "还要添加"]
    return [x for k in order for x in ([SME_ANSWERS[k]] if isinstance(SME_ANSWERS[k], str) else SME_ANSWERS[k])]


async def _read_until(stream: asyncio.StreamReader, marker: str, seconds: float = 90) -> str:
    seen = ""
    async with asyncio.timeout(seconds):
        while marker not in seen:
            line = await stream.readline()
            if not line:
                raise AssertionError(f"bot exited before {marker!r}; output:\n{seen}")
            seen += line.decode()
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
async def test_killed_mid_form_resumes_at_the_same_question_with_answers_kept(tmp_path):
    env = {**os.environ, "JIEBANG_DATA_DIR": str(tmp_path)}
    env.pop("JIEBANG_DATABASE_URL", None)

    async def start():
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, cwd=ROOT)

    proc = await start()
    await _read_until(proc.stdout, "中小企业")
    for line, expect in (("2", "对接表"), ("1", "开始填写"), ("1", "企业名称 (1/"), ("上海测试科技有限公司", "统一社会信用代码 (2/"),
                         ("91310000132149237G", "企业注册地（省） (3/"), ("上海", "企业注册地（市(区)） (4/")):
        proc.stdin.write(line.encode() + b"\n")
        await proc.stdin.drain()
        await _read_until(proc.stdout, expect)
    proc.send_signal(signal.SIGKILL)  # the answer "上海" was shown as saved: it must survive
    assert await proc.wait() == -signal.SIGKILL

    proc = await start()
    resumed = await _read_until(proc.stdout, "(4/")
    assert "企业注册地（市(区)） (4/" in resumed
    proc.stdin.write("预览\n".encode())
    await proc.stdin.drain()
    preview = await _read_until(proc.stdout, "(4/")
    assert "企业名称：上海测试科技有限公司" in preview and "企业注册地（省）：上海" in preview
    proc.stdin.close()
    assert await proc.wait() == 0


def test_piped_the_journey_drafts_kept_and_the_next_step_said(tmp_path):
    """Issue 14 in the terminal: a half-written 企业概况 survives 上一步, 完成。 closes it, and after the
    confirm the next step is printed (the 申请书 to write, where to hand in)."""
    answers = _answers_in_order()
    at = answers.index("公司专注工业软件研发，拥有发明专利12项。")
    lines = ["/start", "2", "1", "1", *answers[:at], "第一段。", "上一步", "200120", "第二段。", "完成。",
             *answers[at + 2:], "1"]
    out = run_bot(tmp_path, lines)
    assert out.returncode == 0, out.stderr
    assert "存为草稿" in out.stdout and "草稿已保存" in out.stdout
    assert "接下来：" in out.stdout and "写《申请书》事项1《高精度视觉检测算法》" in out.stdout
    [doc] = (tmp_path / "documents").rglob("*.docx")
    text = _cells(doc)
    assert "第一段。" in text and "第二段。" in text and "完成" not in text.split("企业概况")[-1][:40]
