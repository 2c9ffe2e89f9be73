"""The reminder-consent page of the Official Account in a real browser (headless Chromium), at phone size.

WeChat's JS-SDK is not reachable here (the network is closed), so its script is served by the test: as
WeChat's would behave when the open tag cannot be used (WeixinOpenTagsError after wx.config), when
wx.config fails (wx.error), when the script does not load at all, and when everything works. A person
must see either the button's place or a line saying why there is none — never an empty page.
"""

from __future__ import annotations

import pytest

from tests.adapters.test_wechat_channel import rig

JSSDK = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"
TEMPLATE = "TPL-reminder-1"

# What WeChat's script does, in the few calls the page makes: `config` then either nothing (all well),
# the callback given to wx.error, or the document event WeixinOpenTagsError.
STUB = """
window.wx = {
  _error: null,
  error: function (cb) { this._error = cb; },
  config: function (c) {
    window.configured = c;
    var self = this;
    setTimeout(function () {
      if (%(how)r === "config fails" && self._error) { self._error({errMsg: "config:invalid signature"}); }
      if (%(how)r === "no open tags") {
        var e = new Event("WeixinOpenTagsError"); e.detail = {errMsg: "iOS WebKit changed"};
        document.dispatchEvent(e);
      }
    }, 10);
  }
};
"""


async def open_page(browser, url: str, how: str):
    page = await browser.new_page()
    await page.set_viewport_size({"width": 390, "height": 844})
    if how == "no script":
        await page.route(JSSDK, lambda route: route.abort())
    else:
        await page.route(JSSDK, lambda route: route.fulfill(content_type="application/javascript",
                                                            body=STUB % {"how": how}))
    await page.goto(url)
    return page


@pytest.mark.parametrize("how", ["no open tags", "config fails", "no script"])
async def test_a_failed_open_tag_shows_a_visible_fallback(tmp_path, browser, shots, how):
    async with rig(tmp_path, wechat_reminder_template_id=TEMPLATE) as r:
        page = await open_page(browser, f"{r.url}/wechat/subscribe", how)
        fallback = page.locator("#fallback")
        await fallback.wait_for(state="visible")
        assert "无法显示开启按钮" in await fallback.inner_text()
        assert "下次发消息时提醒" in await fallback.inner_text()  # and what happens without it
        assert await page.locator("wx-open-subscribe").is_hidden()
        assert await page.get_attribute("html", "lang") == "zh-CN"
        await shots(page, how.replace(" ", "-"))


async def test_the_button_is_styled_inside_its_template_and_the_page_speaks_the_users_language(tmp_path, browser,
                                                                                               shots):
    async with rig(tmp_path, wechat_reminder_template_id=TEMPLATE) as r:
        page = await open_page(browser, f"{r.url}/wechat/subscribe?lang=en", "all well")
        await page.wait_for_function("window.configured !== undefined")
        assert (await page.evaluate("window.configured.openTagList")) == ["wx-open-subscribe"]
        await page.wait_for_timeout(50)  # past the moment an error would have come
        assert await page.locator("#fallback").is_hidden()
        assert await page.get_attribute("html", "lang") == "en"
        assert "deadline" in (await page.inner_text("body")).lower()
        # WeChat renders the tag from its <template>, whose own <style> is the only one that reaches it
        inside = await page.evaluate("document.querySelector('wx-open-subscribe > template').innerHTML")
        assert "<style>" in inside and ".btn" in inside and "Turn on deadline reminders" in inside
        assert await page.get_attribute("wx-open-subscribe", "template") == TEMPLATE
        await shots(page, "subscribe-en")
