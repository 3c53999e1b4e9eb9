"""Fault drills on the records database: unavailable at Start, failing in the middle of a session.

The rule (DESIGN §4, USERS: "never loses a record"): the console never treats
unrecorded. A database that cannot be used at Start refuses the treatment with
the reason; one that fails mid-session stops the output and says why, and the
samples already committed survive to be recovered as an interrupted session.
"""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import event

from ionto_console.app import open_records
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.core.session import SessionState
from ionto_console.records import database as records_database
from ionto_console.records import writer as records_writer
from ionto_console.records import load_samples, load_session, open_database, recover_interrupted, sqlite_url
from drill_bench import (DEADLINE_S, Bench, assert_nothing_lost, assert_record_intact, assert_samples_kept,
                         drill_plan, sqlite_path)
from support import wait_for


def assert_refused(desk: TreatmentDesk, bench: Bench, *words: str) -> None:
    """Start is refused with a reason naming the records; nothing was started on the board."""
    blockers = desk.blockers(drill_plan())
    assert any("records" in line.lower() and all(w in line.lower() for w in words) for line in blockers), blockers
    with pytest.raises(ValueError, match="records are unavailable"):
        desk.begin(drill_plan())
    assert desk.controller is None
    assert bench.board_output() == (False, 0.0)
    assert not bench.station.snapshot().live.output_on


def test_damaged_records_file_at_start_refuses_the_treatment(bench, tmp_path):
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"this is not a database file, it was overwritten by a backup tool" * 64)
    db, problem, _ = open_records(sqlite_url(damaged))
    assert db is None and problem
    desk = TreatmentDesk(bench.station, db=None, db_problem=problem, demo=True)
    assert_refused(desk, bench, "damaged")


def test_unreachable_clinic_database_at_start_refuses_the_treatment(bench):
    """The clinic's PostgreSQL server is down (nothing listens on the port)."""
    db, problem, _ = open_records("postgresql+psycopg://ionto:secret@127.0.0.1:9/ionto?connect_timeout=2")
    assert db is None and problem
    desk = TreatmentDesk(bench.station, db=None, db_problem=problem, demo=True)
    assert_refused(desk, bench)


def test_records_locked_by_another_program_at_start_refuses_the_treatment(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(records_database, "SQLITE_BUSY_TIMEOUT_S", 0.3)  # keep the drill short
    db = open_database(sqlite_url(sqlite_path(tmp_path)))
    desk = TreatmentDesk(bench.station, db=db, demo=True)
    other = sqlite3.connect(sqlite_path(tmp_path), isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(ValueError, match="records"):
            desk.begin(drill_plan())
        assert desk.controller is None and bench.board_output() == (False, 0.0)
    finally:
        other.close()
        desk.shutdown()
        db.close()


def commit_in_this_process(monkeypatch) -> None:
    """The cap below acts on this process's connections: the session's writer must commit here, not
    in its own process (tests/records/test_commit_process.py drills that one with real faults)."""
    monkeypatch.setattr(records_writer, "COMMIT_IN_PROCESS", False)


def fill_the_disk(bench: Bench):
    """From now on SQLite reports SQLITE_FULL on every new sample chunk (a real error, not a mock)."""

    def cap(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO SAMPLE_CHUNKS"):
            (pages,) = cursor.execute("PRAGMA page_count").fetchone()
            cursor.execute(f"PRAGMA max_page_count={pages}")

    event.listen(bench.db.engine, "before_cursor_execute", cap)
    return lambda: event.remove(bench.db.engine, "before_cursor_execute", cap)


def free_the_disk(bench: Bench) -> None:
    """Lift the cap on every connection: ``max_page_count`` is per connection, and the pool may hold
    more than the capped one (the desk's background records check opens its own while the writer
    holds another), so the pooled connections are also dropped and reopened uncapped."""
    with bench.db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA max_page_count=1073741823")
    bench.db.engine.dispose()


def test_disk_full_mid_session_stops_the_output_and_loses_nothing(bench, monkeypatch):
    """SQLITE_FULL mid-session: output off with the reason; once space is freed, every sample the
    console saw is in the record, closed with its true reason (not "crash")."""
    commit_in_this_process(monkeypatch)
    controller = bench.start_treating()
    undo = fill_the_disk(bench)
    bench.wait_ended()
    snap = controller.snapshot()
    assert snap.state is SessionState.INTERRUPTED, snap
    bench.wait_output_off()
    wait_for(lambda: controller.history.view().current_ma[-1] < 0.05, DEADLINE_S, "zero current in telemetry")
    alarm = bench.alarm_message().lower()
    assert "interrupted" in alarm and "records" in alarm and "full" in alarm, alarm
    # No new treatment until records can be saved again.
    assert any("records" in line.lower() for line in bench.desk.blockers(drill_plan()))
    recorder = bench.desk.recorder
    assert recorder.journaled.wait(DEADLINE_S) and not recorder.finished.is_set()
    # Space is freed: the waiting samples, events and the end go in; the record closes truly.
    undo()
    free_the_disk(bench)
    summary = bench.wait_record_closed()
    assert summary.state == "interrupted" and "full" in summary.reason.lower(), summary
    series = assert_nothing_lost(bench.db, recorder)
    assert summary.sample_count == len(series)
    assert_samples_kept(series)
    assert "trip:records" not in bench.event_kinds() and "state" in bench.event_kinds()
    assert recover_interrupted(bench.db) == []
    assert_record_intact(bench.db)


def test_closing_the_record_on_a_full_disk_is_reported_not_raised(bench, monkeypatch):
    escaped: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_value))
    commit_in_this_process(monkeypatch)
    bench.start_treating()
    undo = fill_the_disk(bench)
    try:
        bench.wait_ended()
        assert bench.desk.recorder.journaled.wait(DEADLINE_S)
    finally:
        undo()
    assert escaped == [], [repr(exc) for exc in escaped]
