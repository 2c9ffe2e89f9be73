"""A campaign's district offices (附件1): read from a CSV or xlsx sheet with 附件1's own headers or English
ones, merged into the campaign's contacts by district (or replacing them).

    python -m bot admin import-contacts 2025-shanghai 附件1.xlsx
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any, TextIO

from bot.admin.shared import AdminError, Declare, existing_file, find_campaign, save
from bot.campaigns.model import Campaign
from bot.catalogue import importer as catalogue_file
from storage.store import Store

CONTACT_COLUMNS = {  # header (附件1's own, or English) → key
    "区": "district", "district": "district", "部门": "office", "office": "office", "电话": "phone",
    "phone": "phone", "单位地址": "address", "地址": "address", "address": "address", "邮箱": "email",
    "email": "email", "e-mail": "email", "别名": "aliases", "aliases": "aliases",
}


def add_commands(declare: Declare) -> None:
    p = declare("import-contacts", cmd_import_contacts, help="district offices from CSV/xlsx: 区,部门,电话,单位地址[,邮箱]")
    p.add_argument("campaign")
    p.add_argument("file")
    p.add_argument("--replace", action="store_true", help="drop the contacts not in the file")


def parse_contacts(rows: list[list[str]]) -> list[dict[str, Any]]:
    """Rows with a header (区, 部门, 电话, 单位地址, 邮箱 — or English) → contact dicts; 序号 is ignored."""
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    header = [CONTACT_COLUMNS.get(h.replace(" ", "").lower(), "") for h in rows[0]]
    if "office" not in header:
        raise AdminError("表头需要“部门”列（以及 区、电话、单位地址、邮箱）")
    out = []
    for r in rows[1:]:
        c: dict[str, Any] = {}
        for key, value in zip(header, r, strict=False):
            value = "".join(value.split()) if key != "aliases" else value
            if key and value:
                c[key] = [x for x in value.replace("，", ",").split(",") if x] if key == "aliases" else value
        if c.get("office"):
            if not c.get("district"):
                c["level"] = "city"
            out.append(c)
    return out


async def cmd_import_contacts(store: Store, args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    c = await find_campaign(store, args.campaign)
    new = parse_contacts(catalogue_file.read_table(existing_file(args.file)))
    key = lambda x: x.get("district") or ("city", x.get("office"))  # noqa: E731
    merged = {} if args.replace else {key(x): x for x in c.contacts}
    added = sum(1 for x in new if key(x) not in merged)
    for x in new:
        merged[key(x)] = x
    data = {**c.data, "contacts": list(merged.values())}
    await save(store, Campaign(data))
    print(f"已导入 {len(new)} 条（新增 {added}），共 {len(merged)} 条", file=out)
    return 0
