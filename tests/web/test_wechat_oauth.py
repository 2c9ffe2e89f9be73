"""WeChat OA users reach their pages through web authorisation (snsapi_base): the code WeChat hands the
browser stands for the user once; their link is kept in a cookie, never in a URL they could forward."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from bot.web import oauth_url
from bot.web.oauth import target_of
from tests.fakes.wechat_api import FakeWeChatAPI
from tests.web.pages_helpers import finished_sme

TOKEN_PATH = "/sns/oauth2/access_token"


@pytest.fixture
async def wechat(served):
    app, http, base = served
    async with FakeWeChatAPI() as fake:
        app.settings = dataclasses.replace(app.settings, wechat_api_base_url=fake.url)
        yield app, fake, base


def test_the_authorisation_url_is_wechats_with_snsapi_base_landing_on_our_route():
    from bot.config import Settings

    s = Settings(public_url="https://jb.example.cn", wechat_app_id="wx1234567890abcdef")
    url = oauth_url(s, "files")
    assert url == ("https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx1234567890abcdef"
                   "&redirect_uri=https%3A%2F%2Fjb.example.cn%2Fm%2Fwx&response_type=code&scope=snsapi_base"
                   "&state=files#wechat_redirect")
    query = parse_qs(urlsplit(oauth_url(s, "review:17")).query)
    assert query["state"] == ["review17"] and query["redirect_uri"] == ["https://jb.example.cn/m/wx"]
    assert oauth_url(Settings(wechat_app_id="wx1"), "files") == ""  # no public URL: nothing to land on
    assert oauth_url(Settings(public_url="https://jb.example.cn"), "files") == ""  # no app id
    with pytest.raises(ValueError):
        oauth_url(s, "../admin")
    assert [target_of(x) for x in ("files", "review17", "review", "<script>", "")] == \
        ["files", "review:17", "files", "files", "files"]


async def test_the_code_opens_that_users_files_and_the_cookie_keeps_them_open(wechat):
    app, fake, base = wechat
    sub = await finished_sme(app, "oALICE", channel="wechat")
    await finished_sme(app, "oBOB", channel="wechat", company="乙公司有限公司")
    code = fake.oauth_code("oALICE")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as phone:
        async with phone.get(f"{base}/m/wx", params={"code": code, "state": "files"}, allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/m/wx"
            cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "Path=/m/wx" in cookie and code not in cookie
        [call] = fake.calls_of(TOKEN_PATH)
        assert call.query == {"appid": "wxAPPID", "secret": "APPSECRET", "code": code,
                              "grant_type": "authorization_code"}
        async with phone.get(f"{base}/m/wx") as r:
            html = await r.text()
        assert r.status == 200 and f'id="form-{sub.id}"' in html and "乙公司有限公司" not in html
        assert f'href="/m/wx/docx/{sub.id}"' in html
        async with phone.get(f"{base}/m/wx/docx/{sub.id}") as r:
            assert r.status == 200 and r.headers["Content-Disposition"].startswith("attachment;")
        async with phone.get(f"{base}/m/wx", params={"code": code, "state": "files"}) as r:  # reloaded
            assert r.status == 403 and "无法确认您的微信身份" in await r.text()  # a code is good once
    async with aiohttp.ClientSession() as forwarded_to:  # someone the URL was forwarded to: no cookie
        async with forwarded_to.get(f"{base}/m/wx/docx/{sub.id}") as r:
            assert r.status == 403 and "公众号菜单" in await r.text()


async def test_a_review_state_lands_on_that_review_and_only_the_users_own(wechat):
    app, fake, base = wechat
    mine = await finished_sme(app, "oALICE", channel="wechat")
    theirs = await finished_sme(app, "oBOB", channel="wechat", company="乙公司有限公司")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as phone:
        async with phone.get(f"{base}/m/wx", params={"code": fake.oauth_code("oALICE"),
                                                      "state": f"review{mine.id}"}) as r:
            assert r.status == 200 and str(r.url).endswith(f"/m/wx/review/{mine.id}")
            assert "91310000132149237G" in await r.text()
        async with phone.get(f"{base}/m/wx/review/{theirs.id}") as r:
            assert r.status == 403 and "乙公司有限公司" not in await r.text()


async def test_a_snapshot_page_or_a_wrong_code_opens_nothing(wechat):
    app, fake, base = wechat
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/m/wx", params={"code": fake.oauth_code("oVIRTUAL", snapshot=True)}) as r:
            assert r.status == 403 and "快照页" in await r.text()
        async with http.get(f"{base}/m/wx", params={"code": "NOT-ISSUED"}) as r:
            assert r.status == 403 and "公众号菜单" in await r.text()
        calls = len(fake.calls_of(TOKEN_PATH, ok_only=False))
        for garbage in ("链接", "a" * 300, "x y", ""):
            async with http.get(f"{base}/m/wx", params={"code": garbage}) as r:
                assert r.status == 403 and r.headers["Content-Type"].startswith("text/html")
        assert len(fake.calls_of(TOKEN_PATH, ok_only=False)) == calls  # never sent on to WeChat
        async with http.get(f"{base}/m/wx") as r:  # no code, no cookie
            assert r.status == 403 and "公众号菜单" in await r.text()


async def test_wechat_down_is_a_page_not_a_500(wechat):
    app, fake, base = wechat
    app.settings = dataclasses.replace(app.settings, wechat_api_base_url="http://127.0.0.1:9")  # nothing listens
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/m/wx", params={"code": "CODE1"}) as r:
            assert r.status == 403 and "公众号菜单" in await r.text()
