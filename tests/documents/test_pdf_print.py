"""The PDF as it prints (issue 15): Chinese faces for 宋体 and 黑体, rows kept whole, phones on one line.

These run LibreOffice for real (skipped, with the reason, where it or poppler-utils is missing; CI
installs both). All PDFs of the module are made in one LibreOffice run: starting it is most of the cost.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess

import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from bot.documents import application, large_need, sme_match
from bot.documents.pdf import pdf_available, to_pdf
from bot.documents.typeset import HEI, SONG, add_run, new_document, to_bytes
from tests.documents.test_docx_application import ANSWERS as APP_ANSWERS
from tests.documents.test_docx_large_need import ANSWERS as LARGE_ANSWERS
from tests.documents.test_docx_sme_match import ANSWERS as SME_ANSWERS

pytestmark = [
    pytest.mark.skipif(not pdf_available(), reason="LibreOffice (soffice) is not installed"),
    pytest.mark.skipif(not (shutil.which("pdffonts") and shutil.which("pdftotext") and shutil.which("pdftoppm")),
                       reason="poppler-utils (pdffonts, pdftotext, pdftoppm) is not installed"),
]

SAMPLE = "直骨关遍角画"  # characters whose Simplified Chinese and Japanese glyphs differ
LONG_EMAIL = "zhangsan.lisi@example-corp.com"  # 30 characters
LONG_PHONE = "021-68811104转8001"
NEED_PARAGRAPHS = [f"第{i}部分：" + "研发改性材料参数要求熔指阻燃等级成本" * 8 for i in range(1, 22)]  # ~3,200 字
NEEDS = [{"name": f"需求名称{n}号", "content": f"内容开头{n}号：" + "研发改性材料参数要求阻燃" * (8 + n * 7 % 20)}
         for n in range(1, 13)]
OVERVIEW = "\n".join(f"第{i}段开头。" + "公司专注工业软件研发服务客户" * 6 + f"第{i}段结尾。" for i in range(1, 6))


def sample_document(face: str, lang: str = "zh-CN") -> bytes:
    doc = new_document()  # Chinese text is tagged zh-CN, as in every form
    run = add_run(doc.add_paragraph(), SAMPLE, face, Pt(40))
    tag = OxmlElement("w:lang")
    tag.set(qn("w:eastAsia"), lang)
    run._element.get_or_add_rPr().append(tag)
    return to_bytes(doc)


DOCUMENTS = {
    "sme_match": sme_match.render(SME_ANSWERS),
    "large_need": large_need.render(LARGE_ANSWERS),
    "application": application.render(APP_ANSWERS),
    "sme_long": sme_match.render({**SME_ANSWERS, "email": LONG_EMAIL, "fax": LONG_PHONE, "overview": OVERVIEW,
                                  "legal_rep_phone": LONG_PHONE}),
    "large_long": large_need.render({**LARGE_ANSWERS, "email": LONG_EMAIL, "fax": LONG_PHONE,
                                     "needs": [{"name": "很长的需求", "content": "\n".join(NEED_PARAGRAPHS)}, *NEEDS]}),
    "song": sample_document(SONG),
    "hei": sample_document(HEI),
    "serif_sc": sample_document("Noto Serif CJK SC"),
    "serif_jp": sample_document("Noto Serif CJK JP", "ja-JP"),
    "sans_sc": sample_document("Noto Sans CJK SC"),
    "sans_jp": sample_document("Noto Sans CJK JP", "ja-JP"),
}
FORMS = ("sme_match", "large_need", "application", "sme_long", "large_long")


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    async def convert():
        made = await asyncio.gather(*(to_pdf(docx) for docx in DOCUMENTS.values()))
        return dict(zip(DOCUMENTS, made, strict=True))

    out = asyncio.run(convert())
    assert all(p and p.startswith(b"%PDF") for p in out.values())
    return out


def fonts(pdf: bytes) -> list[str]:
    """The font names pdffonts lists, without the subset tag (ABCDEF+)."""
    out = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return [line.split()[0].split("+", 1)[-1] for line in out.splitlines()[2:] if line.strip()]


def lines_by_page(pdf: bytes) -> list[list[str]]:
    """Each page's lines of text, spaces dropped (pdftotext puts one between Chinese and Latin text)."""
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return [[re.sub(r"\s+", "", line) for line in page.splitlines()] for page in out.split("\f") if page.strip()]


def pages(pdf: bytes) -> list[str]:
    return ["".join(lines) for lines in lines_by_page(pdf)]


def picture(pdf: bytes) -> bytes:
    """Page 1 as a grey-level image (PGM on stdout)."""
    out = subprocess.run(["pdftoppm", "-gray", "-r", "40", "-f", "1", "-l", "1", "-singlefile", "-"], input=pdf,
                         capture_output=True, check=True).stdout
    assert out.startswith(b"P5")
    return out


# fonts ----------------------------------------------------------------------------------------------

# Latin text is set in Times New Roman (Liberation Serif or DejaVu Serif stand in); ☑/☐ are not in any
# CJK face and come from DejaVu Sans. Every Chinese character is in a Noto CJK face.
LATIN_AND_SYMBOLS = re.compile(r"^(LiberationSerif|DejaVuSerif|DejaVuSans)(-\w+)?$")


@pytest.mark.parametrize("name", FORMS)
def test_every_pdf_prints_chinese_in_the_serif_and_sans_sc_faces(pdfs, name):
    """Every character came out in one sans face: 宋体 and 黑体 looked the same."""
    names = fonts(pdfs[name])
    cjk = [n for n in names if "CJK" in n]
    assert {n.split("CJK")[0] for n in cjk} == {"NotoSerif", "NotoSans"}, names  # 宋体 body, 黑体 titles
    assert all(re.fullmatch(r"Noto(Serif|Sans)CJK\w\w-(Regular|Bold)(-\w+)?", n) for n in cjk), names
    assert [n for n in names if n not in cjk and not LATIN_AND_SYMBOLS.match(n)] == []


def test_song_and_hei_print_the_simplified_chinese_glyphs(pdfs):
    """SC glyphs, not Japanese variants. pdffonts cannot tell: the five faces of Debian's Noto CJK collection
    share one CFF table named "…CJKjp…", so every face is listed as jp. The page is compared instead with
    the same text set explicitly in Noto … CJK SC, and in … CJK JP as Japanese (which must look different)."""
    assert picture(pdfs["song"]) == picture(pdfs["serif_sc"])
    assert picture(pdfs["hei"]) == picture(pdfs["sans_sc"])
    assert picture(pdfs["song"]) != picture(pdfs["serif_jp"])  # the sample tells the variants apart
    assert picture(pdfs["hei"]) != picture(pdfs["sans_jp"])
    assert picture(pdfs["song"]) != picture(pdfs["hei"])  # 宋体 and 黑体 no longer look the same


# page breaks ----------------------------------------------------------------------------------------


def test_each_need_block_stays_on_one_page(pdfs):
    text = pages(pdfs["large_long"])
    assert len(text) >= 3
    for n in range(1, len(NEEDS) + 1):
        name_page = [i for i, p in enumerate(text) if f"需求名称{n}号" in p]
        content_page = [i for i, p in enumerate(text) if f"内容开头{n}号" in p]
        assert name_page == content_page and len(name_page) == 1, n


def test_a_need_longer_than_a_page_has_its_label_on_every_page(pdfs):
    text = pages(pdfs["large_long"])
    with_need = [p for p in text if any(para[:12] in p for para in NEED_PARAGRAPHS)]
    assert len(with_need) >= 2
    assert all("需求内容" in p for p in with_need)  # 需求内容 or 需求内容（续）
    assert all(any(para[:12] in p for p in text) for para in NEED_PARAGRAPHS)  # nothing lost


def test_overview_stays_on_one_page_with_its_label(pdfs):
    text = pages(pdfs["sme_long"])
    on = [i for i, p in enumerate(text) if "第1段开头" in p or "第5段结尾" in p]
    assert len(set(on)) == 1 and "企业概况" in text[on[0]]


# phones and e-mail addresses ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sme_long", "large_long"])
def test_phones_and_email_addresses_stay_on_one_line(pdfs, name):
    lines = [line for page in lines_by_page(pdfs[name]) for line in page]
    assert any(LONG_EMAIL in line for line in lines), lines[:60]
    assert any(LONG_PHONE in line for line in lines), lines[:60]
