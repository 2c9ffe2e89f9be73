"""企业注册地 as the 对接表 prints it: the official blanks ``_____省_____市(区)_____县``, the firm's words in each.

Well-known short forms become official names (上海 → 上海市, 浦东 → 浦东新区, 北京 + 海淀 → 北京市 海淀区); a name
that carries its own unit word (上海市, 浦东新区, 昆山市) stands for the blank and its unit, a bare word in the 省 or
县 blank keeps the form's unit after it (昆山 in the 县 blank reads 昆山县), and a blank left empty stays a blank line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.regions import has_admin_unit, official_district, province

BLANK = "_____"
UNITS = ("省", "市(区)", "县")


def _blank(name: str, unit: str) -> str:
    if not name:
        return BLANK + unit
    if has_admin_unit(name) or unit == "市(区)":  # which of 市 or 区 a bare word is, nobody can tell
        return name
    return name + unit


def place_parts(answers: Mapping[str, Any]) -> tuple[str, str, str]:
    """The official names for the three blanks ("" where not answered)."""
    raw_province = str(answers.get("reg_province") or "").strip()
    prov = province(raw_province) or raw_province
    city = official_district(prov, answers.get("reg_city"))
    county = official_district(prov, answers.get("reg_county"), county=True)
    if county and county == city:
        county = ""
    return prov, city, county


def registered_place(answers: Mapping[str, Any]) -> str:
    """The printed 企业注册地 line: ``上海市浦东新区_____县``, ``江苏省苏州市昆山县``, ``_____省_____市(区)_____县``."""
    return "".join(_blank(name, unit) for name, unit in zip(place_parts(answers), UNITS, strict=True))
