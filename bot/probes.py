"""What an operator's monitoring asks `serve`: is the process up, can it work, what has it done.

    GET /healthz   200 "ok" while the process answers HTTP at all (a liveness probe)
    GET /readyz    200 {"status": "ready", …} when every readiness check passes; else 503 with the failing
                   checks named: {"status": "unavailable", "failed": ["database"], "checks": {…}}; 503
                   {"failed": ["serve"]} once `serve` is draining (SIGTERM)
    GET /metrics   Prometheus' text format (bot/metrics.py), only when configured: with JIEBANG_METRICS_TOKEN
                   set it needs `Authorization: Bearer <token>` (else 401); JIEBANG_METRICS_PORT serves it
                   on a site of its own (JIEBANG_METRICS_HOST, default 127.0.0.1), the token too if one is
                   set. Neither: 404, nothing to find from outside.

Readiness checks are a list of named async functions (`Probes.checks`), each returning None when fine or a
short reason: the database answers, its schema is at the migrations' head (storage/migrate.py), and on
PostgreSQL the render jobs' queue answers (`queue`). More can be added: `probes.add_check(name, ping)`.
The reasons are short and carry no connection details; the error itself goes to the log, once when a check
starts failing.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from storage.migrate import current, head

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 5.0  # seconds one check may take before it counts as failed (a probe must not hang)


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[], Awaitable[str | None]]  # None: fine; else why not, in a few words


class Probes:
    def __init__(self, app: App, checks: list[Check] | None = None, timeout: float = CHECK_TIMEOUT) -> None:
        self.app = app
        self.timeout = timeout
        self.checks: list[Check] = checks if checks is not None else [
            Check("database", self.database), Check("migrations", self.migrations)]
        queue = getattr(app.engine, "queue", None)  # PostgreSQL's render jobs (bot/documents/render_queue.py)
        if checks is None and queue is not None:
            self.checks.append(Check("queue", queue.ping))
        self._head: str | None = None
        self._failing: frozenset[str] = frozenset()
        self.draining = False  # `serve` is stopping: send no new work here (the port closes next)

    def add_check(self, name: str, run: Callable[[], Awaitable[str | None]]) -> None:
        self.checks.append(Check(name, run))

    # -- the checks -----------------------------------------------------------------------------------------

    async def database(self) -> str | None:
        async with self.app.store.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return None

    async def migrations(self) -> str | None:
        if self._head is None:
            self._head = await asyncio.to_thread(head)  # reads the revision files: once
        async with self.app.store.engine.connect() as conn:
            at = await conn.run_sync(current)
        return None if at == self._head else f"database at {at or 'no revision'}, code at {self._head}"

    # -- running them ----------------------------------------------------------------------------------------

    async def readiness(self) -> dict[str, str]:
        """Each check's name → "ok" or why not."""
        results: dict[str, str] = {}
        for check in self.checks:
            try:
                async with asyncio.timeout(self.timeout):
                    problem = await check.run()
            except TimeoutError:
                problem, error = f"no answer in {self.timeout:g} s", None
            except Exception as exc:  # unreachable, refused, a driver's error: said by kind, logged in full
                problem, error = f"failed: {type(exc).__name__}", exc
            else:
                error = None
            results[check.name] = problem or "ok"
            if problem and check.name not in self._failing:
                log.warning("readiness check %s: %s%s", check.name, problem, f" ({error})" if error else "")
        failing = frozenset(name for name, said in results.items() if said != "ok")
        if self._failing and not failing:
            log.info("ready again")
        self._failing = failing
        return results

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(self, _request: web.Request) -> web.Response:
        results = {"serve": "draining"} if self.draining else await self.readiness()
        failed = [name for name, said in results.items() if said != "ok"]
        body: dict[str, Any] = {"status": "unavailable" if failed else "ready", "checks": results}
        if failed:
            body["failed"] = failed
        return web.json_response(body, status=503 if failed else 200, headers={"Cache-Control": "no-store"})

    def metrics_handler(self) -> Callable[[web.Request], Awaitable[web.Response]]:
        token = self.app.settings.metrics_token

        async def metrics(request: web.Request) -> web.Response:
            if token and not bearer_is(request, token):
                return web.Response(status=401, text="401: Unauthorized", headers={"WWW-Authenticate": "Bearer"})
            body, content_type = self.app.metrics.exposition(request.headers.get("Accept", ""))
            return web.Response(body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})

        return metrics


def bearer_is(request: web.Request, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def add_routes(web_app: web.Application, app: App) -> Probes:
    """/healthz and /readyz on `serve`'s server, and /metrics there when a token is set."""
    probes = Probes(app)
    web_app.router.add_get("/healthz", probes.healthz)
    web_app.router.add_get("/readyz", probes.readyz)
    if app.settings.metrics_token:
        web_app.router.add_get("/metrics", probes.metrics_handler())
    return probes


def metrics_site_app(probes: Probes) -> web.Application | None:
    """The metrics site's own application (JIEBANG_METRICS_PORT), or None when there is none."""
    if not probes.app.settings.metrics_port:
        return None
    site = web.Application()
    site.router.add_get("/metrics", probes.metrics_handler())
    return site
