"""WeChat Official Account and WeCom channels.

    channel.py    WeChatChannel: one message through the modules below, reminders, the windows open now
    callbacks.py  the callback URL: signature, decryption, fresh timestamps, one job per delivery, the
                  passive reply
    inbound.py    a message or event as the engine's Incoming: follows and scenes, menu clicks, voice to
                  confirm, pictures; the engine's answer told apart from what waited in the outbox
    planning.py   the replies as WeChat messages (choices, download and page links) within one message's
                  budget
    budget.py     the budget itself: which messages go now, which wait, which are dropped
    delivery.py   sending through the API, one message at a time within the windows; what cannot go to
                  the outbox; reminders (subscription notifications)
    consent.py    consent to reminder notifications: when to ask, the page with WeChat's subscribe button
    menu.py       the custom menu and what its buttons say
    api.py        WeChat's and WeCom's HTTP API (access token, messages, media, menu, JS-SDK ticket)
    book.py       the channel's own database calls, retried: the user's row, the outbox, replies held
                  while the database is away
    windows.py    the customer-service windows and what they allow
    guard.py      which callbacks are accepted: safe or compatible mode, timestamps, nonces
    order.py      one user's messages in the order WeChat numbered them, across processes
    crypto.py     WXBizMsgCrypt: signatures, AES encryption of messages
    xml.py        the callbacks' XML, read safely, and the passive reply's
"""

from bot.adapters.wechat.channel import WeChatChannel
from bot.adapters.wechat.menu import build_menu, create_menu

__all__ = ["WeChatChannel", "build_menu", "create_menu"]
