"""The terminal shows a reply's picture as a file path, and a reply's page not at all (no web server here):
the whole text, as it was."""

from __future__ import annotations

import io

from bot.adapters.console import ConsoleChannel
from bot.messages import PNG_MIME, Document, Reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


async def test_page_one_is_printed_as_a_path_that_holds_the_picture(tmp_path):
    out = io.StringIO()
    channel = ConsoleChannel(handler=None, stdout=out, previews=tmp_path / "previews")
    reply = Reply("请核对《中小企业“揭榜”对接表》：\n企业名称：上海测试科技有限公司", image=Document("对接表-第1页.png", PNG, mime=PNG_MIME),
                  page="review:3", summary="共 30 项")
    assert await channel.send("local", [reply])
    shown = out.getvalue()
    line = next(x for x in shown.splitlines() if x.startswith("第1页预览："))
    path = tmp_path / "previews" / "对接表-第1页.png"
    assert line == f"第1页预览：{path.resolve()}" and path.read_bytes() == PNG
    assert "企业名称：上海测试科技有限公司" in shown and "共 30 项" not in shown and "/m/" not in shown


async def test_a_picture_kept_on_disk_is_shown_where_it_is_in_english_too(tmp_path):
    kept = tmp_path / "1-表.png"
    kept.write_bytes(PNG)
    out = io.StringIO()
    channel = ConsoleChannel(handler=None, stdout=out, previews=tmp_path / "unused")
    reply = Reply("Done.", document=Document("表.docx", b"PK", tmp_path / "1-表.docx"),
                  image=Document("表.png", PNG, kept, PNG_MIME), language="en", page="files")
    assert await channel.send("local", [reply])
    lines = out.getvalue().splitlines()
    assert lines[-2] == f"Page 1 preview: {kept.resolve()}" and not (tmp_path / "unused").exists()
    assert any(x.endswith("1-表.docx") for x in lines) and "/m/" not in out.getvalue()
