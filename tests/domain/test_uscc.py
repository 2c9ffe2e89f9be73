"""统一社会信用代码: the check character per GB 32100-2015, normalising, and what the user is told."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from bot.dialogs.results import Invalid, Ok
from bot.dialogs.validators import credit_code, credit_code_region
from bot.domain.uscc import ALPHABET, check_char, grouped, is_valid, normalise, problem

# positions 1–2 any character, 3–8 the region code (digits), 9–17 any character
bodies = st.builds(lambda a, b, c: a + b + c, st.text(alphabet=ALPHABET, min_size=2, max_size=2),
                   st.text(alphabet="0123456789", min_size=6, max_size=6),
                   st.text(alphabet=ALPHABET, min_size=9, max_size=9))


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


def test_a_failed_check_says_one_character_is_mistyped_and_shows_the_code_grouped():
    """It said "第18位应为 G": a user with one wrong digit elsewhere changed the 18th to fit, and a wrong
    code that passes the check was saved. Now the code is shown in its parts, the check never offered."""
    result = credit_code("91310000132149237A", {})
    assert result == Invalid("uscc_check", {"code": "91 310000 132149237 A"})
    mistyped = credit_code("91310000132149287G", {})  # one digit of the body wrong, the 18th right
    assert mistyped == Invalid("uscc_check", {"code": "91 310000 132149287 G"})
    from bot.dialogs.errors import MESSAGES

    assert "{expected}" not in MESSAGES["uscc_check"] and "{code}" in MESSAGES["uscc_check"]


def test_the_region_code_must_be_digits():
    assert credit_code("9131A000132149237G", {}) == Invalid("uscc_region", {"pos": 5, "char": "A"})
    assert problem("91" + "31000X" + "132149237G") == problem("9131000X132149237G")
    assert grouped("91310000132149237G") == "91 310000 132149237 G"


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
    note = credit_code_region({"credit_code": "91310000132149237G", "reg_province": "江苏省"})
    assert note is not None and note.code == "uscc_region_differs"
    assert note.params == {"coded": "上海市", "stated": "江苏省"}
    assert credit_code_region({"credit_code": "91310000132149237G", "reg_province": "上海"}) is None
    assert problem("91310000132149237G") is None
