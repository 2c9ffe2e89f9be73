"""Next year's form is declared as what changed from the one before (Form.changes): version 2 is asked in its
order with its labels and choices, version 1 stays as it was, and what changed between two versions can be
listed. The made-up "2025" 对接表 is tests/campaigns/forms_2025/sme_match.py (the shipped form file plus its
`changes` block)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.dialogs import validators as v
from bot.dialogs import walker as w
from bot.dialogs.fields import Add, Choice, Field, Form, Group, Move, NewChoices, Remove, Rename
from bot.dialogs.forms import sme_match
from tests.campaigns.forms_2025 import sme_match as sme_match_2025
from tests.documents.test_docx_sme_match import ANSWERS

NEXT = sme_match_2025.FORM


def shape(form: Form) -> list[tuple]:
    """What a user is asked: each field's key, label, hint and choices, in order."""
    out = []
    for item in form.items:
        for f in getattr(item, "fields", (item,)):
            choices = () if callable(f.choices) else tuple(c.value for c in f.choices)
            out.append((f.key, f.label, f.hint, f.print_label, choices))
    return out


def test_the_version_is_the_newest_one_the_changes_declare():
    assert sme_match.FORM.version == 1
    assert NEXT.version == 2  # the changes block alone made it version 2


def test_version_1_of_next_years_form_is_this_years_form():
    assert shape(NEXT.at(1)) == shape(sme_match.FORM.at(1)) == shape(sme_match.FORM)
    assert NEXT.at(1).items == NEXT.items  # the same Field objects: nothing of version 1 is rebuilt


def test_version_2_is_asked_in_its_order_with_its_labels_and_choices():
    paths = [s.path for s in w.steps(NEXT, ANSWERS)]  # default: the newest version
    assert paths == [s.path for s in w.steps(NEXT, ANSWERS, 2)]
    assert "fax" not in paths
    assert paths.index("rd_expense") == paths.index("revenue") + 1
    by_path = {s.path: s.field for s in w.steps(NEXT, ANSWERS, 2)}
    assert by_path["legal_rep"].label == "法定代表人"
    assert [c.value for c in by_path["ownership"].choices] == ["国有", "集体", "私营", "混合所有制", "外资"]
    old = {s.path: s.field for s in w.steps(NEXT, ANSWERS, 1)}
    assert "fax" in old and "rd_expense" not in old
    assert old["legal_rep"].label == "法人代表"
    assert [c.value for c in old["ownership"].choices] == ["国有", "民营", "合资", "外资"]


def test_what_changed_between_two_versions_is_listed():
    changed = [(v, type(c).__name__, c.key) for v, c in NEXT.changes_between(1, 2)]
    assert changed == [(2, "Rename", "legal_rep"), (2, "Add", "rd_expense"), (2, "Remove", "fax"),
                       (2, "NewChoices", "ownership")]
    assert NEXT.changes_between(1, 1) == [] and NEXT.changes_between(2, 2) == []


def test_fields_declared_with_since_and_until_are_listed_as_added_and_removed():
    website = Field("website", "企业网站", optional=True, since=2)
    fax = next(f for f in sme_match.FORM.items if getattr(f, "key", "") == "fax")
    items = tuple(dataclasses.replace(i, until=1) if i is fax else i for i in sme_match.FORM.items)
    form = dataclasses.replace(sme_match.FORM, version=2, items=(*items[:2], website, *items[2:]))
    changed = [(type(c).__name__, c.key, getattr(c, "after", None)) for _v, c in form.changes_between(1, 2)]
    assert changed == [("Add", "website", "credit_code"), ("Remove", "fax", None)]


def small_form(**changes) -> Form:
    return Form(
        id="small", title="小表", short_title="小表", filename="x.docx",
        items=(Field("a", "甲", validate=v.text(10), section="一"),
               Field("b", "乙", validate=v.text(10), section="一"),
               Field("c", "丙", choices=(Choice("x"), Choice("y")), section="二"),
               Group("items", "事项", more_question="还有吗？", section="三",
                     fields=(Field("name", "名称", validate=v.text(10)), Field("code", "代码", validate=v.text(10))))),
        **changes)


def test_moves_group_fields_and_a_new_field_at_the_end_of_its_section():
    form = small_form(changes={2: (Move("c", after=""), Move("a", after="b"),
                                   Rename("items.code", "需求编号", hint="见需求目录"),
                                   Add(Field("note", "备注", validate=v.text(10)), after="items.name"),
                                   Add(Field("d", "丁", validate=v.text(10), section="一")))})
    assert [s.path for s in w.steps(form, {}, 1)] == ["a", "b", "c", "items.0.name", "items.0.code", "items.#more"]
    steps = w.steps(form, {}, 2)
    assert [s.path for s in steps] == ["c", "b", "a", "d", "items.0.name", "items.0.note", "items.0.code",
                                       "items.#more"]
    code = next(s.field for s in steps if s.path == "items.0.code")
    assert (code.label, code.hint) == ("需求编号", "见需求目录")
    assert [c.key for _v, c in form.changes_between(1, 2) if isinstance(c, Add)] == ["items.note", "d"]
    assert form.declares("items.note") and form.declares("a") and not form.declares("items.nope")


def test_versions_build_on_each_other():
    form = small_form(changes={2: (Remove("b"),), 3: (NewChoices("c", (Choice("z"),)), Rename("a", "甲方"))})
    assert form.version == 3
    assert [f.key for f in form.at(2).items] == ["a", "c", "items"]
    assert [f.label for f in form.at(3).items][:1] == ["甲方"] and form.at(2).items[0].label == "甲"
    assert [c.value for c in form.at(3).items[1].choices] == ["z"]
    assert [type(c).__name__ for _v, c in form.changes_between(1, 3)] == ["Remove", "NewChoices", "Rename"]
    assert form.at(2).at() is form.at(2) and form.at(2).at(3) is form.at(3)  # a version knows its form


def test_a_change_naming_no_field_fails_with_the_form_and_version():
    form = small_form(changes={2: (Rename("nope", "无"),)})
    with pytest.raises(ValueError, match=r"'small' version 2: .*nope"):
        form.at(2)
    with pytest.raises(ValueError, match="versions 1 to 1"):
        small_form().at(2)
