"""企业注册地 printed once, by its GB/T 2260 name, whatever the firm typed in the 省, 市(区) and 县 blanks.

The 直辖市 (北京, 天津, 上海, 重庆) are the province-level name: typed again in the 市(区) blank they are not
printed again, and their 区 takes the 市(区) blank. A prefecture-level city prints with its 市 once, typed with
or without it, after the province typed short or long.
"""

from __future__ import annotations

import re

import pytest

from bot.domain.places import BLANK, place_parts, registered_place

# (the municipality, its short form, a district typed short, the district's official name)
MUNICIPAL = [
    ("北京市", "北京", "海淀", "海淀区"),
    ("天津市", "天津", "滨海", "滨海新区"),
    ("上海市", "上海", "浦东", "浦东新区"),
    ("重庆市", "重庆", "渝中", "渝中区"),
]

# (the province, its short form, a prefecture-level city as typed short)
CITIES = [
    ("河北省", "河北", "石家庄"), ("河北省", "河北", "唐山"), ("山西省", "山西", "太原"),
    ("内蒙古自治区", "内蒙古", "呼和浩特"), ("内蒙古自治区", "内蒙古", "包头"), ("辽宁省", "辽宁", "沈阳"),
    ("辽宁省", "辽宁", "大连"), ("辽宁省", "辽宁", "朝阳"),  # a 地级市, not Beijing's 朝阳区
    ("吉林省", "吉林", "长春"), ("吉林省", "吉林", "吉林"),  # the city named like its province
    ("黑龙江省", "黑龙江", "哈尔滨"), ("江苏省", "江苏", "苏州"), ("江苏省", "江苏", "南京"),
    ("浙江省", "浙江", "杭州"), ("浙江省", "浙江", "宁波"), ("安徽省", "安徽", "合肥"), ("福建省", "福建", "厦门"),
    ("江西省", "江西", "南昌"), ("江西省", "江西", "景德镇"), ("江西省", "江西", "萍乡"),  # 镇 and 乡 end names
    ("山东省", "山东", "青岛"), ("河南省", "河南", "郑州"), ("湖北省", "湖北", "武汉"), ("湖北省", "湖北", "襄阳"),
    ("湖南省", "湖南", "长沙"), ("广东省", "广东", "广州"), ("广东省", "广东", "深圳"), ("广东省", "广东", "中山"),
    ("广西壮族自治区", "广西", "南宁"), ("海南省", "海南", "海口"), ("海南省", "海南", "三亚"),
    ("四川省", "四川", "成都"), ("贵州省", "贵州", "六盘水"), ("云南省", "云南", "昆明"),
    ("西藏自治区", "西藏", "拉萨"), ("陕西省", "陕西", "西安"), ("甘肃省", "甘肃", "兰州"),
    ("青海省", "青海", "西宁"), ("宁夏回族自治区", "宁夏", "银川"), ("新疆维吾尔自治区", "新疆", "乌鲁木齐"),
    ("新疆维吾尔自治区", "新疆", "克拉玛依"),
]


def printed(province, city, county=None) -> str:
    return registered_place({"reg_province": province, "reg_city": city, "reg_county": county})


def assert_printed_once(line: str) -> None:
    """No unit twice in a row (市市, 县_____县) and no official name printed twice. An empty blank keeps the
    form's words (上海市_____市(区)_____县: the 市(区) blank not filled in, as on the paper form)."""
    for unit in ("省", "市", "区", "县"):
        assert unit + unit not in line, line
    for unit in ("省", "县"):
        assert unit + BLANK + unit not in line, line
    names = [n for n in re.split(f"{BLANK}(?:省|市\\(区\\)|县)", line) if n]
    for name in ("北京市", "天津市", "上海市", "重庆市", "吉林省"):
        assert "".join(names).count(name) <= 1, line


def municipal_cases():
    for full, short, district, official in MUNICIPAL:
        line = f"{full}{official}{BLANK}县"
        for prov in (short, full):
            for city in (short, full):  # the municipality again in the 市(区) blank …
                for county in (district, official):  # … and its district in the 县 blank (the bug)
                    yield pytest.param(prov, city, county, line, id=f"{prov}+{city}+{county}")
            for city in (district, official, f"{full}{district}", f"{short}{official}"):
                yield pytest.param(prov, city, None, line, id=f"{prov}+{city}")
            yield pytest.param(prov, full, None, f"{full}{BLANK}市(区){BLANK}县", id=f"{prov}+{full}+(none)")
            yield pytest.param(prov, district, official, line, id=f"{prov}+{district}+{official}")


@pytest.mark.parametrize(("province", "city", "county", "line"), list(municipal_cases()))
def test_a_municipality_prints_once_and_its_district_in_the_city_blank(province, city, county, line):
    assert printed(province, city, county) == line
    assert_printed_once(line)


def city_cases():
    for full, short, city in CITIES:
        line = f"{full}{city}市{BLANK}县"
        for prov in (short, full):
            for typed in (city, f"{city}市", f"{short}{city}", f"{full}{city}市"):
                yield pytest.param(prov, typed, line, id=f"{prov}+{typed}")


@pytest.mark.parametrize(("province", "city", "line"), list(city_cases()))
def test_a_prefecture_level_city_prints_with_one_shi(province, city, line):
    assert printed(province, city) == line
    assert_printed_once(line)


def test_thirty_cities_across_the_provinces():
    assert len(CITIES) >= 30 and len({p for p, _s, _c in CITIES}) >= 25


@pytest.mark.parametrize(("province", "city", "county", "line"), [
    ("上海市", "上海市", "浦东", "上海市浦东新区_____县"),  # the issue: printed 「上海市市浦东新区」
    ("上海市", "市", "浦东", "上海市浦东新区_____县"),
    ("上海市", "上海市市辖区", "浦东新区", "上海市浦东新区_____县"),  # GB/T 2260's own 市辖区 level
    ("上海", "上海市区", "静安", "上海市静安区_____县"),
    ("Shanghai", "Shanghai", "Pudong", "上海市浦东新区_____县"),
    (None, "上海市", "浦东", "上海市浦东新区_____县"),  # the 省 blank not answered: the municipality is the 省
    ("上海", "浦东", "张江镇", "上海市浦东新区张江镇县"),  # a 镇 the tables do not know: as before
    ("重庆市", "重庆市", "城口", "重庆市_____市(区)城口县"),  # a 县 of 重庆 is printed in the 县 blank
    ("重庆", "城口县", None, "重庆市_____市(区)城口县"),
    ("重庆", "石柱", None, "重庆市_____市(区)石柱土家族自治县"),
    ("江苏省", "苏州", "工业园区", "江苏省苏州市工业园区"),  # not a GB/T 2260 division: the firm's words
    ("江苏", "苏州市", "昆山市", "江苏省苏州市昆山市"),
    ("吉林省", "吉林市", "船营区", "吉林省吉林市船营区"),
    ("吉林", "吉林省吉林市", None, "吉林省吉林市_____县"),
    ("广西", "广西壮族自治区南宁市", None, "广西壮族自治区南宁市_____县"),
    ("四川", "凉山州", "西昌市", "四川省凉山彝族自治州西昌市"),
])
def test_registered_place(province, city, county, line):
    assert printed(province, city, county) == line
    assert_printed_once(line)


def test_the_parts_are_what_the_line_is_made_of():
    assert place_parts({"reg_province": "上海市", "reg_city": "上海市", "reg_county": "浦东"}) == ("上海市", "浦东新区", "")
    assert place_parts({"reg_province": "重庆", "reg_city": "重庆", "reg_county": "城口"}) == ("重庆市", "", "城口县")
    assert place_parts({"reg_province": "江苏", "reg_city": "苏州", "reg_county": None}) == ("江苏省", "苏州市", "")
