"""企业注册地 as printed: the official blanks _____省_____市(区)_____县 with official names in them (issue 14)."""

from __future__ import annotations

import pytest

from bot.domain.places import registered_place


@pytest.mark.parametrize(("province", "city", "county", "printed"), [
    ("上海", "浦东", None, "上海市浦东新区_____县"),  # printed 「上海市浦东市」 before
    ("上海市", "浦东新区", "", "上海市浦东新区_____县"),
    ("上海", "上海市浦东新区", None, "上海市浦东新区_____县"),
    ("Shanghai", "Pudong New Area", None, "上海市浦东新区_____县"),
    ("北京", "海淀", None, "北京市海淀区_____县"),  # not 北京市海淀市
    ("天津", "滨海", None, "天津市滨海新区_____县"),
    ("重庆", "石柱", None, "重庆市_____市(区)石柱土家族自治县"),  # a 县: in the 县 blank, not 县_____县
    ("江苏省", "苏州", "昆山", "江苏省苏州市昆山县"),
    ("江苏", "苏州市", "昆山市", "江苏省苏州市昆山市"),
    ("四川", "凉山州", "西昌市", "四川省凉山彝族自治州西昌市"),
    ("广东", "深圳", "南山区", "广东省深圳市南山区"),
    ("浙江", None, None, "浙江省_____市(区)_____县"),
    (None, None, None, "_____省_____市(区)_____县"),
    (None, "苏州", None, "_____省苏州_____县"),  # a province not given: the city is printed as written
])
def test_registered_place(province, city, county, printed):
    assert registered_place({"reg_province": province, "reg_city": city, "reg_county": county}) == printed


def test_the_same_district_written_twice_is_printed_once():
    assert registered_place({"reg_province": "上海", "reg_city": "浦东", "reg_county": "浦东新区"}) == \
        "上海市浦东新区_____县"
