"""Local accounts in the records database: hashing, sign-in, roles, audit, first-run and demo accounts."""

from __future__ import annotations

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from sqlalchemy import inspect, select

from ionto_console import accounts
from sqlalchemy import delete

from ionto_console.records.demo import mark_as_demo
from ionto_console.records.models import DemoMarker
from ionto_console.accounts import (AccountError, Role, authenticate, autologin, can_calibrate, can_manage_users,
                                    can_treat, create_first_admin, create_user, ensure_demo_users, has_users,
                                    list_users, set_active, set_password)
import datetime as dt

from ionto_console.records import audit_history, verify_audit
from ionto_console.records.demo import mark_as_demo
from ionto_console.records.database import MIGRATIONS, current_revision
from ionto_console.records.users import UserAccount

pytestmark = pytest.mark.usefixtures("fast_passwords")


def stored_hash(db, username: str) -> str:
    with db.read() as s:
        return s.scalars(select(UserAccount.password_hash).where(UserAccount.username == username)).one()


def test_migration_creates_the_users_table_on_a_fresh_database(db):
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    scripts = ScriptDirectory.from_config(config)
    (head,) = scripts.get_heads()
    assert current_revision(db.engine) == head
    assert "0003" in {rev.revision for rev in scripts.walk_revisions()}
    columns = {c["name"] for c in inspect(db.engine).get_columns("users")}
    assert {"username", "display_name", "role", "password_hash", "active"} <= columns
    assert not has_users(db)


def test_password_is_stored_as_argon2id_and_checked(db):
    user = create_user(db, "Dana", "Dana Weber", Role.THERAPIST, "correct horse battery", who="admin")
    assert user.username == "dana" and user.role is Role.THERAPIST
    stored = stored_hash(db, "dana")
    assert stored.startswith("$argon2id$") and "correct horse battery" not in stored
    assert authenticate(db, "dana", "correct horse battery") == user
    assert authenticate(db, "DANA ", "correct horse battery") == user  # names are case-insensitive
    later = iter(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=m) for m in range(10))
    assert authenticate(db, "dana", "correct horsE battery", now=next(later)) is None
    assert authenticate(db, "dana", "", now=next(later)) is None
    assert authenticate(db, "nobody", "correct horse battery", now=next(later)) is None


def test_same_password_gets_different_salts(db):
    create_user(db, "a", "A", Role.THERAPIST, "same pass phrase", who="admin")
    create_user(db, "b", "B", Role.THERAPIST, "same pass phrase", who="admin")
    assert stored_hash(db, "a") != stored_hash(db, "b")


def test_refused_accounts_say_why(db):
    create_user(db, "dana", "Dana Weber", Role.THERAPIST, "first pass phrase", who="admin")
    with pytest.raises(AccountError, match="taken"):
        create_user(db, "DANA", "Other Dana", Role.ENGINEER, "second pass phrase", who="admin")
    with pytest.raises(AccountError, match="at least 12"):
        create_user(db, "ravi", "Ravi", Role.ENGINEER, "short", who="admin")
    with pytest.raises(AccountError, match="Unknown role"):
        create_user(db, "ravi", "Ravi", "janitor", "second pass phrase", who="admin")
    with pytest.raises(AccountError, match="user name"):
        create_user(db, "ravi menon", "Ravi", Role.ENGINEER, "second pass phrase", who="admin")
    with pytest.raises(AccountError, match="name"):
        create_user(db, "ravi", "  ", Role.ENGINEER, "second pass phrase", who="admin")
    assert [u.username for u in list_users(db)] == ["dana"]


def test_set_password_and_disable(db):
    create_user(db, "dana", "Dana Weber", Role.THERAPIST, "first pass phrase", who="admin")
    set_password(db, "dana", "second pass phrase", who="admin", why="forgotten")
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert authenticate(db, "dana", "first pass phrase", now=start) is None
    assert authenticate(db, "dana", "second pass phrase", now=start + dt.timedelta(seconds=2)) is not None
    set_active(db, "dana", False, who="admin", why="left the clinic")
    assert authenticate(db, "dana", "second pass phrase") is None
    assert list_users(db)[0].active is False
    with pytest.raises(AccountError, match="No user"):
        set_password(db, "ghost", "third pass phrase", who="admin")


def test_every_change_is_audited_without_secrets(db):
    create_user(db, "dana", "Dana Weber", Role.THERAPIST, "first pass phrase", who="admin")
    set_password(db, "dana", "second pass phrase", who="admin", why="forgotten")
    set_active(db, "dana", False, who="admin")
    history = audit_history(db, entity="user", entity_id="dana")
    assert [(e["action"], e["who"]) for e in history] == [
        ("create user", "admin"), ("set password", "admin"), ("set active", "admin")]
    assert history[0]["after"] == {"username": "dana", "display_name": "Dana Weber", "role": "therapist",
                                   "active": True}
    text = repr(history)
    assert "first pass phrase" not in text and "second pass phrase" not in text and "$argon2" not in text
    assert verify_audit(db).ok


def test_old_hash_is_upgraded_on_sign_in(db, monkeypatch):
    create_user(db, "dana", "Dana Weber", Role.THERAPIST, "first pass phrase", who="admin")
    old = stored_hash(db, "dana")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    monkeypatch.setattr(accounts, "HASHER", stronger)
    assert authenticate(db, "dana", "first pass phrase") is not None
    new = stored_hash(db, "dana")
    assert new != old and not stronger.check_needs_rehash(new)
    assert [e["action"] for e in audit_history(db, entity="user")][-2:] == ["rehash password", "sign in"]
    assert authenticate(db, "dana", "first pass phrase") is not None  # no second rehash needed
    assert stored_hash(db, "dana") == new


def test_first_admin_only_while_there_are_no_accounts(db):
    admin = create_first_admin(db, "boss", "Clinic Manager", "admin pass phrase")
    assert admin.role is Role.ADMIN and has_users(db)
    assert audit_history(db, entity="user")[0]["who"] == "boss"
    with pytest.raises(AccountError, match="already exist"):
        create_first_admin(db, "intruder", "Intruder", "admin pass phrase")
    assert [u.username for u in list_users(db)] == ["boss"]


def test_roles_and_permissions():
    assert [r for r in Role if can_treat(r)] == [Role.THERAPIST, Role.ADMIN]
    assert [r for r in Role if can_calibrate(r)] == [Role.ENGINEER, Role.ADMIN]
    assert [r for r in Role if can_manage_users(r)] == [Role.ADMIN]


def test_demo_users_and_autologin(db):
    env = {"IONTO_AUTOLOGIN": "engineer"}
    with pytest.raises(AccountError, match="demo database"):
        ensure_demo_users(db)  # a database not marked demo never gets the public accounts
    assert not has_users(db)
    mark_as_demo(db)
    assert sorted(ensure_demo_users(db)) == ["engineer", "therapist"]
    assert ensure_demo_users(db) == []
    user = autologin(db, demo=True, environ=env)
    assert user is not None and user.role is Role.ENGINEER
    assert autologin(db, demo=True, environ={}).username == "therapist"  # demo mode's default
    assert autologin(db, demo=True, environ={"IONTO_AUTOLOGIN": ""}) is None  # empty: the dialog
    assert autologin(db, demo=False, environ=env) is None  # not in demo mode
    create_user(db, "boss", "Boss", Role.ADMIN, "admin pass phrase", who="admin")
    assert autologin(db, demo=True, environ={"IONTO_AUTOLOGIN": "boss"}) is None  # never a real account
    set_password(db, "engineer", "changed pass phrase", who="admin")
    assert autologin(db, demo=True, environ=env) is None  # the public demo password no longer works


def test_autologin_needs_the_demo_database_even_in_demo_mode(db):
    mark_as_demo(db)
    ensure_demo_users(db)
    with db.write() as s:  # the mark gone (e.g. a clinic's copy): no account signs in without a password
        s.execute(delete(DemoMarker))
    assert autologin(db, demo=True, environ={"IONTO_AUTOLOGIN": "therapist"}) is None
