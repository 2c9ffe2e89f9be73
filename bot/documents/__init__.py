"""Answers → documents laid out like the official tables (.docx, and a PDF where LibreOffice is installed).

What the rest of the bot calls:
- ``registered_place(answers)``: the 企业注册地 line as the 对接表 prints it (for the review).
- ``document_filename(form, answers, suffix)``: a file name for a form's document, safe on every file system.
- ``page_preview(pdf)`` (``bot.documents.preview``): a PNG of page 1 of a PDF, or None.
"""

from bot.documents.filenames import document_filename
from bot.domain.places import registered_place

__all__ = ["document_filename", "registered_place"]
