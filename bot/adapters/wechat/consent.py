"""Consent to reminder notifications (订阅通知) on an Official Account: when a user is asked (once, after a
finished section, where notifications are set up) and the page they say yes on.

The page (`GET <path>/subscribe`) carries WeChat's subscribe button, the JS-SDK open tag
wx-open-subscribe, signed with the account's jsapi_ticket (`jsapi_signature`); its host must be a
JS接口安全域名 of the account. The answer itself arrives at the callback URL as a
subscribe_msg_popup_event (inbound.py keeps it in the user's row).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable

import jinja2
from aiohttp import web

from bot.adapters.wechat.api import ApiError, WeChatAPI
from bot.i18n import N_, gettext
from bot.messages import Reply
from storage.channel_models import ChannelState

log = logging.getLogger(__name__)

_SUBSCRIBE_PAGE = jinja2.Environment(
    loader=jinja2.PackageLoader("bot.adapters.wechat", "templates"), autoescape=True,
).get_template("subscribe.html")


def jsapi_signature(ticket: str, nonce: str, timestamp: str, url: str) -> str:
    """JS-SDK wx.config signature: sha1 of the four fields in this order, the URL without its #fragment."""
    raw = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url.split('#', 1)[0]}"
    return hashlib.sha1(raw.encode()).hexdigest()


class Consent:
    """The consent of one account's users: `url` of the page, `may_ask` / `question` in the chat, `page`
    the route. `clock` (epoch seconds) signs the page's timestamp."""

    def __init__(self, settings, kind: str, name: str, path: str, api: WeChatAPI,
                 clock: Callable[[], float]) -> None:
        self.settings = settings
        self.kind = kind
        self.name = name
        self.path = path
        self.api = api
        self.clock = clock

    @property
    def url(self) -> str:
        return f"{self.settings.public_url}{self.path}/subscribe"

    def may_ask(self, state: ChannelState) -> bool:
        """Once per user, after a finished section; only where notifications are set up (OA + template)
        and the page can be reached, and not from users who already said yes or no."""
        return (self.kind == "oa" and bool(self.settings.wechat_reminder_template_id)
                and bool(self.settings.public_url) and state.notify is None and not state.notify_asked)

    def question(self, lang: str) -> Reply:
        """The line that asks, with the link to the page (in the user's language)."""
        page = self.url + ("?lang=en" if lang == "en" else "")
        return Reply(gettext(lang, N_("想在截止前收到微信提醒吗？点这里开启（随时可退订）：\n{url}"), url=page),
                     language=lang)

    async def page(self, request: web.Request) -> web.Response:
        """The page with WeChat's subscribe button (JS-SDK open tag wx-open-subscribe; the page's host must
        be a JS接口安全域名 of the account). The button's style is inside the tag's <template> (the open tag
        does not take the page's styles); where the tag cannot be used (WeixinOpenTagsError, wx.error, no
        JS-SDK) the page says so instead of showing nothing. The consent itself arrives as a
        subscribe_msg_popup_event at the callback URL."""
        template = self.settings.wechat_reminder_template_id
        if self.kind != "oa" or not template:
            raise web.HTTPNotFound()
        url = self.url + (f"?{request.query_string}" if request.query_string else "")
        lang = "en" if request.query.get("lang") == "en" else "zh_CN"
        try:
            ticket = await self.api.jsapi_ticket()
        except ApiError as exc:
            log.warning("%s: no JS-SDK ticket for the subscribe page: %s", self.name, exc)
            return web.Response(status=503, text=gettext(lang, N_("暂时无法开启提醒，请稍后再试。")),
                                content_type="text/plain", charset="utf-8")
        nonce, timestamp = secrets.token_hex(8), str(int(self.clock()))
        html = _SUBSCRIBE_PAGE.render(
            title=gettext(lang, N_("截止提醒")), template_id=template, app_id=self.settings.wechat_app_id,
            timestamp=timestamp, nonce=nonce, signature=jsapi_signature(ticket, nonce, timestamp, url),
            explain=gettext(lang, N_("开启后，表格截止前7天、3天、1天和当天，我们会通过服务通知提醒您。")),
            button=gettext(lang, N_("开启截止提醒")), done=gettext(lang, N_("已开启，回到对话继续填写即可。")),
            failed=gettext(lang, N_("没有开启成功，可稍后再试；不开启也会在您下次发消息时提醒。")),
            fallback=gettext(lang, N_("这里无法显示开启按钮（请在微信中打开，或升级微信后再试）。不开启也会在您下次发消息时提醒。")),
            html_lang="en" if lang == "en" else "zh-CN")
        return web.Response(text=html, content_type="text/html", charset="utf-8")
