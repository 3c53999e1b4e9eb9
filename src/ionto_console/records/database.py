"""Opening the records database: default location, engine settings, migrations.

WHY open_database does so much at once: the console must know *before* a
treatment starts that it can keep the record. Opening checks the file is a
database, that it is not locked, brings the schema to the current Alembic
head and (for SQLite) turns on WAL and foreign keys. Any failure becomes a
``RecordsUnavailable`` with a plain message, and the console refuses to
treat.

SQLite (default, one station): a file in the user's data directory, WAL so
the browser can read while the sample writer commits, and ``BEGIN IMMEDIATE``
for write transactions so two writers queue on the lock instead of failing
halfway (the audit chain reads its tail and appends in one transaction).

PostgreSQL (clinic-wide, several stations): pass
``postgresql+psycopg://user:password@host/ionto`` (psycopg 3). The audit
append takes a transaction-scoped advisory lock so stations append in turn.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import platformdirs
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..data_folder import create_private_file, secure_sqlite_files
from .errors import RecordsUnavailable, plain_message

log = logging.getLogger(__name__)

APP_NAME = "ionto-console"
DB_FILENAME = "records.sqlite3"
#: Seconds a SQLite writer waits for the lock before reporting "locked". WHY well under 0.5 s:
#: the controller stops the output when no commit succeeded for 500 ms (``RECORDS_DEADLINE_S``);
#: a lock held longer than this by another program is an outage, reported at once, not waited out.
SQLITE_BUSY_TIMEOUT_S = 0.3
#: At open, a shorter wait: a database locked for this long is held by something else.
OPEN_BUSY_TIMEOUT_S = 3.0
MIGRATIONS = "ionto_console.records:migrations"


#: Environment variable that moves the data folder (tests, several consoles on one machine for drills).
DATA_DIR_ENV = "IONTO_DATA_DIR"


def user_data_folder() -> Path:
    """The console's folder in the user's data directory (records, custom protocols, station
    identity, the records journal); ``IONTO_DATA_DIR`` overrides it."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_url() -> str:
    """SQLite file in the user's data directory (the folder created 0700 if missing).

    Raises ``RecordsUnavailable`` when the folder is one other users can change (``data_folder``)."""
    from ..data_folder import UnsafeDataFolder, secure_folder

    folder = user_data_folder()
    try:
        secure_folder(folder)
    except UnsafeDataFolder as exc:
        raise RecordsUnavailable(str(exc)) from None
    return f"sqlite:///{folder / DB_FILENAME}"


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path)}"


@dataclass
class Database:
    """An open records database: the engine and transaction helpers.

    ``read()`` gives a session for queries; ``write()`` a session in a write
    transaction that commits on success and rolls back on any error.
    """

    url: str
    engine: Engine
    _sessions: sessionmaker[Session] = field(repr=False)
    _write_sessions: sessionmaker[Session] = field(repr=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with _as_records_errors(), self._sessions() as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        with _as_records_errors(), self._write_sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def _as_records_errors() -> Iterator[None]:
    """Database failures (locked, full, damaged, unreachable) leave as ``RecordsUnavailable`` in words.

    WHY here: every reader and writer goes through ``Database``, so no caller
    (a Qt slot, the recorder's thread) ever meets a raw driver exception.
    ``IntegrityError`` passes unchanged: it is a conflict callers resolve
    (e.g. two stations creating the same user name), not an outage."""
    try:
        yield
    except IntegrityError:
        raise
    except (DBAPIError, SQLAlchemyError, sqlite3.Error) as exc:
        raise RecordsUnavailable(plain_message(exc)) from exc


def _sqlite_engine(url: str, busy_timeout_s: float, synchronous: str = "FULL") -> Engine:
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin
        # (the pysqlite recipe in the SQLAlchemy docs), so BEGIN IMMEDIATE is possible.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        # FULL: in WAL mode every commit syncs the WAL, so a committed session row survives a
        # power cut (NORMAL would only keep the file consistent, not the last commits). Only the
        # sample writer's process opens a NORMAL connection too, for what its journal already
        # holds (``open_writer_database``).
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))

    return engine


#: The newest migration's revision (a test checks it against Alembic's head).
#: PostgreSQL advisory lock key taken while migrating ("IONTOMIG"): simultaneous first starts queue.
MIGRATION_LOCK_KEY = 0x494F4E544F4D4947

#: PostgreSQL client settings. WHY: a commit must fail (not hang) well inside the controller's
#: 500 ms records deadline wherever a timeout can act. ``connect_timeout`` is libpq's (2 s is its
#: minimum); TCP keepalives and ``tcp_user_timeout`` notice a dead network or host within ~2 s;
#: the server ends a transaction left idle (a console that hung mid-transaction) so it never
#: holds locks for the others. The sample writer sets a 400 ms ``statement_timeout`` on its own
#: transactions (``records.writer``). A server whose processes are stopped answers no timeout at
#: all: the controller's records watchdog (outside the writer thread) covers that case.
PG_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": 2,
    "keepalives": 1,
    "keepalives_idle": 1,
    "keepalives_interval": 1,
    "keepalives_count": 2,
    "tcp_user_timeout": 1500,
    "options": "-c idle_in_transaction_session_timeout=5000 -c lock_timeout=5000",
}
SCHEMA_HEAD = "0007"  # the chain: 0003 > 0004 > 0008 > 0006 > 0005 > 0009 > 0007 (merge order)


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    return config


def _stored_revision(engine: Engine) -> str | None:
    """The schema revision the database says it has (None: new or not yet migrated)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent).

    WHY the revision is read first: importing Alembic costs ~0.3 s, and at a
    normal start the schema is already current, so Alembic loads only to migrate."""
    if _stored_revision(engine) == SCHEMA_HEAD:
        return
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two consoles starting at once on an empty database: the second waits here, then
            # finds the schema current (Alembic re-reads the version inside the lock).
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        command.upgrade(_alembic_config(connection), "head")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def open_database(url: str | None = None, *, integrity_check: bool = False,
                  lock_wait_s: float = OPEN_BUSY_TIMEOUT_S, anchor_folder: Path | None = None) -> Database:
    """Open (and create or migrate) the records database at ``url`` (default: user data dir).

    ``integrity_check`` runs SQLite's ``PRAGMA quick_check`` (reads the whole
    file; use at start-up on small databases or from a maintenance command).
    ``lock_wait_s``: how long to wait at open for a SQLite file another program holds locked.
    ``anchor_folder``: where this station keeps its audit anchor key and signed heads (default: the
    station's data folder; ``records.anchor``).
    Raises ``RecordsUnavailable`` with a plain message on any problem.
    """
    url = url or default_url()
    try:
        parsed = make_url(url)
    except SQLAlchemyError as exc:
        raise RecordsUnavailable(f"The records database setting is not a valid address: {url!r}") from exc
    is_sqlite = parsed.get_backend_name() == "sqlite"
    try:
        if is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                folder = Path(parsed.database).parent
                if not folder.is_dir():
                    raise RecordsUnavailable(f"The records folder does not exist: {folder}")
            engine = _sqlite_engine(url, lock_wait_s)
            _prepare_sqlite(engine, integrity_check)
        else:
            engine = create_engine(url, pool_pre_ping=True, connect_args=_pg_connect_args(parsed))
        upgrade(engine)
        _check_schema(engine)
    except RecordsUnavailable:
        raise
    except (DBAPIError, SQLAlchemyError, OSError, sqlite3.Error) as exc:
        raise RecordsUnavailable(plain_message(exc)) from exc
    if is_sqlite:
        engine.dispose()
        if parsed.database and parsed.database != ":memory:":
            secure_sqlite_files(Path(parsed.database))  # the hashes and records are the owner's alone
        engine = _sqlite_engine(url, SQLITE_BUSY_TIMEOUT_S)
        write_engine = engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")
    else:
        write_engine = engine
    db = Database(
        url=url,
        engine=engine,
        _sessions=sessionmaker(engine, expire_on_commit=False),
        _write_sessions=sessionmaker(write_engine, expire_on_commit=False),
    )
    from .anchor import install_anchor

    install_anchor(db, anchor_folder or user_data_folder())
    return db


def open_writer_database(url: str, anchor_folder: Path | None = None, *,
                         synchronous: str = "FULL") -> Database:
    """The records database as the sample writer's own process opens it: the same engine settings
    as ``open_database`` (busy timeout, WAL, ``BEGIN IMMEDIATE``, the PostgreSQL client timeouts,
    the audit anchor), without the checks and migrations: the console opened (and migrated) the
    database already, and the writer's process must be ready in well under a second.

    ``synchronous`` (SQLite): "NORMAL" only for commits of records the session's journal holds
    fsynced, and no event (``records.commit_process``; docs/safety-case.md, hazard 9)."""
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url, SQLITE_BUSY_TIMEOUT_S, synchronous)
        write_engine = engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")
    else:
        engine = create_engine(url, pool_pre_ping=True, connect_args=_pg_connect_args(parsed))
        write_engine = engine
    db = Database(url=url, engine=engine, _sessions=sessionmaker(engine, expire_on_commit=False),
                  _write_sessions=sessionmaker(write_engine, expire_on_commit=False))
    from .anchor import install_anchor

    install_anchor(db, anchor_folder or user_data_folder())
    return db


def _pg_connect_args(parsed: Any) -> dict[str, Any]:
    """The client timeouts above, unless the URL sets one itself (the URL wins)."""
    if parsed.get_backend_name() != "postgresql":
        return {}
    return {key: value for key, value in PG_CONNECT_ARGS.items() if key not in parsed.query}


def _prepare_sqlite(engine: Engine, integrity_check: bool) -> None:
    # Raw DBAPI connection (autocommit, see _on_connect): PRAGMA journal_mode
    # cannot change inside a transaction, and the probes below manage their own.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # Reading the schema fails at once on a file that is not a database.
        cursor.execute("SELECT count(*) FROM sqlite_master").fetchone()
        (mode,) = cursor.execute("PRAGMA journal_mode=WAL").fetchone()
        if str(mode).lower() != "wal" and engine.url.database not in (None, "", ":memory:"):
            raise RecordsUnavailable(f"The records database could not switch to WAL journaling (mode {mode}).")
        if integrity_check:
            (result,) = cursor.execute("PRAGMA quick_check").fetchone()
            if str(result).lower() != "ok":
                raise RecordsUnavailable(
                    "The records database file is damaged; restore it from a backup before treating. "
                    f"(check: {result})"
                )
        # A write probe: a database locked by another program fails here, not mid-session.
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("ROLLBACK")
        cursor.close()
    finally:
        raw.close()


def _check_schema(engine: Engine) -> None:
    from .models import Base

    names = set(inspect(engine).get_table_names())
    missing = set(Base.metadata.tables) - names
    if missing:
        raise RecordsUnavailable(f"The records database is missing tables after migration: {sorted(missing)}")


def ping(db: Database) -> None:
    """Raise ``RecordsUnavailable`` unless the database answers (call before starting a treatment)."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()
    except (DBAPIError, SQLAlchemyError) as exc:
        raise RecordsUnavailable(plain_message(exc)) from exc
