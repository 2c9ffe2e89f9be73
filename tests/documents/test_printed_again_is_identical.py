"""A paper printed again is the paper that was printed: the body of each form's .docx (word/document.xml) for
the same answers, hashed when the forms had one version only. A change to how forms are declared or printed
(next year's version beside this one) must leave last year's papers byte for byte as they were; a change that
means to alter the printed table (or a python-docx upgrade) re-pins these on purpose, saying so."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from bot.dialogs.forms import FORMS
from bot.documents import application, large_need, sme_match
from tests.documents.test_docx_application import ANSWERS as APPLICATION_ANSWERS
from tests.documents.test_docx_large_need import ANSWERS as LARGE_ANSWERS
from tests.documents.test_docx_sme_match import ANSWERS as SME_ANSWERS

PINNED = {
    "sme_match": "9a9cfaf2698bdd564bb19f92411f5c3c943bb84d97cf987eeb0f646afce24260",
    "large_need": "942645549d237aaf8c9d155f167eb596cfc43e11103e98cf752fc1181c14af56",
    "application": "52c043e5759238ca21eee4b44fd9b8037d5124f50f082117cb947d9371050f0f",
}

CASES = [
    pytest.param("sme_match", sme_match.render, SME_ANSWERS, id="sme_match"),
    pytest.param("large_need", large_need.render, LARGE_ANSWERS, id="large_need"),
    pytest.param("application", application.render, APPLICATION_ANSWERS, id="application"),
]


def body_hash(docx: bytes) -> str:
    return hashlib.sha256(zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml")).hexdigest()


@pytest.mark.parametrize(("form_id", "render", "answers"), CASES)
def test_a_version_1_paper_prints_byte_for_byte_as_before(form_id, render, answers):
    assert body_hash(render(answers)) == PINNED[form_id]
    assert body_hash(FORMS[form_id].render(answers)) == PINNED[form_id]  # the way the bot calls it
