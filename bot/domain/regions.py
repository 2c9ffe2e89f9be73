"""Which region a firm is in, from what it wrote on a form (GB/T 2260 province names; 附件1 districts)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

NATIONAL = "全国"

PROVINCES = (
    "北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省", "上海市", "江苏省",
    "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "广西壮族自治区",
    "海南省", "重庆市", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省", "青海省",
    "宁夏回族自治区", "新疆维吾尔自治区", "台湾省", "香港特别行政区", "澳门特别行政区",
)
# 计划单列市 and the 兵团 have SME authorities of their own: a campaign's region may name them.
SEPARATE_PLAN_CITIES = ("大连市", "青岛市", "宁波市", "厦门市", "深圳市")
BINGTUAN = "新疆生产建设兵团"

_SUFFIX = re.compile(r"(壮族自治区|回族自治区|维吾尔自治区|特别行政区|自治区|省|市)$")


def _clean(text: Any) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))


def _latin(text: str) -> str:
    """The Latin letters of `text`, lower case: "Jing'an District" → "jingandistrict"."""
    return re.sub(r"[^a-z]", "", text.lower())


def _short(name: str) -> str:
    return _SUFFIX.sub("", name)


_BY_SHORT = {_short(p): p for p in PROVINCES}
_BY_SHORT["内蒙"] = "内蒙古自治区"

# What an English-speaking clerk types: pinyin or the English name ("Shanghai", "Inner Mongolia").
_LATIN = dict(zip((
    "beijing", "tianjin", "hebei", "shanxi", "innermongolia", "liaoning", "jilin", "heilongjiang", "shanghai",
    "jiangsu", "zhejiang", "anhui", "fujian", "jiangxi", "shandong", "henan", "hubei", "hunan", "guangdong",
    "guangxi", "hainan", "chongqing", "sichuan", "guizhou", "yunnan", "tibet", "shaanxi", "gansu", "qinghai",
    "ningxia", "xinjiang", "taiwan", "hongkong", "macau"), PROVINCES, strict=True))
_LATIN.update({"neimenggu": "内蒙古自治区", "xizang": "西藏自治区", "macao": "澳门特别行政区"})
_LATIN_SUFFIX = re.compile(r"(province|municipality|city|autonomousregion|region|sar|sheng|shi|zizhiqu)$")


def province(text: Any) -> str | None:
    """"上海" / "上海市" / "广西" → the official province name; None when not one."""
    t = _clean(text)
    if not t:
        return None
    if t in PROVINCES:
        return t
    if t.startswith(BINGTUAN):
        return BINGTUAN
    for short, full in _BY_SHORT.items():
        if t.startswith(short):
            return full
    latin = _latin(t)
    return _LATIN.get(latin) or _LATIN.get(_LATIN_SUFFIX.sub("", latin))


def plan_city(*texts: Any) -> str | None:
    """A 计划单列市 named in any of `texts` (宁波, 宁波市), else None."""
    for text in texts:
        t = _clean(text)
        for city in SEPARATE_PLAN_CITIES:
            if t.startswith(city[:-1]) or t.startswith(f"{_short_prov_of(city)}{city[:-1]}"):
                return city
    return None


def _short_prov_of(city: str) -> str:
    return {"大连市": "辽宁省", "青岛市": "山东省", "宁波市": "浙江省", "厦门市": "福建省", "深圳市": "广东省"}[city]


def user_region(answers: Iterable[Mapping[str, Any]]) -> dict[str, str | None]:
    """{"province", "city", "county"} from the first answers (profile, newest form, …) that name them."""
    out: dict[str, str | None] = {"province": None, "city": None, "county": None}
    answers = [a for a in answers if a]
    for a in answers:
        if province(a.get("reg_province")):
            out["province"] = province(a.get("reg_province"))
            break
    for a in answers:  # the city from answers of the same province (the 需求表 asks no city)
        if _clean(a.get("reg_city")) and province(a.get("reg_province")) in (None, out["province"]):
            out["city"] = _clean(a.get("reg_city"))
            out["county"] = _clean(a.get("reg_county")) or None
            break
    return out


# Shanghai's districts as an English-speaking clerk writes them ("Pudong New Area", "Jing'an").
_LATIN_DISTRICTS = {
    "pudong": "浦东", "huangpu": "黄浦", "jingan": "静安", "xuhui": "徐汇", "changning": "长宁", "putuo": "普陀",
    "hongkou": "虹口", "yangpu": "杨浦", "baoshan": "宝山", "minhang": "闵行", "jiading": "嘉定", "jinshan": "金山",
    "songjiang": "松江", "qingpu": "青浦", "fengxian": "奉贤", "chongming": "崇明", "lingang": "临港",
    "chemicalindustry": "化工区",
}


def is_latin_district(text: str) -> bool:
    """"pudong", "Jing'an": a Shanghai district's name in pinyin, and nothing else."""
    latin = _latin(text)
    return latin in _LATIN_DISTRICTS or latin.removesuffix("district") in _LATIN_DISTRICTS


def latin_district_name(text: str) -> str:
    """"pudong" → "浦东新区", "jingan" → "静安区": the official name of a Shanghai district written in pinyin."""
    short = _LATIN_DISTRICTS.get(_latin(text).removesuffix("district"), "")
    return official_district("上海市", short) or short


def _latin_district(text: str) -> str:
    latin = _latin(text)
    if not latin:
        return text
    # the most specific first: "Pudong Lingang" is 临港
    hits = sorted((k for k in _LATIN_DISTRICTS if k in latin), key=lambda k: -latin.index(k))
    return "".join(_LATIN_DISTRICTS[k] for k in hits) + text if hits else text


def district_of(contacts: Iterable[Mapping[str, Any]], *texts: Any) -> Mapping[str, Any] | None:
    """The district contact whose name (浦东 for 浦东新区; 临港 for 临港新片区) appears in `texts`.

    The more specific names are tried first, so 浦东新区临港新片区 is 临港新片区.
    """
    districts = sorted((c for c in contacts if c.get("district")), key=lambda c: -len(c["district"]))
    for text in texts:
        t = _latin_district(_clean(text)).removeprefix("上海市").removeprefix("上海")
        if not t or t in ("市辖区", "市"):
            continue
        for c in districts:
            names = [c["district"], *c.get("aliases", ())]
            core = re.sub(r"(新片区|新区|区)$", "", c["district"])
            if any(n and n in t for n in names) or (len(core) >= 2 and t.startswith(core)):
                return c
    return None


# -- official names of a 注册地's 市(区) and 县 ----------------------------------------------------------

# The districts and counties of the four municipalities (GB/T 2260, as of 2024): a firm there writes a
# district in the 市(区) blank, often short (浦东, 海淀).
MUNICIPAL_DISTRICTS: dict[str, tuple[str, ...]] = {
    "北京市": ("东城区", "西城区", "朝阳区", "丰台区", "石景山区", "海淀区", "门头沟区", "房山区", "通州区", "顺义区",
            "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区"),
    "天津市": ("和平区", "河东区", "河西区", "南开区", "河北区", "红桥区", "东丽区", "西青区", "津南区", "北辰区",
            "武清区", "宝坻区", "滨海新区", "宁河区", "静海区", "蓟州区"),
    "上海市": ("黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区", "宝山区", "嘉定区",
            "浦东新区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区"),
    "重庆市": ("万州区", "涪陵区", "渝中区", "大渡口区", "江北区", "沙坪坝区", "九龙坡区", "南岸区", "北碚区", "綦江区",
            "大足区", "渝北区", "巴南区", "黔江区", "长寿区", "江津区", "合川区", "永川区", "南川区", "璧山区",
            "铜梁区", "潼南区", "荣昌区", "开州区", "梁平区", "武隆区", "城口县", "丰都县", "垫江县", "忠县",
            "云阳县", "奉节县", "巫山县", "巫溪县", "石柱土家族自治县", "秀山土家族苗族自治县",
            "酉阳土家族苗族自治县", "彭水苗族土家族自治县"),
}

# Prefecture-level divisions whose official name does not end in 市: a bare name elsewhere is a 市 (苏州).
PREFECTURES_NOT_CITIES: dict[str, tuple[str, ...]] = {
    "吉林省": ("延边朝鲜族自治州",),
    "湖北省": ("恩施土家族苗族自治州",),
    "湖南省": ("湘西土家族苗族自治州",),
    "四川省": ("阿坝藏族羌族自治州", "甘孜藏族自治州", "凉山彝族自治州"),
    "贵州省": ("黔西南布依族苗族自治州", "黔东南苗族侗族自治州", "黔南布依族苗族自治州"),
    "云南省": ("楚雄彝族自治州", "红河哈尼族彝族自治州", "文山壮族苗族自治州", "西双版纳傣族自治州", "大理白族自治州",
            "德宏傣族景颇族自治州", "怒江傈僳族自治州", "迪庆藏族自治州"),
    "甘肃省": ("临夏回族自治州", "甘南藏族自治州"),
    "青海省": ("海北藏族自治州", "黄南藏族自治州", "海南藏族自治州", "果洛藏族自治州", "玉树藏族自治州",
            "海西蒙古族藏族自治州"),
    "新疆维吾尔自治区": ("昌吉回族自治州", "博尔塔拉蒙古自治州", "巴音郭楞蒙古自治州", "克孜勒苏柯尔克孜自治州",
                  "伊犁哈萨克自治州", "阿克苏地区", "喀什地区", "和田地区", "塔城地区", "阿勒泰地区"),
    "黑龙江省": ("大兴安岭地区",),
    "西藏自治区": ("阿里地区",),
    "内蒙古自治区": ("兴安盟", "锡林郭勒盟", "阿拉善盟"),
}

# a name that already says what it is (苏州市, 浦东新区, 昆山市, 城口县); 州 alone is part of names (苏州, 广州)
ADMIN_UNITS = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "林区", "新区", "省", "市", "区", "县",
               "盟", "旗")
_ETHNIC = ("朝鲜族", "土家族", "苗族", "藏族", "羌族", "彝族", "布依族", "侗族", "哈尼族", "壮族", "傣族", "白族", "景颇族",
           "傈僳族", "回族", "蒙古", "柯尔克孜", "哈萨克")


def _core(name: str) -> str:
    """浦东新区 → 浦东, 海淀区 → 海淀, 石柱土家族自治县 → 石柱, 延边朝鲜族自治州 → 延边, 阿里地区 → 阿里."""
    if name.endswith(("自治州", "自治县")):
        found = [name.find(e) for e in _ETHNIC if name.find(e) > 0]
        return name[:min(found)] if found else name.removesuffix("自治州").removesuffix("自治县")
    for unit in ("地区", "新区", "区", "县", "盟", "市"):
        if name.endswith(unit) and len(name) > len(unit):
            return name.removesuffix(unit)
    return name


_MUNICIPAL_BY_CORE = {p: {_core(d): d for d in ds} for p, ds in MUNICIPAL_DISTRICTS.items()}
_PREFECTURE_BY_CORE = {p: {_core(n): n for n in ns} for p, ns in PREFECTURES_NOT_CITIES.items()}


# A prefecture-level city named like its province: 吉林 in the 市(区) blank after 吉林省 is this city.
SAME_NAME_CITIES = {"吉林省": "吉林市"}
MUNICIPALITIES = tuple(MUNICIPAL_DISTRICTS)  # 直辖市: the province-level name is the city's
# what is left of 上海市市辖区, 上海市区, 上海 市 once the province is taken off: nothing that names a place
_ONLY_A_UNIT = ("市辖区", "市区", "辖区", *ADMIN_UNITS)
_PROVINCE_UNIT = re.compile(r"^(壮族自治区|回族自治区|维吾尔自治区|特别行政区|自治区|省)")


def _without_province(prov: str, t: str) -> str:
    """`t` with the province's own name in front taken off: 上海市浦东 → 浦东, 上海市 → "", 江苏苏州 → 苏州,
    广西自治区南宁 → 南宁, Shanghai → "". 吉林市 after 吉林省 stays 吉林市 (the short name and 市 is a city)."""
    if t.isascii() and province(t) == prov:
        return ""
    if t.startswith(prov):
        return t.removeprefix(prov)
    short = _short(prov)
    if t.startswith(short) and not t.removeprefix(short).startswith("市"):
        return _PROVINCE_UNIT.sub("", t.removeprefix(short))
    return t


def has_admin_unit(name: str) -> bool:
    return name.endswith(ADMIN_UNITS)


def official_district(province_name: Any, name: Any, county: bool = False) -> str:
    """The official name of a 注册地's 市(区) (or, `county`, its 县) as a firm writes it.

    ``official_district("上海", "浦东")`` → "浦东新区", ``("北京市", "海淀")`` → "海淀区", ``("江苏省", "苏州")``
    → "苏州市", ``("四川", "凉山州")`` → "凉山彝族自治州". The province's name written in front is dropped
    (上海市浦东新区 → 浦东新区); a name the tables do not know comes back as written (a 县 blank keeps 昆山: it
    may be a 县, a 县级市 or a 区). "" when nothing is left, or only the province's own name (上海市 after
    上海市, 上海市市辖区, Shanghai; but 吉林 after 吉林省 is 吉林市).
    """
    prov = province(province_name)
    t = _clean(name)
    if prov:
        if not county and prov in SAME_NAME_CITIES and t in (_short(prov), SAME_NAME_CITIES[prov]):
            return SAME_NAME_CITIES[prov]  # 吉林省 + 吉林: the city, not the province again
        t = _without_province(prov, t)
    if not t or t in _ONLY_A_UNIT:
        return ""
    if prov == "上海市" and t.isascii():  # Pudong, "Jing'an District", Pudong New Area
        t = _latin_district(t).removesuffix(t) or t
    if prov in _MUNICIPAL_BY_CORE:
        return _MUNICIPAL_BY_CORE[prov].get(_core(t), t)
    if county or has_admin_unit(t):
        return t
    prefectures = _PREFECTURE_BY_CORE.get(prov or "", {})
    if t.endswith("州") and t[:-1] in prefectures:  # 凉山州 → 凉山彝族自治州
        return prefectures[t[:-1]]
    if t in prefectures:
        return prefectures[t]
    return t + "市" if prov and re.fullmatch(r"[\u4e00-\u9fff]{2,8}", t) else t
