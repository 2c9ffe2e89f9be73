"""A picture of page 1 of a form's PDF, to show in a chat before and with the finished files.

``page_preview(pdf)`` renders page 1 as a PNG with poppler's ``pdftoppm`` (Debian: poppler-utils), about
1 s at most; it returns None, with the reason logged, where the tool is missing or fails: the picture is
a convenience, the .docx and PDF are the answer.
"""

from __future__ import annotations

import asyncio
import logging
import shutil

from bot.documents.pdf import communicate

log = logging.getLogger(__name__)

WIDTH_PX = 1080  # a phone screen's width: an A4 page's text is readable and the image stays near 100 KB
TIMEOUT_SECONDS = 20.0


def preview_available() -> bool:
    return shutil.which("pdftoppm") is not None


async def page_preview(pdf: bytes | None, width_px: int = WIDTH_PX,
                       limit_seconds: float = TIMEOUT_SECONDS) -> bytes | None:
    """Page 1 of `pdf` as PNG bytes `width_px` wide, or None (reason logged) when it cannot be made."""
    if not pdf:
        log.info("no page preview: no PDF (LibreOffice missing or the conversion failed)")
        return None
    binary = shutil.which("pdftoppm")
    if binary is None:
        log.warning("no page preview: pdftoppm is not installed (Debian: apt-get install poppler-utils)")
        return None
    proc = await asyncio.create_subprocess_exec(
        binary, "-png", "-f", "1", "-l", "1", "-singlefile", "-scale-to-x", str(width_px), "-scale-to-y", "-1",
        "-", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        png, err = await communicate(proc, pdf, limit_seconds)
    except TimeoutError:
        log.warning("no page preview: pdftoppm did not finish within %gs", limit_seconds)
        return None
    if proc.returncode != 0 or not png.startswith(b"\x89PNG"):
        log.warning("no page preview: pdftoppm failed (exit %s): %s", proc.returncode,
                    err.decode("utf-8", "replace").strip()[-300:] or "no image")
        return None
    return png
