"""Records outages mid-treatment: never treat unrecorded, lose nothing the console saw.

- A SQLite file locked by another program and a PostgreSQL server whose processes
  are stopped (SIGSTOP: the port is open, nothing answers, no client timeout fires):
  the output is off within a second, a HIGH alarm says the records are unavailable,
  and once the database answers again the record holds every sample up to the cut
  and is closed with its true reason.
- PostgreSQL killed: the output is cut, the journal keeps the rest; at the next start the
  record is completed from the journal and closed with its true reason (not "crash").
- Two consoles with the same station name on one PostgreSQL treat at once; a restart
  of one never touches the other's live session; both records complete.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from ionto_console.app import open_records
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.core.session import SessionState, SideEffect
from ionto_console.records import load_session
from ionto_sim.model import ResistorLoad
from ionto_sim.pty_server import SimulatedBoardServer
from drill_bench import (DEADLINE_S, DRILL_STATION_ID, TREATING_MA, Bench, assert_nothing_lost, assert_record_intact,
                         connect_station, drill_plan, sqlite_path)
from pg_support import hang_postgres, kill_postgres, restart_postgres, resume_postgres
from support import wait_for

#: The promise: output off within 1 s of the records going away.
OUTPUT_OFF_S = 1.0


def output_off_after(bench: Bench, since: float) -> float:
    bench.wait_output_off()
    return time.monotonic() - since


def assert_records_alarm(bench: Bench) -> None:
    alarm = bench.alarm_message().lower()
    assert "records" in alarm, alarm


def test_sqlite_locked_by_another_program_mid_session(bench, tmp_path):
    controller = bench.start_treating()
    other = sqlite3.connect(sqlite_path(tmp_path), isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        off_s = output_off_after(bench, locked_at)
        print(f"SQLite locked -> output off in {off_s * 1000:.0f} ms")
        assert off_s <= OUTPUT_OFF_S, f"output on for {off_s:.2f} s with nothing recorded"
        bench.wait_ended()
        assert controller.snapshot().state is SessionState.INTERRUPTED
        assert_records_alarm(bench)
        assert bench.desk.recorder.journaled.wait(DEADLINE_S)
    finally:
        other.execute("ROLLBACK")
        other.close()
    summary = bench.wait_record_closed()
    assert summary.state == "interrupted" and "records" in summary.reason.lower(), summary
    assert_nothing_lost(bench.db, bench.desk.recorder)
    assert_record_intact(bench.db)


@pytest.mark.postgres
def test_hung_postgresql_mid_session(pg_bench, drill_pg):
    bench = pg_bench
    controller = bench.start_treating()
    hang_postgres(drill_pg)
    try:
        hung_at = time.monotonic()
        off_s = output_off_after(bench, hung_at)
        print(f"PostgreSQL hung -> output off in {off_s * 1000:.0f} ms")
        assert off_s <= OUTPUT_OFF_S, f"output on for {off_s:.2f} s with nothing recorded"
        bench.wait_ended()
        assert controller.snapshot().state is SessionState.INTERRUPTED
        assert_records_alarm(bench)
        assert bench.desk.recorder.journaled.wait(DEADLINE_S)
        assert not bench.desk.recorder.finished.is_set()
    finally:
        resume_postgres(drill_pg)
    summary = bench.wait_record_closed()
    assert summary.state == "interrupted" and "records unavailable" in summary.reason.lower(), summary
    assert_nothing_lost(bench.db, bench.desk.recorder)
    assert_record_intact(bench.db)


@pytest.mark.postgres
def test_two_stations_with_the_same_name_on_one_postgresql(pg_bench, pg_url, tmp_path):
    first = pg_bench
    server = SimulatedBoardServer(load=ResistorLoad(5000.0), seed=11).start()
    station = connect_station(server.port)
    second_db = None
    second = None
    try:
        _, _, _ = open_records(pg_url, "drill-station", demo=True, station_id="00000000-0000-4000-8000-00000000b0b2",
                               data_folder=tmp_path / "other")
        from ionto_console.records import open_database

        second_db = open_database(pg_url)
        desk = TreatmentDesk(station, db=second_db, operator=lambda: "Other Therapist", station_name="drill-station",
                             demo=True,
                             station_id="00000000-0000-4000-8000-00000000b0b2", data_folder=tmp_path / "other")
        second = Bench(server, station, second_db, desk)
        first.start_treating()
        # the same new patient at both stations at the same moment: one patient record
        controller = desk.begin(drill_plan())
        wait_for(lambda: controller.snapshot().current_ma > TREATING_MA, DEADLINE_S, "current at the second")
        # the second console restarts its records (a crash and restart): the first's live session is not its own
        db, problem, recovered = open_records(pg_url, "drill-station", demo=True,
                                              station_id="00000000-0000-4000-8000-00000000b0b2",
                                              data_folder=tmp_path / "other")
        assert problem == "" and recovered == [], (problem, recovered)
        db.close()
        assert load_session(first.db, first.session_id).state == "running"
        assert first.controller.snapshot().state is SessionState.TREATING
        time.sleep(0.5)
        for bench in (first, second):
            bench.desk.stop(SideEffect.BURNING_TINGLING)
        for bench in (first, second):
            summary = bench.wait_record_closed()
            assert summary.state == "stopped", summary
            assert_nothing_lost(bench.db, bench.desk.recorder)
        from ionto_console.records import find_patients

        assert len([p for p in find_patients(first.db, "DRILL-0001") if p.identifier == "DRILL-0001"]) == 1
        assert_record_intact(first.db)
    finally:
        if second is not None:
            second.desk.shutdown()
        station.disconnect()
        if second_db is not None:
            second_db.close()
        server.stop()


@pytest.mark.postgres
def test_postgresql_killed_the_next_start_completes_the_record(pg_bench, pg_url, drill_pg, tmp_path):
    """Last in this module: it kills the module's server (and starts it again)."""
    bench = pg_bench
    bench.start_treating()
    recorder = bench.desk.recorder
    kill_postgres(drill_pg)
    try:
        off_s = output_off_after(bench, time.monotonic())
        print(f"PostgreSQL killed -> output off in {off_s * 1000:.0f} ms")
        assert off_s <= OUTPUT_OFF_S
        bench.wait_ended()
        assert_records_alarm(bench)
        assert recorder.journaled.wait(DEADLINE_S)
        bench.desk.shutdown()  # the console is closed while the server is down
        assert not recorder.finished.is_set()
    finally:
        restart_postgres(drill_pg)
    # the next start: the journal completes the record and closes it with its true reason
    db, problem, recovered = open_records(pg_url, "drill-station", demo=True, station_id=DRILL_STATION_ID,
                                          data_folder=tmp_path / "data")
    assert db is not None and problem == "", problem
    try:
        assert recovered == []  # not a crash: the journal knew how the session ended
        summary = load_session(db, recorder.session_id)
        assert summary.state == "interrupted" and "records" in summary.reason.lower(), summary
        assert "crash" not in summary.reason.lower()
        series = assert_nothing_lost(db, recorder)
        assert summary.sample_count == len(series)
        assert_record_intact(db)
        assert not list((tmp_path / "data" / "journal").glob("*.journal")), "the journal was not cleared"
    finally:
        db.close()
