"""The custom menu of a WeChat account (填表 / 我的进度 / 帮助): its buttons, the /cgi-bin/menu/create body
within WeChat's limits, and the command each button's key stands for when it is clicked."""

from __future__ import annotations

from collections.abc import Sequence

from bot.adapters.wechat.api import WeChatAPI

MENU = (("填表", "start"), ("我的进度", "status"), ("帮助", "help"))
MENU_COMMANDS = {"start": "/start", "resume": "/resume", "status": "/status", "help": "/help"}


def _width(name: str) -> int:
    return sum(1 if ord(c) < 128 else 2 for c in name)


def build_menu(items: Sequence[tuple[str, str | Sequence[tuple[str, str]]]] = MENU) -> dict:
    """The /cgi-bin/menu/create body. `items`: (name, key) for a click button, or (name, [(name, key)…])
    for a top button with a sub-menu. WeChat's limits: 3 top buttons of ≤ 4 汉字 (16 bytes), 5 under
    each of ≤ 8 汉字 (60 bytes), keys ≤ 128 bytes."""
    if not 1 <= len(items) <= 3:
        raise ValueError("a menu has 1 to 3 top buttons")

    def click(name: str, key: str, width: int, size: int) -> dict:
        if not name or _width(name) > width or len(name.encode()) > size:
            raise ValueError(f"menu name {name!r} is too long")
        if not key or len(key.encode()) > 128:
            raise ValueError(f"menu key {key!r} must be 1 to 128 bytes")
        return {"type": "click", "name": name, "key": key}

    buttons = []
    for name, value in items:
        if isinstance(value, str):
            buttons.append(click(name, value, 8, 16))
            continue
        if not 1 <= len(value) <= 5:
            raise ValueError(f"menu {name!r} has 1 to 5 sub-buttons")
        click(name, "x", 8, 16)
        buttons.append({"name": name, "sub_button": [click(n, k, 16, 60) for n, k in value]})
    return {"button": buttons}


async def create_menu(api: WeChatAPI, menu: dict | None = None, agent_id: str | None = None) -> dict:
    """Install the menu (/cgi-bin/menu/create; WeCom needs the agent id)."""
    return await api.create_menu(menu or build_menu(), agent_id=agent_id)
