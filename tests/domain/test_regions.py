"""official_district: a 注册地's 市(区) or 县 as firms write it → its official name."""

from __future__ import annotations

import pytest

from bot.domain.regions import MUNICIPAL_DISTRICTS, official_district


@pytest.mark.parametrize(("province", "name", "official"), [
    ("上海", "浦东", "浦东新区"),
    ("上海市", "浦东新区", "浦东新区"),
    ("上海市", "上海市浦东新区", "浦东新区"),
    ("上海", "静安", "静安区"),
    ("上海", "Jing'an District", "静安区"),
    ("上海", "pudong", "浦东新区"),
    ("上海", "临港新片区", "临港新片区"),  # not a district: as written
    ("北京", "海淀", "海淀区"),
    ("北京市", "朝阳", "朝阳区"),
    ("辽宁省", "朝阳", "朝阳市"),  # the same name in a province is its 地级市
    ("天津", "滨海", "滨海新区"),
    ("重庆", "忠", "忠县"),
    ("重庆", "酉阳", "酉阳土家族苗族自治县"),
    ("江苏", "苏州", "苏州市"),
    ("广东", "广州", "广州市"),  # 州 is part of the name, not a unit
    ("四川", "凉山", "凉山彝族自治州"),
    ("四川", "凉山州", "凉山彝族自治州"),
    ("新疆", "喀什", "喀什地区"),
    ("内蒙古", "锡林郭勒", "锡林郭勒盟"),
    ("上海", "上海", ""),
    ("上海市", "上海市", ""),  # printed 「上海市市」: the prefix 上海 came off and left a lone 市
    ("上海", "上海市", ""),
    ("上海市", "上海市市辖区", ""),
    ("上海市", "市", ""),
    ("上海", "Shanghai", ""),
    ("吉林省", "吉林", "吉林市"),  # the city named like its province
    ("吉林", "吉林市", "吉林市"),
    ("吉林省", "吉林省吉林市", "吉林市"),
    ("广西", "广西自治区南宁", "南宁市"),
    ("上海", "", ""),
    ("", "苏州", "苏州"),
])
def test_official_district(province, name, official):
    assert official_district(province, name) == official


def test_a_county_blank_is_not_guessed_outside_the_municipalities():
    assert official_district("江苏", "昆山", county=True) == "昆山"  # 县, 县级市 or 区: the firm's own word
    assert official_district("重庆", "城口", county=True) == "城口县"


def test_every_municipal_district_is_found_by_its_short_name():
    for prov, districts in MUNICIPAL_DISTRICTS.items():
        for d in districts:
            assert official_district(prov, d) == d
            short = d.removesuffix("新区").removesuffix("区").removesuffix("县")
            if "自治县" not in d:
                assert official_district(prov, short) == d, (prov, short)
