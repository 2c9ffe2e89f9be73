"""WeChat Official Account and WeCom channels (see channel.py)."""

from bot.adapters.wechat.channel import WeChatChannel, build_menu, create_menu

__all__ = ["WeChatChannel", "build_menu", "create_menu"]
