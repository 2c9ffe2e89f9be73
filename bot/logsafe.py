"""What logs may say about a user: enough to tell users apart in one log, not to act as one (an openid
in full, with a logged signature set, was once enough to forge a WeChat message)."""

from __future__ import annotations


def who(user: str) -> str:
    return f"{user[:4]}…{len(user)}" if len(user) > 6 else "…"
