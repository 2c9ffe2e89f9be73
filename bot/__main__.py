"""Command line: `python -m bot` (terminal chat), `python -m bot serve …`, `python -m bot admin …`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings, SettingsError

# What a missing module means for someone running the bot (the optional parts are extras).
_EXTRAS = {"asyncpg": "postgres", "pgqueuer": "postgres", "aiogram": "telegram"}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jiebang-bot")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _missing(error: ImportError, what: str = "python -m bot") -> str:
    """One line for a module this Python lacks: which one, and how to get it."""
    name = (error.name or str(error)).split(".")[0]
    if name in _EXTRAS:
        return f"{what}: needs {name}, which is not installed: pip install 'jiebang-bot[{_EXTRAS[name]}]'"
    return (f"{what}: needs {name}, which {sys.executable} does not have. Run it with the project's "
            f"environment (.venv/bin/python -m bot …) or install the project there (pip install .)")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    return Settings.from_env(**overrides)


def _chat(args: argparse.Namespace) -> int:
    from bot.adapters.console import run_terminal

    return run_terminal(_settings(args), user_id=args.user, language=args.lang)


async def _serve(args: argparse.Namespace) -> int:
    from bot.server import serve

    settings = _settings(args)
    if args.host:
        settings = Settings.from_env(**{**settings.__dict__, "host": args.host})
    if args.port:
        settings = Settings.from_env(**{**settings.__dict__, "port": args.port})
    names = [*args.channels, *(args.channel_flags or [])]  # `serve telegram` or the old `serve --telegram`
    return await serve(settings, names, install_menu=args.install_menu)


def _worker(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.on_postgres:
        print("python -m bot worker: the worker needs PostgreSQL; on SQLite documents are made in the bot's process "
              "(workers need JIEBANG_DATABASE_URL=postgresql+asyncpg://…)", file=sys.stderr)
        return 2
    from bot.documents.render_worker import keep_working

    return asyncio.run(keep_working(settings))


def _add_worker(sub: Any) -> None:
    w = sub.add_parser("worker", help="make forms' documents for the bots (PostgreSQL; any number, on any machine)",
                       description="Take render jobs from the database's job queue: make each confirmed or reviewed "
                                   "form's .docx (and PDF where LibreOffice is installed here), store them for the "
                                   "bot that waits. Run as many as the load needs, on any machine that reaches "
                                   "JIEBANG_DATABASE_URL. SIGTERM or Ctrl-C finishes the jobs in hand, then exits 0.")
    w.add_argument("--data-dir", default=argparse.SUPPRESS, help="data folder (default ./data or JIEBANG_DATA_DIR)")
    w.add_argument("--database-url", default=argparse.SUPPRESS, help="the bots' PostgreSQL (postgresql+asyncpg://…)")
    w.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log to stderr")


def _add_serve(sub: Any) -> None:
    from bot.adapters import registry

    served = registry.names(served=True)
    listing = "; ".join(f"{n}: {registry.spec(n).summary}" for n in served)
    s = sub.add_parser("serve", help=f"run the chat channels named ({', '.join(served)})",
                       description=f"Run the named channels in one process with one web server. Channels: {listing}.")

    def channel(name: str) -> str:
        if name not in served:
            raise argparse.ArgumentTypeError(f"no channel {name!r} to serve; the channels are: {' '.join(served)}"
                                             + (" (the terminal chat is `python -m bot`)" if name == "console" else ""))
        return name

    s.add_argument("channels", nargs="*", metavar="CHANNEL", type=channel, help=f"one or more of: {' '.join(served)}")
    for name in served:  # the old spelling, `serve --telegram --wechat`
        s.add_argument(f"--{name}", dest="channel_flags", action="append_const", const=name, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bot",
        description="揭榜助手 — fills in the 发榜/揭榜 forms by chat. With no subcommand: chat in this terminal.",
        epilog="Settings come from environment variables (JIEBANG_DATA_DIR, JIEBANG_DATABASE_URL, "
               "TELEGRAM_TOKEN, WECHAT_TOKEN, …): see README.md.",
    )
    p.add_argument("--user", default=os.environ.get("JIEBANG_USER", "local"),
                   help="who is talking in the terminal (default: local); lets two people share a machine")
    p.add_argument("--lang", choices=["zh_CN", "en"], default=None, help="language for a new user")
    p.add_argument("--data-dir", help="data folder (default ./data or JIEBANG_DATA_DIR)")
    p.add_argument("--database-url", help="SQLAlchemy async URL (default: SQLite file in the data folder)")
    p.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", metavar="{serve,worker,admin}")
    _add_serve(sub)
    _add_worker(sub)
    s = sub.choices["serve"]
    s.add_argument("--install-menu", action="store_true",
                   help="install the WeChat/WeCom custom menu (填表 / 我的进度 / 帮助) at start")
    s.add_argument("--host", default=None, help="address for the web server (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=None, help="port for the web server (default 8080)")
    try:
        from bot.admin import add_parser as add_admin
    except ImportError as e:  # this Python lacks a module admin needs: say so when admin is asked for
        a = sub.add_parser("admin", help="manage campaigns, deadlines and users (unavailable: see `admin`)")
        a.add_argument("rest", nargs=argparse.REMAINDER)
        a.set_defaults(admin_missing=_missing(e, "python -m bot admin"))
    else:
        add_admin(sub)
    return p


def _logging(args: argparse.Namespace) -> None:
    """Servers log to stderr. `admin` prints its answers, with warnings only on stderr (not the database
    migration's chatter). The terminal chat logs to a file, so its user never sees a traceback. Lines of
    text, or with JIEBANG_LOG_FORMAT=json one JSON object per line (bot/logformat.py)."""
    from bot.logformat import formatter

    settings = _settings(args)
    if logging.getLogger().handlers:  # configured already (as logging.basicConfig leaves it then)
        return
    if args.command or args.verbose:
        quiet = args.command == "admin" and not args.verbose
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        level = logging.WARNING if quiet else logging.INFO
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(settings.data_dir / "bot.log", encoding="utf-8")
        level = logging.WARNING
    handler.setFormatter(formatter(settings.log_format))
    logging.basicConfig(level=level, handlers=[handler])


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # what the bot writes (answers, documents, the database, logs) is its own account's only
    args = build_parser().parse_args(argv)
    if getattr(args, "admin_missing", None):
        print(args.admin_missing, file=sys.stderr)
        return 1
    try:
        _logging(args)
    except SettingsError as e:
        print(f"python -m bot: {e}", file=sys.stderr)
        return 2
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower() not in ("utf-8", "utf8"):
            stream.reconfigure(encoding="utf-8")
    try:
        if args.command == "serve":
            return asyncio.run(_serve(args))
        if args.command == "worker":
            return _worker(args)
        if args.command == "admin":
            from bot.admin import run as run_admin
            return asyncio.run(run_admin(args, _settings(args)))
        return _chat(args)
    except SettingsError as e:
        print(f"python -m bot: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        print(_missing(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n已退出。您的答案都已保存，再次运行 python -m bot 即可继续。", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
