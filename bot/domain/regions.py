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
