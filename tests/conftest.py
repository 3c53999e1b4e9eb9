"""Test-wide settings: Qt runs offscreen so the suite needs no display, and nothing
writes to the user's real records database."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def records_in_tmp(tmp_path, monkeypatch):
    """Any code that opens the default records database gets a fresh file in tmp_path."""
    monkeypatch.setenv("IONTO_DATABASE_URL", f"sqlite:///{tmp_path / 'records.sqlite3'}")
