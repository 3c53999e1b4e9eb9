"""The next patient's screen describes the next patient (issue 14, new-user pass after the build).

Changing the ID from P-2001 to P-1001 cleared name and birth date, but the banner still showed the
previous patient, the state line "Stopped: Dizziness", the dose 0.5 and an enabled "Sign session…";
a tap-water patient got the previous drug's banner and polarity, and "left" with "M76.60 Achilles
tendinitis". The sign dialog did not say which session it signs. After a tap-water trip the readout
grid changed (two wide tiles, Remaining on a new row).

Choice for the unsigned session: the therapist may go on to the next patient (the clinic's queue does
not wait for a signature, and the record is already closed and safe); the finished run leaves the live
area, and "Sign previous session…" with a line naming the patient keeps it signable, the dialog saying
exactly which session is signed. Closing the console with it unsigned still warns (main window).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ionto_console.app import SIMULATOR_KEY
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.core.protocols import electrode_polarity_text, load_library
from ionto_console.core.session import SessionState, SideEffect
from ionto_console.core.sites import sites_for
from ionto_console.records import open_database, sqlite_url
from ionto_console.records.demo import mark_as_demo
from ionto_console.ui.alarm_sound import RecordingPlayer
from ionto_console.ui.main_window import MainWindow
from ionto_console.ui.treatment_view import SIGN_PREVIOUS, SignDialog
from test_next_step import not_a_corticosteroid
from test_treatment_screen import DANA_PW, WAIT_MS, fill_setup, pass_checklist, start, wait_state


def tap_water_feet():
    return next(p for p in load_library() if p.id.startswith("tap-water-feet"))


@pytest.fixture
def stopped_screen(qtbot, sources, tmp_path, fast_passwords):
    """A run for P-0042 (Ada Example, acetic acid, left Achilles, an indication) stopped for dizziness."""
    from ionto_console.accounts import create_first_admin

    db = open_database(sqlite_url(tmp_path / "records.sqlite3"))
    mark_as_demo(db)
    dana = create_first_admin(db, "dana", "Dana Therapist", DANA_PW)
    desk = TreatmentDesk(sources.station, db=db, operator=lambda: "Dana Therapist", demo=True, signer=lambda: dana)
    win = MainWindow(sources.station, sources, desk, [not_a_corticosteroid(), tap_water_feet()],
                     alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    win.resize(1700, 950)  # a wide page: the banner shows the chosen patient before a run too
    win.show()
    sources.connect(SIMULATOR_KEY)
    qtbot.waitUntil(lambda: win.station.snapshot().live is not None, timeout=WAIT_MS)
    fill_setup(win)
    win.setup.date_of_birth.setText("1970-05-06")
    win.setup.diagnosis.setCurrentIndex(0)
    pass_checklist(win, qtbot)
    start(qtbot, win)
    wait_state(qtbot, win.desk.controller, lambda snap: snap.current_ma > 0.9)
    qtbot.mousePress(win.treatment.stops.buttons[SideEffect.DIZZINESS.value], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(win.treatment.sign_button.isEnabled, timeout=WAIT_MS)
    yield win
    desk.shutdown()
    db.close()


def type_new_id(qtbot, win, identifier: str) -> None:
    field = win.setup.patient_id
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, identifier)
    win.treatment.refresh()


def test_a_new_patient_clears_the_finished_run_and_it_stays_signable(qtbot, stopped_screen):
    win = stopped_screen
    view, setup = win.treatment, win.setup
    view.refresh()
    assert "Dizziness" in view.state_banner.text() and "P-0042" in view.patient_banner.text()
    assert view.dose.text() != "--"

    type_new_id(qtbot, win, "P-1001")
    assert setup.patient_name.text() == "" and setup.side.currentIndex() == 0 and setup.diagnosis_code() == ""
    banner = view.patient_banner.text()
    assert "P-1001" in banner and "P-0042" not in banner and "Ada" not in banner, banner
    assert view.state_banner.text() == "Ready"
    for readout in (view.current, view.dose, view.remaining, view.goal, view.elapsed):
        assert readout.text() == "--", readout.objectName()
    message = view.message.text()
    assert "Dizziness" not in message
    # the finished, unsigned run: still signable, and the screen says whose it is
    assert view.sign_button.isEnabled() and view.sign_button.text() == SIGN_PREVIOUS
    assert "Not signed yet" in message and "Ada Example (ID P-0042)" in message, message
    what = dict(view.signing_what())
    assert what["Patient"].startswith("Ada Example (ID P-0042") and "Dizziness" in what["Outcome"]
    # what it was for, as the record and the bill will say (the new-user pass: the dialog left it out)
    assert what["Indication"].startswith(win.desk.plan.diagnosis_code + " ") and len(what["Indication"]) > 8

    setup.patient_name.setText("Zofia Nowak")
    view.refresh()
    assert view.patient_banner.text().startswith("Zofia Nowak · ID P-1001")

    view.sign_with("Performed", "", DANA_PW, "dana")
    qtbot.waitUntil(lambda: not view._signing, timeout=WAIT_MS)
    view.refresh()
    assert "Session signed" in view.message.text()  # the result of the signing the therapist just did
    assert "Not signed yet" not in view.message.text()
    assert not view.sign_button.isEnabled(), "“Sign previous session…” is still offered for a signed session"


def test_a_signed_session_leaves_with_its_patient_and_a_new_protocol_resets_the_site(qtbot, stopped_screen):
    win = stopped_screen
    view, setup = win.treatment, win.setup
    view.sign_with("Performed", "", DANA_PW, "dana")
    qtbot.waitUntil(lambda: "Session signed" in view.message.text(), timeout=WAIT_MS)
    assert not view.sign_button.isEnabled(), "“Sign session…” is still offered for the session just signed"

    # the same patient, another protocol: the run, its line and its polarity leave the live area
    setup.protocol.setCurrentIndex(1)
    view.refresh()
    tap = tap_water_feet()
    assert "Session signed" not in view.message.text() and "Dizziness" not in view.state_banner.text()
    assert not view.sign_button.isEnabled() and view.sign_button.text() != SIGN_PREVIOUS  # nothing left to sign
    assert tap.name in view.patient_banner.text() and "acetic" not in view.patient_banner.text().lower()
    assert view.polarity.text() == electrode_polarity_text(tap, tap.polarity.anode)
    assert [setup.site.itemText(i) for i in range(setup.site.count())] == sites_for(tap)
    assert setup.side.currentIndex() == 0 and setup.diagnosis_code() == ""
    assert view.dose.text() == "--"

    # back to the run's patient and protocol: the finished run is theirs again
    setup.protocol.setCurrentIndex(0)
    view.refresh()
    assert "Dizziness" in view.state_banner.text() and view.sign_button.text() == "Sign session…"
    assert not view.sign_button.isEnabled()


def test_the_sign_dialog_shows_what_is_signed(qtbot, stopped_screen):
    """New-user pass: the dialog asked for the password without naming the session."""
    view = stopped_screen.treatment
    dialog = SignDialog("Dana Therapist", True, view, what=view.signing_what())
    qtbot.addWidget(dialog)
    shown = {label: widget.text() for label, widget in dialog.what.items()}
    assert set(shown) == {"Patient", "Born", "Protocol", "Indication", "Outcome", "Dose delivered", "Date"}
    assert shown["Patient"] == "Ada Example (ID P-0042)" and shown["Born"] == "1970-05-06"
    assert shown["Protocol"].startswith("Test: acetic acid, small dose · Achilles tendon (left)")
    assert "Dizziness" in shown["Outcome"] and shown["Dose delivered"].endswith("of 5 mA·min")
    assert shown["Date"][:4].isdigit() and len(shown["Date"]) == len("2026-11-30 18:00")
    assert stopped_screen.desk.controller.snapshot().state is SessionState.STOPPED


@pytest.mark.parametrize("size", [(1092, 574), (1366, 728), (853, 440)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_readout_grid_keeps_its_layout_whatever_the_numbers(qtbot, window, size):
    """New-user pass (1366x768 at 125 %): after a tap-water trip ("of 400 mA·min", "399.5", "19:58")
    Current and Dose became two wide tiles and Remaining moved to a row of its own."""
    view = window.treatment
    view._timer.stop()  # the numbers below stay as a run left them
    window.resize(*size)
    qtbot.wait(50)

    def places():
        return [(view.big_readouts._grid.getItemPosition(view.big_readouts._grid.indexOf(w))[:2], w.width())
                for w in (view.current, view.dose, view.remaining)]

    before = places()
    view.dose.set_unit("of 400 mA·min")
    view.current.set_value("12.34")
    view.dose.set_value("399.5")
    view.remaining.set_value("19:58")
    window.resize(size[0] + 1, size[1])  # the page is laid out again, as at the next resize or tab switch
    window.resize(*size)
    qtbot.wait(50)
    assert places() == before


def test_the_offer_to_continue_does_not_widen_the_page(qtbot, window):
    """Screenshots at 1280x720 at 150 %: after an electrode lift the offer's long check-box line widened the
    page past the screen (a sideways scroll bar, the Dose readout cut in half). Its words wrap now."""
    from ionto_console.core.continuation import Continuation

    window.treatment._timer.stop()  # the offer stays (the desk has no interrupted run to offer)
    window.resize(853, 440)
    qtbot.wait(50)
    protocol = window.setup.selected_protocol()
    window.setup.offer_continuation(Continuation(7, "P-1001", protocol.id, 0.5, protocol.dose_target_ma_min))
    qtbot.wait(50)
    assert window.setup.continue_box.isVisible()
    assert "already delivered" in window.setup.continue_text.text()
    assert window.treatment.scroll.horizontalScrollBar().maximum() == 0
