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



def _find_pg_ctl() -> str | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if candidates:
        return candidates[0]
    return shutil.which("pg_ctl")


def _pg_unavailable_reason() -> str | None:
    pg_ctl = _find_pg_ctl()
    if pg_ctl is None or not Path(pg_ctl).with_name("initdb").exists():
        return "PostgreSQL server binaries (initdb, pg_ctl) not found"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server"
        if shutil.which("runuser") is None:
            return "running as root and 'runuser' is missing"
    return None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    reason = _pg_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from port_for import get_port
    from pytest_postgresql.executors import PostgreSQLExecutor

    # Not under pytest's basetemp: concurrent pytest runs prune old basetemps, which would pull the
    # data directory from under the running server.
    base = Path(tempfile.mkdtemp(prefix="ionto-records-pg-"))
    pg_ctl = _find_pg_ctl()
    assert pg_ctl is not None
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        wrapper = base / "pg_ctl_as_postgres"
        wrapper.write_text(f'#!/bin/sh\nexec runuser -u postgres -- "{pg_ctl}" "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        home = base / "cluster"
        home.mkdir()
        os.chown(home, user.pw_uid, user.pw_gid)
        # The postgres user must be able to reach the cluster folder.
        for parent in [base, *base.parents]:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | stat.S_IXOTH)
        executable = str(wrapper)
    else:
        home = base / "cluster"
        home.mkdir()
        executable = pg_ctl
    executor = PostgreSQLExecutor(
        executable=executable, host="127.0.0.1", port=get_port(None), datadir=str(home / "data"),
        unixsocketdir=str(home), logfile=str(home / "server.log"), startparams="-w", dbname="ionto_tests",
        user="postgres",
    )
    try:
        executor.start()
        yield executor
    finally:
        try:
            executor.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


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
