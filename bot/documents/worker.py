"""Where a form's .docx is made: in a process of its own by default.

A render is ~60 ms of pure-Python CPU (python-docx building the table). Made on a thread of the bot's
process it holds the GIL in 5 ms slices while every other user's answer waits: with reviews making their
files ahead (ProducedCache.start), answers took 6-7 ms at the median instead of ~1 ms. In a process of its
own it runs on another core and the bot's loop never waits for it.

The render process is `python -m bot.documents.worker`, started at first use and kept; it reads requests
(a form's renderer and its answers) from its stdin and writes the .docx to its stdout, each a pickle behind
its length. It ends when its stdin does, so it never outlives the bot however the bot ends (no fork of the
bot's threads, no re-import of the bot's main module as multiprocessing does). One pool per process, shared
by every engine in it (tests open many); calls wait for a free render process on threads of the pool's own.
`JIEBANG_RENDER_PROCESSES=0` renders on a thread of the bot's process (the old way); a render process that
died or could not start is replaced, and that render is made in the bot's process.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from bot.dialogs.fields import Form
from bot.dialogs.forms import get_form

log = logging.getLogger(__name__)

# imported by a render process when it starts
PRELOAD = ("bot.documents.sme_match", "bot.documents.large_need", "bot.documents.application")
_HEADER = struct.Struct("!I")
# A render process's memory grows with the documents it has made (lxml's and the allocator's, not Python
# objects': measured 47 MB after one 对接表, 129 MB after 200, 188 MB from 600 on), so one is replaced by a
# fresh one after this many; the replacement starts at once, before it is needed.
RENDERS_PER_PROCESS = 200
# A .docx takes well under a second; a render process silent for this long is stuck (swapping, say): it is
# killed and the render made in the bot's process.
RENDER_TIMEOUT_S = 60.0


class RenderProcessError(RuntimeError):
    """A render process died, could not start, or its renderer raised (then the bot's process says why)."""


def render_named(renderer: str, answers: Mapping[str, Any], form_id: str, version: int) -> bytes:
    """A form's renderer ("module:function", Form.renderer) applied to its answers, as `version` of the form
    prints them (a submission's own: last year's paper is printed with last year's labels)."""
    module, _, name = renderer.partition(":")
    form = get_form(form_id)
    if form is None:
        raise LookupError(f"no form {form_id!r}")
    return getattr(importlib.import_module(module), name)(answers, form.at(version))


def _send(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the other end closed")
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the other end closed mid-message")
    return pickle.loads(data)  # noqa: S301 - our own process on the other end of a pipe


class _RenderProcess:
    def __init__(self) -> None:
        # Its own session, and its stderr a file of its own (read back when it fails): in the terminal's
        # session a render process got the chat's Ctrl-C too and printed its own KeyboardInterrupt
        # traceback in the chat. It ends when its stdin does.
        self.errors = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.documents.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.errors, close_fds=True,
                                     start_new_session=True)
        self.renders = 0

    def said(self) -> str:
        """The end of what it wrote on its stderr (why it died)."""
        try:
            self.errors.seek(0)
            return self.errors.read()[-1500:].decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""

    def call(self, request: tuple[str, str, int, dict[str, Any]]) -> bytes:
        """`request`: (Form.renderer, the form's id, its version, the answers)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            _send(self.proc.stdin, request)
            ready, _, _ = select.select([self.proc.stdout], [], [], RENDER_TIMEOUT_S)
            if not ready:
                self.kill()
                raise RenderProcessError(f"the render process made nothing in {RENDER_TIMEOUT_S:.0f} s; killed")
            ok, payload = _receive(self.proc.stdout)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            self.proc.poll()
            raise RenderProcessError(f"the render process ended ({exc!r}; exit {self.proc.returncode}): "
                                     f"{self.said() or 'it said nothing'}") from None
        if not ok:
            raise RenderProcessError(payload)
        return payload

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # it ends at the end of its input
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.errors.close()


class RenderPool:
    """Renders .docx files in up to `processes` render processes (0: on a thread of this one)."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._idle: list[_RenderProcess] = []
        self._all: list[_RenderProcess] = []
        self._guard = threading.Lock()
        self._calls = ThreadPoolExecutor(max_workers=max(processes, 1), thread_name_prefix="render")
        self._failures = 0  # render processes lost in a row

    def _take(self) -> _RenderProcess:
        with self._guard:
            while self._idle:
                proc = self._idle.pop()
                if proc.alive():
                    return proc
                self._all.remove(proc)
        return self._new()  # at most `processes` calls run at once (the executor's threads)

    def _new(self) -> _RenderProcess:
        proc = _RenderProcess()
        with self._guard:
            self._all.append(proc)
        return proc

    def _give_back(self, proc: _RenderProcess) -> None:
        with self._guard:
            self._idle.append(proc)

    def _forget(self, proc: _RenderProcess) -> None:
        with self._guard:
            if proc in self._all:
                self._all.remove(proc)

    def _call(self, request: tuple[str, str, int, dict[str, Any]]) -> bytes:
        proc = self._take()
        try:
            made = proc.call(request)
        except RenderProcessError:
            if proc.alive():
                self._give_back(proc)  # its renderer raised: the process is fine
            else:
                self._forget(proc)
                proc.kill()
            raise
        proc.renders += 1
        if proc.renders >= RENDERS_PER_PROCESS:
            self._forget(proc)
            proc.stop()  # it ends at once: its input ends and it has nothing in hand
            proc = self._new()  # the fresh one starts now, before the next render needs it
        self._give_back(proc)
        return made

    async def render(self, form: Form, answers: Mapping[str, Any]) -> bytes:
        if self.processes > 0:
            try:
                request = (form.renderer, form.id, form.version, dict(answers))
                made = await asyncio.get_running_loop().run_in_executor(self._calls, self._call, request)
                self._failures = 0
                return made
            except (RenderProcessError, OSError) as exc:  # it died (the OOM killer, say), could not start,
                log.warning("rendering %s in a render process failed (%s); rendering it here", form.id, exc)
                self._count_failure()
        return await asyncio.to_thread(form.render, answers)  # a renderer's own error is raised from here

    def _count_failure(self) -> None:
        with self._guard:
            lost = not any(p.alive() for p in self._all)
        if lost:
            self._failures += 1
            if self._failures >= 3:
                log.error("no render process could run 3 times in a row; .docx files are made in the bot's "
                          "process from now on")
                self.processes = 0

    def pids(self) -> list[int]:
        """The render processes alive now (benchmarks read their CPU and memory)."""
        with self._guard:
            return [p.proc.pid for p in self._all if p.alive()]

    def close(self) -> None:
        with self._guard:
            procs, self._all, self._idle = list(self._all), [], []
        for p in procs:
            p.stop()


_shared: dict[int, RenderPool] = {}
_shared_guard = threading.Lock()


def render_pool(processes: int) -> RenderPool:
    """The process's pool of that size (every engine in a process shares it)."""
    with _shared_guard:
        pool = _shared.get(processes)
        if pool is None:
            pool = _shared[processes] = RenderPool(processes)
        return pool


def main() -> None:
    """A render process: requests in on stdin, .docx files out on stdout, until stdin ends."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not land in the replies
    for module in PRELOAD:
        importlib.import_module(module)
    while True:
        try:
            renderer, form_id, version, answers = _receive(inp)
        except EOFError:
            return
        try:
            reply: tuple[bool, Any] = (True, render_named(renderer, answers, form_id, version))
        except Exception as exc:  # the bot's process renders it again and raises it there
            reply = (False, f"{type(exc).__name__}: {exc}")
        try:
            _send(out, reply)
        except OSError:
            return


if __name__ == "__main__":
    main()
