"""Where a form's .docx is made: in a process of its own by default.

A render is ~0.1 s of pure-Python CPU (python-docx building the table). Made on a thread of the bot's
process it holds the GIL in 5 ms slices while every other user's answer waits for it: with reviews making
their files ahead (ProducedCache.start), answers took 6-7 ms instead of ~1 ms at the median. In a process
of its own it runs on another core and the bot's loop never waits for it.

One pool per process, shared by every engine in it (tests open many), made at first use and ended at
exit. Its processes fork from a forkserver that has imported the documents once, so a new one starts in
milliseconds. `JIEBANG_RENDER_PROCESSES=0` renders on a thread of the bot's process instead (the old way);
so does a render whose process died (a broken pool is made again for the next one).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from bot.dialogs.fields import Form

log = logging.getLogger(__name__)

# imported once by the forkserver, so each render process starts with them loaded
PRELOAD = ["bot.documents.sme_match", "bot.documents.large_need", "bot.documents.application"]


def render_named(renderer: str, answers: Mapping[str, Any]) -> bytes:
    """A form's renderer ("module:function", Form.renderer) applied to its answers: what a process runs."""
    module, _, name = renderer.partition(":")
    return getattr(importlib.import_module(module), name)(answers)


def _end_with(bot_pid: int) -> None:
    """In a render process: exit when the bot's process is gone. A pool's process waits on its queue, which
    it holds both ends of, so a bot killed (SIGKILL, SIGTERM without cleanup) would leave it running."""
    def watch() -> None:
        try:
            fd = os.pidfd_open(bot_pid)  # Linux: readable once that process has ended
        except (AttributeError, OSError):
            fd = None
        while True:
            if fd is not None:
                select.select([fd], [], [])
                os._exit(0)
            time.sleep(1.0)
            try:
                os.kill(bot_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass  # alive, another user's (cannot be ours, but never exit on doubt)

    threading.Thread(target=watch, name="end-with-bot", daemon=True).start()


class RenderPool:
    """Renders .docx files in `processes` processes (0: on a thread of this one)."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._guard = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._guard:
            if self._pool is None:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(PRELOAD)
                self._pool = ProcessPoolExecutor(max_workers=self.processes, mp_context=ctx,
                                                 initializer=_end_with, initargs=(os.getpid(),))
            return self._pool

    def warm(self) -> None:
        """Start the process now (at app start), so the first review does not wait for it."""
        if self.processes > 0:
            try:
                self._executor().submit(os.getpid)
            except (BrokenProcessPool, RuntimeError, OSError):
                self._forget()

    def _forget(self, broken: ProcessPoolExecutor | None = None) -> None:
        pool = None
        with self._guard:
            if broken is None or self._pool is broken:
                pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    async def render(self, form: Form, answers: Mapping[str, Any]) -> bytes:
        if self.processes <= 0:
            return await asyncio.to_thread(form.render, answers)
        pool = None
        try:
            pool = self._executor()
            return await asyncio.get_running_loop().run_in_executor(pool, render_named, form.renderer,
                                                                     dict(answers))
        except (BrokenProcessPool, OSError) as exc:  # its process was killed (OOM), or none could start
            log.warning("the render process is gone (%r); rendering %s here, a new one next time", exc, form.id)
            self._forget(pool)
            return await asyncio.to_thread(form.render, answers)

    def pids(self) -> list[int]:
        """The render processes alive now (benchmarks read their CPU and memory)."""
        pool = self._pool
        procs = getattr(pool, "_processes", None) or {}
        return [p.pid for p in list(procs.values()) if p.pid is not None and p.is_alive()]


_shared: dict[int, RenderPool] = {}
_shared_guard = threading.Lock()


def render_pool(processes: int) -> RenderPool:
    """The process's pool of that size (every engine in a process shares it)."""
    with _shared_guard:
        pool = _shared.get(processes)
        if pool is None:
            pool = _shared[processes] = RenderPool(processes)
        return pool
