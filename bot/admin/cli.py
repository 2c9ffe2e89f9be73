"""`admin` on `python -m bot`'s parser, built from the group modules, and the running of the command chosen.

Each group module has `add_commands(declare)`: it declares its commands (name, handler, help) and adds their
own arguments; this module gives every command the global options, lists them in LISTED's order, and runs
the chosen one: the database schema is upgraded first, and bad input ends in one 错误： line (exit code 2).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from bot.admin import campaigns, catalogue, console, contacts, database, deadlines, packs, users
from bot.admin.shared import AdminError, Handler
from bot.catalogue import importer as catalogue_file
from bot.config import Settings
from storage.migrate import upgrade
from storage.store import Store

GROUPS = (campaigns, packs, deadlines, contacts, users, catalogue, console, database)
# The order `admin --help` lists the commands in (the README's table's); a command not named here comes after.
LISTED = ("campaigns", "show", "load-campaign", "add-campaign", "enable", "disable", "delete-user", "edit-campaign", "set-deadline",
          "import-contacts", "users", "export", "set-status", "plan", "import-catalogue", "catalogue", "propose-need",
          "withdraw-need", "invite-officer", "officers", "migrate", "backup", "restore")


def _common() -> argparse.ArgumentParser:
    """The global options, accepted after `admin` and after its subcommand too."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--data-dir", default=argparse.SUPPRESS, help="data folder (default ./data or JIEBANG_DATA_DIR)")
    p.add_argument("--database-url", default=argparse.SUPPRESS, help="SQLAlchemy async URL")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log to stderr")
    return p


def add_parser(subparsers: Any) -> None:
    common = _common()
    a = subparsers.add_parser("admin", help="campaigns, deadlines, contacts, progress, export", parents=[common])
    s = a.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    declared: dict[str, tuple[dict[str, Any], argparse.ArgumentParser]] = {}

    def declare(name: str, handler: Handler, **kw: Any) -> argparse.ArgumentParser:
        """The command's own arguments are gathered here first: argparse lists subcommands in the order they
        are added, so each becomes a subcommand (global options + these) below, in LISTED's order."""
        if name in declared:
            raise ValueError(f"admin {name} is declared twice")
        own = argparse.ArgumentParser(add_help=False)
        own.set_defaults(admin_handler=handler)
        declared[name] = (kw, own)
        return own

    for group in GROUPS:
        group.add_commands(declare)
    for name in sorted(declared, key=lambda n: LISTED.index(n) if n in LISTED else len(LISTED)):
        kw, own = declared[name]
        s.add_parser(name, parents=[common, own], **kw)


def _now() -> datetime:
    return datetime.now(UTC)


async def run(args: argparse.Namespace, settings: Settings, now: datetime | None = None,
              out: Any = None, ask: Any = None) -> int:
    """Run one admin command. `ask(question) -> bool` confirms a large announcement (default: the
    terminal; a closed or piped standard input answers no)."""
    out = out or sys.stdout
    args.ask = ask or _ask_terminal
    args.settings = settings
    try:
        if not settings.database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"错误：无法创建数据文件夹 {settings.data_dir}：{exc.strerror or exc}", file=out)
        return 2
    store = Store(settings.effective_database_url)
    try:
        await upgrade(store.engine)
        handler: Handler = args.admin_handler
        return await handler(store, args, now or _now(), out)
    except AdminError as exc:
        print(f"错误：{exc}", file=out)
        return 2
    except catalogue_file.CatalogueFileError as exc:
        print(f"错误：{exc}", file=out)
        return 2
    except OSError as exc:  # a folder that is not there, a file that cannot be written
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"错误：{exc.strerror or exc}{where}", file=out)
        return 2
    finally:
        await store.close()


def _ask_terminal(question: str) -> bool:
    """y/N on the terminal; no terminal (CI, a pipe that ended) answers no."""
    try:
        if sys.stdin is None or sys.stdin.closed:
            return False
        print(question + " [y/N] ", end="", flush=True)
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        return False
    return answer.strip().lower() in ("y", "yes", "是", "确定")
