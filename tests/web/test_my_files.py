"""我的文件 and the full review over HTTP: what each form's card says, the documents as they go out, the
page-1 picture kept beside its PDF, English pages for English users."""

from __future__ import annotations

import io
import os
import shutil
from urllib.parse import unquote

import docx
import pytest

from bot.web import page_url
from tests.web.pages_helpers import draft_sme, finished_sme, set_language, set_status

# A one-page PDF, written by hand: enough for pdftoppm.
TINY_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


async def _get(http, url: str) -> tuple[int, str]:
    async with http.get(url) as r:
        return r.status, await r.text()


async def test_a_draft_says_how_far_it_is_and_where_it_goes(served):
    app, http, _base = served
    sub = await draft_sme(app, "alice", until="legal_rep")
    status, html = await _get(http, await page_url(app, "telegram", "alice", "files"))
    assert status == 200
    card = html.split(f'id="form-{sub.id}"', 1)[1].split("</section>", 1)[0]
    assert "填写中" in card and "已答 6/" in card
    assert "下载 Word" not in card and "查看全部内容" in card  # nothing to print yet; the answers so far
    assert "截止：" in card and "报送：" in card


async def test_the_word_file_goes_out_as_an_attachment_with_its_chinese_name(served):
    app, http, _base = served
    sub = await finished_sme(app, "alice")
    url = await page_url(app, "telegram", "alice", "files")
    async with http.get(f"{url}/docx/{sub.id}") as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        cd = r.headers["Content-Disposition"]
        data = await r.read()
    assert cd.startswith('attachment; filename="')
    assert unquote(cd.split("filename*=UTF-8''", 1)[1]) == "中小企业揭榜对接表-上海测试科技有限公司.docx"
    cells = "\n".join(c.text for t in docx.Document(io.BytesIO(data)).tables for row in t.rows for c in row.cells)
    assert "91310000132149237G" in cells
    async with http.get(f"{url}/pdf/{sub.id}") as r:  # PDFs off here: none was made
        assert r.status == 404 and "找不到这份文件" in await r.text()


async def test_a_pdf_is_shown_inline_and_its_page_one_is_kept_beside_it(served):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed (poppler-utils)")
    app, http, _base = served
    sub = await finished_sme(app, "alice")
    [docx_path] = (app.settings.documents_dir / str(sub.user_id)).glob(f"{sub.id}-*.docx")
    pdf = docx_path.with_suffix(".pdf")
    pdf.write_bytes(TINY_PDF)
    url = await page_url(app, "telegram", "alice", "files")
    status, html = await _get(http, url)
    assert f'src="/m/{url.rsplit("/", 1)[1]}/preview/{sub.id}"' in html and "第1页预览" in html
    async with http.get(f"{url}/pdf/{sub.id}") as r:
        assert r.headers["Content-Type"] == "application/pdf"
        assert r.headers["Content-Disposition"].startswith('inline; filename="')
        assert await r.read() == TINY_PDF
    async with http.get(f"{url}/preview/{sub.id}") as r:
        assert r.status == 200 and r.headers["Content-Type"] == "image/png"
        png = await r.read()
    assert png.startswith(b"\x89PNG")
    kept = pdf.with_suffix(".png")
    assert kept.read_bytes() == png  # kept beside the PDF
    os.utime(kept, (1, 1))
    os.utime(pdf, (2, 2))  # a newer PDF (the form confirmed again): a new picture
    async with http.get(f"{url}/preview/{sub.id}") as r:
        assert r.status == 200
    assert kept.stat().st_mtime > 2
    stamp = kept.stat().st_mtime
    async with http.get(f"{url}/preview/{sub.id}") as r:
        assert r.status == 200
    assert kept.stat().st_mtime == stamp  # current: not made again


async def test_the_review_link_opens_the_whole_form(served):
    app, http, _base = served
    sub = await finished_sme(app, "alice")
    await set_status(app, sub.id, "returned", "请补充企业概况")
    status, html = await _get(http, await page_url(app, "telegram", "alice", f"review:{sub.id}"))
    assert status == 200
    for text in ("统一社会信用代码", "91310000132149237G", "拟揭榜事项", "高精度视觉检测算法", "退回原因：请补充企业概况",
                 "企业注册地（打印为）"):
        assert text in html, text


async def test_an_english_speaking_user_gets_english_pages(served, clock):
    app, http, _base = served
    sub = await finished_sme(app, "emma")
    await set_language(app, "telegram", "emma", "en")
    status, html = await _get(http, await page_url(app, "telegram", "emma", "files"))
    assert '<html lang="en">' in html and "My files" in html and "Download Word" in html
    assert "See all answers" in html and "中小企业“揭榜”对接表" not in html.split("<main>")[0]
    status, html = await _get(http, await page_url(app, "telegram", "emma", f"review:{sub.id}"))
    assert "企业名称 (" in html  # the official label, its translation beside it
    url = await page_url(app, "telegram", "emma", "files")
    clock.advance(hours=2)
    status, html = await _get(http, url)
    assert status == 410 and '<html lang="en">' in html and "This link has expired" in html
    assert "Reply “files” in the chat for a new link." in html


async def test_a_user_with_no_forms_is_told_how_to_start(served):
    app, http, _base = served
    status, html = await _get(http, await page_url(app, "telegram", "newcomer", "files"))
    assert status == 200 and "还没有表格。在对话中回复“开始”即可填写。" in html
