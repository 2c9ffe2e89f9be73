"""Officers' logins: one-time invites, argon2 password hashes, sessions in the database, a login rate limit.

- An admin invites an officer (`admin invite-officer CAMPAIGN DISTRICT LOGIN`): a random token is printed
  once as a link; only its SHA-256 digest is stored, with an expiry. Opening the link sets a password;
  the invite is then spent.
- Passwords are hashed with argon2id (argon2-cffi's defaults); a hash made with older parameters is
  upgraded at the next login.
- A login makes a session row keyed by the digest of the cookie's random token, with its own CSRF token,
  expiring after SESSION_HOURS. Logging out deletes the row.
- Failed logins are rows: more than MAX_FAILURES for one login name, or MAX_FAILURES_PER_ADDRESS from one
  address, within WINDOW, and login is refused until they age out (even with the right password).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.campaigns.model import Campaign
from bot.domain import regions
from bot.metrics import Metrics
from storage.console_models import LoginAttempt, Officer, OfficerSession
from storage.times import aware

SESSION_HOURS = 12
WINDOW = timedelta(minutes=15)
MAX_FAILURES = 5
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD = 10

_hasher = PasswordHasher()


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(officer: Officer, password: str) -> bool:
    if not officer.password_hash:
        return False
    try:
        _hasher.verify(officer.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(officer.password_hash):
        officer.password_hash = _hasher.hash(password)
    return True


def password_problem(password: str, login: str) -> str | None:
    """Why a new password is refused, in the console's words; None when it is fine."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 位"
    if password.lower() == login.lower() or password.isdigit() and len(set(password)) <= 2:
        return "密码太简单"
    return None


def district_for(campaign: Campaign, text: str) -> str | None:
    """The district an officer may be invited for: a 附件1 office's 区 of the campaign (浦东新区 → 浦东),
    or, for a campaign without district offices (national), a province (江苏 → 江苏省)."""
    if any(c.get("district") for c in campaign.contacts):
        found = regions.district_of(campaign.contacts, text)
        return found["district"] if found else None
    return regions.province(text)


def districts_of(campaign: Campaign) -> list[str]:
    names = [c["district"] for c in campaign.contacts if c.get("district")]
    return names or [p for p in regions.PROVINCES if campaign.applies_to({"province": p})]


async def invite(session: AsyncSession, campaign_id: str, district: str, login: str, now: datetime,
                 days: int = 7) -> str:
    """A new one-time token for `login` (a new officer, or an existing one resetting their password)."""
    login = login.strip()
    officer = (await session.execute(select(Officer).where(col(Officer.login) == login))).scalar_one_or_none()
    if officer is None:
        officer = Officer(login=login, campaign_id=campaign_id, district=district, created_at=now)
    officer.campaign_id, officer.district, officer.disabled = campaign_id, district, False
    token = new_token()
    officer.invite_digest = digest(token)
    officer.invite_expires_at = now + timedelta(days=days)
    session.add(officer)
    await session.flush()
    return token


async def invited(session: AsyncSession, token: str, now: datetime) -> Officer | None:
    """The officer whose unspent, unexpired invite this is."""
    if not token:
        return None
    officer = (await session.execute(select(Officer).where(col(Officer.invite_digest) == digest(token)))).scalar_one_or_none()
    if officer is None or officer.disabled or officer.invite_expires_at is None:
        return None
    if aware(officer.invite_expires_at) < now:
        return None
    return officer


def accept(officer: Officer, password: str) -> None:
    officer.password_hash = hash_password(password)
    officer.invite_digest, officer.invite_expires_at = None, None


@dataclass
class LoginResult:
    officer: Officer | None
    problem: str = ""  # "bad" | "limited"


async def login(session: AsyncSession, name: str, password: str, address: str, now: datetime,
                metrics: Metrics | None = None) -> LoginResult:
    """The officer, or why not ("bad", "limited"; counted in `metrics` when given)."""
    name = name.strip()
    keys = (f"login:{name.lower()}"[:160], f"addr:{address}"[:160])
    since = now - WINDOW
    counts: dict[str, int] = {}
    for key in keys:
        counts[key] = (await session.execute(select(func.count(col(LoginAttempt.id))).where(
            col(LoginAttempt.key) == key, col(LoginAttempt.at) >= since))).scalar_one()
    if counts[keys[0]] >= MAX_FAILURES or counts[keys[1]] >= MAX_FAILURES_PER_ADDRESS:
        if metrics is not None:
            metrics.login_refused("limited")
        return LoginResult(None, "limited")
    officer = (await session.execute(select(Officer).where(col(Officer.login) == name))).scalar_one_or_none()
    if officer is None or officer.disabled or not check_password(officer, password):
        if officer is None:
            hash_password(password)  # the same work either way: timing says nothing about who exists
        for key in keys:
            session.add(LoginAttempt(key=key, at=now))
        if metrics is not None:
            metrics.login_refused("bad")
        return LoginResult(None, "bad")
    await session.execute(delete(LoginAttempt).where(col(LoginAttempt.key) == keys[0]))
    await session.execute(delete(LoginAttempt).where(col(LoginAttempt.at) < since))
    session.add(officer)
    return LoginResult(officer)


async def open_session(session: AsyncSession, officer: Officer, now: datetime) -> tuple[str, str]:
    """(cookie token, CSRF token) of a new session."""
    assert officer.id is not None, "an officer who logged in was read from the database"
    token, csrf = new_token(), new_token()
    session.add(OfficerSession(digest=digest(token), officer_id=officer.id, csrf=csrf, created_at=now,
                               expires_at=now + timedelta(hours=SESSION_HOURS)))
    await session.flush()
    return token, csrf


async def current(session: AsyncSession, token: str | None, now: datetime) -> tuple[Officer, OfficerSession] | None:
    if not token:
        return None
    row = await session.get(OfficerSession, digest(token))
    if row is None or aware(row.expires_at) < now:
        return None
    officer = await session.get(Officer, row.officer_id)
    if officer is None or officer.disabled:
        return None
    return officer, row


async def close_session(session: AsyncSession, token: str | None) -> None:
    if token:
        await session.execute(delete(OfficerSession).where(col(OfficerSession.digest) == digest(token)))
