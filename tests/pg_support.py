"""A throwaway PostgreSQL server for the record tests and the records drills.

The server is a fresh cluster (pytest-postgresql's ``PostgreSQLExecutor``).
PostgreSQL refuses to run as root, so when the tests run as root the cluster
runs as the ``postgres`` system user through a small ``runuser`` wrapper
around ``pg_ctl``, with its directories owned by that user.

CI must run the PostgreSQL tests, not skip them: with ``CI`` set, missing
server binaries fail the test loudly (``scripts/test.sh`` installs them).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest


def find_pg_ctl() -> str | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if candidates:
        return candidates[0]
    return shutil.which("pg_ctl")


def pg_unavailable_reason() -> str | None:
    pg_ctl = find_pg_ctl()
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


@contextlib.contextmanager
def throwaway_postgres(dbname: str = "ionto_tests") -> Iterator[Any]:
    """Start a fresh cluster; yields the executor (``.host``, ``.port``, ``.user``, ``.datadir``)."""
    reason = pg_unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason} (scripts/test.sh installs it)")
        pytest.skip(reason)
    from port_for import get_port
    from pytest_postgresql.executors import PostgreSQLExecutor

    # Not under pytest's basetemp: concurrent pytest runs prune old basetemps, which would pull the
    # data directory from under the running server.
    base = Path(tempfile.mkdtemp(prefix="ionto-records-pg-"))
    pg_ctl = find_pg_ctl()
    assert pg_ctl is not None
    home = base / "cluster"
    home.mkdir()
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        wrapper = base / "pg_ctl_as_postgres"
        wrapper.write_text(f'#!/bin/sh\nexec runuser -u postgres -- "{pg_ctl}" "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        os.chown(home, user.pw_uid, user.pw_gid)
        # The postgres user must be able to reach the cluster folder.
        for parent in [base, *base.parents]:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | stat.S_IXOTH)
        executable = str(wrapper)
    else:
        executable = pg_ctl
    executor = PostgreSQLExecutor(
        executable=executable, host="127.0.0.1", port=get_port(None), datadir=str(home / "data"),
        unixsocketdir=str(home), logfile=str(home / "server.log"), startparams="-w", dbname=dbname,
        user="postgres",
    )
    try:
        executor.start()
        yield executor
    finally:
        try:
            resume_postgres(executor)
            executor.stop()
        except Exception:  # noqa: BLE001 - a killed server may not stop cleanly
            pass
        finally:
            shutil.rmtree(base, ignore_errors=True)


def postgres_pids(executor: Any) -> list[int]:
    """The postmaster and every process it started (backends, writer, checkpointer...)."""
    pid_file = Path(executor.datadir) / "postmaster.pid"
    try:
        master = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    pids = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry.name))
    return pids


def signal_postgres(executor: Any, signum: int) -> None:
    for pid in postgres_pids(executor):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def hang_postgres(executor: Any) -> None:
    """Stop every server process (SIGSTOP): the server is there, the port is open, nothing answers."""
    signal_postgres(executor, signal.SIGSTOP)


def resume_postgres(executor: Any) -> None:
    signal_postgres(executor, signal.SIGCONT)


def kill_postgres(executor: Any) -> None:
    """SIGKILL every server process (a crashed server or host)."""
    signal_postgres(executor, signal.SIGKILL)


def restart_postgres(executor: Any) -> None:
    """Start a killed server again on its data directory (PostgreSQL runs crash recovery).

    The stale ``postmaster.pid`` is removed first: in a container without an init that reaps
    orphans, the killed postmaster lingers as a zombie and ``pg_ctl`` would take it as running."""
    import subprocess

    try:
        (Path(executor.datadir) / "postmaster.pid").unlink()
    except FileNotFoundError:
        pass
    subprocess.run(executor.command, shell=True, check=True, capture_output=True, timeout=60)
