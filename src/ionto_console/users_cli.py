"""ionto-users: an administrator manages the station's accounts from a terminal.

    ionto-users --admin ada list
    ionto-users --admin ada add sam "Sam Lee" therapist
    ionto-users --admin ada passwd sam
    ionto-users --admin ada disable sam --why "left the clinic"

Every command first signs the administrator in (password asked without echo,
or the first line of ``--admin-password-file`` for automation); only an ADMIN
may change accounts. New passwords are asked twice (or read from
``--password-file``). Every change is audited as done by the administrator.
Accounts are never deleted: records name them, so they are disabled instead.

Exit codes: 0 done, 1 refused (wrong sign-in, not an administrator, a rule of
``accounts``), 2 the records database is unavailable or the command is wrong.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Callable

from .accounts import (AccountError, Role, User, authenticate, can_manage_users, create_user, list_users, set_active,
                       set_password)
from .records import Database, RecordsError, open_database
from .settings import Settings

Ask = Callable[[str], str]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ionto-users", description="Manage the station's accounts (administrators).")
    parser.add_argument("--database", metavar="URL",
                        help="records database (default: as the console: IONTO_DATABASE_URL or the user data dir)")
    parser.add_argument("--admin", required=True, metavar="NAME", help="the administrator doing this")
    parser.add_argument("--admin-password-file", type=Path, metavar="FILE", help="first line: the admin's password")
    parser.add_argument("--password-file", type=Path, metavar="FILE", help="first line: the new password (add, passwd)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every account with its role and whether it is active")
    add = commands.add_parser("add", help="a new account")
    add.add_argument("username")
    add.add_argument("display_name", help="the name records show, e.g. 'Sam Lee'")
    add.add_argument("role", choices=[role.value for role in Role])
    passwd = commands.add_parser("passwd", help="set a new password")
    passwd.add_argument("username")
    for name in ("disable", "enable"):
        sub = commands.add_parser(name, help=f"{name} an account (accounts are never deleted)")
        sub.add_argument("username")
        sub.add_argument("--why", default="", help="the reason, for the audit trail")
    return parser.parse_args(argv)


def first_line(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0] if lines else ""


def new_password(args: argparse.Namespace, ask: Ask) -> str:
    if args.password_file is not None:
        return first_line(args.password_file)
    password = ask("New password: ")
    if ask("Repeat the new password: ") != password:
        raise AccountError("The two passwords differ.")
    return password


def sign_in_admin(db: Database, args: argparse.Namespace, ask: Ask) -> User:
    password = first_line(args.admin_password_file) if args.admin_password_file else ask(f"Password of {args.admin}: ")
    admin = authenticate(db, args.admin, password)
    if admin is None:
        raise AccountError("Wrong user name or password.")
    if not can_manage_users(admin.role):
        raise AccountError(f"{admin.display_name} is not an administrator.")
    return admin


def run(db: Database, args: argparse.Namespace, ask: Ask, out: Callable[[str], None]) -> None:
    """One command, signed in as the administrator; raises AccountError when refused."""
    admin = sign_in_admin(db, args, ask)
    if args.command == "list":
        for user in list_users(db):
            out(f"{user.username:20} {user.role.value:10} {'active' if user.active else 'disabled':9} "
                f"{user.display_name}")
    elif args.command == "add":
        user = create_user(db, args.username, args.display_name, args.role, new_password(args, ask),
                           who=admin.username, why="ionto-users add")
        out(f"added {user.username} ({user.role.value})")
    elif args.command == "passwd":
        set_password(db, args.username, new_password(args, ask), who=admin.username, why="ionto-users passwd")
        out(f"password of {args.username} changed")
    else:
        set_active(db, args.username, args.command == "enable", who=admin.username, why=args.why)
        out(f"{args.username} {args.command}d")


def main(argv: list[str] | None = None, ask: Ask = getpass.getpass) -> int:
    args = parse_args(argv)
    try:
        db = open_database(Settings.from_sources({"database_url": args.database}).database_url)
    except (RecordsError, ValueError) as exc:
        print(f"ionto-users: records unavailable: {exc}", file=sys.stderr)
        return 2
    try:
        run(db, args, ask, print)
        return 0
    except (AccountError, OSError) as exc:
        print(f"ionto-users: refused: {exc}", file=sys.stderr)
        return 1
    except RecordsError as exc:
        print(f"ionto-users: records unavailable: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
