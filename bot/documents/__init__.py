"""Answers → documents laid out like the official tables (.docx, and a PDF where LibreOffice is installed).

The modules, each using only those above it:
- ``typeset``: the page and its text in python-docx (A4, 宋体/黑体, sizes, values as printed, paragraphs).
- ``tables``: the bordered table on a grid of columns: label and value cells, spans, long values in rows.
- ``layouts``: a document as data naming the form's fields by key, and ``render_document``, which prints it
  with each field's label, choices and display from the form (and a row for a field no row places).
- ``sme_match``, ``large_need``, ``application``: the layouts of 附件3, 附件2 and 附件4 (``Form.renderer``).
- ``filenames``: a document's file name; ``office``: the process's resident LibreOffice (unoserver);
  ``pdf``: LibreOffice's conversion, through it or a LibreOffice run of its own; ``preview``: a PNG of page 1.
- ``worker``: the render process that makes the .docx; ``produce``: a form's files (.docx, PDF, preview),
  made ahead at the review.
- ``render_queue``, ``render_worker``: on PostgreSQL, the files are made by `python -m bot worker`
  processes through a job queue in the database; the bot's side and the worker's.

What the rest of the bot calls (the 企业注册地 line is bot.domain.places, for the review and the .docx alike):
- ``document_filename(form, answers, suffix)``: a file name for a form's document, safe on every file system.
- ``page_preview(pdf)`` (``bot.documents.preview``): a PNG of page 1 of a PDF, or None.
"""

from bot.documents.filenames import document_filename

__all__ = ["document_filename"]
