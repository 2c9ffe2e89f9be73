"""Answers → documents laid out like the official tables (.docx, and a PDF where LibreOffice is installed).

What the rest of the bot calls:
- ``registered_place(answers)``: the 企业注册地 line as the 对接表 prints it (for the review).
"""

from bot.documents.places import registered_place

__all__ = ["registered_place"]
