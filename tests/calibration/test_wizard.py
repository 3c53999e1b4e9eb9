"""pytest-qt drives the calibration wizard through whole runs against the simulated bench."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading

from PySide6.QtCore import Qt

from ionto_console.control.calibration import RunnerSettings, records_audit_head, store_calibration_result
from ionto_console.core.calibration import Verdict
from ionto_console.records import calibrations_of, open_database, sqlite_url
from ionto_console.records.demo import mark_as_demo
from ionto_console.ui.calibration_wizard import CalibrationWizard

from cal_helpers import QUICK_PLAN, clinic_database, database_state, output_is_off, read_ident, spec_for
from support import wait_for_value

SCREENSHOT = "/tmp/cal_wizard.png"
RUN_MS = 60_000


def _wizard(qtbot, bench, store=None, audit_head=None) -> CalibrationWizard:
    # the simulated bench: the result says so (as the demo console's Calibration tab sets it)
    wiz = CalibrationWizard(RunnerSettings(plan=QUICK_PLAN, simulated=True), defaults=spec_for(bench),
                            ports=[bench.board.port], store=store, audit_head=audit_head)
    qtbot.addWidget(wiz)
    wiz.show()
    return wiz


def _connect(qtbot, wiz: CalibrationWizard, engineer: str = "Ravi Menon") -> None:
    page = wiz.connect_page
    assert not page.isComplete()
    page.engineer.setText(engineer)
    qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    assert "34461A" in page.identities.text() and "PRS-200" in page.identities.text()
    assert "SIM-00001" in page.status.text()


def test_wizard_calibrates_verifies_and_saves_the_certificate(qtbot, bench, tmp_path) -> None:
    demo_url = sqlite_url(tmp_path / "demo.sqlite3")
    with open_database(demo_url) as demo:
        mark_as_demo(demo)
    clinic_url = os.environ["IONTO_DATABASE_URL"]
    before = clinic_database(clinic_url)
    stored_on: list[threading.Thread] = []

    def store(result):
        stored_on.append(threading.current_thread())
        return store_calibration_result(result, demo_url)

    wiz = _wizard(qtbot, bench, store=store,
                  audit_head=lambda: records_audit_head(demo_url))
    _connect(qtbot, wiz)
    wiz.next()
    assert wiz.currentId() == wiz.SWEEP
    sweep = wiz.sweep_page
    qtbot.waitUntil(sweep.isComplete, timeout=RUN_MS)
    assert sweep.table.rowCount() == QUICK_PLAN.point_count
    xs, ys = sweep.plot.found.getData()
    assert len(xs) == QUICK_PLAN.point_count and min(ys) < -90  # the factory error at 4 mA shows on the plot
    # the key names what is drawn, above the plot: no legend over the points, no "as left" before any exists
    assert sweep.plot.plot.legend is None, "a legend inside the data area covers points"
    assert "as found" in sweep.plot.key_text() and "as left" not in sweep.plot.key_text()
    wiz.grab().save(SCREENSHOT)
    # Nothing is written before the engineer presses "Write to board".
    assert bench.board.board.nvram.cal_gain == 1.0 and output_is_off(bench)

    wiz.next()
    assert wiz.currentId() == wiz.FIT and "New:" in wiz.fit_page.summary.text()
    wiz.next()  # the commit button: approves the write
    assert wiz.currentId() == wiz.VERIFICATION
    qtbot.waitUntil(wiz.verification_page.isComplete, timeout=RUN_MS)
    assert wiz.verification_page.table.rowCount() == 2 * QUICK_PLAN.point_count
    assert "as left" in wiz.verification_page.plot.key_text()
    wiz.next()
    assert wiz.currentId() == wiz.CERTIFICATE
    cert = wiz.certificate_page
    # Issue 14: the screen headlined "PASS: all … points" over as-found FAIL rows. Now as found and
    # as left apart, in the certificate's words, and SIMULATED first for the simulated bench.
    assert cert.verdict_text().splitlines() == ["As found: FAIL", "As left: PASS"], cert.verdict_text()
    assert "out of tolerance" in cert.reasons[0].text() and not cert.simulated.isHidden()
    assert cert.simulated.text().startswith("SIMULATED bench") and "Largest error as left" in cert.details.text()
    result = wiz.state.result
    assert result is not None and result.verdict is Verdict.PASS and result.engineer == "Ravi Menon"
    # the record is kept on the archive's worker thread, never the GUI thread
    day = result.finished_at.date().isoformat()
    qtbot.waitUntil(lambda: cert.saved.text() == f"Stored in the demo's records on {day}; certificate not saved yet.",
                    timeout=10_000)
    assert "record 1" not in cert.saved.text() and "calibration 1" not in cert.saved.text()
    assert stored_on and all(t is not threading.main_thread() for t in stored_on)
    db = open_database(demo_url)
    (stored,) = calibrations_of(db, result.board_serial)
    assert stored.verdict == "pass" and stored.engineer == "Ravi Menon" and stored.simulated
    db.close()
    # The same result offered to a clinic's records is refused, and they stay as they were; so is a
    # result that lost its flag (the simulator's IDENT gives it away).
    assert "NOT stored" in store_calibration_result(result, clinic_url)
    unflagged = result.model_copy(update={"simulated": False})
    assert "NOT stored" in store_calibration_result(unflagged, clinic_url)
    with open_database(clinic_url) as db:
        assert database_state(db) == before

    pdf = tmp_path / "cert.pdf"
    cert.save(pdf)
    qtbot.waitUntil(lambda: "certificate saved to" in cert.saved.text(), timeout=10_000)
    assert cert.saved.text() == f"Stored in the demo's records on {day}; certificate saved to {pdf}."
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):  # the footer prints the audit head that covers the stored result
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert re.search(r"Audit head #\d+ [0-9a-f]{16}", text), text[-300:]
    ident = read_ident(bench.board.port)
    assert (ident.cal_gain, ident.cal_offset_ua) == (result.new_constants.gain, result.new_constants.offset_ua)
    wiz.accept()


def test_closing_the_wizard_mid_sweep_turns_the_output_off_and_writes_nothing(qtbot, bench) -> None:
    wiz = _wizard(qtbot, bench)
    _connect(qtbot, wiz)
    wiz.next()
    qtbot.waitUntil(lambda: wiz.sweep_page.table.rowCount() >= 2, timeout=RUN_MS)
    assert not output_is_off(bench)
    wiz.reject()
    wait_for_value(lambda: output_is_off(bench), bool, "the output off after closing the wizard", 10.0)
    assert bench.board.board.nvram.cal_gain == 1.0


def test_verify_mode_skips_fit_and_verification(qtbot, bench) -> None:
    wiz = _wizard(qtbot, bench)
    wiz.connect_page.verify.setChecked(True)
    _connect(qtbot, wiz)
    wiz.next()
    qtbot.waitUntil(wiz.sweep_page.isComplete, timeout=RUN_MS)
    wiz.next()
    assert wiz.currentId() == wiz.CERTIFICATE
    assert wiz.certificate_page.verdict_text() == "Result: FAIL"  # the factory constants are off
    assert bench.board.board.nvram.cal_gain == 1.0


def test_a_missing_dmm_is_shown_and_blocks_the_start(qtbot, bench) -> None:
    wiz = _wizard(qtbot, bench)
    page = wiz.connect_page
    page.dmm.setText("TCPIP::127.0.0.1::1::SOCKET")
    page.engineer.setText("Ravi")
    qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Not connected" in page.status.text() and "DMM" in page.status.text(), timeout=10_000)
    assert not page.isComplete()


def test_connecting_on_a_small_screen_squeezes_no_row(qtbot, bench) -> None:
    """New-user pass at 1280x720 (150 %): after Connect the identities added lines under the form, the
    wizard kept the page's old height and "Found" and the run options were cut in half. In the tab's
    scroll area (853x330 logical pixels), every row keeps its height and the tab scrolls instead."""
    from ionto_console.ui.main_window import scrolling

    wiz = CalibrationWizard(RunnerSettings(plan=QUICK_PLAN, simulated=True), defaults=spec_for(bench),
                            ports=[bench.board.port])
    wiz.setWindowFlags(Qt.WindowType.Widget)
    area = scrolling(wiz)
    qtbot.addWidget(area)
    area.resize(853, 330)
    area.show()
    page = wiz.connect_page
    page.offer([bench.board.port, "/dev/ttyS0"], ["ASRL/dev/ttyS0::INSTR"])
    _connect(qtbot, wiz)
    qtbot.wait(50)
    squeezed = []
    for widget in (page.found, page.engineer, page.calibrate, page.verify, page.connect_button, page.status,
                   page.identities):
        need = widget.heightForWidth(widget.width()) if widget.hasHeightForWidth() else widget.sizeHint().height()
        if widget.height() < need:
            squeezed.append(f"{type(widget).__name__} {getattr(widget, 'text', lambda: '')()[:30]!r}: "
                            f"{widget.height()} of {need} px")
    assert not squeezed, squeezed
    assert area.verticalScrollBar().maximum() > 0  # the tab scrolls to the rest
    wiz.reject()
