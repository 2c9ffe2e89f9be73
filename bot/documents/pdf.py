"""A PDF copy of a rendered form, through LibreOffice when it is installed.

``to_pdf`` returns None when LibreOffice is not on PATH (the .docx alone is still a complete answer) and
raises :class:`PdfError` when a conversion fails or takes too long.

Starting LibreOffice is most of a conversion's cost (about a second here), so a PDF is made by this
process's resident LibreOffice (``office.py``: unoserver's server, started at first use and kept, about
0.2 s a PDF) where it can run. While it starts, when it died, and where it cannot run at all (no unoserver,
no python3-uno, ``JIEBANG_PDF_RESIDENT=off``) a PDF is made the old way, by a LibreOffice run of its own:
conversions that wait are then done together: at most ``PARALLEL`` LibreOffice processes run, and each
takes every form waiting then (up to ``MAX_BATCH``, shared among the processes; converting eight forms in
one run took 1.7 s against 1.0 s for one). Every run has its own temporary directory and LibreOffice
profile (``-env:UserInstallation``), so parallel runs do not fight over one profile lock.

Fonts: the .docx names 宋体 and 黑体. Every LibreOffice, resident or not, sees the system's fontconfig
configuration plus ``templates/fonts-cjk-sc.conf`` (through ``FONTCONFIG_FILE``, :func:`libreoffice_env`),
which sends them to the Simplified Chinese faces of Debian's fonts-noto-cjk: Noto Serif CJK SC and Noto
Sans CJK SC. Without it both came out in one sans face. (pdffonts names every Noto CJK face "…CJKjp…":
the five regional faces of the font collection share one CFF table under the Japanese name; the glyphs
used are those of the face picked, see the tests.)
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
from xml.sax.saxutils import escape

from bot.documents import office

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60.0
# Conversions at once: each is a LibreOffice process busy on a core for about a second; more than the
# cores only makes every one slower and starves the bot. The rest wait their turn (within the timeout).
PARALLEL = max(1, min(2, (os.cpu_count() or 1)))
MAX_BATCH = 8  # forms in one LibreOffice run: more makes the first of them wait too long
_BINARIES = ("soffice", "libreoffice")
FONT_ALIASES = Path(__file__).with_name("templates") / "fonts-cjk-sc.conf"
# where the system's own fontconfig configuration lives (Debian, other Linux, Homebrew on macOS)
_SYSTEM_FONTS_CONF = ("/etc/fonts/fonts.conf", "/usr/local/etc/fonts/fonts.conf", "/opt/homebrew/etc/fonts/fonts.conf")


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


def system_fonts_conf() -> str | None:
    """The fontconfig configuration LibreOffice would read without us (None: none found)."""
    candidates = [os.environ.get("FONTCONFIG_FILE", "")]
    if os.environ.get("FONTCONFIG_PATH"):
        candidates.append(os.path.join(os.environ["FONTCONFIG_PATH"], "fonts.conf"))
    candidates.extend(_SYSTEM_FONTS_CONF)
    return next((c for c in candidates if c and os.path.isfile(c)), None)


def fonts_conf(folder: Path) -> Path | None:
    """A fontconfig file in `folder` that reads the system's configuration, then the forms' CJK aliases.

    None (the system's alone is used) when no system configuration is found: a configuration of the
    aliases alone would know no font folder at all."""
    system = system_fonts_conf()
    if system is None:
        log.warning("no fontconfig configuration found: PDFs use LibreOffice's default Chinese face")
        return None
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
        f"  <include ignore_missing=\"yes\">{escape(system)}</include>\n"
        f"  <include ignore_missing=\"yes\">{escape(str(FONT_ALIASES))}</include>\n</fontconfig>\n",
        encoding="utf-8")
    return conf


def libreoffice_env(folder: Path) -> dict[str, str]:
    """The environment a LibreOffice runs in: ours, with the fontconfig file (written into `folder`)."""
    env = dict(os.environ)
    conf = fonts_conf(folder)
    if conf is not None:
        env["FONTCONFIG_FILE"] = str(conf)
    return env


def resident_office() -> office.Office | None:
    """This process's resident LibreOffice (perhaps not started yet), or None: none can run here."""
    binary = soffice_path()
    return office.resident(binary, libreoffice_env) if binary else None


async def to_pdf(docx: bytes, limit_seconds: float = TIMEOUT_SECONDS) -> bytes | None:
    """The PDF of a .docx, or None when LibreOffice is not installed."""
    binary = soffice_path()
    if binary is None:
        return None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_seconds
    resident = office.resident(binary, libreoffice_env)
    if resident is not None and resident.available():  # else it is being started: this one the old way
        try:
            return await resident.convert(docx, limit_seconds)
        except TimeoutError:
            raise PdfError(f"LibreOffice did not finish within {limit_seconds:g}s") from None
        except office.OfficeFailed as exc:
            raise PdfError(f"LibreOffice failed: {exc}") from None
        except office.OfficeGone as exc:
            log.info("the resident LibreOffice is gone (%s): this PDF by a LibreOffice run of its own", exc)
    remaining = deadline - loop.time()
    if remaining <= 0:
        raise PdfError(f"LibreOffice did not finish within {limit_seconds:g}s")
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = _Batcher()
    done = batcher.submit(binary, docx, remaining)
    try:
        async with asyncio.timeout(remaining):
            return await done
    except TimeoutError:
        raise PdfError(f"LibreOffice did not finish within {limit_seconds:g}s") from None


class _Batcher:
    """The forms waiting for a PDF, and the LibreOffice runs (at most PARALLEL) working through them."""

    def __init__(self) -> None:
        self.waiting: list[tuple[bytes, asyncio.Future[bytes]]] = []
        self.binary = ""
        self.limit = TIMEOUT_SECONDS
        self.runs: set[asyncio.Task] = set()
        self.busy = 0  # runs converting now

    def submit(self, binary: str, docx: bytes, limit_seconds: float) -> asyncio.Future[bytes]:
        done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.waiting.append((docx, done))
        self.binary, self.limit = binary, limit_seconds
        if len(self.runs) < PARALLEL:
            run = asyncio.get_running_loop().create_task(self._run())
            self.runs.add(run)
            run.add_done_callback(self.runs.discard)
        return done

    async def _run(self) -> None:
        while self.waiting:
            free = max(1, PARALLEL - self.busy)  # a burst is split among the runs not busy yet
            share = min(MAX_BATCH, -(-len(self.waiting) // free))
            batch = [(docx, done) for docx, done in self.waiting[:share] if not done.done()]
            del self.waiting[:share]
            if not batch:
                continue  # their callers gave up (timed out or went away)
            self.busy += 1
            try:
                results = await _convert(self.binary, [docx for docx, _ in batch], self.limit)
            except PdfError as exc:
                results = [exc] * len(batch)
            except BaseException as exc:  # cancelled (the loop is closing) or a bug: nobody waits forever
                for _docx, done in batch:
                    if not done.done():
                        done.set_exception(PdfError(f"LibreOffice run ended: {exc!r}"))
                raise
            finally:
                self.busy -= 1
            for (_docx, done), result in zip(batch, results, strict=True):
                if done.done():
                    continue
                if isinstance(result, Exception):
                    done.set_exception(result)
                else:
                    done.set_result(result)


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batcher] = weakref.WeakKeyDictionary()


async def communicate(proc: asyncio.subprocess.Process, data: bytes | None,
                      limit_seconds: float) -> tuple[bytes, bytes]:
    """A tool's (stdout, stderr); on a timeout (TimeoutError) or cancellation the process is killed first."""
    try:
        return await asyncio.wait_for(proc.communicate(data), limit_seconds)
    except (TimeoutError, asyncio.CancelledError):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5)
        raise


async def _convert(binary: str, forms: list[bytes], limit_seconds: float) -> list[bytes | PdfError]:
    """One LibreOffice run for `forms`: each form's PDF, or the PdfError of that form alone."""
    with tempfile.TemporaryDirectory(prefix="jiebang-pdf-") as tmp:
        work = Path(tmp)
        sources = [work / f"form{i}.docx" for i in range(len(forms))]
        for source, docx in zip(sources, forms, strict=True):
            source.write_bytes(docx)
        profile = (work / "profile").as_uri()
        env = libreoffice_env(work)
        nice = shutil.which("nice")  # as the resident one: office.NICE
        proc = await asyncio.create_subprocess_exec(
            *([nice, "-n", str(office.NICE)] if nice else []),
            binary, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nologo",
            "--convert-to", "pdf", "--outdir", str(work), *map(str, sources),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=tmp, env=env,
        )
        try:
            stdout, stderr = await communicate(proc, None, limit_seconds)
        except TimeoutError:
            raise PdfError(f"LibreOffice did not finish within {limit_seconds:g}s") from None
        detail = (stderr or stdout or b"").decode("utf-8", "replace").strip()[-500:]
        results: list[bytes | PdfError] = []
        for source in sources:
            target = source.with_suffix(".pdf")
            if not target.exists():
                results.append(PdfError(f"LibreOffice failed (exit {proc.returncode}): {detail or 'no output file'}"))
                continue
            data = target.read_bytes()
            ok = data.startswith(b"%PDF")
            results.append(data if ok else PdfError("LibreOffice produced something that is not a PDF"))
    return results
