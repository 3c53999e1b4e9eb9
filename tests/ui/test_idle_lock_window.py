"""The idle lock on the real window with an injectable clock (no sleeps): it locks to the sign-in bar,
keeps STOP and the side-effect buttons working, unlocks for the same person, and hands a running
treatment to another therapist as an audited handover."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog

from ionto_console.accounts import Role, create_first_admin, create_user
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.core.protocols import load_library
from ionto_console.core.session import SideEffect
from ionto_console.records import audit_history
from ionto_console.ui.alarm_sound import RecordingPlayer
from ionto_console.ui.beside_stop import ask_save_path
from ionto_console.ui.main_window import MainWindow

pytestmark = pytest.mark.usefixtures("fast_passwords")
T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone.utc)
DANA, SAM, EVE = "tendon heals slowly", "he treats feet too", "she calibrates boards"


@pytest.fixture
def locked_station(qtbot, sources, db):
    dana = create_first_admin(db, "dana", "Dana Weber", DANA)
    create_user(db, "sam", "Sam Lee", Role.THERAPIST, SAM, who="dana")
    create_user(db, "eve", "Eve Ng", Role.ENGINEER, EVE, who="dana")
    desk = TreatmentDesk(sources.station, db=db, signer=lambda: dana, operator=lambda: dana.display_name)
    clock = [1000.0]
    win = MainWindow(sources.station, sources, desk, load_library(), user=dana, alarm_player=RecordingPlayer(),
                     idle_lock_s=300.0, clock=lambda: clock[0],
                     wall_clock=lambda: T0 + dt.timedelta(seconds=clock[0]))
    qtbot.addWidget(win)
    win.show()
    yield win, desk, clock
    desk.shutdown()


def unlock(qtbot, win, username: str, password: str) -> None:
    """The lock bar's sign-in, answered once the desk's worker has checked it."""
    win.unlock_as(username, password)
    qtbot.waitUntil(lambda: win.lock_bar.unlock_button.isEnabled(), timeout=10_000)


def test_the_station_locks_after_the_idle_time_and_a_key_restarts_it(qtbot, locked_station):
    win, desk, clock = locked_station
    clock[0] += 299.0
    win.refresh()
    assert not win.locked
    qtbot.keyClick(win.treatment.setup, Qt.Key.Key_Shift)  # somebody is here
    clock[0] += 299.0
    win.refresh()
    assert not win.locked
    clock[0] += 2.0
    win.refresh()
    assert win.locked and win.lock_bar.isVisible() and "Station locked" in win.lock_bar.heading.text()
    assert not win.treatment.start_button.isEnabled() and not win.treatment.sign_button.isEnabled()
    assert not win.tabs.tabBar().isEnabled() and win.treatment.stops.isEnabled()
    assert desk.signing_needs_user_name()  # a continuous session ended: the next signing asks for both


def test_a_locked_screen_keeps_stop_and_side_effect_buttons_working(qtbot, locked_station, monkeypatch):
    win, desk, clock = locked_station
    clock[0] += 301.0
    win.refresh()
    assert win.locked
    stops: list[object] = []
    monkeypatch.setattr(desk, "stop", lambda reason, text="": stops.append(reason))
    qtbot.mousePress(win.treatment.stops.buttons[SideEffect.DIZZINESS.value], Qt.MouseButton.LeftButton)
    qtbot.mousePress(win.treatment.stops.emergency, Qt.MouseButton.LeftButton)
    assert stops[0] is SideEffect.DIZZINESS and len(stops) == 2


def test_the_same_person_unlocks_a_wrong_password_is_refused(qtbot, locked_station):
    win, desk, clock = locked_station
    clock[0] += 301.0
    win.refresh()
    unlock(qtbot, win, "dana", "not her password")
    assert win.locked and "Wrong user name or password" in win.lock_bar.error.text()
    unlock(qtbot, win, "dana", DANA)
    assert win.locked and win.lock_bar.error.text().startswith("Wait")  # slowed down after a failure
    unlock(qtbot, win, "eve", EVE)
    assert win.locked and "not the person signed in here" in win.lock_bar.error.text()
    clock[0] += 2.0
    unlock(qtbot, win, "dana", DANA)
    assert not win.locked and not win.lock_bar.isVisible() and win.tabs.tabBar().isEnabled()
    win.refresh()
    assert not win.locked  # the unlock counts as activity


def test_a_running_treatment_is_handed_over_to_another_therapist_audited(qtbot, locked_station, monkeypatch, db):
    win, desk, clock = locked_station
    monkeypatch.setattr(type(desk), "active", property(lambda self: True))  # paused: output off, still running
    clock[0] += 301.0
    win.refresh()
    assert win.locked and "another therapist can sign in here" in win.lock_bar.heading.text()
    unlock(qtbot, win, "eve", EVE)  # an engineer cannot take a treatment over
    assert win.locked
    unlock(qtbot, win, "sam", SAM)
    assert not win.locked and win.user.username == "sam" and desk.signer().username == "sam"
    (handover,) = [e for e in audit_history(db) if e["action"] == "handover"]
    assert handover["who"] == "sam" and handover["before"] == {"operator": "dana"}
    assert handover["after"]["operator"] == "sam"


def _presence(db) -> list[tuple[str, str, str]]:
    return [(e["who"], e["action"], e["why"]) for e in audit_history(db)
            if e["action"] in ("station locked", "sign out")]


def test_the_lock_and_the_sign_out_are_in_the_audit_trail(qtbot, locked_station, db):
    """Who was at the station, and until when: the lock and the sign-out are audited (the unlock is a sign-in)."""
    win, desk, clock = locked_station
    clock[0] += 301.0
    win.refresh()
    assert win.locked
    qtbot.waitUntil(lambda: len(_presence(db)) == 1, timeout=10_000)
    assert _presence(db) == [("dana", "station locked", "no key or click for the idle time")]
    unlock(qtbot, win, "dana", DANA)
    with qtbot.waitSignal(win.sign_out_requested):
        assert win.request_sign_out()
    win.close()  # what the composition root does on a sign-out: audited once, as the sign-out
    qtbot.waitUntil(lambda: len(_presence(db)) == 2, timeout=10_000)
    desk.worker.shutdown()
    assert _presence(db)[1] == ("dana", "sign out", "signed out")
    assert [e["action"] for e in audit_history(db)][-3:] == ["station locked", "sign in", "sign out"]


def test_locking_closes_a_save_dialog_left_open(qtbot, locked_station, tmp_path):
    """New-user pass: the lock disabled the Records page under an open save dialog; nothing on the
    screen could then be clicked (not the dialog, not the unlock, not STOP)."""
    win, desk, clock = locked_station
    open_at_lock = []

    def walk_away() -> None:
        clock[0] += 301.0
        win.refresh()
        open_at_lock.extend(w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog) and w.isVisible())

    QTimer.singleShot(300, walk_away)
    QTimer.singleShot(4000, lambda: [w.reject() for w in QApplication.topLevelWidgets()
                                     if isinstance(w, QFileDialog) and w.isVisible()])
    page = win.tabs.widget(1)
    assert ask_save_path(page, "Billing CSV", tmp_path / "billing.csv", "CSV (*.csv)") == ""
    assert win.locked and open_at_lock == []


def test_an_alarm_never_covers_the_sign_in_of_a_locked_station(qtbot, locked_station):
    """New-user pass: the alarm banner was laid over the top of the left column, where the lock bar is:
    a locked station with a HIGH alarm up hid its sign-in until the alarm was acknowledged."""
    import time

    from ionto_console.core.alarms import AlarmPriority

    win, desk, clock = locked_station
    win.resize(1100, 700)
    desk.alarms.raise_alarm("test-high", AlarmPriority.HIGH, "Open circuit: electrode contact lost", time.monotonic())
    win.alarm_banner.refresh()
    clock[0] += 301.0
    win.refresh()
    qtbot.wait(50)
    assert win.locked and win.alarm_banner.isVisible() and win.lock_bar.isVisible()
    central = win.centralWidget()
    bar = win.lock_bar.geometry().translated(win.left_column.pos())
    assert not win.alarm_banner.geometry().intersects(bar), (win.alarm_banner.geometry(), bar)
    assert central.childAt(bar.center()) is not win.alarm_banner
    unlock(qtbot, win, "dana", DANA)
    qtbot.wait(50)
    assert not win.lock_bar.isVisible()
    assert win.alarm_banner.geometry().top() == win.left_column.geometry().top()  # back at the top
