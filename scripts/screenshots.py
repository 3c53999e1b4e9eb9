"""Screenshots of the console's screens on a real X display (docs/screenshots/).

Run under Xvfb at each screen size and scale, e.g.::

    Xvfb :51 -screen 0 1366x768x24 &
    DISPLAY=:51 QT_SCALE_FACTOR=1.25 .venv/bin/python scripts/screenshots.py 1366x768@125 --maximised

It builds the console's real pieces (the simulated board on a pty, a throwaway
records file with a returning patient, the therapist's window), shows the
window maximised (as large as the screen) or as a smaller window, walks
through the screens a therapist sees (set-up with the patient's history, the
checklist, a running treatment, a real HIGH alarm (the electrode lifts off in the
simulator), the continued run stopped for a side effect, the checklist of another run the same day, the Records tab
and a session selected on it) and grabs
the whole X screen after each, then the engineer's Calibration tab (the
connect page, a whole calibration of the demo's board: the as-found sweep and
the result page; ``--calibration-only`` takes just these). The window is never
moved by a window manager: there is none under Xvfb.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("label", help="file name part, e.g. 1366x768@125")
    parser.add_argument("--maximised", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--calibration-only", action="store_true",
                        help="only the engineer's Calibration tab: connect, as-found sweep, result")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])

    from ionto_console.app import SIMULATOR_KEY, BoardSources, records_browser
    from ionto_console.control.station import Station
    from ionto_console.control.treatment_desk import TreatmentDesk
    from ionto_console.core.prechecks import Check
    from ionto_console.core.protocols import load_library
    from ionto_console.records import open_database, sqlite_url
    from ionto_console.settings import Settings
    from ionto_console.ui.alarm_sound import RecordingPlayer
    from ionto_console.ui.deferred_page import DeferredPage
    from ionto_console.ui.main_window import MainWindow

    folder = Path(tempfile.mkdtemp(prefix="ionto-shots-"))
    db = open_database(sqlite_url(folder / "records.sqlite3"))
    from ionto_console.records.demo import mark_as_demo

    mark_as_demo(db)  # the demo treats only into demo records
    station = Station()
    sources = BoardSources(station, Settings(demo=True))
    desk = TreatmentDesk(station, db=db, demo=True, prepare_board=sources.match_simulated_load)
    window = MainWindow(station, sources, desk, load_library(), alarm_player=RecordingPlayer())
    window.setWindowTitle("Ionto Console — Therapist")
    window.add_page(DeferredPage(lambda: records_browser(db)), "Records")
    window.confirm = lambda title, question: True
    screen = app.primaryScreen().availableGeometry()
    if args.maximised:
        window.setGeometry(screen)
        window.show()
    else:
        window.resize(min(1280, screen.width() - 40), min(860, screen.height() - 60))
        window.move(20, 20)
        window.show()
    sources.connect(SIMULATOR_KEY)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mode = "max" if args.maximised else "win"

    def wait(seconds: float, until=lambda: False) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            app.processEvents()
            time.sleep(0.02)

    def shot(name: str) -> None:
        wait(0.6)
        path = out / f"{name}-{args.label}-{mode}.png"
        app.primaryScreen().grabWindow(0).save(str(path))
        print(path)

    def checklist_answers(dialog) -> None:
        for question in dialog.questions:
            dialog.answer(question.check.value, yes=question.check is Check.PATIENT_INFORMED)

    def engineer_shots() -> None:
        """The engineer's Calibration tab on the demo: the connect page (the connected simulator and its
        simulated bench filled in), a whole calibration of the demo's board (as-found sweep awaiting
        approval, then the result page headlined as found / as left, SIMULATED) and the board header."""
        from ionto_console.accounts import Role, User

        engineer = MainWindow(station, sources, desk, load_library(),
                              user=User(2, "eve", "Eve Engineer", Role.ENGINEER), alarm_player=RecordingPlayer())
        engineer.confirm = lambda title, question: True
        engineer.setGeometry(window.geometry())
        engineer.show()
        wizard = engineer.calibration.wizard
        page = wizard.connect_page
        wait(15, lambda: "VISA" in page.found.text() and bool(page.dmm.text()))
        shot("calibration")
        page.connect_button.click()
        wait(30, page.isComplete)
        if not page.isComplete():
            raise SystemExit(f"the calibration bench did not connect: {page.status.text()}")
        wizard.next()
        wait(300, wizard.sweep_page.isComplete)
        shot("calibration-sweep")
        wizard.next()  # fit and write
        wizard.next()  # "Write to board": the engineer approves
        wait(300, wizard.verification_page.isComplete)
        wizard.next()
        certificate = wizard.certificate_page
        wait(15, lambda: "Stored in" in certificate.saved.text())
        if wizard.currentId() != wizard.CERTIFICATE or "Stored in" not in certificate.saved.text():
            raise SystemExit(f"the calibration did not end on its result page: page {wizard.currentId()}, "
                             f"{wizard.state.phase_text!r}, {certificate.saved.text()!r}")
        result = wizard.state.result
        if result is None or result.verdict.value == "error":
            # an aborted run also ends on this page ("Stored in"): the walk must not call it a calibration
            raise SystemExit(f"the calibration did not complete: {result.reason if result else 'no result'}")
        certificate.save(folder / "calibration-certificate.pdf")
        wait(15, lambda: "certificate saved to" in certificate.saved.text())
        wait(3)  # the header looks the new certificate up
        shot("calibration-result")
        engineer.close()

    if args.calibration_only:
        wait(15, lambda: station.link is not None and station.link.ident is not None)
        window.close()
        engineer_shots()
        desk.shutdown()
        sources.shutdown()
        return 0

    wait(15, lambda: desk.blockers(None) == ["Choose a patient and a protocol."])
    setup = window.setup
    # a returning patient: one earlier (short) session in the records
    setup.patient_id.setText("P-1001")
    setup.patient_name.setText("Maximiliane Theodora Wolkenstein-Hohenberg")
    setup.date_of_birth.setText("1961-04-23")
    setup.protocol.setCurrentIndex(next(i for i, p in enumerate(setup._protocols) if "dexamethasone" in p.id))
    setup.side.setCurrentText("left")
    setup.diagnosis.setCurrentIndex(7)
    setup.look_up_patient()
    wait(10, setup.history_current)
    shot("treatment-setup")
    dialog = setup.make_checklist()
    checklist_answers(dialog)
    dialog.show()
    frame = screen
    dialog.move(frame.x() + max((frame.width() - dialog.width()) // 2, 0),
                frame.y() + max((frame.height() - dialog.height()) // 2, 0))
    shot("checklist")
    setup.accept_checklist(dialog.result_value())
    dialog.close()
    window.treatment.start()
    wait(20, lambda: desk.controller is not None and desk.controller.snapshot().current_ma > 0.5)
    if desk.controller is None:
        raise SystemExit(f"the treatment did not start: {window.treatment.message.text()}")
    shot("treatment-running")
    # A real alarm, as a therapist meets it: the electrode lifts off the skin on the simulated board, the
    # board's interlock switches the output off and the session raises its HIGH alarm. (An alarm raised
    # by hand beside a running session staged "output switched off" next to "Treating — current flowing".)
    sources.simulator.lift_electrode()
    wait(10, lambda: window.alarm_banner.isVisible() and not desk.active
         and not (station.snapshot().live and station.snapshot().live.output_on))
    if desk.active:
        raise SystemExit("the electrode lift did not stop the treatment")
    wait(2)
    shot("treatment-running-alarm")
    desk.alarms.acknowledge_all(time.monotonic())
    sources.simulator.restore_electrode()
    # the rest of the prescription (the screen offers it after the interruption), with its own checklist,
    # then a side-effect stop: the outcome, the next step and Sign
    wait(5, lambda: setup.continue_box.isVisible())
    setup.look_up_patient()
    wait(10, setup.history_current)
    dialog = setup.make_checklist()
    checklist_answers(dialog)
    setup.accept_checklist(dialog.result_value())
    wait(10, window.treatment.start_button.isEnabled)
    first = desk.controller
    window.treatment.start()
    wait(20, lambda: (run := desk.controller) is not None and run is not first and run.snapshot().current_ma > 0.5)
    if desk.controller is None or desk.controller is first:
        raise SystemExit(f"the continued run did not start: {window.treatment.message.text()}")
    window.treatment.stop("dizziness")
    wait(10, lambda: not desk.active)
    shot("treatment-stopped")
    # another run the same day, half answered: the corticosteroid rule said once, in plain words, in a
    # verdict panel of fixed height (the rows above never move as answers come in)
    setup.look_up_patient()
    wait(10, setup.history_current)
    dialog = setup.make_checklist()
    for question in dialog.questions[:4]:
        dialog.answer(question.check.value, yes=False)
    dialog.show()
    dialog.move(frame.x() + max((frame.width() - dialog.width()) // 2, 0),
                frame.y() + max((frame.height() - dialog.height()) // 2, 0))
    shot("checklist-again")
    dialog.close()
    # what "Sign session…" signs, in its dialog
    from ionto_console.ui.treatment_view import SignDialog

    sign = SignDialog("Dana Therapist", True, window, what=window.treatment.signing_what())
    sign.show()
    sign.move(frame.x() + max((frame.width() - sign.width()) // 2, 0),
              frame.y() + max((frame.height() - sign.height()) // 2, 0))
    shot("sign")
    sign.close()
    # the next patient, a tap-water one, before the last session is signed: the live area is theirs,
    # "Sign previous session…" keeps the last one signable
    from PySide6.QtTest import QTest

    setup.patient_id.setFocus()
    setup.patient_id.selectAll()
    QTest.keyClicks(setup.patient_id, "P-3001")
    setup.patient_name.setText("Maria Sweat")
    setup.date_of_birth.setText("1990-06-06")
    setup.protocol.setCurrentIndex(next(i for i, p in enumerate(setup._protocols) if p.id.startswith("tap-water-feet")))
    setup.look_up_patient()
    wait(10, setup.history_current)
    window.treatment.scroll.verticalScrollBar().setValue(0)
    shot("treatment-next-patient")
    window.tabs.setCurrentIndex(1)
    shot("board-monitor")
    window.tabs.setCurrentIndex(window.tabs.count() - 1)
    wait(5)
    shot("records")
    # the session just stopped, selected: its summary beside the list (the list keeps its width)
    browser = window.tabs.widget(window.tabs.count() - 1).widget().content
    browser.select_row(0)
    wait(10, lambda: browser.selected_session_id is not None and not browser.busy)
    shot("records-selected")
    if browser.plots_in_tab():  # a short screen: the session's plots are the tab beside its summary
        browser.details.setCurrentWidget(browser.plots)
        shot("records-plots")
        browser.details.setCurrentIndex(0)
    window.close()
    engineer_shots()
    desk.shutdown()
    sources.shutdown()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("IONTO_DEMO_USERS", "1")
    sys.exit(main())
