"""Record tests run on SQLite always and on PostgreSQL when its server binaries are on the machine.

The PostgreSQL server is one throwaway cluster per test run (pytest-postgresql's
``PostgreSQLExecutor``); each test gets a fresh database from its
``DatabaseJanitor``. PostgreSQL refuses to run as root, so when the tests run
as root the cluster runs as the ``postgres`` system user through a small
``runuser`` wrapper around ``pg_ctl``, with its directories owned by that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import stat
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from ionto_console.records import Database, open_database
from pg_support import throwaway_postgres



@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    with throwaway_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'records.sqlite3'}"
        return
    from pytest_postgresql.janitor import DatabaseJanitor

    server = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with DatabaseJanitor(user=server.user, host=server.host, port=server.port, dbname=name):
        yield f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/{name}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'records.sqlite3'}")
    try:
        yield database
    finally:
        database.close()
