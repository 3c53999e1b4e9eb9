"""Demo and clinic are two worlds on the screen: who is offered the simulated board, and what the panel says."""

from __future__ import annotations

from dataclasses import replace

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
