"""Demo and clinic are two worlds on the screen: who is offered the simulated board, and what the panel says."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt

import pytest

from ionto_console.accounts import Role, User
from ionto_console.app import DEMO_NOTICE, NO_BOARD_NOTICE, SIMULATOR_KEY, SIMULATOR_REFUSED, BoardSources
from ionto_console.control.station import Station
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.core.protocols import load_library
from ionto_console.settings import Settings
from ionto_console.ui.alarm_sound import RecordingPlayer
from ionto_console.ui.main_window import MainWindow

from support import wait_for

THERAPIST = User(1, "sam", "Sam Lee", Role.THERAPIST)
ENGINEER = User(2, "ravi", "Ravi Menon", Role.ENGINEER)
ADMIN = User(3, "dana", "Dana Weber", Role.ADMIN)


def window(qtbot, sources: BoardSources, user: User, *, demo: bool) -> MainWindow:
    desk = TreatmentDesk(sources.station, demo=demo)
    win = MainWindow(sources.station, sources, desk, load_library(), user=user, alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    win.show()
    return win


def offered(win: MainWindow) -> list[str]:
    combo = win.connection.port_combo
    return [combo.itemData(i) for i in range(combo.count())]


@pytest.mark.parametrize("user", [THERAPIST, ENGINEER, ADMIN], ids=lambda u: u.role.value)
def test_a_clinical_station_never_offers_the_simulator_and_says_why_nothing_is_connected(
        qtbot, clinical_sources, user, monkeypatch):
    win = window(qtbot, clinical_sources, user, demo=False)
    assert SIMULATOR_KEY not in offered(win)
    assert not any("Simulated" in win.connection.port_combo.itemText(i)
                   for i in range(win.connection.port_combo.count()))
    notice = win.connection.notice_label
    assert notice.text() == NO_BOARD_NOTICE and notice.isVisible() and "\n" not in notice.text()
    assert clinical_sources.default_key() is None  # nothing is connected at start
    win.refresh_ports()  # a rescan does not bring it back
    assert SIMULATOR_KEY not in offered(win)


def test_a_clinical_station_refuses_the_simulator_even_when_asked_for_it(qtbot, clinical_sources):
    win = window(qtbot, clinical_sources, ENGINEER, demo=False)
    win.connection.connect_requested.emit(SIMULATOR_KEY)  # e.g. a stale choice or a script
    assert win.connection.notice_label.text() == SIMULATOR_REFUSED
    assert clinical_sources.simulator is None and win.station.link is None


def test_a_configured_port_is_connected_at_start_and_the_panel_has_nothing_to_add():
    sources = BoardSources(Station(), Settings(board_port="/dev/ttyACM7"))
    try:
        assert sources.default_key() == "/dev/ttyACM7"
        assert sources.notice() == ""
        assert [key for key, _ in sources.choices()][0] == "/dev/ttyACM7"
        assert SIMULATOR_KEY not in [key for key, _ in sources.choices()]
    finally:
        sources.shutdown()


@pytest.mark.parametrize("user", [THERAPIST, ENGINEER], ids=lambda u: u.role.value)
def test_the_demo_offers_the_simulator_first_to_everyone_and_says_it_is_the_demo(qtbot, sources, user):
    win = window(qtbot, sources, user, demo=True)
    assert offered(win)[0] == SIMULATOR_KEY
    assert win.connection.notice_label.text() == DEMO_NOTICE
    assert sources.default_key() == SIMULATOR_KEY


def test_the_demo_records_every_board_as_simulated(qtbot, sources):
    sources.connect("/dev/does-not-exist-ionto")  # even a port given in demo mode: demo records are never clinical
    assert sources.station.board_simulated
    clinical = BoardSources(Station(), Settings())
    try:
        clinical.connect("/dev/does-not-exist-ionto")
        assert not clinical.station.board_simulated
    finally:
        clinical.shutdown()


def test_a_clinical_desk_refuses_the_simulators_ident_and_the_demo_a_real_boards(monkeypatch):
    """``ionto-sim run`` + ``--port`` without --demo: the connection is not flagged, the IDENT is."""
    from ionto_sim.pty_server import SimulatedBoardServer

    with SimulatedBoardServer(seed=3) as server:
        station = Station()
        try:
            station.connect(server.port)  # as a clinical console connects a port: not flagged simulated
            clinical = TreatmentDesk(station)
            demo = TreatmentDesk(station, demo=True)
            wait_for(lambda: "The treatment board is not connected." not in clinical.blockers(), 10.0,
                     "the board connected and identified")
            refused = [line for line in clinical.blockers() if "is the simulator" in line]
            assert refused and "SIM-00001" in refused[0] and "--demo" in refused[0]
            assert not [line for line in demo.blockers() if "is the simulator" in line]
            assert demo.simulated and not clinical.simulated
            # and a real board (its IDENT) is refused by demo mode: demo records never hold a real treatment
            monkeypatch.setattr(station.link, "_ident", replace(station.link.ident, serial_number="IONTO1-000042"))
            refused = [line for line in demo.blockers() if "not the simulator" in line]
            assert refused and "without --demo" in refused[0]
            assert not [line for line in clinical.blockers() if "simulator" in line]
        finally:
            station.disconnect()


def test_the_calibration_tab_marks_its_results_simulated_only_in_demo_mode(qtbot, sources, clinical_sources):
    demo = window(qtbot, sources, ENGINEER, demo=True)
    clinical = window(qtbot, clinical_sources, ENGINEER, demo=False)
    assert demo.calibration is not None and demo.calibration.wizard.settings.simulated is True
    assert clinical.calibration is not None and clinical.calibration.wizard.settings.simulated is False


def test_the_demo_calibration_tab_offers_the_connected_simulator_and_its_simulated_bench(qtbot, sources):
    """Issue 14 item 20: an engineer on the demo found Board port /dev/ttyS0 while the simulator was
    connected, only ASRL/dev/ttyS0::INSTR as VISA, and empty DMM/decade fields. Now the connected board
    is chosen and the demo's simulated instruments (measuring that board) fill their fields, so a
    calibration runs on the demo with nothing started by hand."""
    desk = TreatmentDesk(sources.station, demo=True)
    win = MainWindow(sources.station, sources, desk, load_library(), user=ENGINEER, alarm_player=RecordingPlayer(),
                     calibration_ports=["/dev/ttyS0"])  # a machine's own serial port, found first
    qtbot.addWidget(win)
    win.show()
    sources.connect(SIMULATOR_KEY)  # as the demo does at start
    simulator = sources.simulator
    assert simulator is not None
    wait_for(lambda: win.station.link is not None and win.station.link.ident is not None, 15.0, "the simulator")
    assert set(sources.simulated_instruments()) >= {"dmm", "decade", "lcr"}
    win.tabs.setCurrentIndex(2)
    page = win.calibration.wizard.connect_page
    qtbot.waitUntil(lambda: page.board.currentText() == simulator.port, timeout=5_000)
    assert page.dmm.text() == simulator.instruments["dmm"]
    assert page.load.text() == simulator.instruments["decade"]
    assert page.lcr.text() == simulator.instruments["lcr"]
    assert page.simulated_bench.text() == "demo: DMM, decade resistor, LCR meter, filled in above"
    assert page.simulated_bench.isVisible()
    # Connect and identify: the console's own board (lent) and the simulated instruments answer
    qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.isComplete(), timeout=15_000)
    assert "SIM-00001" in page.status.text() and "34461A" in page.identities.text()
    assert "PRS-200" in page.identities.text() and "E4980A" in page.identities.text()
    # what the engineer types is theirs: a later offer does not replace it
    qtbot.keyClicks(page.dmm, "X")
    win.calibration._offer()
    assert page.dmm.text() == simulator.instruments["dmm"] + "X"
    win.calibration.wizard.reject()  # closes the run: the port goes back to the console
    desk.shutdown()


def test_a_clinical_calibration_tab_never_offers_simulated_instruments(qtbot, clinical_sources):
    win = window(qtbot, clinical_sources, ENGINEER, demo=False)
    assert clinical_sources.simulated_instruments() == {} and clinical_sources.simulator is None
    win.tabs.setCurrentIndex(2)
    page = win.calibration.wizard.connect_page
    win.calibration._offer()
    assert page.dmm.text() == page.load.text() == page.lcr.text() == ""
    assert page.simulated_bench.isHidden() and page.simulated_bench.text() == ""


def test_the_board_header_names_the_new_certificate_once_a_calibration_is_stored(qtbot, sources, tmp_path):
    """Issue 14: after a new calibration of SIM-00001 the header still said "calibrated 2026-10-01" (the
    board's IDENT date). Once the Calibration tab keeps a passing result, the header names it."""
    import datetime as dt

    from ionto_console.core.calibration import CalibrationResult, Mode, SweepPlan, Verdict
    from ionto_console.records import open_database, sqlite_url
    from ionto_console.records.demo import mark_as_demo

    db = open_database(sqlite_url(tmp_path / "demo.sqlite3"))
    mark_as_demo(db)
    desk = TreatmentDesk(sources.station, demo=True, db=db)
    win = MainWindow(sources.station, sources, desk, load_library(), user=ENGINEER, alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    win.show()
    sources.connect(SIMULATOR_KEY)
    label = win.connection.calibration_label
    qtbot.waitUntil(lambda: label.text().startswith("Calibration valid until"), timeout=15_000)
    board_date = sources.station.link.ident.cal_date
    board_day = dt.datetime.fromtimestamp(board_date, dt.timezone.utc).date().isoformat()
    assert label.text().endswith(f"(calibrated {board_day})")
    now = dt.datetime.now(dt.timezone.utc)
    result = CalibrationResult(mode=Mode.CALIBRATE, engineer="Ravi Menon", started_at=now, finished_at=now,
                               board_serial="SIM-00001", plan=SweepPlan(), tolerance_rel=0.02, tolerance_abs_ua=20,
                               impedance_tolerance_pct=5, verdict=Verdict.PASS, reason="all points within",
                               due_date=now.date() + dt.timedelta(days=365), simulated=True)
    answers: list[str] = []
    assert win.calibration.wizard.archive.keep(result, answers.append)  # as the result page keeps it
    qtbot.waitUntil(lambda: f"last certificate {now.date().isoformat()}" in label.text(), timeout=10_000)
    assert f"board's own date {board_day}" in label.text()
    desk.shutdown()
    db.close()
