"""Opening the database: migrations, SQLite settings, and plain errors for bad files."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from ionto_console.records import RecordsUnavailable, open_database, ping, verify_audit
from alembic.config import Config
from alembic.script import ScriptDirectory

from ionto_console.records.database import MIGRATIONS, SCHEMA_HEAD, current_revision, default_url

from records_helpers import new_patient


def migrations_head() -> str:
    """The newest revision among the shipped migrations (a single head, no branches)."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    (head,) = ScriptDirectory.from_config(config).get_heads()
    return head


def test_the_start_up_shortcut_knows_the_newest_migration():
    """open_database skips Alembic when the stored revision is SCHEMA_HEAD: a new migration must bump it."""
    assert SCHEMA_HEAD == migrations_head()


def test_an_older_schema_is_still_migrated_at_open(db_url):
    first = open_database(db_url)
    first.close()
    from alembic import command

    from ionto_console.records.database import _alembic_config

    with first.engine.begin() as connection:  # as if the file came from an older release
        command.downgrade(_alembic_config(connection), "0002")
    first.engine.dispose()
    again = open_database(db_url)
    try:
        assert current_revision(again.engine) == migrations_head()
    finally:
        again.close()


def test_open_migrates_to_head_and_reopens_idempotently(db_url):
    first = open_database(db_url)
    new_patient(first)
    assert current_revision(first.engine) == migrations_head()
    first.close()
    again = open_database(db_url)
    try:
        assert current_revision(again.engine) == migrations_head() and verify_audit(again).entries == 1
        ping(again)
    finally:
        again.close()


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_db):
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_foreign_keys_are_enforced(db):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with db.write() as s:
            s.execute(text("INSERT INTO side_effects (session_id, at, kind, note) "
                           "VALUES (424242, CURRENT_TIMESTAMP, 'nausea', '')"))


def test_garbage_file_is_refused_with_a_plain_message(tmp_path):
    path = tmp_path / "records.sqlite3"
    path.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(RecordsUnavailable, match="damaged"):
        open_database(f"sqlite:///{path}")
    assert path.read_bytes().startswith(b"this is not a database")  # nothing overwritten


def test_damaged_pages_are_found_by_the_integrity_check(tmp_path):
    path = tmp_path / "records.sqlite3"
    db = open_database(f"sqlite:///{path}")
    for i in range(30):
        new_patient(db, f"P-{i:04d}", "x" * 500)
    db.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page:len(data) - page] = b"\xff" * (len(data) - 3 * page)
    path.write_bytes(bytes(data))
    with pytest.raises(RecordsUnavailable, match="damaged"):
        open_database(f"sqlite:///{path}", integrity_check=True)


def test_locked_file_is_refused_with_a_plain_message(tmp_path):
    path = tmp_path / "records.sqlite3"
    open_database(f"sqlite:///{path}").close()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(RecordsUnavailable, match="locked"):
            open_database(f"sqlite:///{path}", lock_wait_s=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    open_database(f"sqlite:///{path}").close()  # usable again once released


def test_missing_folder_and_bad_url_and_unreachable_server(tmp_path):
    with pytest.raises(RecordsUnavailable, match="folder does not exist"):
        open_database(f"sqlite:///{tmp_path / 'nope' / 'records.sqlite3'}")
    with pytest.raises(RecordsUnavailable, match="not a valid address"):
        open_database("::not a url::")
    with pytest.raises(RecordsUnavailable, match="cannot be reached"):
        open_database("postgresql+psycopg://nobody@127.0.0.1:1/ionto?connect_timeout=2")


def test_default_location_is_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("IONTO_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    url = default_url()
    assert url == f"sqlite:///{tmp_path / 'ionto-console' / 'records.sqlite3'}"
    db = open_database()
    try:
        assert db.url == url and db.dialect == "sqlite"
    finally:
        db.close()
