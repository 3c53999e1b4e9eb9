"""Test-wide settings: Qt runs offscreen so the suite needs no display, and nothing
writes to the user's real records database."""

import gc
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def records_in_tmp(tmp_path, monkeypatch):
    """Any code that opens the default records database gets a fresh file in tmp_path."""
    monkeypatch.setenv("IONTO_DATABASE_URL", f"sqlite:///{tmp_path / 'records.sqlite3'}")
    # The station's data folder (audit anchor key and heads, station identity) too.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    # IONTO_DATA_DIR moves it as a whole (identity, journal, records-file marker, anchor).
    monkeypatch.setenv("IONTO_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(autouse=True, scope="module")
def short_collector_pauses():
    """Freeze what is alive when a module starts, so a full garbage collection scans only
    that module's own objects.

    WHY: the suite runs in one process whose heap grows test after test; a full
    (generation 2) collection then holds the GIL long enough (measured 90 ms early,
    hundreds of ms late in the run) to starve the link's heartbeat thread past the
    board's 250 ms watchdog and the controller past its 200 ms lost-telemetry limit.
    The console does the same after start-up (``app.py``)."""
    gc.collect()
    gc.freeze()
    yield


@pytest.fixture
def fast_passwords(monkeypatch):
    """Cheap argon2 parameters for tests that sign in: the suite shares a 2-core machine."""
    from argon2 import PasswordHasher

    from ionto_console import accounts

    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def db(tmp_path):
    """A fresh, migrated records database in tmp_path."""
    from ionto_console.records import open_database

    database = open_database(f"sqlite:///{tmp_path / 'records.sqlite3'}")
    yield database
    database.close()
