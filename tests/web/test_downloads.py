"""Signed download links: valid, expired, tampered, another user's, gone — over real HTTP."""

from __future__ import annotations

import time
from urllib.parse import unquote

import aiohttp
import pytest
from aiohttp import web

from bot.app import open_app
from bot.config import Settings
from bot.web.downloads import LinkError, add_routes, make_link, make_token, read_token
from bot.web.filenames import content_disposition


@pytest.fixture
async def served(tmp_path):
    app = await open_app(Settings(data_dir=tmp_path, secret="s3cret", link_ttl_seconds=3600))
    web_app = web.Application()
    add_routes(web_app, app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    app.settings = Settings(data_dir=tmp_path, secret="s3cret", link_ttl_seconds=3600,
                            public_url=f"http://127.0.0.1:{port}")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        yield app, http
    await runner.cleanup()
    await app.close()


async def _doc(app, openid: str, name: str = "7-中小企业揭榜对接表.docx", data: bytes = b"PK docx") -> object:
    await app.store.update_prefs("wechat", openid, seen=True)  # the user exists
    user = await app.store.user("wechat", openid)
    folder = app.settings.documents_dir / str(user.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


async def test_valid_link_downloads_with_utf8_name(served):
    app, http = served
    path = await _doc(app, "alice")
    url = make_link(app.settings, path, "wechat:alice")
    assert url.startswith(app.settings.public_url + "/files/")
    async with http.get(url) as r:
        assert r.status == 200
        assert await r.read() == b"PK docx"
        cd = r.headers["Content-Disposition"]
    assert unquote(cd.split("filename*=UTF-8''")[1]) == "中小企业揭榜对接表.docx"
    assert cd.startswith("attachment; filename=\"")


async def test_expired_link_is_410(served):
    app, http = served
    path = await _doc(app, "alice")
    url = make_link(app.settings, path, "wechat:alice", now=time.time() - 3601)
    async with http.get(url) as r:
        assert r.status == 410
        assert "回复“文件”" in await r.text()  # what to do about it


async def test_tampered_link_is_403(served):
    app, http = served
    path = await _doc(app, "alice")
    url = make_link(app.settings, path, "wechat:alice")
    body, sig = url.rsplit("/", 1)[1].split(".")
    forged = make_token(Settings(data_dir=app.settings.data_dir, secret="other", link_ttl_seconds=10 ** 6),
                        path, "wechat:alice").split(".")[0]
    for bad in (f"{forged}.{sig}", f"{body}.{sig[:-2]}xx", body, "nonsense"):
        async with http.get(f"{app.settings.public_url}/files/{bad}") as r:
            assert r.status == 403, bad


async def test_another_users_document_is_403(served):
    app, http = served
    alice_doc = await _doc(app, "alice")
    await _doc(app, "bob", name="9-bob.docx")
    url = make_link(app.settings, alice_doc, "wechat:bob")  # validly signed, but not bob's file
    async with http.get(url) as r:
        assert r.status == 403
    async with http.get(make_link(app.settings, alice_doc, "wechat:nobody")) as r:
        assert r.status == 403


async def test_missing_file_is_404(served):
    app, http = served
    path = await _doc(app, "alice")
    url = make_link(app.settings, path, "wechat:alice")
    path.unlink()
    async with http.get(url) as r:
        assert r.status == 404


def test_token_payload_and_outside_paths(tmp_path):
    s = Settings(data_dir=tmp_path, secret="k", link_ttl_seconds=100)
    (s.documents_dir / "3").mkdir(parents=True)
    token = make_token(s, s.documents_dir / "3" / "a.docx", "wechat:o1", now=1000)
    assert read_token(s, token, now=1050) == {"path": "3/a.docx", "owner": "wechat:o1", "expires": 1100}
    with pytest.raises(ValueError):
        make_token(s, tmp_path / "secret.key", "wechat:o1")
    assert content_disposition('a"b.docx').startswith('attachment; filename="a_b.docx"')


async def test_a_token_with_non_ascii_characters_is_403_not_500(served):
    app, http = served
    path = await _doc(app, "alice")
    good = make_link(app.settings, path, "wechat:alice").rsplit("/", 1)[1]
    body, sig = good.split(".")
    bad = [f"{body}.{sig[:-1]}é", f"链接.{sig}", "链接", "%FF%FE.%C3", f"{body}%ED%A0%80.{sig}", f"{body}.{sig}.x",
           f"{body}.{sig}=", "." * 3, "a" * 5000 + "." + sig, f"{body}%00.{sig}"]
    for token in bad:
        async with http.get(f"{app.settings.public_url}/files/{token}") as r:
            assert r.status == 403, (token[:40], r.status, await r.text())
            assert "链接无效" in await r.text()
    async with http.get(f"{app.settings.public_url}/files/{good}") as r:
        assert r.status == 200  # the good one still works
    s = Settings(data_dir=app.settings.data_dir, secret="s3cret")
    for token in ("é.é", "\udcff.x", "a" * 10):  # as read_token gets them, whatever the route decoded
        with pytest.raises(LinkError) as e:
            read_token(s, token)
        assert e.value.status == 403


async def test_an_old_link_refused_is_a_phone_page_in_the_users_language(served):
    app, http = served
    path = await _doc(app, "emma")
    async with app.store.sessions() as session, session.begin():
        from storage.models import User

        user = await session.get(User, (await app.store.user("wechat", "emma")).id)
        user.language = "en"
    expired = make_link(app.settings, path, "wechat:emma", now=time.time() - 3601)
    async with http.get(expired) as r:
        assert r.status == 410 and r.headers["Content-Type"] == "text/html; charset=utf-8"
        html = await r.text()
    assert '<html lang="en">' in html and 'name="viewport"' in html and "This link has expired" in html
    async with http.get(f"{app.settings.public_url}/files/nonsense", headers={"Accept-Language": "zh-CN"}) as r:
        html = await r.text()
    assert r.status == 403 and '<html lang="zh-CN">' in html and "链接无效" in html and "回复“文件”" in html


def test_content_disposition_inline_for_a_pdf_shown_in_the_browser():
    cd = content_disposition("中小企业揭榜对接表.pdf", "inline")
    assert cd.startswith('inline; filename="') and unquote(cd.split("filename*=UTF-8''")[1]) == "中小企业揭榜对接表.pdf"
