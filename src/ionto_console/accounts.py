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

Sign-in (``sign_in``; ``authenticate`` is its quiet form): every failed attempt
is audited with the account name as typed, the station and the time. After a
failure the account refuses further attempts for a growing delay (1, 2, 4, 8 s:
slows guessing without hurting a person who mistyped), and ``lockout_failures``
failures within ``lockout_window_minutes`` lock it for ``lockout_minutes``
(clinic settings, ``records.clinic_settings``); an administrator can unlock it.
Time is an argument (``now``), so the lockout is tested without sleeping.

New passwords (NIST SP 800-63B 5.1.1.2): at least 12 characters, not one of the
common passwords shipped in ``resources/common-passwords.txt`` (nor one of them
with digits or symbols added at the end, nor repetitive or sequential
characters, nor the user name), and no composition rules. An account an
administrator creates (or whose password an administrator sets) changes its
password at its first sign-in (``must_change_password``).

Accounts: the last enabled administrator can be neither disabled nor demoted,
so somebody can always manage the accounts; only an administrator changes
roles, unlocks accounts and changes clinic settings, each audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from importlib import resources
from typing import Any, Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .core.roles import Role, User, can_calibrate, can_manage_users, can_treat  # noqa: F401 (re-exported: their home is core.roles)
from .core.sign_in_lockout import CLEAR, LockoutPolicy, LockState, after_failure, refusal
from .records.audit import append_audit
from .records.clinic_settings import ClinicSettings, load_clinic_settings, store_clinic_setting
from .records.database import Database
from .records.demo import is_demo
from .records.errors import InvalidRecord, RecordsError
from .records.users import UserAccount

#: Replaceable (tests use cheap parameters); default: argon2-cffi's RFC 9106 low-memory profile.
HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
AUTOLOGIN_ENV = "IONTO_AUTOLOGIN"
#: Demo mode signs this account in when ``IONTO_AUTOLOGIN`` is not set (set it empty for the dialog).
DEFAULT_AUTOLOGIN = "therapist"
ENTITY = "user"


#: Demo accounts (username -> display name, role, password). The passwords are public: demo only.
DEMO_USERS: dict[str, tuple[str, Role, str]] = {
    "therapist": ("Demo Therapist", Role.THERAPIST, "therapist"),
    "engineer": ("Demo Engineer", Role.ENGINEER, "engineer"),
}


class AccountError(ValueError):
    """A refused account change, with a message fit to show as is."""


class SignInRefused(AccountError):
    """A sign-in refused before the password was checked: the account is locked or must wait."""



def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _user(row: UserAccount) -> User:
    return User(row.id, row.username, row.display_name, Role(row.role), row.active, bool(row.must_change_password))


def _audit_refusals(action: str, entity: str = ENTITY) -> Any:
    """Decorator: a refused account or settings change (an ``AccountError``) leaves an audit entry (who asked,
    for what, the plain reason; never a password) before the refusal reaches the caller.

    WHY: an auditor must see attempts that were refused (the last administrator disabling itself, a
    common password, a non-administrator changing a role), not only the changes that were made."""
    def wrap(fn: Any) -> Any:
        @functools.wraps(fn)
        def inner(db: Database, target: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(db, target, *args, **kwargs)
            except AccountError as exc:
                by = kwargs.get("by")
                who = by.username if by is not None else str(kwargs.get("who", ""))
                try:
                    with db.write() as session:
                        append_audit(session, who=(who or "(unknown)")[:100], action="refused", entity=entity,
                                     entity_id=normalize_username(str(target))[:40] or "(none)",
                                     after={"requested": action}, why=str(exc))
                except RecordsError:
                    pass  # the refusal stands even if it could not be recorded
                raise
        return inner
    return wrap


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
    check_new_password(password, name)
    return name, shown, checked_role


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-case (read once)."""
    text = resources.files("ionto_console.resources").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _sequential(text: str) -> bool:
    """Every character one step up (or down) from the one before: abcdef..., 987654..."""
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:])}
    return steps in ({1}, {-1})


def _repeats_a_short_unit(text: str) -> bool:
    """The same 1-4 characters over and over (aaaaaaaaaaaa, abababababab, 123412341234)."""
    return any(len(text) % n == 0 and text == text[:n] * (len(text) // n) for n in range(1, 5))


def check_new_password(password: str, username: str = "") -> None:
    """Refuse a new password NIST SP 800-63B would refuse; the message says what to do, never the rule's name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters: a few words make "
                           "a good one.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"A password may have at most {MAX_PASSWORD_LENGTH} characters.")
    lowered = password.lower()
    stem = lowered.rstrip("0123456789!@#$%^&*()-_=+.?, ")
    common = common_passwords()
    if lowered in common or (stem and stem in common) or (lowered[: len(lowered) // 2] * 2 == lowered
                                                          and lowered[: len(lowered) // 2] in common):
        raise AccountError("That password is on the list of commonly used passwords; choose another.")
    if _repeats_a_short_unit(lowered) or _sequential(lowered):
        raise AccountError("That password is a repeated or sequential run of characters; choose another.")
    name = normalize_username(username)
    if len(name) >= 3 and name in lowered:
        raise AccountError("A password may not contain the user name; choose another.")


def _find(session: Session, username: str) -> UserAccount | None:
    return session.scalars(select(UserAccount).where(UserAccount.username == normalize_username(username))).first()


def _insert(session: Session, name: str, shown: str, role: Role, password: str, who: str, why: str,
            must_change: bool = False) -> UserAccount:
    if _find(session, name) is not None:
        raise AccountError(f"The user name {name!r} is taken.")
    now = _now()
    row = UserAccount(username=name, display_name=shown, role=role.value, password_hash=HASHER.hash(password),
                      active=True, created_at=now, password_changed_at=now, must_change_password=must_change,
                      failed_count=0)
    session.add(row)
    session.flush()
    append_audit(session, who=who, action="create user", entity=ENTITY, entity_id=name,
                 after={"username": name, "display_name": shown, "role": role.value, "active": True}, why=why)
    return row


@_audit_refusals("create user")
def create_user(db: Database, username: str, display_name: str, role: Role | str, password: str, *,
                who: str, why: str = "") -> User:
    """Add an account (audited as done by ``who``). Raises ``AccountError`` if refused.

    The person changes the password at first sign-in: the administrator who chose it knows it."""
    name, shown, checked_role = _check_new(username, display_name, role, password)
    try:
        with db.write() as session:
            return _user(_insert(session, name, shown, checked_role, password, who, why, must_change=True))
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


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def _lock_state(row: UserAccount) -> LockState:
    return LockState(row.failed_count or 0, _aware(row.failed_window_start), _aware(row.retry_not_before),
                     _aware(row.locked_until))


def _store_lock_state(row: UserAccount, state: LockState) -> None:
    row.failed_count, row.failed_window_start = state.failed_count, state.window_start
    row.retry_not_before, row.locked_until = state.retry_not_before, state.locked_until


def _policy(settings: ClinicSettings) -> LockoutPolicy:
    return LockoutPolicy(settings.lockout_failures, dt.timedelta(minutes=settings.lockout_window_minutes),
                         dt.timedelta(minutes=settings.lockout_minutes))


def _failure(session: Session, row: UserAccount | None, typed: str, station: str, reason: str, now: dt.datetime,
             settings: ClinicSettings) -> str:
    """Count and audit one failed attempt; returns the message for the person at the station.

    WHY one plain message for a wrong name and a wrong password (the lock message only for a
    real account that just locked): the answer must not tell a guesser which names exist."""
    message = "Wrong user name or password."
    after: dict[str, Any] = {"station": station, "reason": reason}
    if row is not None:
        state = after_failure(_lock_state(row), now, _policy(settings))
        _store_lock_state(row, state)
        after["failures_in_window"] = state.failed_count
        if state.locked_until is not None:
            after["locked_until"] = state.locked_until
            message = (f"Too many failed sign-ins: this account is locked for {settings.lockout_minutes:g} "
                       "minutes. An administrator can unlock it.")
    append_audit(session, who=(typed or "(no name)")[:100], action="sign-in failed", entity=ENTITY,
                 entity_id=(typed or "(no name)")[:40], after=after, why=reason, at=now)
    return message


def sign_in(db: Database, username: str, password: str, *, station: str, now: dt.datetime | None = None) -> User:
    """Check a sign-in (or a signer's password) and count it; the account, or ``AccountError`` in plain words.

    Raises ``SignInRefused`` when the account is locked or inside its slow-down (the password is
    then not even checked, so guessing gains nothing); every refusal is audited with the station."""
    now = now or _now()
    typed = normalize_username(username)
    policy = load_clinic_settings(db)
    with db.read() as session:
        row = _find(session, typed)
        stored = row.password_hash if row is not None and row.active else None
        waiting = refusal(_lock_state(row), now) if row is not None else ""
    if waiting:
        with db.write() as session:
            append_audit(session, who=typed[:100], action="sign-in refused", entity=ENTITY, entity_id=typed[:40],
                         after={"station": station, "reason": waiting}, why="locked or slowed down", at=now)
        raise SignInRefused(waiting)
    try:
        HASHER.verify(stored or _dummy_hash(), password)
        verified = stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        verified = False
    if not verified or row is None or stored is None:
        reason = ("unknown user name" if row is None else "account disabled" if not row.active
                  else "wrong password")
        with db.write() as session:
            fresh = session.get(UserAccount, row.id) if row is not None else None
            message = _failure(session, fresh, typed, station, reason, now, policy)
        raise AccountError(message)
    with db.write() as session:
        fresh = session.get(UserAccount, row.id)
        assert fresh is not None
        _store_lock_state(fresh, CLEAR)
        if HASHER.check_needs_rehash(stored) and fresh.password_hash == stored:
            fresh.password_hash = HASHER.hash(password)
            append_audit(session, who=row.username, action="rehash password", entity=ENTITY,
                         entity_id=row.username, after={"hash_parameters": "current"},
                         why="stronger hashing parameters", at=now)
        append_audit(session, who=row.username, action="sign in", entity=ENTITY, entity_id=row.username,
                     after={"station": station}, why="signed in", at=now)
        return _user(fresh)


def authenticate(db: Database, username: str, password: str, *, station: str = "console",
                 now: dt.datetime | None = None) -> User | None:
    """``sign_in`` that answers None for a wrong name or password (still counted and audited).

    A locked or slowed-down account still raises ``SignInRefused``: the person must learn why."""
    try:
        return sign_in(db, username, password, station=station, now=now)
    except SignInRefused:
        raise
    except AccountError:
        return None


def confirm_signer(db: Database, signed_in: User, password: str, *, username: str | None, station: str,
                   now: dt.datetime | None = None) -> User:
    """The signed-in account, proven again by its password (and its name, at a first signing).

    21 CFR 11.200(a)(1): the first signing of a continuous session gives both components (``username``),
    later ones at least the password (``username`` None). A name that is not the signed-in account is
    refused and audited: a signature is never made under another person's name."""
    if username is not None and normalize_username(username) != signed_in.username:
        with db.write() as session:
            append_audit(session, who=signed_in.username, action="signature refused", entity=ENTITY,
                         entity_id=signed_in.username, after={"station": station, "typed_name": username[:64]},
                         why="the signer must be the signed-in account", at=now)
        raise AccountError(f"Only the signed-in account ({signed_in.username}) can sign here; "
                           "another person signs in to sign.")
    return sign_in(db, signed_in.username, password, station=station, now=now)


def list_users(db: Database) -> list[User]:
    with db.read() as session:
        return [_user(row) for row in session.scalars(select(UserAccount).order_by(UserAccount.username))]


@_audit_refusals("set password")
def set_password(db: Database, username: str, password: str, *, who: str, why: str = "") -> None:
    """Replace an account's password (audited; the audit never holds the password or its hash).

    Set by somebody else (an administrator), the person must change it at the next sign-in."""
    name = normalize_username(username)
    check_new_password(password, name)
    with db.write() as session:
        row = _find(session, name)
        if row is None:
            raise AccountError(f"No user named {name!r}.")
        row.password_hash = HASHER.hash(password)
        row.password_changed_at = _now()
        row.must_change_password = normalize_username(who) != row.username
        append_audit(session, who=who, action="set password", entity=ENTITY, entity_id=row.username,
                     after={"password_changed": True, "must_change_password": row.must_change_password}, why=why)


def change_own_password(db: Database, user: User, old_password: str, new_password: str, *, station: str,
                        now: dt.datetime | None = None) -> User:
    """The person's own new password (proving the old one first); clears ``must_change_password``."""
    sign_in(db, user.username, old_password, station=station, now=now)
    if new_password == old_password:
        raise AccountError("Choose a password different from the one you were given.")
    set_password(db, user.username, new_password, who=user.username, why="changed by its owner")
    return replace_user(user, must_change_password=False)


def replace_user(user: User, **changes: Any) -> User:
    from dataclasses import replace

    return replace(user, **changes)


def _enabled_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(UserAccount).where(
        UserAccount.role == Role.ADMIN.value, UserAccount.active.is_(True))) or 0


def _require_admin(by: User) -> None:
    if not can_manage_users(by.role):
        raise AccountError(f"{by.display_name} is not an administrator: only an administrator can do that.")


@_audit_refusals("set active")
def set_active(db: Database, username: str, active: bool, *, who: str, why: str = "") -> None:
    """Disable (or re-enable) an account; accounts are never deleted, records name them."""
    with db.write() as session:
        row = _find(session, username)
        if row is None:
            raise AccountError(f"No user named {normalize_username(username)!r}.")
        before = row.active
        if before and not active and row.role == Role.ADMIN.value and _enabled_admins(session) <= 1:
            raise AccountError(f"{row.username} is the last enabled administrator: enable or add another "
                               "administrator first, or nobody could manage the accounts.")
        row.active = active
        append_audit(session, who=who, action="set active", entity=ENTITY, entity_id=row.username,
                     before={"active": before}, after={"active": active}, why=why)


@_audit_refusals("set role")
def set_role(db: Database, username: str, role: Role | str, *, by: User, why: str = "") -> None:
    """Change an account's role: only an administrator, never demoting the last enabled one; audited."""
    _require_admin(by)
    try:
        new_role = Role(role)
    except ValueError:
        raise AccountError(f"Unknown role {role!r}: use therapist, engineer or admin.") from None
    with db.write() as session:
        row = _find(session, username)
        if row is None:
            raise AccountError(f"No user named {normalize_username(username)!r}.")
        before = row.role
        if before == Role.ADMIN.value and new_role is not Role.ADMIN and row.active and _enabled_admins(session) <= 1:
            raise AccountError(f"{row.username} is the last enabled administrator and cannot be demoted: make "
                               "another account an administrator first.")
        row.role = new_role.value
        append_audit(session, who=by.username, action="set role", entity=ENTITY, entity_id=row.username,
                     before={"role": before}, after={"role": new_role.value}, why=why or "role changed")


@_audit_refusals("unlock")
def unlock(db: Database, username: str, *, by: User, why: str = "") -> None:
    """An administrator lifts a lockout (and the slow-down) of an account; audited."""
    _require_admin(by)
    with db.write() as session:
        row = _find(session, username)
        if row is None:
            raise AccountError(f"No user named {normalize_username(username)!r}.")
        before = {"locked_until": row.locked_until, "failed_count": row.failed_count}
        _store_lock_state(row, CLEAR)
        append_audit(session, who=by.username, action="unlock", entity=ENTITY, entity_id=row.username,
                     before=before, after={"locked_until": None}, why=why or "unlocked by an administrator")


@_audit_refusals("change setting", "clinic_setting")
def change_clinic_setting(db: Database, key: str, value: Any, *, by: User, why: str = "") -> None:
    """An administrator changes one clinic setting (validated and audited in ``records.clinic_settings``)."""
    _require_admin(by)
    try:
        store_clinic_setting(db, key, value, who=by.username, why=why)
    except InvalidRecord as exc:
        raise AccountError(str(exc)) from None


def record_handover(db: Database, session_id: int | None, *, from_user: str, to_user: str, station: str) -> None:
    """Audit a running treatment handed to another signed-in therapist (who took it, from whom, where)."""
    with db.write() as session:
        append_audit(session, who=to_user, action="handover", entity="session",
                     entity_id=session_id if session_id is not None else "(none)",
                     before={"operator": from_user}, after={"operator": to_user, "station": station},
                     why="treatment handed over at the locked station")


#: What ``record_presence`` audits: the moments a station stops answering for its signed-in person.
PRESENCE_ACTIONS = ("sign out", "station locked")


def record_presence(db: Database, *, who: str, action: str, station: str, why: str = "") -> None:
    """Audit a sign-out or an idle lock (who, where).

    WHY: the trail names who was at the station; without the end of a presence, an entry made
    after someone walked away looks as if they were still there. Unlocking is a sign-in and is
    audited as one (``sign_in``)."""
    if action not in PRESENCE_ACTIONS:
        raise ValueError(f"not a presence action: {action!r}")
    with db.write() as session:
        append_audit(session, who=who[:100], action=action, entity=ENTITY, entity_id=who[:40],
                     after={"station": station}, why=why)


def record_override_cosignature(db: Database, *, cosigner: str, therapist: str, patient: str,
                                overridden: Any, station: str) -> None:
    """Audit a second account's co-signature of a contraindication override (before the session exists)."""
    with db.write() as session:
        append_audit(session, who=cosigner, action="co-sign override", entity="patient", entity_id=patient[:40],
                     after={"therapist": therapist, "overridden": overridden, "station": station},
                     why="contraindication override co-signed (clinic setting override_cosignature)")


def audit_refusal(db: Database, *, who: str, what: str, why: str) -> None:
    """Audit an attempt an entry point refused before anyone signed in (e.g. a typed author's name)."""
    with db.write() as session:
        append_audit(session, who=(who or "(nobody signed in)")[:100], action="refused", entity="entry point",
                     entity_id=what[:40], after={"requested": what}, why=why)


DEMO_REFUSED = "The demo accounts exist only in the demo database (ionto-console --demo)."


def ensure_demo_users(db: Database) -> list[str]:
    """Create the missing demo accounts in the demo database; returns the names created.

    Refused (``AccountError``, audited) in a database not marked demo: public passwords never reach a clinic."""
    if not is_demo(db):
        with db.write() as session:
            append_audit(session, who="demo-setup", action="demo refused", entity="database", entity_id="records",
                         after={"requested": "demo accounts"}, why="not a demo database")
        raise AccountError(DEMO_REFUSED)
    created = []
    for name, (shown, role, password) in DEMO_USERS.items():
        with db.read() as session:
            exists = _find(session, name) is not None
        if not exists:
            try:  # demo passwords are public and short on purpose: stored directly, not through the policy
                with db.write() as session:
                    _insert(session, name, shown, role, password, "demo-setup", "demo mode")
                created.append(name)
            except (AccountError, IntegrityError):  # created meanwhile by another station: fine
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
    return authenticate(db, name, DEMO_USERS[name][2], station="autologin")
