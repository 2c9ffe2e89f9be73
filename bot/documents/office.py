"""A resident LibreOffice for this process: PDFs without starting LibreOffice for each of them.

Starting LibreOffice is most of a fresh ``soffice --convert-to pdf`` run (about a second here); a
LibreOffice that stays up converts the 对接表 in a fraction of that. The resident one is unoserver's
server (PyPI ``unoserver``, the ``pdf`` extra): a Python process that starts LibreOffice listening on a
loopback socket and converts what it is sent over XML-RPC on loopback. It runs on this process's own
interpreter with LibreOffice's Python bindings (``import uno``: Debian's python3-uno, pyuno.so in
LibreOffice's program folder and uno.py beside it or in the system's dist-packages) appended to its
``sys.path``.

One :class:`Office` per LibreOffice binary and process (the bot's, or each worker's), see :func:`resident`:

- Started at first use, in the background: PDFs asked for until it answers (about 5 s) are made the old
  way, by a LibreOffice run of their own (``pdf.py``), so nobody waits for the start.
- Its own free loopback ports, its own folder (LibreOffice's profile, its temporary files) removed when it
  stops, and the environment ``pdf.py`` gives it (``FONTCONFIG_FILE``: the SC faces for 宋体/黑体).
- One conversion at a time, on a thread of its own (the XML-RPC calls block; LibreOffice converts one
  document at a time anyway); each bounded by its caller's time limit. A conversion that takes too long,
  a LibreOffice that died, a server that stopped answering: the whole process group is killed and a new
  one started; the conversion that found it dead is made the old way (:class:`OfficeGone`).
- Its memory grows with the PDFs it makes: after ``CONVERSIONS_PER_SERVER`` a successor is started beside
  it and takes over between two conversions once it answers, so the PDFs meanwhile are not held up.
- Its own session and process group; its stdin is a pipe from this process, and when that pipe's other end
  closes (this process ended, however it ended: even SIGKILL) it kills the rest of its group (LibreOffice),
  removes its folder and ends. At a normal exit this process kills the group itself (atexit). A fork's child forgets its
  parent's server (and closes its copy of the pipe).
- Where it cannot run (no unoserver, no Python bindings for this LibreOffice, ``JIEBANG_PDF_RESIDENT=off``)
  :func:`resident` returns None and says why once; after ``START_ATTEMPTS`` failed starts in a row it is
  given up for the process (logged): PDFs are then all made the old way.

One module past 500 lines on purpose: one supervised server's life (start, readiness, conversions, its
replacement, its end with this process) whose parts share one lock and one state.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import concurrent.futures
import contextlib
import http.client
import importlib.util
import logging
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

START_SECONDS = 60.0  # to answer after starting (5-6 s here; PDFs meanwhile are made the old way)
START_ATTEMPTS = 3  # failed starts in a row before the resident LibreOffice is given up for the process
# LibreOffice's memory grows with the PDFs it has made (the 对接表, measured: soffice.bin 217 MB after
# one, 391 MB after 100, 528 MB after 200, 834 MB after 600), so after this many a successor is started
# beside it, and takes over once it answers (nobody waits for its start)
CONVERSIONS_PER_SERVER = 200
PROBE_SECONDS = 5.0  # for the server to answer `info` after a conversion failed: else it is dead
API_VERSION = "3"  # unoserver's XML-RPC API (its major version): what `convert` below is called with
# where python3-uno puts uno.py when it is not beside pyuno.so in LibreOffice's program folder (Debian and
# Ubuntu: dist-packages; Fedora and others: the system Python's site-packages)
PYTHON_FOLDERS: tuple[str, ...] = (
    "/usr/lib/python3/dist-packages",
    f"/usr/lib/python3.{sys.version_info.minor}/site-packages",
    f"/usr/lib64/python3.{sys.version_info.minor}/site-packages",
)
_OFF = ("off", "0", "no", "false")

# The server process: the bindings' folders appended to sys.path (after our own packages: nothing of ours
# is shadowed), a watchdog on stdin, then unoserver's own command line (argv after the folders). Its working
# directory is the server's folder: when our end of the pipe closes (we ended, however), the watchdog kills
# the rest of its process group (LibreOffice), removes the folder, and kills the group, itself included.
# LibreOffice runs at this niceness (it inherits unoserver's): a PDF is the least urgent work on a machine
# that also answers chats (200 confirms' PDFs on two cores kept the serves' answers waiting for the CPU).
# Its session's autogroup gets the same nice: with autogroups on (Linux's default on desktops and many
# servers) a process's own nice counts only inside its session, and a new session weighs as much as all of
# the bot's processes together.
NICE = 10

_LAUNCHER = """\
import os, shutil, signal, sys, threading
sys.path.extend(p for p in sys.argv.pop(1).split(os.pathsep) if p)
nice = int(sys.argv.pop(1))
os.nice(nice)
try:  # its own session is its own autogroup, whose weight the kernel shares out by the group's nice alone
    with open("/proc/self/autogroup", "w") as group:
        group.write(str(nice))
except OSError:  # no autogroups here (or not Linux): the process's nice is all there is
    pass
def watch():
    while os.read(0, 4096):  # the fd, not sys.stdin: a daemon thread in its lock aborts the exit
        pass
    group, me = os.getpgrp(), os.getpid()
    try:
        for pid in [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) != me]:
            try:
                if os.getpgid(pid) == group:
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    except OSError:
        pass
    shutil.rmtree(os.getcwd(), ignore_errors=True)
    os.killpg(group, signal.SIGKILL)
threading.Thread(target=watch, daemon=True).start()
from unoserver.server import main
sys.exit(main())
"""


class OfficeGone(RuntimeError):
    """The resident LibreOffice is not there (starting, restarting, dead): make the PDF another way."""


class OfficeFailed(RuntimeError):
    """The resident LibreOffice could not convert this document (it is still up)."""


def uno_paths(binary: str) -> list[str] | None:
    """The folders to append to sys.path for ``import uno`` with this LibreOffice, or None: not found.

    pyuno.so is in LibreOffice's program folder (found from the binary's real path: /usr/bin/soffice is a
    link to /usr/lib/libreoffice/program/soffice); uno.py beside it or where python3-uno puts it."""
    program = Path(os.path.realpath(binary)).parent
    if not any(program.glob("pyuno*.so")):
        return None
    for folder in (str(program), *PYTHON_FOLDERS):
        if os.path.isfile(os.path.join(folder, "uno.py")):
            return list(dict.fromkeys((folder, str(program))))
    return None


def unusable(binary: str) -> str | None:
    """Why no resident LibreOffice can run for `binary` (None: it can)."""
    if os.environ.get("JIEBANG_PDF_RESIDENT", "").strip().lower() in _OFF:
        return "JIEBANG_PDF_RESIDENT is off"
    if importlib.util.find_spec("unoserver") is None:
        return "the unoserver package is not installed (pip install '.[pdf]')"
    if uno_paths(binary) is None:
        return (f"LibreOffice's Python bindings (import uno) were not found for {binary} "
                "(Debian: apt-get install python3-uno)")
    return None


class _Transport(xmlrpc.client.Transport):
    """XML-RPC over HTTP with a socket timeout (xmlrpc.client's own has none)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host: str | tuple[str, dict[str, str]]) -> http.client.HTTPConnection:
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def group_members(pgid: int) -> dict[int, str]:
    """The live processes of process group `pgid` (Linux /proc), by pid: their command names."""
    found: dict[int, str] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            comm, _, rest = stat.partition(" (")[2].rpartition(") ")
            fields = rest.split()
            if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
                found[int(entry.name)] = comm
    return found


class _Server:
    """One unoserver process, the LibreOffice it started, and their folder."""

    def __init__(self, binary: str, paths: Sequence[str], environment: Callable[[Path], Mapping[str, str]]) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="jiebang-office-"))
        self.said: collections.deque[str] = collections.deque(maxlen=30)
        self._killed = False
        self.conversions = 0
        try:
            (self.folder / "tmp").mkdir()
            self.port, uno_port = _free_ports(2)
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, os.pathsep.join(paths), str(NICE),
                 "--interface", "127.0.0.1", "--port", str(self.port),
                 "--uno-interface", "127.0.0.1", "--uno-port", str(uno_port),
                 "--executable", binary, "--user-installation", str(self.folder / "profile"),
                 "--temp-dir", str(self.folder / "tmp")],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                cwd=self.folder, env=dict(environment(self.folder)), close_fds=True, start_new_session=True)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        threading.Thread(target=self._read_stderr, name="office-stderr", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_stderr(self) -> None:
        """Keep the last lines it wrote (why it failed), not all of them: it logs every request."""
        assert self.proc.stderr is not None
        with contextlib.suppress(OSError, ValueError):
            for line in self.proc.stderr:
                self.said.append(line.decode("utf-8", "replace").rstrip())

    def what_it_said(self) -> str:
        lines = [x for x in list(self.said) if x and '"POST /RPC2' not in x]
        return " | ".join(lines[-6:])[-800:] or "it said nothing"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, timeout: float, method: str, *args: object) -> object:
        proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{self.port}", allow_none=True,
                                          transport=_Transport(timeout))
        with proxy:
            return getattr(proxy, method)(*args)

    def answers(self, timeout: float) -> bool:
        try:
            info = self.call(timeout, "info")
        except (OSError, xmlrpc.client.Error, http.client.HTTPException):
            return False
        return isinstance(info, dict) and info.get("api") == API_VERSION

    def wait_answering(self, limit_seconds: float) -> str | None:
        """None once it answers; else why not (it ended, or did not answer within `limit_seconds`)."""
        deadline = time.monotonic() + limit_seconds
        while time.monotonic() < deadline:
            if not self.alive():
                time.sleep(0.2)  # the last lines of its stderr
                return f"it ended (exit {self.proc.returncode}): {self.what_it_said()}"
            try:
                info = self.call(2.0, "info")
            except (OSError, xmlrpc.client.Error, http.client.HTTPException):
                time.sleep(0.2)
                continue
            api = info.get("api") if isinstance(info, dict) else None
            if api != API_VERSION:
                return f"its XML-RPC API is {api!r}, not {API_VERSION}"
            return None
        return f"it did not answer within {limit_seconds:g}s: {self.what_it_said()}"

    def kill(self) -> None:
        """Kill its whole process group (LibreOffice too) and remove its folder (once)."""
        if self._killed:
            return
        self._killed = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # its pid is its group's: it is our child, not reaped yet
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def forget(self) -> None:
        """In a fork's child: close our copy of its stdin (so its watchdog still sees the parent end)."""
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                os.close(self.proc.stdin.fileno())


_Job = tuple[concurrent.futures.Future, bytes, float]


class Office:
    """The resident LibreOffice of one binary in this process: started, converted through, restarted."""

    def __init__(self, binary: str, environment: Callable[[Path], Mapping[str, str]],
                 paths: Sequence[str] | None = None) -> None:
        self.binary = binary
        self.environment = environment
        self.paths = list(paths) if paths is not None else (uno_paths(binary) or [])
        self.conversions = 0  # made by a resident LibreOffice (any of them)
        self.starts = 0  # servers started (the first, and every restart)
        self.failure = ""  # why the last start failed
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._state = "idle"  # idle | starting | ready | given up
        self._server: _Server | None = None
        self._successor: _Server | None = None  # answering, takes over at the next conversion
        self._succeeding = False  # a successor is being started
        self._generation = 0  # bumped by stop(): a start that began before it kills what it started
        self._failed_starts = 0
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._converter: threading.Thread | None = None

    # --- state ---------------------------------------------------------------------------------------

    @property
    def given_up(self) -> bool:
        return self._state == "given up"

    @property
    def server_pid(self) -> int | None:
        """The pid of the unoserver process answering now (None: none is)."""
        with self._lock:
            return self._server.pid if self._state == "ready" and self._server else None

    def processes(self) -> dict[int, str]:
        """The live processes of the current server's group (the server, oosplash, soffice.bin)."""
        with self._lock:
            server = self._server
        return group_members(server.pid) if server else {}

    def folder(self) -> Path | None:
        with self._lock:
            return self._server.folder if self._server else None

    def available(self) -> bool:
        """True when a resident LibreOffice answers now. Otherwise one is started (in the background) unless
        one is starting already or it was given up; the caller makes this PDF another way."""
        with self._lock:
            if self._state == "ready" and self._server is not None and self._server.alive():
                return True
            if self._state == "ready" and self._server is not None:
                self._restart_locked(self._server, f"it ended (exit {self._server.proc.returncode})")
            elif self._state == "idle":
                self._start_locked(None)
            return self._state == "ready"  # its successor took over

    def wait_ready(self, timeout: float = START_SECONDS + 10) -> bool:
        """Start it if needed and wait until it answers or its start failed: True when it answers."""
        deadline = time.monotonic() + timeout
        self.available()
        with self._lock:
            self._changed.wait_for(lambda: self._state != "starting", max(0.0, deadline - time.monotonic()))
            return self._state == "ready"

    def _start_locked(self, retire: _Server | None) -> None:
        self._state = "starting"
        self._server = None
        threading.Thread(target=self._start, args=(retire, self._generation), name="office-start",
                         daemon=True).start()

    def _restart_locked(self, server: _Server, why: str) -> None:
        if self._successor is not None:  # one answers already: it takes over
            log.warning("the resident LibreOffice (pid %s): %s; its successor takes over", server.pid, why)
            self._server, self._successor = self._successor, None
            threading.Thread(target=server.kill, name="office-kill", daemon=True).start()
            return
        log.warning("the resident LibreOffice (pid %s): %s; starting another", server.pid, why)
        self._start_locked(server)

    def _lost(self, server: _Server, why: str) -> None:
        with self._lock:
            if self._server is server and self._state == "ready":
                self._restart_locked(server, why)

    def _start(self, retire: _Server | None, generation: int) -> None:
        if retire is not None:
            retire.kill()
        server: _Server | None = None
        try:
            server = _Server(self.binary, self.paths, self.environment)
        except Exception as exc:  # whatever it was, the start failed and says why
            why = f"it could not be started: {exc!r}"
        else:
            with self._lock:
                if generation == self._generation:
                    self._server, self.starts = server, self.starts + 1
            why = server.wait_answering(START_SECONDS) or ""
        with self._lock:
            if generation != self._generation:  # stopped meanwhile
                if server is not None:
                    server.kill()
                return
            if not why and server is not None:
                self._state, self._failed_starts, self.failure = "ready", 0, ""
                self._changed.notify_all()
                log.info("a resident LibreOffice answers (pid %s, port %s)", server.pid, server.port)
                return
            self._failed_starts += 1
            self.failure = why
            self._server = None
            self._state = "given up" if self._failed_starts >= START_ATTEMPTS else "idle"
            self._changed.notify_all()
        if server is not None:
            server.kill()
        if self._state == "given up":
            log.warning("no resident LibreOffice for this process after %d failed starts (the last: %s); "
                        "every PDF is made by a LibreOffice run of its own", START_ATTEMPTS, why)
        else:
            log.warning("the resident LibreOffice did not start (%s); PDFs are made by a LibreOffice run of "
                        "their own until one does", why)

    def _start_successor(self, generation: int) -> None:
        try:
            server = _Server(self.binary, self.paths, self.environment)
        except Exception as exc:  # the current one goes on
            log.warning("no successor for the resident LibreOffice: it could not be started: %r", exc)
            with self._lock:
                self._succeeding = False
            return
        why = server.wait_answering(START_SECONDS)
        with self._lock:
            self._succeeding = False
            if not why and generation == self._generation and self._state == "ready":
                self._successor, self.starts = server, self.starts + 1
                return
        server.kill()
        if why:
            log.warning("no successor for the resident LibreOffice (%s); the current one goes on", why)

    def stop(self) -> None:
        """Kill the server (LibreOffice included) and remove its folder. The next use starts another."""
        with self._lock:
            self._generation += 1
            servers = [s for s in (self._server, self._successor) if s is not None]
            self._server = self._successor = None
            if self._state != "given up":
                self._state = "idle"
            self._changed.notify_all()
        for server in servers:
            server.kill()

    def _forget(self) -> None:
        for server in (self._server, self._successor):
            if server is not None:
                server.forget()

    # --- converting ----------------------------------------------------------------------------------

    async def convert(self, docx: bytes, limit_seconds: float) -> bytes:
        """The PDF of `docx` by the resident LibreOffice, waiting for the conversions before it. Raises
        TimeoutError past `limit_seconds` (waiting included: a conversion running then is stopped by killing
        its LibreOffice), :class:`OfficeFailed` when LibreOffice could not convert it, :class:`OfficeGone`
        when the resident LibreOffice is not there (it is being restarted: make it another way)."""
        done: concurrent.futures.Future[bytes] = concurrent.futures.Future()
        self._jobs.put((done, docx, time.monotonic() + limit_seconds))
        with self._lock:
            if self._converter is None:
                self._converter = threading.Thread(target=self._convert_jobs, name="office-convert", daemon=True)
                self._converter.start()
        outcome = asyncio.wrap_future(done)
        try:
            async with asyncio.timeout(limit_seconds):
                return await asyncio.shield(outcome)
        except TimeoutError:
            if done.cancel():
                raise  # still waiting its turn: never converted
            # converting: its thread stops it at the deadline (killing LibreOffice, so the next PDF finds
            # another starting) and says so in a moment
            return await outcome
        except asyncio.CancelledError:
            done.cancel()
            raise

    def _convert_jobs(self) -> None:
        while True:
            done, docx, deadline = self._jobs.get()
            if not done.set_running_or_notify_cancel():
                continue
            try:
                done.set_result(self._convert_now(docx, deadline))
            except BaseException as exc:  # handed to the caller
                done.set_exception(exc)

    def _convert_now(self, docx: bytes, deadline: float) -> bytes:
        retired = None
        with self._lock:
            if self._successor is not None and self._state == "ready":  # between conversions: its turn
                retired, self._server, self._successor = self._server, self._successor, None
            server = self._server if self._state == "ready" else None
        if retired is not None:
            log.info("the resident LibreOffice (pid %s) replaced after %d PDFs", retired.pid, retired.conversions)
            retired.kill()
        if server is None or not server.alive():
            raise OfficeGone("it is not running")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("waited too long")
        try:
            # the API's `convert(inpath, indata, outpath, convert_to, filtername, filter_options, update_index,
            # infiltername)`, called here rather than through unoserver's UnoClient: that asks `info` first
            # and, when the connection is refused, sleeps 10 s between its 5 tries, on the one thread every
            # PDF after this one waits for
            result = server.call(remaining, "convert", None, xmlrpc.client.Binary(docx), None, "pdf", None, [],
                                 False, None)
        except TimeoutError:
            self._lost(server, "a conversion ran out of time")
            raise TimeoutError("a conversion ran out of time; its LibreOffice was killed") from None
        except xmlrpc.client.Fault as exc:
            if server.answers(PROBE_SECONDS):
                raise OfficeFailed(exc.faultString.strip()[-500:]) from None
            self._lost(server, f"it stopped answering ({exc.faultString.strip()[-200:]})")
            raise OfficeGone("it stopped answering") from None
        except (OSError, xmlrpc.client.Error, http.client.HTTPException) as exc:
            self._lost(server, f"the connection to it failed ({exc!r})")
            raise OfficeGone(f"the connection to it failed ({exc!r})") from None
        data = result.data if isinstance(result, xmlrpc.client.Binary) else b""
        if not data.startswith(b"%PDF"):
            raise OfficeFailed("LibreOffice produced something that is not a PDF")
        self.conversions += 1
        server.conversions += 1
        if server.conversions % CONVERSIONS_PER_SERVER == 0:
            with self._lock:
                if self._server is server and self._successor is None and not self._succeeding:
                    self._succeeding = True
                    threading.Thread(target=self._start_successor, args=(self._generation,),
                                     name="office-successor", daemon=True).start()
        return data


# --- one per binary and process ----------------------------------------------------------------------

_offices: dict[str, Office | None] = {}
_registry_lock = threading.Lock()


def resident(binary: str, environment: Callable[[Path], Mapping[str, str]]) -> Office | None:
    """This process's resident LibreOffice for `binary` (not started yet, starting, or up), or None where
    none can run (why logged once) or it was given up."""
    with _registry_lock:
        if binary not in _offices:
            why = unusable(binary)
            if why is not None:
                log.info("no resident LibreOffice (%s): every PDF is made by a LibreOffice run of its own", why)
            _offices[binary] = None if why else Office(binary, environment)
        office = _offices[binary]
    return office if office is not None and not office.given_up else None


def stop_all() -> None:
    with _registry_lock:
        offices = [o for o in _offices.values() if o is not None]
    for office in offices:
        office.stop()


def _forget_all() -> None:
    """In a fork's child: the parent's servers are the parent's; this process starts its own."""
    for office in list(_offices.values()):
        if office is not None:
            office._forget()
    _offices.clear()
    global _registry_lock
    _registry_lock = threading.Lock()


atexit.register(stop_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_all)
