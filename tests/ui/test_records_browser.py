"""The records browser: search by each criterion, read a session, replay it, export it, verify the trail.

Every test with the ``browser`` fixture also proves the tab never touches the
database on the GUI thread: ``QueryThreads`` records the thread of each SQL
statement the engine runs while the tab is open, and the fixture fails the
test if one ran on the main thread (the old tab ran all of them there).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3
import threading
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from sqlalchemy import event
from support import account

from ionto_console.control import exporters
from ionto_console.control.exporters import Exporter, ExportResult, ExportTarget, Scope
from ionto_console.control.records_service import RecordsService
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
from ionto_console.control.records_views import COLUMNS as COLUMNS_SHOWN
from ionto_console.ui.records_browser import NAME_COLUMN_PX, RecordsBrowser

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
    sign_session(db, sid, username=account(db, "dana", "Dana Miller"), meaning="performed and reviewed",
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


class QueryThreads:
    """The threads on which the engine ran SQL while listening (paused while a test writes records itself)."""

    def __init__(self, db) -> None:
        self.engine = db.engine
        self.threads: list[threading.Thread] = []
        self.listening = True
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        if self.listening:
            self.threads.append(threading.current_thread())

    @contextmanager
    def paused(self):
        """The test itself writes records on the main thread: not the tab's doing."""
        self.listening = False
        try:
            yield
        finally:
            self.listening = True

    def on_gui_thread(self) -> int:
        return sum(1 for t in self.threads if t is threading.main_thread())

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def settle(qtbot, browser: RecordsBrowser) -> RecordsBrowser:
    """Wait until the tab has shown the answers of everything it asked for."""
    qtbot.waitUntil(lambda: not browser.busy, timeout=30_000)
    return browser


def make_browser(qtbot, db) -> RecordsBrowser:
    widget = RecordsBrowser(RecordsService(db))
    qtbot.addWidget(widget)
    return settle(qtbot, widget)


@pytest.fixture
def threads(sessions):
    db, _ids = sessions
    seen = QueryThreads(db)
    yield seen
    seen.close()
    assert seen.threads, "the tab ran no query at all"
    assert seen.on_gui_thread() == 0, "the records tab queried the database on the GUI thread"


@pytest.fixture
def browser(qtbot, sessions, threads):
    db, _ids = sessions
    widget = RecordsBrowser(RecordsService(db))
    qtbot.addWidget(widget)
    widget.resize(1300, 820)
    widget.show()
    yield settle(qtbot, widget)
    widget.service.close()


def found(qtbot, browser: RecordsBrowser, **criteria) -> set[int]:
    browser.set_criteria(**criteria)
    browser.run_search()
    return {row.id for row in settle(qtbot, browser).results()}


def select(qtbot, browser: RecordsBrowser, row: int) -> None:
    browser.select_row(row)
    settle(qtbot, browser)


def show(qtbot, browser: RecordsBrowser, session_id: int) -> bool:
    """Open one session; True once it is shown (its summary at least)."""
    browser.show_session(session_id)
    return settle(qtbot, browser).selected_session_id == session_id


def export(qtbot, browser: RecordsBrowser, key: str, path: Path, month: dt.date | None = None) -> ExportResult | None:
    browser.last_export = None
    browser.export(key, path, month)
    return settle(qtbot, browser).last_export


def verify(qtbot, browser: RecordsBrowser) -> str:
    browser.verify_audit()
    return settle(qtbot, browser).message()


def test_lists_every_session_newest_first(browser, sessions):
    _db, ids = sessions
    assert [row.id for row in browser.results()] == [ids["ann_june"], ids["bob_may"], ids["ann_may"]]
    assert browser.table.rowCount() == 3
    assert "Bob Sample (P-0002)" in browser.table.item(1, 1).text()
    assert browser.table.item(2, 5).text() == "dizziness"
    assert browser.table.item(2, 4).text().startswith("4.5 / ")


def test_search_by_each_criterion(qtbot, browser, sessions):
    _db, ids = sessions
    assert found(qtbot, browser, patient="bob") == {ids["bob_may"]}
    assert found(qtbot, browser, patient="P-0001") == {ids["ann_may"], ids["ann_june"]}
    assert found(qtbot, browser, date_from=dt.date(2026, 5, 5), date_to=dt.date(2026, 5, 31)) == {ids["bob_may"]}
    assert found(qtbot, browser, date_from=dt.date(2026, 5, 6)) == {ids["bob_may"], ids["ann_june"]}
    assert found(qtbot, browser, date_to=dt.date(2026, 5, 4)) == {ids["ann_may"]}
    assert found(qtbot, browser, protocol="tap water") == {ids["bob_may"]}
    assert found(qtbot, browser, outcome="faulted") == {ids["ann_june"]}
    assert found(qtbot, browser, side_effect="dizziness") == {ids["ann_may"]}
    assert found(qtbot, browser, patient="ann", side_effect="nausea", outcome="faulted") == {ids["ann_june"]}
    assert found(qtbot, browser, patient="nobody") == set()
    assert "No session matches" in browser.message()


def test_from_after_to_is_explained(qtbot, browser):
    assert found(qtbot, browser, date_from=dt.date(2026, 6, 1), date_to=dt.date(2026, 5, 1)) == set()
    assert "'From' date is after the 'To' date" in browser.message()


def test_the_tab_is_busy_while_the_worker_answers(qtbot, browser):
    """While a search is outstanding the tab says so and refuses a second export click; then it clears."""
    gate = threading.Event()
    browser.service.worker.submit(gate.wait, lambda _outcome: None)  # the worker is held up by a slow job
    browser.set_criteria(patient="ann")
    qtbot.mouseClick(browser.search_button, Qt.MouseButton.LeftButton)
    assert browser.busy and browser.busy_label.isVisibleTo(browser)
    assert not browser.audit_button.isEnabled()
    gate.set()
    settle(qtbot, browser)
    assert not browser.busy_label.isVisibleTo(browser) and browser.audit_button.isEnabled()
    assert {row.cells[1] for row in browser.results()} == {"Ann Example (P-0001)"}
    assert len(browser.results()) == 2


def test_selecting_a_row_shows_summary_course_and_plots(qtbot, browser, sessions):
    _db, ids = sessions
    assert browser.plots.curve_points() == 0
    select(qtbot, browser, 2)  # Ann, May 4
    assert browser.selected_session_id == ids["ann_may"]
    text = browser.summary_view.toPlainText()
    for needle in ("Ann Example (P-0001)", "Stopped: dizziness", "dana", "station-1", "IONTO1-000042",
                   "calibrated 2026-03-01", "dizziness — pale", "Corticosteroid yesterday",
                   "Physician ordered it", "Patient rested 10 min.", "Dana Miller (dana) — performed and reviewed",
                   "6,000"):
        assert needle in text, needle
    assert browser.plots.curve_points() > 0
    assert sorted(browser.markers()) == [(30.0, "open circuit"), (60.0, "dizziness")]
    assert "Session 1 of 6" in browser.position_label.text()
    course = browser.course_view.toPlainText()
    assert "Session 2 of 6" in course and "this session" in course
    select(qtbot, browser, 0)  # Ann, June 1: session 2 of her course
    assert "Session 2 of 6" in browser.position_label.text()
    assert "nausea" in browser.summary_view.toPlainText()
    assert sorted(browser.markers()) == [(30.0, "open circuit"), (60.0, "nausea")]  # the old ones are gone
    assert browser.grab().save("/tmp/records_browser.png")


def test_a_new_search_leaves_no_session_half_shown(qtbot, browser, sessions):
    """A new-user pass searched with a session open: its row stayed highlighted beside an empty summary."""
    select(qtbot, browser, 2)
    assert browser.plots.curve_points() > 0
    assert found(qtbot, browser, patient="P-0001")
    assert not browser.table.selectionModel().selectedRows()
    assert browser.selected_session_id is None and browser.plots.curve_points() == 0
    assert browser.summary_view.toPlainText() == ""
    # a session still loading when the list changes does not appear beside the new list
    browser.select_row(0)
    browser.run_search()
    settle(qtbot, browser)
    assert browser.selected_session_id is None and browser.plots.curve_points() == 0


def test_course_warning_is_shown(qtbot, sessions):
    """Two corticosteroid sessions on consecutive days: the course view says so."""
    db, _ids = sessions
    pid = create_patient(db, PatientData("P-0003", "Cleo Steroid"), who="dana")
    record(db, pid, "dexamethasone-4mgml-40", dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC), state="complete",
           minutes=0.5)
    second = record(db, pid, "dexamethasone-4mgml-40", dt.datetime(2026, 7, 2, 8, 0, tzinfo=UTC),
                    state="complete", minutes=0.5)
    widget = make_browser(qtbot, db)
    assert show(qtbot, widget, second)
    assert "Corticosteroid on consecutive days" in widget.course_view.toPlainText()
    assert "Corticosteroid on consecutive days" in widget.position_label.text()


def pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes()))


def test_exports_write_files(qtbot, browser, sessions, tmp_path):
    _db, ids = sessions
    assert show(qtbot, browser, ids["ann_may"])
    samples, events = export(qtbot, browser, "csv", tmp_path / "ann.csv").paths
    rows = list(csv.reader(io.StringIO(samples.read_text())))
    assert rows[0][:2] == ["t_s", "current_ma"] and len(rows) == 6001
    event_rows = list(csv.reader(io.StringIO(events.read_text())))
    assert event_rows[0][0] == "at_utc" and any("Open circuit" in r[4] for r in event_rows[1:])
    assert events.name == "ann-events.csv"

    (pdf,) = export(qtbot, browser, "pdf", tmp_path / "ann.pdf").paths
    assert pdf.read_bytes().startswith(b"%PDF") and pdf_pages(pdf) == 1

    (fhir,) = export(qtbot, browser, "fhir", tmp_path / "ann.json").paths
    bundle = json.loads(fhir.read_text())
    assert bundle["resourceType"] == "Bundle" and bundle["entry"]
    assert "Saved the FHIR bundle" in browser.message()


def test_export_buttons_come_from_the_registry(browser):
    offered = {key: button.text() for key, button in browser.export_buttons.items()}
    assert offered == {e.key: e.label for e in exporters.exporters()}
    assert set(offered) >= {"csv", "pdf", "fhir", "billing"}


def test_export_file_names_say_whose_session_and_when(qtbot, browser, sessions):
    _db, ids = sessions
    assert show(qtbot, browser, ids["bob_may"])
    target = browser.export_target()
    local = dt.datetime(2026, 5, 6, 9, 0, tzinfo=UTC).astimezone()
    assert exporters.exporter("csv").default_name(target) == f"P-0002-{local:%Y%m%d-%H%M}.csv"
    assert exporters.exporter("billing").default_name(ExportTarget(month=dt.date(2026, 5, 17))) == "billing-2026-05.csv"


class FakeFormat(Exporter):
    """A format added by one file: the tab offers it and runs it through the service."""

    key = "fake-txt"
    label = "Export fake text…"
    dialog_title = "Fake"
    file_filter = "Text (*.txt)"
    doing = "export the fake text"
    scope = Scope.SESSION

    def default_name(self, target: ExportTarget) -> str:
        return f"{target.stem()}.txt"

    def write(self, db, target: ExportTarget, path: Path) -> ExportResult:
        with db.read() as session:
            (count,) = session.execute(__import__("sqlalchemy").text("SELECT count(*) FROM sessions")).one()
        path.write_text(f"session {target.session_id} of {count}", encoding="utf-8")
        return ExportResult((path,), f"Saved fake text to {path}.")


@pytest.fixture
def fake_format():
    exporters.register(FakeFormat())
    yield
    exporters.unregister(FakeFormat.key)


def test_a_registered_format_is_offered_and_exported_without_other_edits(qtbot, fake_format, browser, sessions,
                                                                         tmp_path):
    _db, ids = sessions
    assert browser.export_buttons["fake-txt"].text() == "Export fake text…"
    assert not browser.export_buttons["fake-txt"].isEnabled()  # a session format needs a session
    assert show(qtbot, browser, ids["ann_may"])
    assert browser.export_buttons["fake-txt"].isEnabled()
    (path,) = export(qtbot, browser, "fake-txt", tmp_path / "x.txt").paths
    assert path.read_text() == f"session {ids['ann_may']} of 3"
    assert browser.message() == f"Saved fake text to {path}."


def test_billing_csv_for_a_month(qtbot, browser, tmp_path):
    (path,) = export(qtbot, browser, "billing", tmp_path / "may.csv", dt.date(2026, 5, 17)).paths
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0][0] == "session_uid"
    assert [r[3] for r in rows[1:-1]] == ["Ann Example", "Bob Sample"]  # June's session is not in May
    assert rows[-1][0] == "TOTAL"
    assert "2 session(s)" in browser.message()


def test_exports_need_a_selected_session(qtbot, browser, tmp_path):
    assert export(qtbot, browser, "pdf", tmp_path / "x.pdf") is None
    assert "select a session first" in browser.message()
    assert not (tmp_path / "x.pdf").exists()
    assert not browser.export_buttons["pdf"].isEnabled()


def test_export_to_a_missing_folder_is_a_message(qtbot, browser, sessions, tmp_path):
    _db, ids = sessions
    assert show(qtbot, browser, ids["bob_may"])
    assert export(qtbot, browser, "fhir", tmp_path / "no" / "such" / "dir.json") is None
    assert "Could not export the FHIR bundle" in browser.message()
    assert export(qtbot, browser, "pdf", tmp_path / "no" / "such" / "r.pdf") is None
    assert "folder does not exist" in browser.message()


def test_verify_audit_in_plain_words(qtbot, browser, sessions, db_path):
    assert verify(qtbot, browser).startswith("Audit trail intact:")
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE audit_log SET why = 'edited behind the console' WHERE seq = 3")
    text = verify(qtbot, browser)
    assert text.startswith("Audit trail BROKEN") and "edited" in text
    assert browser.last_audit is not None and not browser.last_audit.ok


def test_a_damaged_sample_chunk_is_a_message(qtbot, browser, sessions, db_path):
    _db, ids = sessions
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE sample_chunks SET data = x'00' WHERE session_id = ?", (ids["bob_may"],))
    assert show(qtbot, browser, ids["bob_may"])  # the summary is readable without the samples
    assert "Could not replay the samples" in browser.message() and "damaged" in browser.message()
    assert browser.selected_session_id == ids["bob_may"]
    assert "Bob Sample" in browser.summary_view.toPlainText()
    assert browser.plots.curve_points() == 0


def test_an_unknown_session_is_a_message(qtbot, browser):
    assert show(qtbot, browser, 9999) is False
    assert "No session with id 9999" in browser.message()


def test_corrupt_or_missing_database_file_is_a_message(qtbot, tmp_path):
    widget = make_browser(qtbot, None)
    assert "No records database is open" in widget.message()
    widget.run_search()
    assert settle(qtbot, widget).results() == []
    assert "no records database is open" in widget.message()
    assert verify(qtbot, widget).startswith("Could not verify")

    widget.open_path(tmp_path / "missing.sqlite3")
    assert "does not exist" in settle(qtbot, widget).message()
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"this is not a database at all" * 200)
    widget.open_path(corrupt)
    assert "damaged" in settle(qtbot, widget).message()
    assert widget.service.database is None
    widget.service.close()


def test_open_path_browses_that_file(qtbot, sessions, db_path):
    widget = make_browser(qtbot, None)
    widget.open_path(db_path)
    assert len(settle(qtbot, widget).results()) == 3
    widget.service.close()


def test_a_database_gone_while_browsing_is_a_message(qtbot, sessions, db_path):
    db, ids = sessions
    widget = make_browser(qtbot, db)
    with sqlite3.connect(db_path) as raw:
        raw.execute("DROP TABLE side_effects")
    widget.run_search()
    assert settle(qtbot, widget).results() == []
    assert widget.message().startswith("Could not search the records: ")
    assert show(qtbot, widget, ids["ann_may"]) is False
    assert widget.message().startswith("Could not open session")


def test_showing_the_tab_again_lists_sessions_recorded_meanwhile(qtbot, browser, sessions, threads):
    db, ids = sessions
    select(qtbot, browser, 1)
    assert browser.selected_session_id == ids["bob_may"]
    browser.hide()
    with threads.paused():
        newest = record(db, create_patient(db, PatientData("P-0003", "Cy New"), who="dana"), "tap-water-hands-dc",
                        dt.datetime(2026, 7, 1, 9, 0, tzinfo=UTC), state="complete")
    assert browser.table.rowCount() == 3  # nothing re-reads while hidden
    browser.show()
    settle(qtbot, browser)
    assert [row.id for row in browser.results()][0] == newest and browser.table.rowCount() == 4
    assert browser.selected_session_id == ids["bob_may"]  # what the therapist was reading stays selected


def test_a_long_name_neither_grows_the_window_nor_squeezes_the_list(qtbot, sessions, sources, desk):
    """Issue 14 item 10: selecting a session widened the window to 1321-1522 px, the list shrank to 60 px,
    and one long name pushed every other column out of view."""
    from ionto_console.core.protocols import load_library
    from ionto_console.ui.alarm_sound import RecordingPlayer
    from ionto_console.ui.main_window import MainWindow

    db, _ids = sessions
    long_name = "Maximiliane Theodora Wolkenstein-Hohenberg von und zu Oberammergau-Partenkirchen"
    patient = create_patient(db, PatientData("P-0003", long_name), who="dana")
    record(db, patient, "tap-water-feet-pulsed", dt.datetime(2026, 6, 2, 9, 0, tzinfo=UTC), state="complete",
           minutes=3.0)
    window = MainWindow(sources.station, sources, desk, load_library(), alarm_player=RecordingPlayer())
    qtbot.addWidget(window)
    browser = RecordsBrowser(RecordsService(db))
    window.tabs.setCurrentIndex(window.add_page(browser, "Records"))
    size = (1093, 574)  # 1366x768 at 125 %, less a taskbar
    window.resize(*size)
    window.show()
    settle(qtbot, browser)
    row = next(r for r in range(browser.table.rowCount()) if browser.table.item(r, 1).text().startswith("Maxi"))
    browser.table.selectRow(row)
    qtbot.waitUntil(lambda: browser.selected_session_id is not None, timeout=30_000)
    settle(qtbot, browser)
    qtbot.wait(50)
    assert (window.width(), window.height()) == size
    assert browser.table.width() >= 300
    assert browser.table.item(row, 1).toolTip().startswith(long_name)
    # the long name is elided in a column of its own width: it does not push the others away
    assert browser.table.columnWidth(COLUMNS_SHOWN.index("Patient")) <= NAME_COLUMN_PX


def test_outcomes_are_readable_at_1366x768(qtbot, sessions, sources, desk):
    """Issue 14 (new-user pass item 5): the outcome column showed "stoppe…". Each outcome is either whole
    in its column or elided with the whole text in its tooltip, and the window does not grow."""
    from PySide6.QtGui import QFontMetrics

    from ionto_console.core.protocols import load_library
    from ionto_console.ui.alarm_sound import RecordingPlayer
    from ionto_console.ui.main_window import MainWindow

    db, _ids = sessions
    patient = create_patient(db, PatientData("P-0004", "Cleo Long"), who="dana")
    record(db, patient, "dexamethasone-4mgml-40", dt.datetime(2026, 6, 3, 9, 0, tzinfo=UTC), state="stopped",
           reason="Open circuit: electrode contact lost at 10:30:12")
    window = MainWindow(sources.station, sources, desk, load_library(), alarm_player=RecordingPlayer())
    qtbot.addWidget(window)
    browser = RecordsBrowser(RecordsService(db))
    window.tabs.setCurrentIndex(window.add_page(browser, "Records"))
    size = (1366, 768 - 40)  # a 1366x768 screen, less a taskbar
    window.resize(*size)
    window.show()
    settle(qtbot, browser)
    browser.table.selectRow(0)
    qtbot.waitUntil(lambda: browser.selected_session_id is not None, timeout=30_000)
    settle(qtbot, browser)
    qtbot.wait(50)
    assert (window.width(), window.height()) == size
    column = COLUMNS_SHOWN.index("Outcome")
    metrics = QFontMetrics(browser.table.font())
    room = browser.table.columnWidth(column) - 2 * browser.table.style().pixelMetric(
        browser.table.style().PixelMetric.PM_FocusFrameHMargin) - 6
    for row in range(browser.table.rowCount()):
        item = browser.table.item(row, column)
        whole = metrics.horizontalAdvance(item.text()) <= room
        assert whole or item.toolTip() == item.text(), item.text()
        # the short outcome words ("stopped", "complete", "faulted") are never cut
        assert metrics.horizontalAdvance(item.text().split(":")[0]) <= room, item.text()
    # and the column is in view: the list does not hide it behind a scroll bar
    table = browser.table
    assert table.columnViewportPosition(column) + min(table.columnWidth(column), 60) <= table.viewport().width()
