"""Local console accounts: who may treat, who may calibrate, who manages accounts.

Qt-free. Accounts live in the records database (``records.users``) so every
station of a clinic shares them and every change lands in the hash-chained
audit trail, in the same transaction as the change.

WHY argon2id (``argon2.PasswordHasher``): a stolen database copy must not
give away passwords; the PHC string carries salt and cost parameters, so
``authenticate`` upgrades an old hash when the cost settings are raised.
WHY a dummy verification for unknown names: the answer takes about as long
for a wrong user name as for a wrong password, so timing does not reveal
which user names exist.

Roles (``can_*`` below are the only place that maps roles to permissions):
- THERAPIST runs treatments.
- ENGINEER calibrates and verifies boards (not treatments: kept simple).
- ADMIN does both and manages accounts.

First run: with no accounts, the console asks for the first ADMIN
(``create_first_admin``). Demo mode only (``ionto-console --demo``): the
public accounts ``therapist``/``therapist`` and ``engineer``/``engineer`` are
created if missing (``ensure_demo_users``), and only in a database marked as
the demo's (``records.demo``), so they can never appear in a clinic's records.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import re
from dataclasses import dataclass
from typing import Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .records.audit import append_audit
from .records.database import Database
from .records.demo import is_demo
from .records.users import UserAccount

#: Replaceable (tests use cheap parameters); default: argon2-cffi's RFC 9106 low-memory profile.
HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
AUTOLOGIN_ENV = "IONTO_AUTOLOGIN"
#: Demo mode signs this account in when ``IONTO_AUTOLOGIN`` is not set (set it empty for the dialog).
DEFAULT_AUTOLOGIN = "therapist"
ENTITY = "user"


class Role(enum.StrEnum):
    THERAPIST = "therapist"
    ENGINEER = "engineer"
    ADMIN = "admin"


#: Demo accounts (username -> display name, role, password). The passwords are public: demo only.
DEMO_USERS: dict[str, tuple[str, Role, str]] = {
    "therapist": ("Demo Therapist", Role.THERAPIST, "therapist"),
    "engineer": ("Demo Engineer", Role.ENGINEER, "engineer"),
}


class AccountError(ValueError):
    """A refused account change, with a message fit to show as is."""


@dataclass(frozen=True)
class User:
    """A signed-in (or listed) account; never carries the password hash."""

    id: int
    username: str
    display_name: str
    role: Role
    active: bool = True

    @property
    def title(self) -> str:
        """How the window names the user: "Dana Weber (therapist)"."""
        return f"{self.display_name} ({self.role.value})"


def can_treat(role: Role) -> bool:
    return role in (Role.THERAPIST, Role.ADMIN)


def can_calibrate(role: Role) -> bool:
    return role in (Role.ENGINEER, Role.ADMIN)


def can_manage_users(role: Role) -> bool:
    return role is Role.ADMIN


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _user(row: UserAccount) -> User:
    return User(row.id, row.username, row.display_name, Role(row.role), row.active)


def normalize_username(username: str) -> str:
    """User names are case-insensitive: stored and looked up lower-case."""
    return username.strip().lower()


def _check_new(username: str, display_name: str, role: Role | str, password: str) -> tuple[str, str, Role]:
    name = normalize_username(username)
    if not USERNAME_PATTERN.match(name):
        raise AccountError("A user name is 1-64 letters, digits, dots, dashes or underscores, starting with a "
                           "letter or digit.")
    shown = display_name.strip()
    if not shown:
        raise AccountError("Give the person's name as it should appear on records.")
    try:
        checked_role = Role(role)
    except ValueError:
        raise AccountError(f"Unknown role {role!r}: use therapist, engineer or admin.") from None
    _check_password(password)
    return name, shown, checked_role


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")


def _find(session: Session, username: str) -> UserAccount | None:
    return session.scalars(select(UserAccount).where(UserAccount.username == normalize_username(username))).first()


def _insert(session: Session, name: str, shown: str, role: Role, password: str, who: str, why: str) -> UserAccount:
    if _find(session, name) is not None:
        raise AccountError(f"The user name {name!r} is taken.")
    now = _now()
    row = UserAccount(username=name, display_name=shown, role=role.value, password_hash=HASHER.hash(password),
                      active=True, created_at=now, password_changed_at=now)
    session.add(row)
    session.flush()
    append_audit(session, who=who, action="create user", entity=ENTITY, entity_id=name,
                 after={"username": name, "display_name": shown, "role": role.value, "active": True}, why=why)
    return row


def create_user(db: Database, username: str, display_name: str, role: Role | str, password: str, *,
                who: str, why: str = "") -> User:
    """Add an account (audited as done by ``who``). Raises ``AccountError`` if refused."""
    name, shown, checked_role = _check_new(username, display_name, role, password)
    try:
        with db.write() as session:
            return _user(_insert(session, name, shown, checked_role, password, who, why))
    except IntegrityError:  # another station created the same name between our check and insert
        raise AccountError(f"The user name {name!r} is taken.") from None


def has_users(db: Database) -> bool:
    with db.read() as session:
        return bool(session.scalar(select(func.count()).select_from(UserAccount)))


def create_first_admin(db: Database, username: str, display_name: str, password: str) -> User:
    """First run: the first account, an ADMIN, only while there are no accounts at all.

    Checked inside the write transaction, so two stations starting together cannot both do it."""
    name, shown, _ = _check_new(username, display_name, Role.ADMIN, password)
    try:
        with db.write() as session:
            if session.scalar(select(func.count()).select_from(UserAccount)):
                raise AccountError("Accounts already exist: sign in, or ask an administrator.")
            return _user(_insert(session, name, shown, Role.ADMIN, password, name, "first-run setup"))
    except IntegrityError:
        raise AccountError("Accounts already exist: sign in, or ask an administrator.") from None


#: Verified against when the user name is unknown, so that answer costs the same as a wrong password
#: (one per hasher, made on first use: hashing at import would slow every start-up).
_dummy_hashes: dict[int, str] = {}


def _dummy_hash() -> str:
    key = id(HASHER)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = HASHER.hash("not a password of anyone")
    return _dummy_hashes[key]


def authenticate(db: Database, username: str, password: str) -> User | None:
    """The active account with this name and password, or None (never says which part was wrong).

    An old hash (weaker parameters than ``HASHER``'s) is replaced on success, audited."""
    with db.read() as session:
        row = _find(session, username)
        stored = row.password_hash if row is not None and row.active else None
    try:
        HASHER.verify(stored or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or stored is None:
        return None
    if HASHER.check_needs_rehash(stored):
        with db.write() as session:
            fresh = session.get(UserAccount, row.id)
            if fresh is not None and fresh.password_hash == stored:
                fresh.password_hash = HASHER.hash(password)
                append_audit(session, who=row.username, action="rehash password", entity=ENTITY,
                             entity_id=row.username, after={"hash_parameters": "current"},
                             why="stronger hashing parameters")
    return _user(row)


def list_users(db: Database) -> list[User]:
    with db.read() as session:
        return [_user(row) for row in session.scalars(select(UserAccount).order_by(UserAccount.username))]


def set_password(db: Database, username: str, password: str, *, who: str, why: str = "") -> None:
    """Replace an account's password (audited; the audit never holds the password or its hash)."""
    _check_password(password)
    with db.write() as session:
        row = _find(session, username)
        if row is None:
            raise AccountError(f"No user named {normalize_username(username)!r}.")
        row.password_hash = HASHER.hash(password)
        row.password_changed_at = _now()
        append_audit(session, who=who, action="set password", entity=ENTITY, entity_id=row.username,
                     after={"password_changed": True}, why=why)


def set_active(db: Database, username: str, active: bool, *, who: str, why: str = "") -> None:
    """Disable (or re-enable) an account; accounts are never deleted, records name them."""
    with db.write() as session:
        row = _find(session, username)
        if row is None:
            raise AccountError(f"No user named {normalize_username(username)!r}.")
        before = row.active
        row.active = active
        append_audit(session, who=who, action="set active", entity=ENTITY, entity_id=row.username,
                     before={"active": before}, after={"active": active}, why=why)


def ensure_demo_users(db: Database) -> list[str]:
    """Create the missing demo accounts in the demo database; returns the names created.

    Refused (``AccountError``) in a database not marked demo: public passwords never reach a clinic."""
    if not is_demo(db):
        raise AccountError("The demo accounts exist only in the demo database (ionto-console --demo).")
    created = []
    for name, (shown, role, password) in DEMO_USERS.items():
        with db.read() as session:
            exists = _find(session, name) is not None
        if not exists:
            try:
                create_user(db, name, shown, role, password, who="demo-setup", why="demo mode")
                created.append(name)
            except AccountError:  # created meanwhile by another station: fine
                pass
    return created


def autologin(db: Database, *, demo: bool, environ: Mapping[str, str] = os.environ) -> User | None:
    """Demo mode: the demo account named by ``IONTO_AUTOLOGIN`` (default ``therapist``; empty: none),
    signed in without a prompt, or None.

    WHY so narrow: only in demo mode, only in the demo database, only a demo account, and only while
    it still has its public demo password (a station that changed it gets the dialog)."""
    name = normalize_username(environ.get(AUTOLOGIN_ENV, DEFAULT_AUTOLOGIN))
    if not demo or not name or name not in DEMO_USERS or not is_demo(db):
        return None
    return authenticate(db, name, DEMO_USERS[name][2])
