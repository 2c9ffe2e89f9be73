"""The web server's access log, without secrets.

aiohttp's default line carries the request line (`"%r"`): the query string, which for a WeChat
callback holds a valid signature set and the user's openid, and the path, which for a download holds
the signed `/files/<token>`. One logged line was enough to act as that user. This logger writes the
route's pattern instead (`/files/{token}`), never a query string, and shortens any other path it does
not know.
"""

from __future__ import annotations

import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

_LONG_SEGMENT = re.compile(r"[^/]{24,}")


def safe_path(request: BaseRequest) -> str:
    """The route as declared ("/files/{token}"), or the path with long segments cut ("/x/…")."""
    match_info = getattr(request, "match_info", None)
    resource = getattr(getattr(match_info, "route", None), "resource", None)
    if resource is not None:
        return resource.canonical
    return _LONG_SEGMENT.sub("…", request.path)[:80]


class AccessLogger(AbstractAccessLogger):
    """`web.AppRunner(app, access_log_class=AccessLogger)`: remote, method, route, status, seconds."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %.3fs', request.remote, request.method, safe_path(request),
                         response.status, time)
