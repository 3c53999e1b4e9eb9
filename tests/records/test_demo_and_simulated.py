"""Demo and clinic are two worlds in the records: the demo mark, and simulated sessions and calibrations.

A clinic's database never takes a simulated session or calibration; a demo
database is marked inside itself; simulated sessions are never billed,
exported to FHIR or counted in a course.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ionto_console.records import (
    InvalidRecord,
    RecordsUnavailable,
    billing_summary,
    calibrations_of,
    course_view,
    finish_session,
    load_session,
    open_database,
    sqlite_url,
    record_calibration,
    start_session,
    verify_audit,
)
from ionto_console.records.demo import (
    claim_for_demo, holds_records, is_demo, is_demo_place, mark_as_demo, refuse_demo, will_create,
)
from ionto_console.records.fhir_export import fhir_bundle
from ionto_console.records.models import AuditEntry, Patient, TreatmentSession
from ionto_console.records.store import refuse_simulated_in_clinic

from records_helpers import DEXA, TAP_WATER, UTC, new_patient, session_start

D0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def counts(db) -> tuple[int, int, int]:
    with db.read() as s:
        return tuple(s.scalar(select(func.count()).select_from(model))  # type: ignore[return-value]
                     for model in (Patient, TreatmentSession, AuditEntry))


def closed(db, patient: int, protocol: str, day: int, *, simulated: bool, minutes: float = 20) -> int:
    start = D0 + dt.timedelta(days=day)
    sid = start_session(db, session_start(patient, protocol, started_at=start, simulated=simulated,
                                          diagnosis_code="L74.512"))
    finish_session(db, sid, state="complete", reason="", dose_delivered_ma_min=40, who="dana",
                   ended_at=start + dt.timedelta(minutes=minutes))
    return sid


def test_a_new_database_is_not_demo_until_marked_and_the_mark_is_audited_once(db):
    assert not is_demo(db) and not holds_records(db)
    mark_as_demo(db)
    mark_as_demo(db)  # idempotent
    assert is_demo(db)
    with db.read() as s:
        actions = s.scalars(select(AuditEntry.action)).all()
    assert actions == ["mark demo"]
    assert verify_audit(db).ok


def test_demo_mode_marks_an_empty_database_it_created_and_refuses_one_that_holds_records(db, tmp_path):
    url = sqlite_url(tmp_path / "demo.sqlite3")
    created = will_create(url)
    with open_database(url) as empty:
        claim_for_demo(empty, created=created)
        assert created and is_demo(empty)
    new_patient(db)  # a clinic's database: records, no mark
    with pytest.raises(RecordsUnavailable, match="not a demo database"):
        claim_for_demo(db)
    assert not is_demo(db)  # refused, not marked


def test_a_clinical_console_refuses_the_demo_database(db):
    refuse_demo(db)  # a clinic's database passes
    mark_as_demo(db)
    with pytest.raises(RecordsUnavailable, match="demo"):
        refuse_demo(db)


@pytest.mark.parametrize("simulated, serial", [(True, "IONTO1-000042"), (False, "SIM-00001"), (True, "SIM-00001")])
def test_a_clinics_database_refuses_a_simulated_session_and_keeps_nothing(db, simulated, serial):
    pid = new_patient(db)
    before = counts(db)
    start = session_start(pid, TAP_WATER, simulated=simulated)
    start = type(start)(**{**start.__dict__, "board_serial": serial})
    with pytest.raises(InvalidRecord, match="not kept in a clinic's records"):
        start_session(db, start)
    assert counts(db) == before
    assert verify_audit(db).ok


def test_a_demo_database_keeps_the_simulated_flag(db):
    mark_as_demo(db)
    pid = new_patient(db)
    simulated = closed(db, pid, TAP_WATER, 0, simulated=True)
    real = closed(db, pid, TAP_WATER, 1, simulated=False)
    assert load_session(db, simulated).simulated is True
    assert load_session(db, real).simulated is False


def test_a_clinics_database_refuses_a_simulated_calibration(db):
    result = {"mode": "calibrate", "verdict": "pass", "engineer": "Ravi", "board_serial": "IONTO1-000042",
              "written": True, "finished_at": D0.isoformat(), "simulated": True}
    before = counts(db)
    with pytest.raises(InvalidRecord, match="calibration on the simulated board"):
        record_calibration(db, result, who="Ravi")
    with pytest.raises(InvalidRecord, match="simulator's serial"):
        record_calibration(db, {**result, "simulated": False, "board_serial": "SIM-00001"}, who="Ravi")
    assert counts(db) == before and calibrations_of(db, "IONTO1-000042") == []
    record_calibration(db, {**result, "simulated": False}, who="Ravi")  # a real board's calibration is kept
    mark_as_demo(db)
    record_calibration(db, {**result, "board_serial": "SIM-00001"}, who="Ravi")
    (stored,) = calibrations_of(db, "SIM-00001")
    assert stored.simulated


def test_simulated_sessions_are_not_billed(db):
    mark_as_demo(db)
    pid = new_patient(db)
    real = closed(db, pid, TAP_WATER, 0, simulated=False)
    closed(db, pid, TAP_WATER, 1, simulated=True)
    lines = billing_summary(db, dt.date(2026, 6, 1), dt.date(2026, 6, 30))
    assert [line.session_id for line in lines] == [real]


def test_a_simulated_session_is_not_exported_to_fhir(db):
    mark_as_demo(db)
    pid = new_patient(db)
    real = closed(db, pid, TAP_WATER, 0, simulated=False)
    simulated = closed(db, pid, TAP_WATER, 1, simulated=True)
    assert fhir_bundle(db, real).type == "collection"
    with pytest.raises(InvalidRecord, match="simulated board"):
        fhir_bundle(db, simulated)


def test_simulated_sessions_count_in_no_course_and_date_no_corticosteroid(db):
    mark_as_demo(db)
    pid = new_patient(db)
    closed(db, pid, DEXA, 0, simulated=False)
    closed(db, pid, DEXA, 6, simulated=True)  # the day before the planned one: would warn if counted
    closed(db, pid, TAP_WATER, 2, simulated=True)
    view = course_view(db, pid, planned_at=D0 + dt.timedelta(days=7), planned_protocol=None)
    names = {c.name: len(c.entries) for c in view.courses}
    assert names == {DEXA: 1}
    assert view.last_corticosteroid_at == D0
    from records_helpers import load_protocol

    planned = course_view(db, pid, planned_at=D0 + dt.timedelta(days=7), planned_protocol=load_protocol(DEXA))
    assert not any("consecutive" in w.message for w in planned.warnings)
    # a session planned on the simulated board itself (the demo) sees the demo's sessions, rule included
    demo = course_view(db, pid, planned_at=D0 + dt.timedelta(days=7), planned_protocol=load_protocol(DEXA),
                       include_simulated=True)
    assert {c.name: len(c.entries) for c in demo.courses} == {DEXA: 3, TAP_WATER: 1}
    # the corticosteroid rule counts the demo's own session of the day before (its message is the checklist's)
    assert demo.last_corticosteroid_at == D0 + dt.timedelta(days=6)


def test_sessions_recorded_before_the_field_existed_read_as_not_simulated(tmp_path, monkeypatch):
    from alembic import command

    from ionto_console.records import audit
    from ionto_console.records.database import _alembic_config

    url = sqlite_url(tmp_path / "old.sqlite3")
    with open_database(url) as db:
        # Written as a release before 0004 wrote them: no record seals either (migration 0006 came later;
        # downgrading drops the seal columns, and entries hashed with them would no longer verify).
        monkeypatch.setattr(audit, "_seal", lambda *_: (None, None, None))
        pid = new_patient(db)
        sid = closed(db, pid, TAP_WATER, 0, simulated=False)
        monkeypatch.undo()
        with db.engine.begin() as connection:  # back to the schema before 0004, the row kept
            command.downgrade(_alembic_config(connection), "0003")
    with open_database(url) as db:  # migrated again at open
        assert load_session(db, sid).simulated is False and not is_demo(db)
        assert verify_audit(db).ok


ASCII_SERIAL = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=0, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=ASCII_SERIAL, real=ASCII_SERIAL.filter(lambda s: not s.upper().startswith("SIM-")),
       simulated=st.booleans())
def test_a_clinics_records_take_no_board_that_is_or_says_it_is_the_simulator(sqlite_db, tail, real, simulated):
    """Property: in a database not marked demo, any serial the simulator can report is refused, and a
    real board's serial is refused exactly when the session is flagged simulated."""
    with sqlite_db.write() as s:
        with pytest.raises(InvalidRecord):
            refuse_simulated_in_clinic(s, simulated, "SIM-" + tail, "session")
        if simulated:
            with pytest.raises(InvalidRecord):
                refuse_simulated_in_clinic(s, simulated, real, "session")
        else:
            refuse_simulated_in_clinic(s, simulated, real, "session")


def test_demo_mode_never_marks_an_empty_database_it_did_not_create(db, tmp_path):
    """A clinic's new database (schema made, no records yet) is not the demo's to claim."""
    with pytest.raises(RecordsUnavailable, match="demo mode did not create it"):
        claim_for_demo(db)  # a server database: never created by demo mode
    assert not is_demo(db)
    url = sqlite_url(tmp_path / "clinic" / "records.sqlite3")
    (tmp_path / "clinic").mkdir()
    open_database(url).close()  # the clinic's first start made the schema
    assert not will_create(url)
    with open_database(url) as clinic:
        with pytest.raises(RecordsUnavailable, match="demo mode did not create it"):
            claim_for_demo(clinic, created=False)
        assert not is_demo(clinic)
        refuse_demo(clinic)  # the clinic's console still takes it


def test_demo_mode_takes_an_empty_database_at_its_own_place(tmp_path):
    (tmp_path / ".demo").mkdir()
    url = sqlite_url(tmp_path / ".demo" / "records.sqlite3")
    open_database(url).close()  # e.g. a demo start that stopped before it marked
    assert is_demo_place(url) and not will_create(url)
    with open_database(url) as own:
        claim_for_demo(own)
        assert is_demo(own)


def test_a_demo_session_shows_its_place_in_the_demos_course_and_a_real_one_counts_no_simulated(db):
    """Issue 14 (new-user pass item 3): the Records tab showed demo sessions without "session N of M"
    (their course left simulated sessions out, as it must for a clinical course), while the PDF had it."""
    from ionto_console.control.records_service import RecordsService
    from ionto_console.records import report_data

    mark_as_demo(db)
    pid = new_patient(db)
    real = closed(db, pid, TAP_WATER, 0, simulated=False)
    demo = [closed(db, pid, TAP_WATER, day, simulated=True) for day in (3, 6)]
    service = RecordsService(db)
    try:
        def position(session_id: int) -> str:
            answers = []
            service.open_session(session_id, answers.append)
            service.worker.wait_idle(30)
            service.worker.drain()
            (outcome,) = answers
            assert outcome.ok, outcome.error
            return outcome.value.position

        import re

        def number(line: str) -> int:
            """The session's number in its course ("First session" is 1: no planned number, said plainly)."""
            found = re.search(r"— (?:Session (\d+)|First session) of the demo course .* \(simulated\)", line)
            assert found, line
            return int(found.group(1) or 1)

        assert number(position(demo[1])) == number(position(demo[0])) + 1
        assert f"— {report_data(db, demo[1], plot_points=20)['session']['course_position']} of the demo course" \
            in position(demo[1])  # the screen and the PDF agree
        # the real session's course: itself alone, whatever the demo did after it
        assert "First session of the course" in position(real) and "demo" not in position(real)
        real_courses = course_view(db, pid)
        assert [e.session_id for c in real_courses.courses for e in c.entries] == [real]
    finally:
        service.close()
