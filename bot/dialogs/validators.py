"""TEMPORARY STUB — replaced by the real validators (see bot/dialogs/results.py for the contract)."""

from __future__ import annotations

from bot.dialogs.fields import Choice
from bot.dialogs.results import Invalid, Ok


def text(max_len):
    def v(raw, answers):
        if len(raw) > max_len:
            return Invalid("too_long", {"max": max_len, "n": len(raw)})
        return Ok(raw)
    return v


def long_text(max_chars):
    return text(max_chars)


def _plain(raw, answers):
    return Ok(raw)


credit_code = phone = mobile = email = postcode = past_date = province = industry = _plain


def amount_wan(raw, answers):
    try:
        return Ok(str(float(raw.replace(",", ""))))
    except ValueError:
        return Invalid("not_a_number")


def headcount(raw, answers):
    return Ok(int(raw)) if raw.isdigit() else Invalid("not_whole_number")


def industry_needs_sub(answers):
    return answers.get("industry") in ("59", "70")


def industry_sub_choices(answers):
    return (Choice("591", "装卸搬运"), Choice("592", "仓储"))


def needs_total_assets(answers):
    return False


def enterprise_size(answers):
    return Ok("小型")
