"""The shipped 2024 campaigns say what the two notices say; regions find the right campaign and office."""

from __future__ import annotations

from datetime import date

import pytest

from bot.campaigns.model import Campaign, pick
from bot.campaigns.pack import shipped
from bot.domain import regions

CAMPAIGNS = {c["id"]: Campaign(c) for c in shipped()}
NATIONAL, SHANGHAI = CAMPAIGNS["2024-national"], CAMPAIGNS["2024-shanghai"]

# 附件1, as printed (spaces the PDF put inside numbers removed).
DISTRICT_PHONES = {
    "浦东": "68811103", "黄浦": "33134800-20986", "静安": "56205038", "徐汇": "64284146", "长宁": "22050872",
    "普陀": "52564588-7055、7045", "虹口": "55801388", "杨浦": "25032851", "宝山": "66786319、66786292",
    "闵行": "34203361", "嘉定": "69989822", "金山": "57921750", "松江": "37737383", "青浦": "59861128",
    "奉贤": "37565721", "崇明": "59611239", "临港新片区": "68287037、68283268", "化学工业区": "67120107",
}


def test_national_notice_number_deadline_and_ministry_address():
    assert NATIONAL.number == "工信厅企业函〔2024〕221号"
    assert NATIONAL.year == 2024 and NATIONAL.region == "全国"
    assert NATIONAL.deadline("large_need") == date(2024, 7, 12)
    assert NATIONAL.deadline("sme_match") is None and NATIONAL.deadline_text("application") == "另行通知"
    mail = NATIONAL.data["mail_to"]
    assert (mail["address"], mail["office"], mail["postcode"]) == ("北京市西城区西长安街13号", "工业和信息化部中小企业局",
                                                                  "100804")
    assert "EMS" in NATIONAL.form("large_need")["to"]["note"]


def test_shanghai_need_form_goes_to_daqiaomu_road_by_22_july_sme_forms_to_district_later():
    assert SHANGHAI.number == "沪经信企〔2024〕481号"
    assert SHANGHAI.deadline("large_need") == date(2024, 7, 22)
    assert SHANGHAI.destination("large_need", None) == {"office": "于老师", "address": "大木桥路108号606室"}
    for form in ("sme_match", "application"):
        assert SHANGHAI.deadline(form) is None and SHANGHAI.deadline_text(form) == "另行通知"
        assert SHANGHAI.form(form)["to"] == "district"


def test_shanghai_has_the_18_district_offices_of_annex_1_with_their_phones():
    districts = {c["district"]: c for c in SHANGHAI.contacts if c.get("district")}
    assert {d: c["phone"] for d, c in districts.items()} == DISTRICT_PHONES
    assert districts["浦东"]["address"] == "浦东新区学林路36弄13号2楼"
    assert districts["化学工业区"]["address"] == "上海市化学工业区目华路201号化工区大厦910室"
    assert all(c["office"] and c["address"] for c in districts.values())


def test_shanghai_city_contacts_with_email_where_given():
    city = SHANGHAI.city_contacts
    assert [(c["office"], c["phone"], c.get("email")) for c in city] == [
        ("市中小企业发展服务中心专精特新部", "64225228", "zjtx-sh@163.com"),
        ("上海市经济和信息化委员会中小企业办", "23119342", None)]


@pytest.mark.parametrize("text, expected", [
    ("上海", "上海市"), ("上海市", "上海市"), ("广西", "广西壮族自治区"), ("内蒙古", "内蒙古自治区"),
    ("新疆生产建设兵团第八师", "新疆生产建设兵团"), ("", None), ("London", None),
    # typed by an English-speaking clerk: the form still gets the official Chinese name
    ("Shanghai", "上海市"), ("Jiangsu Province", "江苏省"), ("Inner Mongolia", "内蒙古自治区"),
    ("Shaanxi", "陕西省"), ("Shanxi", "山西省"), ("Hong Kong", "香港特别行政区")])
def test_province_names_are_normalised(text, expected):
    assert regions.province(text) == expected


@pytest.mark.parametrize("city, county, district", [
    ("浦东新区", None, "浦东"), ("黄浦区", None, "黄浦"), ("上海市", "闵行区", "闵行"),
    ("临港新片区", None, "临港新片区"), ("浦东新区临港新片区", None, "临港新片区"),
    ("上海化学工业区", None, "化学工业区"), ("化工区", None, "化学工业区"), ("苏州市", None, None),
    # typed in English: the same office
    ("Pudong New Area", None, "浦东"), ("Jing'an District", None, "静安"), ("Shanghai", "Minhang", "闵行"),
    ("Pudong Lingang", None, "临港新片区"), ("Suzhou", None, None)])
def test_a_registered_district_finds_its_office(city, county, district):
    found = SHANGHAI.district_for({"province": "上海市", "city": city, "county": county})
    assert (found or {}).get("district") == district


def test_campaign_pick_prefers_newest_year_then_the_region():
    sh = {"province": "上海市", "city": "浦东新区", "county": None}
    js = {"province": "江苏省", "city": "苏州市", "county": None}
    assert pick(CAMPAIGNS.values(), "large_need", sh).id == "2024-shanghai"
    assert pick(CAMPAIGNS.values(), "large_need", js).id == "2024-national"
    next_year = Campaign({**NATIONAL.data, "id": "2025-national", "year": 2025})
    assert pick([*CAMPAIGNS.values(), next_year], "large_need", sh).id == "2025-national"
    ningbo = Campaign({"id": "2024-ningbo", "year": 2024, "region": "宁波市", "forms": {"sme_match": {}}})
    assert pick([*CAMPAIGNS.values(), ningbo], "sme_match",
                {"province": "浙江省", "city": "宁波市", "county": None}).id == "2024-ningbo"


def test_reminder_times_are_0900_shanghai_7_3_1_and_0_days_before():
    c = SHANGHAI.with_deadline("large_need", date(2027, 7, 22))
    times = {kind: due.isoformat() for kind, _d, due in c.due_times("large_need")}
    assert times == {"d7": "2027-07-15T01:00:00+00:00", "d3": "2027-07-19T01:00:00+00:00",
                     "d1": "2027-07-21T01:00:00+00:00", "d0": "2027-07-22T01:00:00+00:00"}
    assert SHANGHAI.due_times("sme_match") == []  # 另行通知: nothing to remind of yet
