"""Settings, all from environment variables; every one has an embedded default.

With nothing set, the bot runs in a terminal on a SQLite file under ./data/.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"


class SettingsError(ValueError):
    """A setting that cannot be used, said in one line: `JIEBANG_PORT=abc: a whole number is needed`."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: a whole number is needed (default {default})") from None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: a number of seconds is needed (default {default:g})") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r}: a number of seconds is needed (default {default:g})")
    return value


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("on", "1", "yes", "true"):
        return True
    if raw in ("off", "0", "no", "false"):
        return False
    raise SettingsError(f"{name}={raw!r}: on or off (default {'on' if default else 'off'})")


LOG_FORMATS = ("text", "json")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first is the default)."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return choices[0]
    if raw not in choices:
        raise SettingsError(f"{name}={raw!r}: one of {', '.join(choices)} is needed (default {choices[0]})")
    return raw


def _metrics_bind(env: Mapping[str, str]) -> tuple[str, int]:
    """(host, port) of the separate metrics site; port 0: none."""
    host = env.get("JIEBANG_METRICS_HOST", "").strip()
    port = _int(env, "JIEBANG_METRICS_PORT", 0)
    if not 0 <= port <= 65535:
        raise SettingsError(f"JIEBANG_METRICS_PORT={port}: a port from 1 to 65535 is needed (unset: no metrics site)")
    if host and not port:
        raise SettingsError(f"JIEBANG_METRICS_HOST={host!r}: JIEBANG_METRICS_PORT is needed too (the metrics site's port)")
    return host or "127.0.0.1", port


def _zone(name: str, setting: str = "JIEBANG_TIMEZONE") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{setting}={name!r}: not a time zone (e.g. {DEFAULT_TIMEZONE})") from None


# -- the local time zone: one place for every date rule ------------------------------------------------
# "Not after today", deadlines and reminders count days where the firms are. The zone is JIEBANG_TIMEZONE,
# set once at start (`bot.app.open_app`) with `set_local_zone(settings.timezone)`.

_local_zone = ZoneInfo(DEFAULT_TIMEZONE)


def set_local_zone(name: str) -> ZoneInfo:
    global _local_zone
    _local_zone = _zone(name)
    return _local_zone


def local_zone() -> ZoneInfo:
    return _local_zone


def local_today(now: datetime | None = None) -> date:
    """Today in the local zone (at `now`, an aware datetime, when given)."""
    return (now or datetime.now(_local_zone)).astimezone(_local_zone).date()


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: SQLite file in data_dir
    secret: str = ""  # signs download links; empty: one is made and kept in data_dir
    public_url: str = ""  # base URL where `serve` is reachable, for download links
    link_ttl_seconds: int = 24 * 3600
    log_level: str = "INFO"
    log_format: str = "text"  # "json": one JSON object per line (bot/logformat.py)
    timezone: str = DEFAULT_TIMEZONE
    pdf: bool = True  # a PDF beside each .docx where LibreOffice is installed (JIEBANG_PDF=off: never)
    render_processes: int = 1  # processes that make .docx files (0: a thread of the bot's process)
    # how long a review waits for its page-1 picture: WeChat takes a reply within 5 s, so a review whose
    # PDF is not made by then goes without it (the files go on being made for the confirm)
    review_picture_seconds: float = 1.0
    # a confirm waits this long for the PDF a render worker makes, then hands the .docx over and the PDF follows
    confirm_pdf_seconds: float = 1.0
    # On PostgreSQL, the files are made by render workers (`python -m bot worker`) through a job queue in
    # the database; off: in the bot's process as on SQLite (where this setting does nothing)
    render_queue: bool = True
    # Telegram
    telegram_token: str = ""
    telegram_api_base_url: str = ""  # another Bot API server (self-hosted or a test fake)
    telegram_webhook_url: str = ""  # empty: long polling
    telegram_webhook_secret: str = ""
    # WeChat Official Account
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_encoding_aes_key: str = ""
    wechat_mode: str = ""  # "" or "safe": with a key, encrypted messages only; "compatible": plain ones too
    wechat_path: str = "/wechat"
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    wechat_reminder_template_id: str = ""
    # WeCom (企业微信)
    wecom_corp_id: str = ""
    wecom_agent_id: str = ""
    wecom_secret: str = ""
    wecom_token: str = ""
    wecom_encoding_aes_key: str = ""
    wecom_path: str = "/wecom"
    wecom_api_base_url: str = "https://qyapi.weixin.qq.com"
    # server
    host: str = "127.0.0.1"
    port: int = 8080
    # /metrics: on the server above only with a token (Authorization: Bearer …); on a site of its own when
    # metrics_port is set (the token, if any, asked there too); neither: not served (bot/probes.py)
    metrics_token: str = ""
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0  # 0: no metrics site of its own
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        g = env.get
        values: dict[str, Any] = dict(
            data_dir=Path(g("JIEBANG_DATA_DIR", "") or "data"),
            database_url=g("JIEBANG_DATABASE_URL", ""),
            secret=g("JIEBANG_SECRET", ""),
            public_url=g("JIEBANG_PUBLIC_URL", "").rstrip("/"),
            link_ttl_seconds=_int(env, "JIEBANG_LINK_TTL_SECONDS", 24 * 3600),
            log_level=g("JIEBANG_LOG_LEVEL", "INFO"),
            log_format=_choice(env, "JIEBANG_LOG_FORMAT", LOG_FORMATS),
            timezone=g("JIEBANG_TIMEZONE", "") or DEFAULT_TIMEZONE,
            pdf=g("JIEBANG_PDF", "").strip().lower() not in ("off", "0", "no", "false"),
            render_processes=_int(env, "JIEBANG_RENDER_PROCESSES", 1),
            review_picture_seconds=_seconds(env, "JIEBANG_REVIEW_PICTURE_SECONDS", 1.0),
            confirm_pdf_seconds=_seconds(env, "JIEBANG_CONFIRM_PDF_SECONDS", 1.0),
            render_queue=_switch(env, "JIEBANG_RENDER_QUEUE", True),
            telegram_token=g("TELEGRAM_TOKEN", ""),
            telegram_api_base_url=g("TELEGRAM_API_BASE_URL", ""),
            telegram_webhook_url=g("TELEGRAM_WEBHOOK_URL", ""),
            telegram_webhook_secret=g("TELEGRAM_WEBHOOK_SECRET", ""),
            wechat_token=g("WECHAT_TOKEN", ""),
            wechat_app_id=g("WECHAT_APP_ID", ""),
            wechat_app_secret=g("WECHAT_APP_SECRET", ""),
            wechat_encoding_aes_key=g("WECHAT_ENCODING_AES_KEY", ""),
            wechat_mode=g("WECHAT_MODE", "").strip().lower(),
            wechat_path=g("WECHAT_PATH", "") or "/wechat",
            wechat_api_base_url=(g("WECHAT_API_BASE_URL", "") or "https://api.weixin.qq.com").rstrip("/"),
            wechat_reminder_template_id=g("WECHAT_REMINDER_TEMPLATE_ID", ""),
            wecom_corp_id=g("WECOM_CORP_ID", ""),
            wecom_agent_id=g("WECOM_AGENT_ID", ""),
            wecom_secret=g("WECOM_SECRET", ""),
            wecom_token=g("WECOM_TOKEN", ""),
            wecom_encoding_aes_key=g("WECOM_ENCODING_AES_KEY", ""),
            wecom_path=g("WECOM_PATH", "") or "/wecom",
            wecom_api_base_url=(g("WECOM_API_BASE_URL", "") or "https://qyapi.weixin.qq.com").rstrip("/"),
            host=g("JIEBANG_HOST", "") or "127.0.0.1",
            port=_int(env, "JIEBANG_PORT", 8080),
            metrics_token=g("JIEBANG_METRICS_TOKEN", "").strip(),
        )
        values["metrics_host"], values["metrics_port"] = _metrics_bind(env)
        values.update(overrides)
        _zone(values["timezone"])  # a wrong zone is said at start, not at the first deadline
        return cls(**values)

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def on_postgres(self) -> bool:
        return self.effective_database_url.startswith("postgresql")

    @property
    def queue_renders(self) -> bool:
        """Are a form's files made by render workers through the database's job queue?"""
        return self.render_queue and self.on_postgres

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'jiebang.sqlite3').resolve()}"

    def effective_secret(self) -> str:
        """The link-signing secret: the setting, else one kept in the data folder (made once)."""
        if self.secret:
            return self.secret
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()


PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def keep_private(data_dir: Path) -> None:
    """The data folder holds every firm's answers: readable by the bot's own account only (0700 folders,
    0600 files) — not by every local account, as a 0644 file in a 0755 folder is."""
    for folder in (data_dir, data_dir / "documents", data_dir / "files"):
        folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        folder.chmod(PRIVATE_DIR)
    for path in data_dir.iterdir():
        if path.is_file():
            path.chmod(PRIVATE_FILE)  # the SQLite file (and its -wal, -shm), secret.key, bot.log
