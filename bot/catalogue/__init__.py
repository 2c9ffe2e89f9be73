"""The 需求目录 (catalogue of needs): import, search, propose. The conversation's API:

    from bot import catalogue
    await catalogue.has_catalogue(store_or_session, campaign_id)         # bool
    await catalogue.search(store_or_session, campaign_id, "电池热失控", limit=5)  # [Need], best first
    await catalogue.by_code(store_or_session, campaign_id, "2024-sh-17")   # Need | None (check .published)
    await catalogue.nearest_codes(store_or_session, campaign_id, "2024-SH-71")  # [Need]
    await catalogue.suggest(store_or_session, campaign_id, industry="39", overview="…")  # [Need]

A campaign without items of its own uses its `parent` campaign's (Shanghai's → the national one).
Lines to show: `bot.catalogue.chat`. Data: `storage.catalogue_models.CatalogueItem`; admin commands in
`bot.admin.catalogue` (import-catalogue, catalogue, propose-need, withdraw-need).
"""

from bot.catalogue.index import Index, Need, code_key, nearest
from bot.catalogue.repo import by_code, has_catalogue, index_for, nearest_codes, needs_of, search, suggest

__all__ = ["Index", "Need", "by_code", "code_key", "has_catalogue", "index_for", "nearest", "nearest_codes",
           "needs_of", "search", "suggest"]
