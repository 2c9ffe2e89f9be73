"""Every form the bot can fill in, by id. One module a form."""

from __future__ import annotations

from bot.dialogs.fields import Form
from bot.dialogs.forms import application, large_need, sme_match

FORMS: dict[str, Form] = {f.id: f for f in (sme_match.FORM, large_need.FORM, application.FORM)}


def get_form(form_id: str | None) -> Form | None:
    return FORMS.get(form_id or "")
