"""A confirm's documents and the files a user sends are kept in the database (`stored_files`), so a
second process on the same database with an EMPTY data folder (another machine) hands them out: listed,
downloaded, at 文件, on the console, byte for byte; its folder is a cache. 删除我的数据 removes the rows,
and a document kept only in a folder (before the table) is still listed."""

from __future__ import annotations

import dataclasses
import os
import stat

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.app import open_app
from bot.config import Settings
from bot.console.firms import documents_of
from bot.handlers.session import kept_documents
from bot.messages import Attachment, Incoming
from bot.testing import ChatClient
from bot.web.downloads import add_routes, make_link
from storage.file_models import DOCUMENT, EVIDENCE, StoredFile
from storage.models import Submission
from tests.conftest import SME_STEPS
from tests.test_conversation import start_form
from tests.test_other_forms import open_application


@pytest.fixture
async def two(tmp_path, database_url):
    """(A, B): two apps on one database, each with a data folder of its own (B's empty)."""
    a = await open_app(Settings(data_dir=tmp_path / "data-a", database_url=database_url, pdf=False, secret="s3cret"))
    b = await open_app(Settings(data_dir=tmp_path / "data-b", database_url=database_url, pdf=False, secret="s3cret"))
    yield a, b
    await a.close()
    await b.close()


async def confirmed(app, user: str = "alice") -> tuple[ChatClient, Submission]:
    c = ChatClient(app.engine, channel="telegram", user_id=user)
    await start_form(c)
    await c.fill(SME_STEPS)
    await c.click("确认")
    async with app.store.sessions() as session:
        sub = (await session.execute(select(Submission).where(Submission.form_id == "sme_match")
                                     .order_by(Submission.id.desc()))).scalars().first()
    assert sub.status == "complete"
    return c, sub


async def rows(app, kind: str | None = None) -> int:
    async with app.store.sessions() as session:
        q = select(func.count()).select_from(StoredFile)
        if kind is not None:
            q = q.where(StoredFile.kind == kind)
        return int((await session.execute(q)).scalar_one())


async def test_a_confirmed_forms_document_is_listed_and_served_by_another_process(two):
    a, b = two
    c, sub = await confirmed(a)
    [made] = list((a.settings.documents_dir / str(sub.user_id)).glob(f"{sub.id}-*.docx"))
    original = made.read_bytes()
    assert await rows(a, DOCUMENT) == 1  # the confirm's commit stored it
    assert not b.settings.documents_dir.joinpath(str(sub.user_id)).exists()

    [doc] = await kept_documents(b.settings, b.store, sub.user_id, sub)
    assert doc.data == original and doc.filename == made.name.removeprefix(f"{sub.id}-")
    assert doc.path == b.settings.documents_dir / str(sub.user_id) / made.name  # now cached on B, 0600
    assert doc.path.read_bytes() == original and stat.S_IMODE(os.stat(doc.path).st_mode) == 0o600

    # a cached copy that does not match the row is fetched again
    doc.path.write_bytes(b"not the document")
    [again] = await kept_documents(b.settings, b.store, sub.user_id, sub)
    assert again.data == original and again.path.read_bytes() == original

    # the console's firm page lists it on B
    [ref] = await documents_of(b.settings, b.store, sub.user_id, sub)
    assert ref.kind == "docx" and ref.path.read_bytes() == original


async def test_the_download_link_of_one_process_opens_on_another(two):
    a, b = two
    _c, sub = await confirmed(a)
    [made] = list((a.settings.documents_dir / str(sub.user_id)).glob(f"{sub.id}-*.docx"))
    web_app = web.Application()
    add_routes(web_app, b)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        a.settings = dataclasses.replace(a.settings, public_url=base)
        link = make_link(a.settings, made, "telegram:alice")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
            async with http.get(link) as r:
                assert r.status == 200
                assert await r.read() == made.read_bytes()
    finally:
        await runner.cleanup()


async def test_files_on_another_process_sends_the_documents(two):
    a, b = two
    _c, sub = await confirmed(a)
    [made] = list((a.settings.documents_dir / str(sub.user_id)).glob(f"{sub.id}-*.docx"))
    on_b = ChatClient(b.engine, channel="telegram", user_id="alice")
    replies = await on_b.send("文件")
    assert "您的文件（1个）" in replies[0].text
    [doc] = [d for r in replies for d in r.all_documents()]
    assert doc.data == made.read_bytes()


async def test_a_file_sent_as_evidence_is_kept_in_the_database(two):
    a, b = two
    c = await open_application(a)
    for _ in range(8):  # the eight text sections
        await c.send("内容")
        await c.send("完成")
    await c.deliver(Incoming(channel=c.channel, user_id=c.user_id, message_id="file-1",
                             attachment=Attachment("软著.pdf", b"%PDF-1.4 test")))
    assert "已列 1 项" in c.text
    assert await rows(a, EVIDENCE) == 1  # stored with the answer that sent it
    async with b.store.sessions() as session:
        sub = (await session.execute(select(Submission).where(Submission.form_id == "application"))).scalar_one()
    refs = [r for r in await documents_of(b.settings, b.store, sub.user_id, sub) if r.kind != "docx"]
    assert [(r.name, r.path.read_bytes()) for r in refs] == [("软著.pdf", b"%PDF-1.4 test")]
    assert refs[0].path.is_relative_to(b.settings.files_dir)  # fetched into B's own folder


async def test_erasing_my_data_removes_the_stored_files(two):
    a, b = two
    c, _sub = await confirmed(a)
    _other, theirs = await confirmed(a, user="bob")
    assert await rows(a) == 2
    await c.send("删除我的数据")
    await c.click("确定")
    assert "已删除您的全部答案" in c.text
    assert await rows(a) == 1
    async with a.store.sessions() as session:
        [left] = (await session.execute(select(StoredFile))).scalars().all()
    assert left.user_id == theirs.user_id  # the other user's only
    assert [d.filename for d in await kept_documents(b.settings, b.store, theirs.user_id, theirs)]


async def test_a_document_kept_only_in_the_folder_is_still_listed(two):
    a, b = two
    _c, sub = await confirmed(a)
    async with a.store.sessions() as session, session.begin():  # as if confirmed before the table existed
        await session.execute(StoredFile.__table__.delete())
    [old] = await kept_documents(a.settings, a.store, sub.user_id, sub)
    assert old.path.is_relative_to(a.settings.documents_dir) and old.data.startswith(b"PK")
    assert await kept_documents(b.settings, b.store, sub.user_id, sub) == []  # nowhere else, as before


async def test_a_delivery_answered_again_by_another_process_has_its_documents(two):
    """A delivery sent again (WeChat retries one whose answer was lost: its serve killed after the commit)
    that the proxy hands to the other process is answered there from what was stored for it, with the
    confirm's .docx: taken from `stored_files` into that process's own folder. The outbox, read there, too."""
    from bot.messages import Reply

    a, b = two
    c = ChatClient(a.engine, channel="telegram", user_id="alice")
    await start_form(c)
    await c.fill(SME_STEPS)
    confirm = next(x for x in c.last.buttons if "确认" in x.label)
    delivery = c.incoming(confirm.label, payload=confirm.payload, message_id="sent-twice")
    [made] = [d for r in await a.engine.handle(delivery) for d in r.all_documents()]
    assert made.filename.endswith(".docx") and made.path.is_relative_to(a.settings.documents_dir)
    made.path.unlink()  # B is another machine: A's folder is not there (and A's folder is only a cache)

    [again] = [d for r in await b.engine.handle(delivery) for d in r.all_documents()]
    assert (again.filename, again.data) == (made.filename, made.data)
    assert again.path.is_relative_to(b.settings.documents_dir) and again.path.read_bytes() == made.data

    await a.store.outbox_put("telegram", "alice", [Reply("《对接表》已生成", document=made)])
    [waiting] = await b.store.outbox_take("telegram", "alice")
    assert waiting.document is not None and waiting.document.data == made.data
