"""Every form, loaded and checked as data: labels translated, conditions naming real fields, order complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.dialogs.fields import Field, Form, Group
from bot.dialogs.forms import FORMS
from bot.i18n import LANGUAGES, LOCALES_DIR


def _catalog(lang: str):
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def _versions(form: Form) -> list[Form]:
    """The form as each of its versions asks it (Form.at): next year's labels and choices are checked too."""
    return [form.at(v) for v in range(1, form.version + 1)]


EVERY_VERSION = [at for f in FORMS.values() for at in _versions(f)]


def _texts(form: Form) -> list[str]:
    out = [form.title, form.short_title, *form.notes]
    for item in (i for at in _versions(form) for i in at.items):
        fields = item.fields if isinstance(item, Group) else (item,)
        if isinstance(item, Group):
            out += [item.label, item.more_question]
        for f in fields:
            out += [t for t in (f.label, f.hint, f.section) if t]
            out += [c.text for c in (f.choices if not callable(f.choices) else ()) if c.label]
    return out


@pytest.mark.parametrize("form", FORMS.values(), ids=list(FORMS))
def test_every_label_is_in_both_catalogues_and_translated_to_english(form):
    texts = _texts(form)
    zh, en = _catalog("zh_CN"), _catalog("en")
    missing = {lang: [t for t in texts if t not in cat] for lang, cat in (("zh_CN", zh), ("en", en))}
    assert missing == {"zh_CN": [], "en": []}
    untranslated = [t for t in texts if not en[t].string]
    assert untranslated == []


@pytest.mark.parametrize("form", EVERY_VERSION, ids=lambda f: f"{f.id}-{f.version}")
def test_conditions_and_dependencies_name_real_fields(form):
    keys = set()
    for item in form.items:
        assert item.key not in keys, f"duplicate key {item.key}"
        keys.add(item.key)
    for item in form.items:
        fields = [item] if isinstance(item, Field) else list(item.fields)
        for f in fields:
            if f.when is not None:
                assert set(f.when.fields) <= keys, f"{f.key}: condition reads unknown {set(f.when.fields) - keys}"
            assert set(f.depends_on) <= keys, f"{f.key}: depends on unknown {set(f.depends_on) - keys}"
            assert f.validate or f.choices or f.compute or f.long_text, f"{f.key}: neither checked nor chosen"
            assert not (f.multi and not f.choices), f"{f.key}: multi-select without choices"


@pytest.mark.parametrize("form", EVERY_VERSION, ids=lambda f: f"{f.id}-{f.version}")
def test_dependencies_come_before_what_depends_on_them(form):
    seen: set[str] = set()
    for item in form.items:
        if isinstance(item, Field):
            assert set(item.depends_on) <= seen | {item.key}, f"{item.key} is asked before what it depends on"
            if item.when:
                assert set(item.when.fields) <= seen, f"{item.key}'s condition reads a later answer"
        seen.add(item.key)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalogues_are_up_to_date(lang):
    """A .po edited without `pybabel compile` would silently show old text: catch it here."""
    folder = Path(LOCALES_DIR) / lang / "LC_MESSAGES"
    po = _catalog(lang)
    with (folder / "messages.mo").open("rb") as f:
        mo = read_mo(f)
    want = {m.id: m.string for m in po if m.id and m.string and not m.fuzzy}
    have = {m.id: m.string for m in mo if m.id}
    assert have == want


def test_template_lists_every_marked_string():
    """locales/messages.pot is extracted from the code; a string marked N_ but missing there was never
    sent to the translators."""
    with (LOCALES_DIR / "messages.pot").open("rb") as f:
        pot = read_po(f)
    for form in FORMS.values():
        assert [t for t in _texts(form) if t not in pot] == []
