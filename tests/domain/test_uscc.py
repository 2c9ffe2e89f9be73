"""统一社会信用代码: the check character per GB 32100-2015, normalising, and what the user is told."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from bot.dialogs.results import Invalid, Ok
from bot.dialogs.validators import credit_code
from bot.domain.uscc import ALPHABET, check_char, is_valid, normalise, problem

bodies = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@given(bodies)
def test_any_body_with_its_check_character_is_valid(body):
    assert is_valid(body + check_char(body))


@given(bodies, st.integers(0, 17), st.sampled_from(ALPHABET))
def test_changing_any_one_character_is_caught(body, pos, new):
    code = body + check_char(body)
    changed = code[:pos] + new + code[pos + 1:]
    if changed != code:
        assert not is_valid(changed)


@given(bodies)
def test_lower_case_spaces_and_full_width_are_normalised(body):
    code = body + check_char(body)
    typed = " ".join(code[i:i + 4] for i in range(0, 18, 4)).lower()
    full_width = "".join(chr(ord(c) + 0xFEE0) if c in string.ascii_letters + string.digits else c for c in typed)
    assert normalise(full_width) == code
    assert isinstance(credit_code(full_width, {}), Ok)


def test_a_known_code_validates_and_its_check_character_is_recomputed():
    assert is_valid("91310000132149237G")
    assert check_char("91310000132149237") == "G"


def test_wrong_check_character_says_which_one_is_expected():
    result = credit_code("91310000132149237A", {})
    assert isinstance(result, Invalid) and result.code == "uscc_check"
    assert result.params == {"expected": "G", "got": "A"}


def test_length_and_alphabet_are_named():
    assert credit_code("9131000013214923", {}).params == {"n": 16}
    bad = credit_code("91310000132149Z37G", {})
    assert bad.code == "uscc_char" and bad.params == {"pos": 15, "char": "Z"}


def test_letter_o_typed_for_zero_is_accepted():
    assert credit_code("9131OOOO132149237g", {}) == Ok("91310000132149237G")


def test_non_enterprise_prefix_is_accepted_with_a_note():
    body = "12310000132149237"
    result = credit_code(body + check_char(body), {})
    assert isinstance(result, Ok) and result.note.code == "uscc_not_enterprise"


def test_region_mismatch_is_a_question_not_a_refusal():
    result = credit_code("91310000132149237G", {"reg_province": "江苏省"})
    assert isinstance(result, Ok) and result.note.code == "uscc_region_differs"
    assert result.note.params == {"coded": "上海市", "stated": "江苏省"}
    assert problem("91310000132149237G") is None
