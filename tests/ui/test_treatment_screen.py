"""The therapist's treatment screen, driven through the real main window against the simulator."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from sqlalchemy import event

from ionto_console.app import SIMULATOR_KEY
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.core.engine import Snapshot
from ionto_console.core.prechecks import Check
from ionto_console.core.protocols import load_library
from ionto_console.core.session import SessionState, SideEffect
from ionto_console.records.demo import mark_as_demo
from ionto_console.records import find_patients, load_samples, load_session, open_database, sqlite_url, verify_audit
from ionto_console.ui.alarm_sound import RecordingPlayer
from ionto_console.ui.main_window import MainWindow
from ionto_console.ui.treatment_view import state_line
from support import small_protocol

WAIT_MS = 10_000


@pytest.fixture
def screen(qtbot, sources):
    desk = TreatmentDesk(sources.station, demo=True)
    protocols = [small_protocol(), small_protocol(id="test-longer", name="Test: longer dose", dose_target_ma_min=5.0)]
    win = MainWindow(sources.station, sources, desk, protocols, alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    win.show()
    sources.connect(SIMULATOR_KEY)
    qtbot.waitUntil(lambda: win.connection.state_label.text() == "Board connected", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.station.snapshot().live is not None, timeout=WAIT_MS)
    yield win
    desk.shutdown()


def fill_setup(win, protocol_index=0):
    win.setup.patient_id.setText("P-0042")
    win.setup.patient_name.setText("Ada Example")
    win.setup.protocol.setCurrentIndex(protocol_index)
    win.setup.side.setCurrentText("left")


def look_up(qtbot, win):
    """What leaving the patient field does: the look-up runs on the desk's worker; wait for its answer."""
    win.setup.look_up_patient()
    qtbot.waitUntil(win.setup.history_current, timeout=WAIT_MS)


def pass_checklist(win, qtbot=None):
    if qtbot is not None:
        look_up(qtbot, win)
    else:
        win.setup.look_up_patient()  # no records: the answer (a new patient) comes at once
    dialog = win.setup.make_checklist()
    for question in dialog.questions:
        dialog.answer(question.check.value, yes=question.check is Check.PATIENT_INFORMED)
    assert dialog.result_value().can_start
    win.setup.accept_checklist(dialog.result_value())


def start(qtbot, win):
    qtbot.waitUntil(lambda: win.treatment.start_button.isEnabled(), timeout=WAIT_MS)
    qtbot.mouseClick(win.treatment.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.desk.controller is not None, timeout=WAIT_MS)


def wait_state(qtbot, controller, predicate, timeout=WAIT_MS):
    """waitUntil on the session snapshot; a timeout names the state and trip it saw."""
    try:
        qtbot.waitUntil(lambda: predicate(controller.snapshot()), timeout=timeout)
    except Exception as exc:
        raise AssertionError(f"{exc}: {controller.snapshot()} message={controller.message()!r}") from None


def board_current_ma(win):
    live = win.station.snapshot().live
    return live.current_ma if live else None


def test_start_is_refused_without_the_checklist(qtbot, screen):
    fill_setup(screen)
    screen.treatment.refresh()
    assert not screen.treatment.start_button.isEnabled()
    assert "checklist" in screen.treatment.message.text().lower()
    screen.treatment.start()  # even if the button were bypassed
    assert screen.desk.controller is None
    assert "checklist" in screen.treatment.message.text().lower()


def test_contraindication_blocks_until_overridden_with_a_reason(qtbot, screen):
    fill_setup(screen)
    screen.setup.look_up_patient()
    dialog = screen.setup.make_checklist()
    for question in dialog.questions:
        dialog.answer(question.check.value, yes=question.check in (Check.PATIENT_INFORMED, Check.METAL_IMPLANT))
    assert not dialog.result_value().can_start
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.answer(Check.METAL_IMPLANT.value, yes=True, reason="Implant far from the current path, surgeon agreed")
    assert dialog.result_value().can_start
    assert dialog.result_value().overridden


def test_complete_a_short_treatment(qtbot, screen):
    fill_setup(screen)
    pass_checklist(screen)
    start(qtbot, screen)
    wait_state(qtbot, screen.desk.controller, lambda snap: snap.state is SessionState.COMPLETE, 20_000)
    qtbot.waitUntil(lambda: screen.treatment.state_banner.text().startswith("Complete"), timeout=WAIT_MS)
    assert screen.treatment.plots.curve_points() > 50
    qtbot.waitUntil(lambda: board_current_ma(screen) < 0.05, timeout=WAIT_MS)


def test_raising_intensity_ramps_the_target_and_never_steps(qtbot, screen):
    fill_setup(screen, protocol_index=1)
    pass_checklist(screen)
    start(qtbot, screen)
    controller = screen.desk.controller
    wait_state(qtbot, controller, lambda snap: snap.state is SessionState.TREATING)
    qtbot.mouseClick(screen.treatment.up_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(screen.treatment.up_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controller.snapshot().board_target_ma >= 1.99, timeout=WAIT_MS)
    view = controller.history.view()
    current, target, t = view.current_ma, view.target_ma, view.t
    # Two + presses of 0.5 mA at the protocol's 2 mA/s. What reaches the patient, the
    # measured current, never rises faster than that rate over any 50 ms (a 0.5 mA
    # step would), and the target the board receives never jumps by a whole step.
    later = np.searchsorted(t, t + 0.05)
    valid = later < len(t)
    rise = current[later[valid]] - current[valid]
    allowed = 2.0 * (t[later[valid]] - t[valid]) + 0.03  # + current noise
    assert (rise <= allowed).all(), float((rise - allowed).max())
    assert (target[1:] - target[:-1]).max() < 0.5
    first_above = t[target > 1.0][0]
    reached = t[target >= 1.99][0]
    assert reached - first_above >= 0.45


@pytest.mark.parametrize("reason", list(SideEffect))
def test_each_side_effect_button_stops_the_output_and_records_why(qtbot, screen, reason, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("metallic taste", True))
    fill_setup(screen, protocol_index=1)
    pass_checklist(screen)
    start(qtbot, screen)
    controller = screen.desk.controller
    wait_state(qtbot, controller, lambda snap: snap.current_ma > 0.9)
    button = screen.treatment.stops.buttons[reason.value]
    qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    # the release may go to the "Other…" dialog: the button must not stay drawn pressed into later sessions
    assert not button.isDown()
    qtbot.waitUntil(lambda: controller.snapshot().state is SessionState.STOPPED, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: controller.history.view().current_ma[-1] < 0.05, timeout=WAIT_MS)
    assert controller.snapshot().stop_reason.cause is reason
    # the screen shows the controller's state on its next refresh (30 Hz timer on the GUI thread)
    qtbot.waitUntil(lambda: screen.treatment.state_banner.text().startswith("Stopped"), timeout=WAIT_MS)


@pytest.mark.parametrize("key", [Qt.Key.Key_Escape, Qt.Key.Key_Space])
def test_escape_and_space_are_an_emergency_stop(qtbot, screen, key):
    fill_setup(screen, protocol_index=1)
    pass_checklist(screen)
    start(qtbot, screen)
    controller = screen.desk.controller
    wait_state(qtbot, controller, lambda snap: snap.current_ma > 0.9)
    qtbot.keyClick(screen, key)
    qtbot.waitUntil(lambda: controller.snapshot().state is SessionState.STOPPED, timeout=WAIT_MS)
    assert "Emergency" in controller.snapshot().stop_reason.label


def test_electrode_lift_trips_an_interlock_with_output_off(qtbot, screen, sources):
    fill_setup(screen, protocol_index=1)
    pass_checklist(screen)
    start(qtbot, screen)
    controller = screen.desk.controller
    wait_state(qtbot, controller, lambda snap: snap.current_ma > 0.9)
    sources.simulator.lift_electrode()
    qtbot.waitUntil(lambda: controller.snapshot().state.terminal, timeout=WAIT_MS)
    assert controller.snapshot().active_trip is not None
    qtbot.waitUntil(lambda: board_current_ma(screen) < 0.05, timeout=WAIT_MS)
    # the screen shows the controller's state on its next refresh (30 Hz timer on the GUI thread)
    qtbot.waitUntil(lambda: "safety check" in screen.treatment.state_banner.text()
                    or "Stopped" in screen.treatment.state_banner.text(), timeout=WAIT_MS)
    # a high-priority alarm: red banner with the reason and the time, and a burst of sound
    banner = screen.alarm_banner
    qtbot.waitUntil(lambda: banner.isVisible() and "HIGH ALARM" in banner.text.text(), timeout=WAIT_MS)
    assert "open circuit" in banner.text.text().lower() or "contact" in banner.text.text().lower()
    assert banner.player.played, "a high-priority burst was played"
    qtbot.mouseClick(banner.ack_button, Qt.MouseButton.LeftButton)
    assert not screen.desk.alarms.audio_should_sound(time.monotonic())


DANA_PW = "tendon heals slowly"


@pytest.fixture
def recorded_screen(qtbot, sources, tmp_path, fast_passwords):
    from ionto_console.accounts import create_first_admin

    db = open_database(sqlite_url(tmp_path / "records.sqlite3"))
    mark_as_demo(db)  # the demo's records: the only ones that take a session on the simulated board
    dana = create_first_admin(db, "dana", "Dana Therapist", DANA_PW)
    desk = TreatmentDesk(sources.station, db=db, operator=lambda: "Dana Therapist", demo=True, signer=lambda: dana)
    win = MainWindow(sources.station, sources, desk, [small_protocol(dose_target_ma_min=5.0)],
                     alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    win.show()
    sources.connect(SIMULATOR_KEY)
    qtbot.waitUntil(lambda: win.station.snapshot().live is not None, timeout=WAIT_MS)
    yield win, db
    desk.shutdown()
    db.close()


def test_a_stopped_session_is_recorded_whole_and_signed(qtbot, recorded_screen):
    win, db = recorded_screen
    fill_setup(win)
    win.setup.date_of_birth.setText("1961-04-12")
    win.setup.patient_notes.setText("Left Achilles, course of 6")
    pass_checklist(win, qtbot)
    start(qtbot, win)
    controller = win.desk.controller
    wait_state(qtbot, controller, lambda snap: snap.current_ma > 0.9)
    qtbot.mousePress(win.treatment.stops.buttons[SideEffect.DIZZINESS.value], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.treatment.sign_button.isEnabled(), timeout=WAIT_MS)
    note = "Patient felt dizzy; lay down 10 min."

    def sign(*answers) -> str:
        win.treatment.sign_with(*answers)
        qtbot.waitUntil(lambda: not win.treatment._signing, timeout=WAIT_MS)
        win.treatment.refresh()
        return win.treatment.message.text()

    # Issue 13 "Tried": a typed name of somebody else, and no password: refused, audited, nothing signed
    assert "Only the signed-in account (dana) can sign" in sign("Performed and reviewed", note, "",
                                                                 "Dr. Chief Physician (not signed in)")
    assert "Wrong user name or password" in sign("Performed and reviewed", note, "not her password", "dana")
    assert not load_session(db, win.desk.recorder.session_id).signatures
    assert sign("Performed and reviewed", note, DANA_PW, "dana").startswith("Wait")  # slowed down
    assert not load_session(db, win.desk.recorder.session_id).signatures
    signed_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)  # past the 1 s slow-down
    manifestation = win.desk.sign("Performed and reviewed", DANA_PW, note, username="dana", now=signed_at)
    assert win.desk.signing_needs_user_name() is False  # later signings: the password only
    summary = load_session(db, win.desk.recorder.session_id)
    assert summary.state == "stopped" and summary.simulated  # the record says its board was simulated
    assert "Dizziness" in summary.reason
    assert [effect.kind for effect in summary.side_effects] == ["dizziness"]
    (signature,) = summary.signatures
    assert signature.name == "Dana Therapist" and signature.username == "dana" and signature.covers
    assert manifestation.startswith("Dana Therapist (dana) — Performed and reviewed — ")
    from ionto_console.records import audit_history

    refused = [e["action"] for e in audit_history(db, entity="user", entity_id="dana")]
    assert "signature refused" in refused and "sign-in failed" in refused
    samples = load_samples(db, win.desk.recorder.session_id)
    assert len(samples) > 50 and samples.current_ma.max() > 0.9
    assert verify_audit(db).ok
    (patient,) = find_patients(db, "P-0042")
    assert patient.date_of_birth == dt.date(1961, 4, 12) and patient.notes == "Left Achilles, course of 6"


def test_treatment_refused_when_records_are_unavailable(qtbot, sources):
    desk = TreatmentDesk(sources.station, db=None, db_problem="The records file is damaged.", demo=True)
    win = MainWindow(sources.station, sources, desk, [small_protocol()], alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    sources.connect(SIMULATOR_KEY)
    qtbot.waitUntil(lambda: win.station.snapshot().live is not None, timeout=WAIT_MS)
    fill_setup(win)
    pass_checklist(win)
    win.treatment.refresh()
    assert not win.treatment.start_button.isEnabled()
    assert "records are unavailable" in win.treatment.message.text()
    desk.shutdown()


def test_second_session_shows_history_and_the_corticosteroid_rule(qtbot, recorded_screen):
    """Dana's 08:10: the patient's last session is shown, and a corticosteroid session
    earlier the same day makes the checklist block a second one."""
    win, db = recorded_screen
    fill_setup(win)
    pass_checklist(win, qtbot)
    start(qtbot, win)
    wait_state(qtbot, win.desk.controller, lambda snap: snap.current_ma > 0.9)
    win.treatment.stop(SideEffect.HEADACHE.value)
    qtbot.waitUntil(lambda: win.desk.can_sign(), timeout=WAIT_MS)
    win.setup.patient_name.setText("")
    look_up(qtbot, win)
    assert win.setup.patient_name.text() == "Ada Example"
    history = win.setup.history_label.text()
    assert "stopped" in history and "headache" in history
    dialog = win.setup.make_checklist()
    for question in dialog.questions:
        dialog.answer(question.check.value, yes=question.check is Check.PATIENT_INFORMED)
    result = dialog.result_value()
    assert not result.can_start
    assert any("corticosteroid" in f.message.lower() for f in result.blockers)


def test_the_checklist_button_looks_the_patient_up_off_the_gui_thread(qtbot, recorded_screen, monkeypatch):
    """The checklist opens only with a fresh answer for the patient on screen, read on the desk's worker
    (the old screen queried the records on the GUI thread, on every editingFinished and checklist)."""
    win, db = recorded_screen
    threads: list[threading.Thread] = []

    def seen(*_args) -> None:
        threads.append(threading.current_thread())

    opened: list[bool] = []
    monkeypatch.setattr(win.setup, "_open_checklist", lambda: opened.append(win.setup.history_current()))
    fill_setup(win)
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        win.setup.run_checklist()
        assert not win.setup.checklist_button.isEnabled()  # busy until the answer comes
        qtbot.waitUntil(lambda: bool(opened), timeout=WAIT_MS)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert opened == [True] and win.setup.checklist_button.isEnabled()
    assert "New patient" in win.setup.history_label.text()
    assert threads and all(t is not threading.main_thread() for t in threads), threads


def test_pause_never_claims_zero_while_the_current_is_still_falling():
    paused = Snapshot(t=0.0, state=SessionState.PAUSED, current_ma=2.4, setpoint_ma=2.3, board_target_ma=0.0,
                      impedance_kohm=5.0, voltage_v=12.0, dose_delivered_ma_min=3.0, dose_target_ma_min=40.0,
                      elapsed_s=90.0, remaining_s=None, anode=False, active_trip=None, warning=None,
                      stop_reason=None)
    assert state_line(paused) == "Paused — current falling to zero"
    assert state_line(replace(paused, current_ma=0.02)) == "Paused — current at zero"


def test_the_electrode_is_the_one_the_protocol_was_made_for(qtbot, sources):
    library = load_library()
    desk = TreatmentDesk(sources.station, demo=True)
    win = MainWindow(sources.station, sources, desk, library, alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    try:
        for index, protocol in enumerate(library):
            win.setup.protocol.setCurrentIndex(index)
            assert win.setup.electrode.count() == 1  # no free choice: the density interlock uses this area
            assert f"{protocol.electrode_area_cm2:g} cm²" in win.setup.electrode.currentText()
    finally:
        desk.shutdown()


def test_a_side_effect_stop_keeps_its_outcome_in_view_on_a_small_screen(qtbot, recorded_screen):
    """New-user pass at 1366x768: Raise had the focus; the stop disabled it, the focus went to "Sign
    session…" below the fold and the treatment area scrolled "Stopped — output off: Dizziness" out of view.
    Whatever scrolled the area down, a run that ends brings its outcome into view."""
    screen, _db = recorded_screen
    screen.resize(1366, 740)  # 1366x768 at 100 %, maximised (as in the pass)
    fill_setup(screen)
    pass_checklist(screen, qtbot)
    start(qtbot, screen)
    controller = screen.desk.controller
    wait_state(qtbot, controller, lambda snap: snap.current_ma > 0.5)
    view = screen.treatment
    # scrolled down to the controls (by the therapist, or by the focus following "Sign session…")
    view.scroll.verticalScrollBar().setValue(view.scroll.verticalScrollBar().maximum())
    qtbot.mousePress(view.stops.buttons[SideEffect.DIZZINESS.value], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.state_banner.text().startswith("Stopped"), timeout=WAIT_MS)
    qtbot.waitUntil(view.sign_button.isEnabled, timeout=WAIT_MS)
    qtbot.wait(50)
    top = view.state_banner.mapTo(view.scroll.viewport(), view.state_banner.rect().topLeft()).y()
    assert 0 <= top and top + view.state_banner.height() <= view.scroll.viewport().height()
