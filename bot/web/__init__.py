"""A user's pages on the phone: 我的文件 and a form's full review (aiohttp + jinja2, no JS framework).

    from bot.web import page_url, oauth_url, with_page_link
    url = await page_url(app, "telegram", "12345", "files")   # a short link, "" without JIEBANG_PUBLIC_URL
    url = oauth_url(settings, "review:17")                    # WeChat OA: snsapi_base, lands on /m/wx

The routes are mounted by `bot.web.downloads.add_routes` (which `serve` always calls): see
`bot.web.pages`. The short links are rows of `page_links` (storage/link_models.py).
"""

from bot.web.oauth import oauth_url
from bot.web.pagelinks import page_url, with_page_link

__all__ = ["oauth_url", "page_url", "with_page_link"]
