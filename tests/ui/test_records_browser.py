"""The records browser: search by each criterion, read a session, replay it, export it, verify the trail."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from ionto_console.records import (
    Calibration,
    PatientData,
    SampleSeries,
    SampleWriter,
    SessionStart,
    add_note,
    create_patient,
    finish_session,
    open_database,
    record_side_effect,
    sign_session,
    start_session,
)
from ionto_console.ui.records_browser import RecordsBrowser

UTC = dt.timezone.utc
CAL = Calibration(gain=1.002, offset_ua=-1.5, date=dt.datetime(2026, 3, 1, tzinfo=UTC))
OVERRIDES = {"overridden": [{"check": "consecutive_corticosteroid", "message": "Corticosteroid yesterday",
                             "reason": "Physician ordered it, see chart"}]}


def protocol(name: str) -> dict:
    return json.loads(resources.files("ionto_console.resources").joinpath("protocols", f"{name}.json")
                      .read_text("utf-8"))


def record(db, patient_id: int, protocol_name: str, started: dt.datetime, *, state: str, reason: str = "",
           side_effect: str | None = None, minutes: float = 2.0, rate_hz: int = 50) -> int:
    sid = start_session(db, SessionStart(patient_id=patient_id, protocol=protocol(protocol_name), operator="dana",
                                         station="station-1", board_serial="IONTO1-000042", calibration=CAL,
                                         checklist={"pacemaker": False, "informed": True}, overrides=OVERRIDES,
                                         course_planned_sessions=6, started_at=started))
    writer = SampleWriter(db, sid)
    n = int(minutes * 60 * rate_hz)
    t = np.arange(n) / rate_hz
    target = np.minimum(3.0, t / 20).astype(np.float32)
    writer.add_block(SampleSeries(t, target + np.float32(0.02), np.full(n, 18.0, np.float32),
                                  np.full(n, 6.2, np.float32), target, np.full(n, 3, np.uint16)))
    writer.add_event("trip:open_circuit", "Open circuit: electrode contact lost", {"voltage_v": 89.8}, t=30.0,
                     alarm=True, at=started + dt.timedelta(seconds=30))
    writer.close()
    if side_effect:
        record_side_effect(db, sid, kind=side_effect, who="dana", at=started + dt.timedelta(minutes=1), note="pale")
    finish_session(db, sid, state=state, reason=reason, dose_delivered_ma_min=4.5, who="dana",
                   ended_at=started + dt.timedelta(minutes=minutes))
    add_note(db, sid, "Patient rested 10 min.", author="dana", at=started + dt.timedelta(minutes=minutes + 1))
    sign_session(db, sid, name="Dana Miller", meaning="performed and reviewed",
                 at=started + dt.timedelta(minutes=minutes + 2))
    return sid


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "records.sqlite3"


@pytest.fixture
def sessions(db_path):
    """Three sessions: Ann stopped for dizziness (May 4), Bob complete on tap water (May 6), Ann faulted (June 1)."""
    db = open_database(f"sqlite:///{db_path}")
    ann = create_patient(db, PatientData("P-0001", "Ann Example", dt.date(1980, 5, 17)), who="dana")
    bob = create_patient(db, PatientData("P-0002", "Bob Sample"), who="dana")
    ids = {
        "ann_may": record(db, ann, "dexamethasone-4mgml-40", dt.datetime(2026, 5, 4, 8, 10, tzinfo=UTC),
                          state="stopped", reason="Dizziness", side_effect="dizziness"),
        "bob_may": record(db, bob, "tap-water-hands-dc", dt.datetime(2026, 5, 6, 9, 0, tzinfo=UTC), state="complete",
                          minutes=3.0),
        "ann_june": record(db, ann, "dexamethasone-4mgml-40", dt.datetime(2026, 6, 1, 10, 0, tzinfo=UTC),
                           state="faulted", reason="Board lost", side_effect="nausea"),
    }
    yield db, ids
    db.close()


@pytest.fixture
def browser(qtbot, sessions):
    db, _ids = sessions
    widget = RecordsBrowser(db)
    qtbot.addWidget(widget)
    widget.resize(1300, 820)
    widget.show()
    return widget


def found(browser: RecordsBrowser, **criteria) -> set[int]:
    browser.set_criteria(**criteria)
    return {item.id for item in browser.run_search()}


def test_lists_every_session_newest_first(browser, sessions):
    _db, ids = sessions
    assert [item.id for item in browser.results()] == [ids["ann_june"], ids["bob_may"], ids["ann_may"]]
    assert browser.table.rowCount() == 3
    assert "Bob Sample (P-0002)" in browser.table.item(1, 1).text()
    assert browser.table.item(2, 5).text() == "dizziness"
    assert browser.table.item(2, 4).text().startswith("4.5 / ")


def test_search_by_each_criterion(browser, sessions):
    _db, ids = sessions
    assert found(browser, patient="bob") == {ids["bob_may"]}
    assert found(browser, patient="P-0001") == {ids["ann_may"], ids["ann_june"]}
    assert found(browser, date_from=dt.date(2026, 5, 5), date_to=dt.date(2026, 5, 31)) == {ids["bob_may"]}
    assert found(browser, date_from=dt.date(2026, 5, 6)) == {ids["bob_may"], ids["ann_june"]}
    assert found(browser, date_to=dt.date(2026, 5, 4)) == {ids["ann_may"]}
    assert found(browser, protocol="tap water") == {ids["bob_may"]}
    assert found(browser, outcome="faulted") == {ids["ann_june"]}
    assert found(browser, side_effect="dizziness") == {ids["ann_may"]}
    assert found(browser, patient="ann", side_effect="nausea", outcome="faulted") == {ids["ann_june"]}
    assert found(browser, patient="nobody") == set()
    assert "No session matches" in browser.message()


def test_from_after_to_is_explained(browser):
    assert found(browser, date_from=dt.date(2026, 6, 1), date_to=dt.date(2026, 5, 1)) == set()
    assert "'From' date is after the 'To' date" in browser.message()


def test_selecting_a_row_shows_summary_course_and_plots(qtbot, browser, sessions):
    _db, ids = sessions
    assert browser.plots.curve_points() == 0
    browser.select_row(2)  # Ann, May 4
    assert browser.selected_session_id == ids["ann_may"]
    text = browser.summary_view.toPlainText()
    for needle in ("Ann Example (P-0001)", "STOPPED: Dizziness", "dana", "station-1", "IONTO1-000042",
                   "gain 1.0020", "2026-03-01", "dizziness — pale", "Corticosteroid yesterday",
                   "Physician ordered it", "Patient rested 10 min.", "Dana Miller — performed and reviewed",
                   "6,000"):
        assert needle in text, needle
    assert browser.plots.curve_points() > 0
    assert sorted(browser.markers()) == [(30.0, "open circuit"), (60.0, "dizziness")]
    assert "Session 1 of 6" in browser.position_label.text()
    course = browser.course_view.toPlainText()
    assert "Session 2 of 6" in course and "this session" in course
    browser.select_row(0)  # Ann, June 1: session 2 of her course
    assert "Session 2 of 6" in browser.position_label.text()
    assert "nausea" in browser.summary_view.toPlainText()
    assert sorted(browser.markers()) == [(30.0, "open circuit"), (60.0, "nausea")]  # the old ones are gone
    assert browser.grab().save("/tmp/records_browser.png")


def test_course_warning_is_shown(qtbot, sessions):
    """Two corticosteroid sessions on consecutive days: the course view says so."""
    db, _ids = sessions
    pid = create_patient(db, PatientData("P-0003", "Cleo Steroid"), who="dana")
    record(db, pid, "dexamethasone-4mgml-40", dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC), state="complete",
           minutes=0.5)
    second = record(db, pid, "dexamethasone-4mgml-40", dt.datetime(2026, 7, 2, 8, 0, tzinfo=UTC),
                    state="complete", minutes=0.5)
    widget = RecordsBrowser(db)
    qtbot.addWidget(widget)
    assert widget.show_session(second)
    assert "Corticosteroid on consecutive days" in widget.course_view.toPlainText()
    assert "Corticosteroid on consecutive days" in widget.position_label.text()


def pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes()))


def test_exports_write_files(browser, sessions, tmp_path):
    _db, ids = sessions
    assert browser.show_session(ids["ann_may"])
    samples, events = browser.export_csv(tmp_path / "ann.csv")
    rows = list(csv.reader(io.StringIO(samples.read_text())))
    assert rows[0][:2] == ["t_s", "current_ma"] and len(rows) == 6001
    event_rows = list(csv.reader(io.StringIO(events.read_text())))
    assert event_rows[0][0] == "at_utc" and any("Open circuit" in r[4] for r in event_rows[1:])
    assert events.name == "ann-events.csv"

    pdf = browser.export_pdf(tmp_path / "ann.pdf")
    assert pdf is not None and pdf.read_bytes().startswith(b"%PDF") and pdf_pages(pdf) == 1

    fhir = browser.export_fhir(tmp_path / "ann.json")
    bundle = json.loads(fhir.read_text())
    assert bundle["resourceType"] == "Bundle" and bundle["entry"]
    assert "Saved the FHIR bundle" in browser.message()


def test_billing_csv_for_a_month(browser, tmp_path):
    path = browser.export_billing(tmp_path / "may.csv", dt.date(2026, 5, 17))
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0][0] == "session_uid"
    assert [r[3] for r in rows[1:-1]] == ["Ann Example", "Bob Sample"]  # June's session is not in May
    assert rows[-1][0] == "TOTAL"
    assert "2 session(s)" in browser.message()


def test_exports_need_a_selected_session(browser, tmp_path):
    assert browser.export_pdf(tmp_path / "x.pdf") is None
    assert "select a session first" in browser.message()
    assert not (tmp_path / "x.pdf").exists()
    assert not browser.pdf_button.isEnabled()


def test_export_to_a_missing_folder_is_a_message(browser, sessions, tmp_path):
    _db, ids = sessions
    browser.show_session(ids["bob_may"])
    assert browser.export_fhir(tmp_path / "no" / "such" / "dir.json") is None
    assert "Could not export the FHIR bundle" in browser.message()
    assert browser.export_pdf(tmp_path / "no" / "such" / "r.pdf") is None
    assert "folder does not exist" in browser.message()


def test_verify_audit_in_plain_words(browser, sessions, db_path):
    assert browser.verify_audit().startswith("Audit trail intact:")
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE audit_log SET why = 'edited behind the console' WHERE seq = 3")
    text = browser.verify_audit()
    assert text.startswith("Audit trail BROKEN") and "edited" in text


def test_a_damaged_sample_chunk_is_a_message(browser, sessions, db_path):
    _db, ids = sessions
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE sample_chunks SET data = x'00' WHERE session_id = ?", (ids["bob_may"],))
    assert browser.show_session(ids["bob_may"])  # the summary is readable without the samples
    assert "Could not replay the samples" in browser.message() and "damaged" in browser.message()
    assert browser.selected_session_id == ids["bob_may"]
    assert "Bob Sample" in browser.summary_view.toPlainText()
    assert browser.plots.curve_points() == 0


def test_an_unknown_session_is_a_message(browser):
    assert browser.show_session(9999) is False
    assert "No session with id 9999" in browser.message()


def test_corrupt_or_missing_database_file_is_a_message(qtbot, tmp_path):
    widget = RecordsBrowser(None)
    qtbot.addWidget(widget)
    assert "No records database is open" in widget.message()
    assert widget.run_search() == []
    assert "no records database is open" in widget.message()
    assert widget.verify_audit().startswith("Could not verify")

    assert widget.open_path(tmp_path / "missing.sqlite3") is False
    assert "does not exist" in widget.message()
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"this is not a database at all" * 200)
    assert widget.open_path(corrupt) is False
    assert "damaged" in widget.message()
    assert widget.database is None


def test_open_path_browses_that_file(qtbot, sessions, db_path):
    widget = RecordsBrowser(None)
    qtbot.addWidget(widget)
    assert widget.open_path(db_path)
    assert len(widget.results()) == 3
    widget.database.close()


def test_a_database_gone_while_browsing_is_a_message(qtbot, sessions, db_path):
    db, ids = sessions
    widget = RecordsBrowser(db)
    qtbot.addWidget(widget)
    with sqlite3.connect(db_path) as raw:
        raw.execute("DROP TABLE side_effects")
    assert widget.run_search() == []
    assert widget.message().startswith("Could not search the records: ")
    assert widget.show_session(ids["ann_may"]) is False
    assert widget.message().startswith("Could not open session")


def test_showing_the_tab_again_lists_sessions_recorded_meanwhile(qtbot, browser, sessions):
    db, ids = sessions
    browser.select_row(1)
    assert browser.selected_session_id == ids["bob_may"]
    browser.hide()
    newest = record(db, create_patient(db, PatientData("P-0003", "Cy New"), who="dana"), "tap-water-hands-dc",
                    dt.datetime(2026, 7, 1, 9, 0, tzinfo=UTC), state="complete")
    assert browser.table.rowCount() == 3  # nothing re-reads while hidden
    browser.show()
    assert [item.id for item in browser.results()][0] == newest and browser.table.rowCount() == 4
    assert browser.selected_session_id == ids["bob_may"]  # what the therapist was reading stays selected
