"""WeChat Official Account users open their pages through web authorisation with `snsapi_base`: silent, no
token in the link, nothing to expire in the chat.

    url = oauth_url(settings, "files")        # for a menu button or a message of the OA
    # https://open.weixin.qq.com/connect/oauth2/authorize?appid=…&redirect_uri=<public>/m/wx
    #   &response_type=code&scope=snsapi_base&state=files#wechat_redirect

WeChat sends the user's browser to `<public>/m/wx?code=CODE&state=files`; the server trades the code for
the user's openid (`GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code`), keeps
a page link for that openid in a cookie (HttpOnly, path /m/wx) and redirects to /m/wx, which shows that
user's 我的文件. A code is good once and for 5 minutes; a URL forwarded with its code opens nothing.

As WeChat documents it (公众号 网页授权, developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/
Wechat_webpage_authorization.html; 换取用户授权凭证 snsAccessToken,
developers.weixin.qq.com/doc/service/api/webdev/access/api_snsaccesstoken.html):
- the parameters go in the order the document lists them (appid, redirect_uri, response_type, scope,
  state) and the URL ends in #wechat_redirect; redirect_uri is URL-encoded, on the domain set as the
  account's 网页授权域名 (JIEBANG_PUBLIC_URL's host);
- a code is good for one exchange and expires after 5 minutes unused;
- state: up to 128 bytes of a-zA-Z0-9, handed back as given;
- the answer is {access_token, expires_in, refresh_token, openid, scope, is_snapshotuser?}, or
  {errcode, errmsg} (40029 invalid code, 40163 code been used); `is_snapshotuser: 1` is the virtual
  account of a 朋友圈 snapshot page: not the user, so it opens nothing.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import quote

import aiohttp

from bot.web.pagelinks import PREFIX

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"
CALLBACK = PREFIX + "/wx"
CHANNEL = "wechat"  # the Official Account's channel name (bot.adapters.registry)
_CODE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_STATE = re.compile(r"files|review(\d{1,18})")


def state_of(target: str) -> str:
    """The OAuth state for a page ("files", "review:17" → "review17": WeChat takes a-zA-Z0-9 only)."""
    if target == "files":
        return "files"
    kind, _, sid = target.partition(":")
    if kind == "review" and sid.isdigit():
        return f"review{sid}"
    raise ValueError(f"not a page: {target!r}")


def target_of(state: str) -> str:
    """The page an OAuth state names; "files" for anything else (the state comes back through the browser)."""
    found = _STATE.fullmatch(state or "")
    return f"review:{found.group(1)}" if found and found.group(1) else "files"


def oauth_url(settings: Settings, target: str = "files") -> str:
    """The WeChat authorisation URL that lands on `target` ("files", "review:<submission id>") for whoever
    opens it in WeChat; "" without JIEBANG_PUBLIC_URL or WECHAT_APP_ID."""
    base = settings.public_url.rstrip("/")
    if not base or not settings.wechat_app_id:
        log.warning("no OAuth link: JIEBANG_PUBLIC_URL and WECHAT_APP_ID are both needed")
        return ""
    redirect = quote(base + CALLBACK, safe="")
    return (f"{AUTHORIZE}?appid={quote(settings.wechat_app_id, safe='')}&redirect_uri={redirect}"
            f"&response_type=code&scope=snsapi_base&state={state_of(target)}#wechat_redirect")


class NotAuthorised(Exception):
    """The code opened nothing: `snapshot` for a 朋友圈 snapshot page's virtual account."""

    def __init__(self, reason: str, snapshot: bool = False) -> None:
        super().__init__(reason)
        self.snapshot = snapshot


async def openid_for(http: aiohttp.ClientSession, settings: Settings, code: str) -> str:
    """The openid the code stands for; NotAuthorised for a wrong, used or expired code or an outage."""
    if not _CODE.fullmatch(code or ""):
        raise NotAuthorised("not a code")
    if not settings.wechat_app_id or not settings.wechat_app_secret:
        raise NotAuthorised("WECHAT_APP_ID / WECHAT_APP_SECRET are not set")
    url = settings.wechat_api_base_url.rstrip("/") + "/sns/oauth2/access_token"
    params = {"appid": settings.wechat_app_id, "secret": settings.wechat_app_secret, "code": code,
              "grant_type": "authorization_code"}
    try:
        async with http.get(url, params=params, timeout=aiohttp.ClientTimeout(total=10)) as r:
            data = await r.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as e:
        raise NotAuthorised(f"oauth2/access_token failed: {type(e).__name__}: {e}") from None
    if not isinstance(data, dict):
        raise NotAuthorised("oauth2/access_token: not an object")
    if data.get("errcode"):
        raise NotAuthorised(f"oauth2/access_token: {data.get('errcode')} {data.get('errmsg', '')}")
    if data.get("is_snapshotuser") == 1:
        raise NotAuthorised("a snapshot page's virtual account", snapshot=True)
    openid = data.get("openid")
    if not isinstance(openid, str) or not openid or len(openid) > 128:
        raise NotAuthorised("oauth2/access_token: no openid")
    return openid
