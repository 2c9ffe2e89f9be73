"""A document's file name as a response carries it: without the prefix it is stored under, and in a
Content-Disposition header with its UTF-8 name (RFC 6266 / RFC 5987).

Both the signed downloads (`bot.web.downloads`) and the phone pages (`bot.web.pages`) send files this way.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

_STORED_PREFIX = re.compile(r"^\d+-")  # documents are stored as "<submission id>-<file name>"


def download_name(path: Path) -> str:
    return _STORED_PREFIX.sub("", path.name) or path.name


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """`attachment` (a download) or `inline` (shown in the browser), with an ASCII name for old clients
    and the UTF-8 one (RFC 6266 / RFC 5987) for the rest."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
