"""ionto-users: an administrator manages the station's accounts and the clinic's settings from a terminal.

    ionto-users --user ada list
    ionto-users --user ada add sam "Sam Lee" therapist
    ionto-users --user ada passwd sam
    ionto-users --user ada disable sam --why "left the clinic"
    ionto-users --user ada role sam admin --why "second administrator"
    ionto-users --user ada unlock sam --why "identity checked by phone"
    ionto-users --user ada settings
    ionto-users --user ada settings idle_lock_minutes 3 --why "busy waiting room"

Every command first signs the administrator in (``cli_sign_in``: password
asked without echo, or the first line of a private ``--password-file``);
only an ADMIN may go on. New passwords are asked twice (or read from a private
``--new-password-file``); the person changes such a password at first sign-in.
Every change is audited as done by the administrator. Accounts are never
deleted: records name them, so they are disabled instead; the last enabled
administrator can be neither disabled nor demoted.

Exit codes: 0 done, 1 refused (wrong sign-in, not an administrator, a rule of
``accounts``), 2 the records database is unavailable or the command is wrong.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Callable

from .accounts import (AccountError, Role, User, can_manage_users, change_clinic_setting, create_user, list_users,
                       set_active, set_password, set_role, unlock)
from .cli_sign_in import add_sign_in_arguments, read_password_file, sign_in_from_cli
from .records import Database, RecordsError, open_database
from .records.clinic_settings import ClinicSettings, load_clinic_settings
from .settings import Settings

Ask = Callable[[str], str]
PROGRAM = "ionto-users"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROGRAM, description="Manage the station's accounts and the clinic's "
                                     "settings (administrators).")
    parser.add_argument("--database", metavar="URL",
                        help="records database (default: as the console: IONTO_DATABASE_URL or the user data dir)")
    add_sign_in_arguments(parser, "an administrator")
    parser.add_argument("--new-password-file", type=Path, metavar="FILE",
                        help="first line: the new password (add, passwd); the file must be private")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every account with its role, whether it is active or locked")
    add = commands.add_parser("add", help="a new account (its password is changed at first sign-in)")
    add.add_argument("username")
    add.add_argument("display_name", help="the printed full name records and signatures show, e.g. 'Sam Lee'")
    add.add_argument("role", choices=[role.value for role in Role])
    passwd = commands.add_parser("passwd", help="set a new password (another's: changed at their next sign-in)")
    passwd.add_argument("username")
    for name, text in (("disable", "disable an account (accounts are never deleted)"), ("enable", "enable an account"),
                       ("unlock", "lift a lockout after repeated failed sign-ins")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("username")
        sub.add_argument("--why", default="", help="the reason, for the audit trail")
    role = commands.add_parser("role", help="change an account's role")
    role.add_argument("username")
    role.add_argument("role", choices=[r.value for r in Role])
    role.add_argument("--why", default="", help="the reason, for the audit trail")
    settings = commands.add_parser("settings", help="show the clinic settings, or change one (KEY VALUE)")
    settings.add_argument("key", nargs="?", choices=list(ClinicSettings.model_fields))
    settings.add_argument("value", nargs="?")
    settings.add_argument("--why", default="", help="the reason, for the audit trail")
    return parser.parse_args(argv)


def new_password(args: argparse.Namespace, ask: Ask) -> str:
    if args.new_password_file is not None:
        return read_password_file(args.new_password_file)
    password = ask("New password: ")
    if ask("Repeat the new password: ") != password:
        raise AccountError("The two passwords differ.")
    return password


def sign_in_admin(db: Database, args: argparse.Namespace, ask: Ask) -> User:
    return sign_in_from_cli(db, args.user, args.password_file, ask, program=PROGRAM, allowed=can_manage_users,
                            role_words="an administrator")


def show_settings(db: Database, out: Callable[[str], None]) -> None:
    current = load_clinic_settings(db)
    for name, field in ClinicSettings.model_fields.items():
        out(f"{name:28} {getattr(current, name)!s:8} {field.description or ''}")


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
        out(f"added {user.username} ({user.role.value}); the password is changed at first sign-in")
    elif args.command == "passwd":
        set_password(db, args.username, new_password(args, ask), who=admin.username, why="ionto-users passwd")
        out(f"password of {args.username} changed")
    elif args.command == "unlock":
        unlock(db, args.username, by=admin, why=args.why)
        out(f"{args.username} unlocked")
    elif args.command == "role":
        set_role(db, args.username, args.role, by=admin, why=args.why)
        out(f"{args.username} is now {args.role}")
    elif args.command == "settings":
        if args.key is not None:
            if args.value is None:
                raise AccountError(f"Give the new value of {args.key}.")
            change_clinic_setting(db, args.key, args.value, by=admin, why=args.why)
            out(f"{args.key} changed")
        show_settings(db, out)
    else:
        set_active(db, args.username, args.command == "enable", who=admin.username, why=args.why)
        out(f"{args.username} {args.command}d")


def main(argv: list[str] | None = None, ask: Ask = getpass.getpass) -> int:
    args = parse_args(argv)
    try:
        db = open_database(Settings.from_sources({"database_url": args.database}).database_url)
    except (RecordsError, ValueError) as exc:
        print(f"{PROGRAM}: records unavailable: {exc}", file=sys.stderr)
        return 2
    try:
        run(db, args, ask, print)
        return 0
    except (AccountError, OSError) as exc:
        print(f"{PROGRAM}: refused: {exc}", file=sys.stderr)
        return 1
    except RecordsError as exc:
        print(f"{PROGRAM}: records unavailable: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
