"""The ministry's 需求目录 spreadsheet (xlsx or CSV) → catalogue rows.

Headers are matched by meaning, not spelling: 需求名称 / 事项名称 / 名称 / 项目名称 are the name,
编号 / 代码 / 需求编号 / 事项代码 the code, 发榜企业 / 企业名称 / 需求单位 the firm, and so on (English
headers too). A title line above the header ("2024年度…需求目录") is skipped: the header is the first
row, among the first ten, that has a name and a code column. 统一社会信用代码 is a firm's, never the code.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.industries import industries

WITHDRAWN_WORDS = ("撤回", "已撤回", "撤销", "下架", "withdrawn", "withdraw")
HIDDEN_FIRM = ("不公开", "未公开", "保密", "匿名", "-", "—", "/")


class CatalogueFileError(Exception):
    """A file that cannot be read as a catalogue: the message says why, in one line."""


def _norm(header: Any) -> str:
    h = unicodedata.normalize("NFKC", str(header or "")).lower()
    h = re.sub(r"[（(][^)）]*[)）]", "", h)  # 所属行业(代码) → 所属行业
    return re.sub(r"[\s_:：*]", "", h)


EXACT = {
    "code": ("代码", "编号", "需求编号", "需求代码", "事项代码", "事项编号", "榜单编号", "code", "id", "needcode"),
    "name": ("需求名称", "事项名称", "名称", "项目名称", "需求事项", "榜单名称", "技术需求名称", "需求题目", "name",
             "title"),
    "firm": ("发榜企业", "发榜单位", "企业名称", "需求单位", "需求企业", "发布企业", "大企业名称", "单位名称", "企业",
             "firm", "company", "publisher"),
    "industry": ("所属行业", "行业", "行业代码", "行业类别", "行业分类", "industry"),
    "region": ("地区", "所在地区", "省份", "所在省份", "所在地", "区域", "注册地", "region", "province"),
    "content": ("需求内容", "需求描述", "内容", "技术需求", "需求详情", "具体需求", "需求说明", "技术要求", "content",
                "description", "details"),
    "state": ("状态", "发布状态", "state", "status"),
    "publish": ("是否公开", "是否公开企业名称", "公开", "publish"),
}
_EXACT = {h: key for key, hs in EXACT.items() for h in hs}


def column_of(header: Any) -> str:
    """The catalogue column a header names, or "" (序号, 统一社会信用代码, unknown)."""
    h = _norm(header)
    if not h or h in ("序号", "no", "no.", "#"):
        return ""
    if h in _EXACT:
        return _EXACT[h]
    if "信用" in h:
        return ""
    if "行业" in h:
        return "industry"
    if "公开" in h:
        return "publish"
    if any(w in h for w in ("内容", "描述", "详情", "说明", "要求")):
        return "content"
    if any(w in h for w in ("编号", "代码", "编码")):
        return "code"
    if "名称" in h or "题目" in h:
        return "firm" if any(w in h for w in ("企业", "单位", "公司")) else "name"
    if any(w in h for w in ("企业", "单位", "公司")):
        return "firm"
    if any(w in h for w in ("地区", "省", "区域", "所在地")):
        return "region"
    return ""


def read_table(path: Path) -> list[list[str]]:
    """The rows of an xlsx/xlsm (first sheet) or CSV file (UTF-8, with or without BOM, or GB18030); any
    admin import (the catalogue, 附件1's contacts) reads its file here."""
    if not path.exists():
        raise CatalogueFileError(f"没有这个文件：{path}")
    if path.is_dir():
        raise CatalogueFileError(f"这是文件夹，不是文件：{path}")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            ws = load_workbook(path, read_only=True, data_only=True).active
        except Exception as exc:  # zipfile.BadZipFile, KeyError, …: not a workbook
            raise CatalogueFileError(f"无法读取 Excel 文件 {path.name}：{type(exc).__name__}") from exc
        return [["" if v is None else str(v).strip() for v in row] for row in ws.iter_rows(values_only=True)]
    if path.suffix.lower() not in (".csv", ".txt"):
        raise CatalogueFileError(f"只支持 .xlsx 或 .csv：{path.name}")
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CatalogueFileError(f"无法识别 {path.name} 的编码（请另存为 UTF-8 CSV）")
    return [[c.strip() for c in row] for row in csv.reader(text.splitlines())]


def industry_code(value: str) -> str:
    """"36" / "C36" / "36 汽车制造业" / "汽车制造业" → "36"; "" when not an industry."""
    v = unicodedata.normalize("NFKC", value or "").strip()
    m = re.match(r"^[A-Ta-t]?(\d{2})", v)
    if m and m.group(1) in industries():
        return m.group(1)
    name = v.removesuffix("业")
    for ind in industries().values():
        if name and (v == ind.name or name == ind.name.removesuffix("业")):
            return ind.code
    return ""


@dataclass
class Parsed:
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each, with the row number
    columns: dict[str, str] = field(default_factory=dict)  # catalogue column → the file's header


def parse(table: Sequence[Sequence[str]]) -> Parsed:
    out = Parsed()
    header_at = None
    for i, row in enumerate(table[:10]):
        cols = [column_of(h) for h in row]
        if "name" in cols and "code" in cols:
            header_at = i
            break
    if header_at is None:
        raise CatalogueFileError("找不到表头：需要“需求名称/事项名称”和“编号/代码”两列")
    header = table[header_at]
    index: dict[str, int] = {}
    for j, h in enumerate(header):
        key = column_of(h)
        if key and key not in index:
            index[key] = j
            out.columns[key] = str(h).strip()
    by_code: dict[str, int] = {}
    for n, row in enumerate(table[header_at + 1:], start=header_at + 2):
        cell = {k: (str(row[j]).strip() if j < len(row) and row[j] is not None else "") for k, j in index.items()}
        if not any(cell.values()):
            continue
        code, name = "".join(cell.get("code", "").split()), " ".join(cell.get("name", "").split())
        if not code or not name:
            out.problems.append(f"第 {n} 行缺少{'代码' if not code else '名称'}，已跳过")
            continue
        firm = cell.get("firm", "")
        hidden = firm in HIDDEN_FIRM or not firm or cell.get("publish", "") in ("否", "不公开", "no", "false")
        state = "withdrawn" if cell.get("state", "").lower() in WITHDRAWN_WORDS else "published"
        industry = industry_code(cell.get("industry", ""))
        if cell.get("industry") and not industry:
            out.problems.append(f"第 {n} 行所属行业“{cell['industry'][:20]}”不是国民经济行业大类，已留空")
        item = {"code": code[:40], "name": name[:200], "firm": "" if hidden else firm[:200],
                "publish_name": not hidden, "industry": industry, "region": cell.get("region", "")[:40],
                "content": cell.get("content", ""), "state": state}
        if code in by_code:
            out.problems.append(f"第 {n} 行代码 {code} 与前面重复，以此行为准")
            out.rows[by_code[code]] = item
            continue
        by_code[code] = len(out.rows)
        out.rows.append(item)
    return out
