"""企业注册地 as the 对接表 prints it: the official blanks ``_____省_____市(区)_____县``, the firm's words in each.

Well-known short forms become official names (上海 → 上海市, 浦东 → 浦东新区, 北京 + 海淀 → 北京市 海淀区); a name
that carries its own unit word (上海市, 浦东新区, 昆山市) stands for the blank and its unit, a bare word in the 省 or
县 blank keeps the form's unit after it (昆山 in the 县 blank reads 昆山县), and a blank left empty stays a blank line.

Each official name is printed once, whichever blank the firm wrote it in. A 直辖市 (北京, 天津, 上海, 重庆) is the
province-level name: written again in the 市(区) blank it is not printed again (上海市 + 上海市 + 浦东 printed
「上海市市浦东新区」), and its 区 goes in the 市(区) blank, its 县 in the 县 blank, wherever the firm typed them.
The review, the .docx (and the PDF made from it) and the district console all print what this module says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.regions import (
    MUNICIPAL_DISTRICTS,
    MUNICIPALITIES,
    has_admin_unit,
    official_district,
    province,
)

BLANK = "_____"
UNITS = ("省", "市(区)", "县")


def _blank(name: str, unit: str) -> str:
    if not name:
        return BLANK + unit
    if has_admin_unit(name) or unit == "市(区)":  # which of 市 or 区 a bare word is, nobody can tell
        return name
    return name + unit


def _municipality_of(text: Any) -> str | None:
    """上海市 for a 市(区) answer that starts with a 直辖市's name (上海市, 上海市浦东, Shanghai), else None."""
    found = province(text)
    return found if found in MUNICIPALITIES else None


def place_parts(answers: Mapping[str, Any]) -> tuple[str, str, str]:
    """The official names for the three blanks ("" where not answered or already printed in another blank)."""
    raw_province = str(answers.get("reg_province") or "").strip()
    raw_city, raw_county = answers.get("reg_city"), answers.get("reg_county")
    prov = province(raw_province) or raw_province or _municipality_of(raw_city) or ""
    city = official_district(prov, raw_city)
    county = official_district(prov, raw_county, county=True)
    if county and county == city:
        county = ""
    if prov in MUNICIPALITIES:
        known = MUNICIPAL_DISTRICTS[prov]
        if not city and county in known and not county.endswith("县"):  # 上海市 + 上海市 + 浦东: 浦东新区 is the 区
            city, county = county, ""
        elif not county and city in known and city.endswith("县"):  # 重庆 + 城口: a 县, in the 县 blank
            city, county = "", city
    return prov, city, county


def registered_place(answers: Mapping[str, Any]) -> str:
    """The printed 企业注册地 line: ``上海市浦东新区_____县``, ``江苏省苏州市昆山县``, ``_____省_____市(区)_____县``."""
    return "".join(_blank(name, unit) for name, unit in zip(place_parts(answers), UNITS, strict=True))
