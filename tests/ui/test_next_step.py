"""What the treatment screen tells the therapist to do next, and what it keeps off a clinical screen
(issue 14, new-user pass after the build).

After a stop the line above the buttons said "The pre-treatment checklist is not complete." (Start's
blocker); the next step then is to sign the session, and a new checklist is the step for the next run.
"Session signed…" reads as a confirmation and goes when the next run starts. A real electrode lift
shows the alarm, the state line and the readouts together (the screenshots had staged a HIGH alarm
beside "Treating — current flowing"). The link's counters are an engineer's, not a therapist's.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from ionto_console.accounts import Role, User
from ionto_console.app import SIMULATOR_KEY
from ionto_console.control.treatment_desk import CHECKLIST_NOT_DONE, TreatmentDesk
from ionto_console.core.protocols import load_library
from ionto_console.core.session import SessionState, SideEffect
from ionto_console.records import open_database, sqlite_url
from ionto_console.records.demo import mark_as_demo
from ionto_console.ui.alarm_sound import RecordingPlayer
from ionto_console.ui.main_window import MainWindow
from ionto_console.ui.readouts import LiveText
from ionto_console.ui.treatment_view import ERROR_COLOUR, NEXT_STEP_COLOUR, OK_COLOUR
from support import small_protocol
from test_treatment_screen import DANA_PW, WAIT_MS, board_current_ma, fill_setup, pass_checklist, start, wait_state


def not_a_corticosteroid():
    """A small dose of acetic acid: a second run the same day is allowed (no corticosteroid rule)."""
    acetic = next(p for p in load_library() if p.id == "acetic-acid-2pct")
    return small_protocol(id="test-acetic", name="Test: acetic acid, small dose", corticosteroid=False,
                          agent=acetic.agent.model_dump(mode="json"), dose_target_ma_min=5.0)


@pytest.fixture
def signing_screen(qtbot, sources, tmp_path, fast_passwords):
    from ionto_console.accounts import create_first_admin

    db = open_database(sqlite_url(tmp_path / "records.sqlite3"))
    mark_as_demo(db)
    dana = create_first_admin(db, "dana", "Dana Therapist", DANA_PW)
    desk = TreatmentDesk(sources.station, db=db, operator=lambda: "Dana Therapist", demo=True, signer=lambda: dana)
    win = MainWindow(sources.station, sources, desk, [not_a_corticosteroid()], alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    win.show()
    sources.connect(SIMULATOR_KEY)
    qtbot.waitUntil(lambda: win.station.snapshot().live is not None, timeout=WAIT_MS)
    yield win
    desk.shutdown()
    db.close()


def shown(win) -> tuple[str, str]:
    win.treatment.refresh()
    message = win.treatment.message
    return message.text(), message.styleSheet()


def test_after_a_stop_the_line_says_sign_then_a_new_checklist_and_signed_is_a_confirmation(qtbot, signing_screen):
    win = signing_screen
    view = win.treatment
    fill_setup(win)
    pass_checklist(win, qtbot)
    start(qtbot, win)
    wait_state(qtbot, win.desk.controller, lambda snap: snap.current_ma > 0.9)
    qtbot.mousePress(view.stops.buttons[SideEffect.DIZZINESS.value], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(view.sign_button.isEnabled, timeout=WAIT_MS)
    text, style = shown(win)
    assert CHECKLIST_NOT_DONE not in text, text
    assert text.startswith("Next: sign the session") and "new pre-treatment checklist" in text, text
    assert NEXT_STEP_COLOUR in style and ERROR_COLOUR not in style
    assert not view.start_button.isEnabled()  # Start still needs the new checklist
    assert view.sign_button.isVisible() and view.start_button.isVisible() and not view.pause_button.isVisible()

    view.sign_with("Performed", "", DANA_PW, "dana")
    qtbot.waitUntil(lambda: shown(win)[0].startswith("Session signed"), timeout=WAIT_MS)
    text, style = shown(win)
    assert OK_COLOUR in style and ERROR_COLOUR not in style, style  # a confirmation, not an error
    assert "sign the session" not in text and "new pre-treatment checklist" in text, text

    # the next run: a new checklist, Start; the confirmation of the last run's signature goes
    first = win.desk.controller
    pass_checklist(win, qtbot)
    start(qtbot, win)
    qtbot.waitUntil(lambda: win.desk.controller not in (None, first), timeout=WAIT_MS)  # None while starting
    wait_state(qtbot, win.desk.controller, lambda snap: snap.current_ma > 0.9)
    text, _style = shown(win)
    assert "Session signed" not in text, text
    assert view.pause_button.isVisible() and not view.sign_button.isVisible()
    view.stop(SideEffect.HEADACHE.value)
    qtbot.waitUntil(lambda: win.desk.can_sign(), timeout=WAIT_MS)


def test_a_new_patient_still_hears_about_the_checklist_before_a_run(qtbot, signing_screen):
    """Before any run, the checklist is what Start waits for: its blocker is still shown, in red."""
    fill_setup(signing_screen)
    text, style = shown(signing_screen)
    assert CHECKLIST_NOT_DONE in text and ERROR_COLOUR in style


def test_an_electrode_lift_shows_the_alarm_with_the_output_off_everywhere(qtbot, signing_screen, sources):
    """The HIGH alarm, the state line and the readouts agree: no "Treating — current flowing" or a
    current above 0.00 beside "output switched off"."""
    win = signing_screen
    view = win.treatment
    fill_setup(win)
    pass_checklist(win, qtbot)
    start(qtbot, win)
    controller = win.desk.controller
    wait_state(qtbot, controller, lambda snap: snap.current_ma > 0.9)
    sources.simulator.lift_electrode()
    qtbot.waitUntil(lambda: win.alarm_banner.isVisible() and "HIGH ALARM" in win.alarm_banner.text.text(),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: board_current_ma(win) < 0.05 and not win.station.snapshot().live.output_on,
                    timeout=WAIT_MS)
    view.refresh()
    assert "output off" in view.state_banner.text() and "flowing" not in view.state_banner.text()
    assert view.current.text() == "0.00"
    assert controller.snapshot().state in (SessionState.FAULTED, SessionState.STOPPED, SessionState.INTERRUPTED)


def counters_on_screen(win) -> list[QLabel | LiveText]:
    """Visible widgets of the status bar that show the link's counters."""
    bar = win.statusBar()
    widgets = [*bar.findChildren(QLabel), *bar.findChildren(LiveText)]
    return [w for w in widgets if "telemetry" in w.text() and w.isVisible()]


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.ADMIN, Role.ENGINEER])
def test_the_link_counters_are_for_the_engineer(qtbot, sources, desk, role):
    """The status bar of a therapist's clinical screen read "telemetry 1869 · lost 0 · dropped frames 0"."""
    user = User(7, "someone", "Some One", role)
    win = MainWindow(sources.station, sources, desk, [small_protocol()], user=user, alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    win.show()
    sources.connect(SIMULATOR_KEY)
    qtbot.waitUntil(lambda: "telemetry" in win.link_stats.text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.station.snapshot().live is not None, timeout=WAIT_MS)
    win.refresh()
    assert bool(counters_on_screen(win)) == (role is Role.ENGINEER)
    assert win.monitor.isAncestorOf(win.link_stats)  # every role finds them on the Board monitor
