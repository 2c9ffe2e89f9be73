"""The campaigns shipped with the bot, one module a year of plain data.

Next year: add `y2025.py` beside `y2024.py` (copy, change the dates, numbers and offices) and list it
below — or add it at run time with `python -m bot admin add-campaign … --copy-from 2024-shanghai`.
A campaign stored in the database (added or edited by an admin) overrides a shipped one of the same id.
"""

from __future__ import annotations

from bot.campaigns.data import y2024

SHIPPED: tuple[dict, ...] = (*y2024.CAMPAIGNS,)
