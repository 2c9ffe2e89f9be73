"""所属行业 from what a firm says it does: searched against GB/T 4754-2017's 小类 and 中类 names."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from bot.dialogs import validators as v
from bot.dialogs.results import Ambiguous, Invalid, Ok
from bot.domain.industries import DATA, WORDS, classes, industries, search

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from bench_industries import cases, measure  # noqa: E402


def test_all_four_levels_of_the_standard_are_shipped():
    with DATA.open(encoding="utf-8") as f:
        levels = [r["level"] for r in csv.DictReader(f)]
    assert [levels.count(x) for x in ("门类", "大类", "中类", "小类")] == [20, 97, 473, 1381]
    assert industries()["81"].name == "机动车、电子产品和日用产品修理业"
    assert classes()["2929"].name == "塑料零件及其他塑料制品制造"


def test_every_supplement_word_names_a_real_class():
    assert [(w, c) for w, codes in WORDS.items() for c in codes if c not in classes() and c not in industries()] == []


@pytest.mark.parametrize("name", ["industry_cases.tsv", "industry_cases_heldout.tsv", "industry_cases_unseen.tsv"])
def test_the_description_sets_name_real_small_classes(name):
    rows = cases(BENCHMARKS / name)
    assert [c for _t, c in rows if classes().get(c) is None or classes()[c].level != "小类"] == []
    assert len({t for t, _c in rows}) == len(rows)  # no description twice


def test_the_test_set_is_a_hundred_everyday_descriptions_across_every_section():
    rows = cases(BENCHMARKS / "industry_cases.tsv")
    assert len(rows) >= 100
    assert {industries()[c[:2]].section for _t, c in rows} == set("ABCDEFGHIJKLMNOPQRST")


def test_the_right_division_is_among_the_three_offered_for_95_percent():
    r = measure(cases(BENCHMARKS / "industry_cases.tsv"))
    assert r["top3"] / r["n"] >= 0.95, r["misses"]
    assert r["taken_wrong"] == 0  # what is taken without asking is right


def test_descriptions_nobody_tuned_for_still_mostly_find_their_division():
    r = measure(cases(BENCHMARKS / "industry_cases_unseen.tsv"))
    assert r["top3"] / r["n"] >= 0.75, r["misses"]
    assert r["taken_wrong"] <= 2


@pytest.mark.parametrize(("typed", "division", "small"), [
    ("注塑加工", "29", "2929"), ("汽车维修", "81", "8111"), ("园林绿化工程", "48", "4891"), ("货运代理", "58", "5821"),
    ("劳务派遣", "72", "7263"), ("家政服务", "80", "8010"), ("影视制作", "87", "8730"),
])
def test_a_clear_match_is_taken_and_says_which_small_class_matched(typed, division, small):
    result = v.industry(typed, {})
    assert isinstance(result, Ok) and result.value == division
    assert result.note.code == "industry_matched"
    assert result.note.params["match"] == f"{industries()[division].display}（{classes()[small].display}）"


def test_the_issue_s_example_reads_as_promised():
    note = v.industry("注塑加工", {}).note
    assert f"{note.params['text']} → {note.params['match']}" == "注塑加工 → 29 橡胶和塑料制品业（2929 塑料零件及其他塑料制品制造）"


def test_car_repair_is_not_car_manufacturing_and_landscaping_is_not_chemistry():
    """汽车维修 was taken without asking as 36 汽车制造业, 园林绿化工程 as 26 化学原料."""
    assert v.industry("汽车维修", {}).value == "81"
    assert v.industry("园林绿化工程", {}).value == "48"


def test_words_that_fit_several_offer_the_likeliest_three():
    sewage = v.industry("污水处理", {})
    assert isinstance(sewage, Ambiguous) and [c for c, _l in sewage.options][:2] == ["46", "77"]
    assert len(sewage.options) == 3 and sewage.code == "industry_choose_more"
    assert sewage.options[0][1] == "46 水的生产和供应业（4620 污水处理及其再生利用）"


def test_a_single_weak_match_is_asked_not_taken():
    weak = v.industry("量子玄学", {})
    assert isinstance(weak, Ambiguous) and weak.code == "industry_choose_weak"
    assert all(m.score < v.WEAK and not m.strong for m in search("量子玄学"))


def test_nothing_matching_is_said_so():
    assert v.industry("嗯嗯嗯", {}) == Invalid("industry_not_found", {"text": "嗯嗯嗯"})


def test_an_organisation_that_is_not_an_enterprise_is_told_so():
    assert v.industry("行业协会", {}).code == "industry_not_enterprise"
