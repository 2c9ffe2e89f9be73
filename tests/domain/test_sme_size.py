"""企业规模 at every boundary of every group of the 2011 standard."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.dialogs.results import Invalid, Ok
from bot.dialogs.validators import enterprise_size, needs_total_assets
from bot.domain.sme_size import GROUPS, classify, group_of

CASES = []
for g in GROUPS.values():
    for size in ("大型", "中型", "小型"):
        CASES.append((g.number, size))


def _figures(bounds: dict[str, int], minus: str | None = None) -> dict:
    f = {"employees": 0, "revenue": Decimal(0), "assets": Decimal(0)}
    for m, b in bounds.items():
        f[m] = (b - 1 if m == minus else b) if m == "employees" else Decimal(b - 1 if m == minus else b)
    return f


@pytest.mark.parametrize(("group", "size"), CASES)
def test_exactly_at_every_lower_bound_is_that_class(group, size):
    g = GROUPS[group]
    assert classify(group, **_figures(g.bounds[size])).size == size


@pytest.mark.parametrize(("group", "size"), CASES)
def test_one_below_any_bound_drops_a_class(group, size):
    g = GROUPS[group]
    order = ["大型", "中型", "小型", "微型"]
    for measure in g.bounds[size]:
        figures = _figures(g.bounds[size], minus=measure)
        # the other figures stay at this class's bounds, which meet every lower class's bounds
        assert classify(group, **figures).size == order[order.index(size) + 1], (group, size, measure)


def test_industry_with_both_ceilings_is_large_and_one_under_keeps_it_an_sme():
    assert classify(2, 1000, Decimal(40000)).size == "大型"
    assert classify(2, 999, Decimal(400000)).size == "中型"
    assert classify(2, 5000, Decimal(39999)).size == "中型"


def test_micro_needs_only_one_figure_below_small():
    assert classify(2, 19, Decimal(100000)).size == "微型"
    assert classify(2, 250, Decimal(299)).size == "微型"


@pytest.mark.parametrize(("code", "sub", "group"), [
    ("01", None, 1), ("05", None, 1), ("06", None, 2), ("39", None, 2), ("46", None, 2), ("47", None, 3),
    ("50", None, 3), ("51", None, 4), ("52", None, 5), ("53", None, 16), ("54", None, 6), ("58", None, 6),
    ("59", "591", 6), ("59", "592", 7), ("60", None, 8), ("61", None, 9), ("62", None, 10), ("63", None, 11),
    ("64", None, 11), ("65", None, 12), ("70", "701", 13), ("70", "702", 14), ("70", "709", 16),
    ("71", None, 15), ("72", None, 15), ("73", None, 16), ("90", None, 16),
])
def test_two_digit_industries_map_to_their_group(code, sub, group):
    assert group_of(code, sub) == group


@pytest.mark.parametrize("code", ["59", "70", "66", "69", "91", "97"])
def test_codes_that_cannot_be_classified_without_more(code):
    assert group_of(code) is None


def test_assets_asked_only_where_the_standard_needs_them():
    assert needs_total_assets({"industry": "48"})
    assert needs_total_assets({"industry": "70", "industry_sub": "701"})
    assert needs_total_assets({"industry": "72"})
    assert not needs_total_assets({"industry": "70", "industry_sub": "702"})
    assert not needs_total_assets({"industry": "65"})


def test_size_shown_with_the_figures_behind_it():
    result = enterprise_size({"industry": "65", "employees": 85, "revenue": "3200"})
    assert isinstance(result, Ok) and result.value == "小型"
    assert "软件和信息技术服务业" in result.note.params["group"]
    assert "从业人员 85人" in result.note.params["figures"]


def test_large_result_says_only_smes_may_apply():
    result = enterprise_size({"industry": "36", "employees": 5000, "revenue": "900000"})
    assert result.value == "大型" and result.note.code == "size_large"


def test_financial_industries_are_outside_the_regulation_and_railway_by_analogy():
    assert enterprise_size({"industry": "66", "employees": 10, "revenue": "10"}) == Invalid("size_financial")
    rail = enterprise_size({"industry": "53", "employees": 150, "revenue": "10"})
    assert rail.value == "中型" and rail.note.code == "size_by_analogy"
