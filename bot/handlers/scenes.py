"""Where a user came from: a Telegram deep link (t.me/<bot>?start=sme_pudong) or a WeChat QR code's scene
(qrscene_sme_pudong) arrives as "/start <scene>". A district office's code can choose for the user who
they are (sme / large), their district (in pinyin, as links allow) and the campaign; the menu then asks
only what is left. Tokens are separated by "_"; unknown ones are ignored."""

from __future__ import annotations

from bot.domain import regions
from bot.handlers.context import Ctx

ROLES = {"sme": "sme", "smes": "sme", "large": "large", "bigfirm": "large"}


def apply(ctx: Ctx, scene: str) -> dict[str, str]:
    """Keep what the scene says (role, district, campaign) in the user's preferences; returns it."""
    chosen: dict[str, str] = {}
    for token in scene.lower().replace("-", "_").split("_"):
        if token in ROLES:
            chosen["role"] = ROLES[token]
        elif regions.is_latin_district(token):
            chosen["district"] = regions.latin_district_name(token)
        elif token.isdigit() and len(token) == 4:
            chosen["year"] = token
    prefs = ctx.tx.user.prefs or {}
    updates: dict = {"scene": scene[:64]}
    if "role" in chosen and not prefs.get("role"):
        updates["role"] = chosen["role"]
    if "district" in chosen:
        profile = dict(prefs.get("profile") or {})
        profile.setdefault("reg_province", "上海市")  # the districts links can name are Shanghai's (附件1)
        profile.setdefault("reg_city", chosen["district"])
        updates["profile"] = profile
    ctx.tx.update_prefs(**updates)
    return chosen
