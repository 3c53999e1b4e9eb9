"""Signing in at a command-line entry point (ionto-users, ionto-cal, ionto-records): one home for the rules.

WHY shared: every entry point that writes records must know *who* runs it,
proven by a password, never by a typed name (issue 13: ``--engineer "anyone"``
was stored as a calibration's author). ``--user NAME`` with the password from
``--password-file FILE`` (automation) or a prompt without echo. A password
file that other users can read is refused before it is read: a secret others
can read is no longer a secret. Every attempt goes through
``accounts.sign_in`` (audited, slowed down, locked after repeated failures).

An account that must change its password (an administrator set it) is asked
for a new one at the prompt; with a password file it is refused, since
automation cannot choose a person's password.
"""

from __future__ import annotations

import argparse
import socket
import stat
from pathlib import Path
from typing import Callable

from .accounts import AccountError, Role, User, audit_refusal, change_own_password, sign_in
from .records import Database

Ask = Callable[[str], str]


def add_sign_in_arguments(parser: argparse.ArgumentParser, who: str) -> None:
    """``--user`` and ``--password-file`` on an entry point's parser."""
    parser.add_argument("--user", required=True, metavar="NAME", help=f"your account ({who}); it signs the work")
    parser.add_argument("--password-file", type=Path, metavar="FILE",
                        help="first line: your password (the file must be private: chmod 600); default: asked")


def station_name(program: str) -> str:
    """What the audit trail records as the station of a command-line sign-in."""
    return f"{program}@{socket.gethostname()}"


def read_password_file(path: Path) -> str:
    """The first line of a private password file; ``AccountError`` in plain words otherwise."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise AccountError(f"Cannot read the password file {path}: {exc.strerror or exc}.") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AccountError(f"The password file {path} can be read or changed by other users (mode "
                           f"{stat.S_IMODE(mode):04o}); it is not used. Make it private with: chmod 600 {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AccountError(f"Cannot read the password file {path}: {exc}.") from None
    return lines[0] if lines else ""


def sign_in_from_cli(db: Database, username: str, password_file: Path | None, ask: Ask, *, program: str,
                     allowed: Callable[[Role], bool], role_words: str) -> User:
    """Sign the person in (or raise ``AccountError``), then check the role may run ``program``."""
    station = station_name(program)
    try:
        password = read_password_file(password_file) if password_file is not None else ask(f"Password of {username}: ")
    except AccountError as exc:
        audit_refusal(db, who=username, what=f"{program} --password-file", why=str(exc))
        raise
    user = sign_in(db, username, password, station=station)
    if not allowed(user.role):
        raise AccountError(f"{user.display_name} is not {role_words}: {program} is refused.")
    if user.must_change_password:
        if password_file is not None:
            raise AccountError(f"{user.username} must choose a new password first (an administrator set it): "
                               f"run {program} once without --password-file.")
        new = ask("Your password was set by an administrator; choose your own: ")
        if ask("Repeat the new password: ") != new:
            raise AccountError("The two passwords differ.")
        user = change_own_password(db, user, password, new, station=station)
    return user
