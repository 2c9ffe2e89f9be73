"""A form's file name fits every file system, however long the company name (issue 18)."""

from __future__ import annotations

import pytest

from bot.dialogs.forms import FORMS
from bot.documents import document_filename
from bot.documents.filenames import MAX_BYTES

LONG_NAME = "上海" + "某" * 92 + "科技有限公司"  # 100 characters, as the form allows: 300 bytes in UTF-8
LONG_ITEM = "高精度伺服电机控制算法" * 9 + "A"  # 100 characters


def test_long_name_is_100_characters():
    assert len(LONG_NAME) == 100 and len(LONG_ITEM) == 100


@pytest.mark.parametrize("form", FORMS.values(), ids=list(FORMS))
@pytest.mark.parametrize("suffix", [None, ".pdf"])
def test_a_100_character_company_name_gives_a_file_name_the_disk_takes(form, suffix, tmp_path):
    """A 100-character company name made the file name too long: the confirm failed for good."""
    answers = {"company_name": LONG_NAME, "item_name": LONG_ITEM}
    name = document_filename(form, answers, suffix)
    assert len(name.encode("utf-8")) <= MAX_BYTES
    assert name.endswith(suffix or ".docx")
    assert name.startswith(form.filename.split("-")[0])  # the form's own words stay first
    assert "上海某某" in name  # as much of the company name as fits
    if "{item_name}" in form.filename:
        assert "高精度伺服电机控制算法" in name  # both answers stay recognisable
    (tmp_path / f"123456-{name}").write_bytes(b"x")  # as the bot keeps it: the submission's id in front


def test_a_short_name_is_the_whole_name():
    assert document_filename(FORMS["sme_match"], {"company_name": "上海某某科技有限公司"}) == \
        "中小企业揭榜对接表-上海某某科技有限公司.docx"
    assert document_filename(FORMS["sme_match"], {"company_name": "上海某某科技有限公司"}, ".pdf") == \
        "中小企业揭榜对接表-上海某某科技有限公司.pdf"


@pytest.mark.parametrize("company", ["../../etc/passwd", "a/b\\c", "名称\x00带\x1f控制\x85字符", "tab\there\nnew",
                                     "lone\ud800surrogate", "CON", " . ", "<>:\"|?*"])
def test_no_separators_controls_or_reserved_names(company, tmp_path):
    name = document_filename(FORMS["large_need"], {"company_name": company})
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert all(ch.isprintable() and not ch.isspace() for ch in name)
    name.encode("utf-8")  # no lone surrogate
    (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_missing_answers_give_the_form_words_alone():
    assert document_filename(FORMS["application"], {}) == "揭榜申请书.docx"
