"""Campaign packs: the shipped YAML files are the 2024 campaigns, and a wrong pack is refused with every
problem on its own line, "file:line: where: what", before anything is used."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.campaigns.model import Campaign
from bot.campaigns.pack import PACKS_DIR, PackError, read_pack, shipped

SHANGHAI = (PACKS_DIR / "2024-shanghai.yaml").read_text(encoding="utf-8")


def problems(tmp_path: Path, text: str, name: str = "campaign-2025.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PackError) as caught:
        read_pack(path)
    return caught.value.problems


def edited(*changes: tuple[str, str]) -> str:
    text = SHANGHAI
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def line_of(text: str, part: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if part in line)


def test_the_shipped_packs_are_the_two_2024_notices():
    """(They loaded to exactly the campaigns of the Python data they replaced, bot/campaigns/data/y2024.py, in
    the commit that added them; tests/campaigns/test_campaign_data.py holds what the notices say.)"""
    assert sorted(p.name for p in PACKS_DIR.glob("*.yaml")) == ["2024-national.yaml", "2024-shanghai.yaml"]
    assert {c["id"]: c["number"] for c in shipped()} == {"2024-national": "工信厅企业函〔2024〕221号",
                                                          "2024-shanghai": "沪经信企〔2024〕481号"}
    assert all(Campaign(c).remind_days == (7, 3, 1, 0) for c in shipped())


def test_a_wrong_date_is_named_with_its_line_and_what_is_accepted(tmp_path):
    text = edited(("deadline: 2024-07-22", "deadline: 2025-13-01"))
    assert problems(tmp_path, text) == [
        f"campaign-2025.yaml:{line_of(text, '2025-13-01')}: forms.large_need.deadline: 2025-13-01 is not a date "
        "(YYYY-MM-DD or 另行通知)"]


def test_every_problem_of_a_pack_is_listed_at_once_in_line_order(tmp_path):
    text = edited(("issued: 2024-07-10", "isued: 2024-07-10"), ("region: 上海市", "region: 上海"),
                  ("  sme_match:  ", "  sme_matc:  "), ('phone: "68811103"', 'phon: "68811103"'),
                  ("remind_time: \"09:00\"", "remind_time: \"9点\""))
    assert problems(tmp_path, text) == [
        "campaign-2025.yaml:1: issued is missing",
        f"campaign-2025.yaml:{line_of(text, 'region:')}: region: 上海 is not an official region name (write 上海市)",
        f"campaign-2025.yaml:{line_of(text, 'isued:')}: isued: unknown key (did you mean issued?)",
        f"campaign-2025.yaml:{line_of(text, 'remind_time:')}: remind_time: 9点 is not a time of day (HH:MM, e.g. \"09:00\")",
        f"campaign-2025.yaml:{line_of(text, 'sme_matc:')}: forms.sme_matc: not a form of this bot (did you mean sme_match?)",
        f"campaign-2025.yaml:{line_of(text, '  application:')}: forms.application: one is written per item of "
        "sme_match, which the campaign does not list",
        f"campaign-2025.yaml:{line_of(text, 'phon:')}: contacts[0].phon: unknown key (did you mean phone?)",
    ]


def test_forms_the_bot_does_not_know_yet_and_dates_that_contradict_the_notice(tmp_path):
    text = edited(("    version: 1\n    deadline: 2024-07-22", "    version: 2\n    deadline: 2024-07-01"),
                  ("year: 2024", "year: 2025"), ("    to: district\n  application", "    to: [district]\n  application"))
    assert problems(tmp_path, text) == [
        f"campaign-2025.yaml:{line_of(text, 'year:')}: year: 2025, but the id 2024-shanghai says 2024",
        f"campaign-2025.yaml:{line_of(text, 'version: 2')}: forms.large_need.version: 2, but this bot knows "
        "large_need up to version 1: update the bot before loading this pack",
        f"campaign-2025.yaml:{line_of(text, '2024-07-01')}: forms.large_need.deadline: 2024-07-01 is before the "
        "notice was issued (2024-07-10)",
        f"campaign-2025.yaml:{line_of(text, '[district]')}: forms.sme_match.to: a list should be a mapping "
        "(key: value lines)",
    ]


def test_district_delivery_needs_the_district_offices(tmp_path):
    head = SHANGHAI.split("contacts:")[0]
    text = head + "contacts:\n  - {level: city, office: 市中小企业发展服务中心}\n  - {office: 某办, phone: 1234}\n"
    found = problems(tmp_path, text)
    assert found == [
        f"campaign-2025.yaml:{line_of(text, '    to: district')}: forms.sme_match.to: district, but contacts lists "
        "no district office (附件1)",
        f"campaign-2025.yaml:{line_of(text, 'to: district') + 4}: forms.application.to: district, but contacts "
        "lists no district office (附件1)",
        f"campaign-2025.yaml:{line_of(text, '某办')}: contacts[1]: a contact is a district office (district: 浦东) "
        "or a city-level one (level: city), one of the two",
    ]


@pytest.mark.parametrize("text, expected", [
    ("", "campaign-2025.yaml:1: the file is empty (a pack starts with id:, year:, region: …)"),
    ("id: 2025-shanghai\n  year: [2025\n", "campaign-2025.yaml:2: not YAML: mapping values are not allowed here"),
    ("id: 2025-a\nid: 2025-b\n", 'campaign-2025.yaml:2: not YAML: while constructing a mapping found duplicate key '
     '"id" with value "2025-b" (original value: "2025-a")'),
    ("- 2025-shanghai\n", "campaign-2025.yaml:1: a list: a pack is a mapping (id: …, year: …, forms: …)"),
])
def test_what_is_not_a_pack_at_all_is_one_line(tmp_path, text, expected):
    assert problems(tmp_path, text) == [expected]


def test_numbers_and_dates_keep_what_was_typed(tmp_path):
    text = edited(('phone: "68811103"', "phone: 02168811103"), ('phone: "56205038"', "phone: 56205038"))
    path = tmp_path / "2024-shanghai.yaml"
    path.write_text(text, encoding="utf-8")
    c = Campaign(read_pack(path).campaign)
    phones = {x["district"]: x["phone"] for x in c.contacts if x.get("district")}
    assert phones["浦东"] == "02168811103" and phones["静安"] == "56205038"
    assert c.data["issued"] == "2024-07-10" and c.deadline_text("sme_match") == "另行通知"


def test_a_pack_for_an_older_form_version_loads_with_a_warning(tmp_path, monkeypatch):
    import dataclasses

    from bot.dialogs.forms import FORMS

    monkeypatch.setitem(FORMS, "sme_match", dataclasses.replace(FORMS["sme_match"], version=2))
    path = tmp_path / "2024-shanghai.yaml"
    path.write_text(SHANGHAI, encoding="utf-8")
    pack = read_pack(path)
    line = SHANGHAI.splitlines().index("  sme_match:                  # 附件3 中小企业“揭榜”对接表：区级初审后报送，报送时间另行通知") + 2
    assert pack.warnings == [f"2024-shanghai.yaml:{line}: forms.sme_match.version: 1: older than this bot's newest "
                             "of sme_match (2); this campaign's new forms are filled in version 1"]
    assert pack.campaign["forms"]["sme_match"]["version"] == 1
