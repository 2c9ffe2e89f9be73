"""A PDF copy of a rendered form, through LibreOffice when it is installed.

``to_pdf`` returns None when LibreOffice is not on PATH (the .docx alone is still a complete answer) and
raises :class:`PdfError` when a conversion fails or takes too long. Every conversion runs in its own
temporary directory with its own LibreOffice profile (``-env:UserInstallation``), so parallel conversions
do not fight over one profile lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import weakref
from pathlib import Path

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60.0
# Conversions at once: each is a LibreOffice process busy on a core for about a second; more than the
# cores only makes every one slower and starves the bot. The rest wait their turn (within the timeout).
PARALLEL = max(1, min(2, (os.cpu_count() or 1)))
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
_BINARIES = ("soffice", "libreoffice")


class PdfError(RuntimeError):
    """The conversion to PDF failed or timed out."""


def soffice_path() -> str | None:
    for name in _BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def pdf_available() -> bool:
    return soffice_path() is not None


async def to_pdf(docx: bytes, limit_seconds: float = TIMEOUT_SECONDS) -> bytes | None:
    """The PDF of a .docx, or None when LibreOffice is not installed."""
    binary = soffice_path()
    if binary is None:
        return None
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(PARALLEL)
    try:
        async with asyncio.timeout(limit_seconds):
            await slots.acquire()
    except TimeoutError:
        raise PdfError(f"no LibreOffice slot free within {limit_seconds:g}s") from None
    try:
        return await _convert(binary, docx, limit_seconds)
    finally:
        slots.release()


async def _convert(binary: str, docx: bytes, limit_seconds: float) -> bytes:
    with tempfile.TemporaryDirectory(prefix="jiebang-pdf-") as tmp:
        work = Path(tmp)
        source = work / "form.docx"
        source.write_bytes(docx)
        profile = (work / "profile").as_uri()
        proc = await asyncio.create_subprocess_exec(
            binary, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nologo",
            "--convert-to", "pdf", "--outdir", str(work), str(source),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=tmp,
        )
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), limit_seconds)
        except (TimeoutError, asyncio.CancelledError) as exc:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 5)
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise PdfError(f"LibreOffice did not finish within {limit_seconds:g}s") from None
        target = work / "form.pdf"
        if proc.returncode != 0 or not target.exists():
            detail = (stderr or stdout or b"").decode("utf-8", "replace").strip()[-500:]
            raise PdfError(f"LibreOffice failed (exit {proc.returncode}): {detail or 'no output file'}")
        data = target.read_bytes()
    if not data.startswith(b"%PDF"):
        raise PdfError("LibreOffice produced something that is not a PDF")
    return data
