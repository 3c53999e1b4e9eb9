"""Engineer-only calibration wizard: connect, sweep, fit + write, verification, certificate.

It shows state and sends intents; all logic is in ``CalibrationRunner`` and
``core.calibration``. The runner reports on its own thread into a queue; a
QTimer drains the queue on the GUI thread and refreshes the pages and the
pyqtgraph plot (never a Qt or pyqtgraph call from the runner's thread).

The finished result is kept in the records and the certificate written
through ``control.calibration_archive`` on its worker thread (never on the
GUI thread, never from a page's refresh): the record is asked for once, when
the certificate page is entered with a result.

The composition root decides who may open it (engineers only): this module
does not know about users.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCompleter
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QRadioButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget, QWizard, QWizardPage)

from ..core.numbers import signed
from ..control.calibration_archive import CalibrationArchive
from ..control.calibration import (BenchSpec, CalibrationRunner, ConnectFailed, FitReady, Identified, Phase,
                                   PhaseChanged, PointMeasured, RunEvent, RunFinished, RunnerSettings, sentence)
from ..core.calibration import (SIMULATED_WARNING, CalibrationResult, Constants, Fit, Mode, PointResult, Tolerance,
                                Verdict, headlines)
from .background_pump import BackgroundPump

POLL_MS = 100
AS_FOUND_BRUSH = "#c62828"
AS_LEFT_BRUSH = "#1565c0"
VERDICT_STYLE = {Verdict.PASS: "color:#1b5e20;", Verdict.FAIL: "color:#b71c1c;", Verdict.ERROR: "color:#8d6e00;"}

RunnerFactory = Callable[[BenchSpec, RunnerSettings, Callable[[RunEvent], None]], CalibrationRunner]


def default_runner_factory(spec: BenchSpec, settings: RunnerSettings,
                           on_event: Callable[[RunEvent], None]) -> CalibrationRunner:
    return CalibrationRunner(spec.connect, settings, on_event=on_event, board_url=spec.board_url)


@dataclass
class WizardState:
    """What the runner told us so far (GUI thread only)."""

    identified: Identified | None = None
    connect_error: str = ""
    phase: Phase | None = None
    phase_text: str = ""
    points: dict[str, list[PointResult]] = field(default_factory=lambda: {"as-found": [], "as-left": []})
    total: int = 0
    fit: FitReady | None = None
    result: CalibrationResult | None = None

    def apply(self, event: RunEvent) -> None:
        if isinstance(event, Identified):
            self.identified, self.connect_error = event, ""
        elif isinstance(event, ConnectFailed):
            self.identified, self.connect_error = None, event.reason
        elif isinstance(event, PhaseChanged):
            self.phase, self.phase_text = event.phase, event.text
        elif isinstance(event, PointMeasured):
            self.points.setdefault(event.sweep, []).append(event.point)
            self.total = event.total
        elif isinstance(event, FitReady):
            self.fit = event
        elif isinstance(event, RunFinished):
            self.result = event.result


def _constants_text(c: Constants | None) -> str:
    return "—" if c is None else f"gain {c.gain:.6f}, offset {signed(c.offset_ua, 2)} µA"


class ErrorPlot(QWidget):
    """Error (µA) against set current (mA), with the tolerance envelope; refreshed by the wizard's timer.

    WHY the key is a line above the plot, not pyqtgraph's legend: the legend sat in the top left of the
    data area and covered the as-found point at 0.1 mA, and it listed "as left" before the verification
    had measured any (new-user pass). The key names only what is drawn."""

    def __init__(self, tolerance: Tolerance, max_current_ma: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="#333")
        self.widget = pg.PlotWidget()
        self.plot = self.widget.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "set current", units="mA")
        self.plot.setLabel("left", "error (board − DMM)", units="µA")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setMenuEnabled(False)
        x = np.linspace(0, max_current_ma * 1.05, 200)
        envelope = np.array([tolerance.allowed_ua(v * 1000) for v in x])
        pen = pg.mkPen("#2e7d32", width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
        self.plot.plot(x, envelope, pen=pen)
        self.plot.plot(x, -envelope, pen=pen)
        self.found = self.plot.plot([], [], pen=None, symbol="o", symbolSize=8, symbolBrush=AS_FOUND_BRUSH,
                                    symbolPen=None)
        self.left = self.plot.plot([], [], pen=None, symbol="s", symbolSize=8, symbolBrush=AS_LEFT_BRUSH,
                                   symbolPen=None)
        #: What the plot shows, in one line above it (never over the points).
        self.key = QLabel("")
        self.key.setObjectName("plot_key")
        self.key.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.key)
        layout.addWidget(self.widget, 1)
        self._keyed: tuple[bool, bool] | None = None
        self._show_key(False, False)

    def _show_key(self, found: bool, left: bool) -> None:
        if self._keyed == (found, left):
            return
        self._keyed = (found, left)
        parts = ['<span style="color:#2e7d32;">- - -</span> tolerance']
        if found:
            parts.append(f'<span style="color:{AS_FOUND_BRUSH};">●</span> as found')
        if left:
            parts.append(f'<span style="color:{AS_LEFT_BRUSH};">■</span> as left')
        self.key.setText("&nbsp;&nbsp;&nbsp;".join(parts))

    def key_text(self) -> str:
        """The key as plain words (what a test or a screen reader reads)."""
        return self.key.text().replace("&nbsp;", " ")

    def show_points(self, found: list[PointResult], left: list[PointResult]) -> None:
        for item, pts in ((self.found, found), (self.left, left)):
            item.setData([p.set_ua / 1000 for p in pts], [p.error_ua for p in pts])
        self._show_key(bool(found), bool(left))


class PointTable(QTableWidget):
    HEADERS = ("Sweep", "Load Ω", "Set mA", "DMM mA", "Board mA", "Error µA", "Allowed µA", "Result")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(self.HEADERS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

    def show_points(self, rows: list[tuple[str, PointResult]]) -> None:
        if self.rowCount() == len(rows):
            return
        self.setRowCount(len(rows))
        for r, (sweep, p) in enumerate(rows):
            cells = (sweep, f"{p.load_ohm:g}", f"{p.set_ua / 1000:g}", f"{p.dmm_ua / 1000:.4f}",
                     f"{p.board_ua / 1000:.4f}", f"{signed(p.error_ua, 1)}", f"±{p.allowed_ua:.1f}",
                     "pass" if p.passed else "FAIL")
            for c, text in enumerate(cells):
                self.setItem(r, c, QTableWidgetItem(text))
        self.scrollToBottom()


# --- pages -----------------------------------------------------------------------------


class ConnectPage(QWizardPage):
    def __init__(self, wizard: "CalibrationWizard", defaults: BenchSpec | None, ports: list[str]) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("Connect the bench")
        self.setSubTitle("Board over USB, DMM in series with the output, decade resistor as the load.")
        self.board = QComboBox()
        self.board.setEditable(True)
        self.board.addItems(ports)
        self.dmm, self.load, self.lcr = QLineEdit(), QLineEdit(), QLineEdit()
        self.lcr.setPlaceholderText("optional: E4980A for the impedance reference")
        if defaults is not None:
            self.board.setEditText(defaults.board_url)
            self.dmm.setText(defaults.dmm)
            self.load.setText(defaults.load)
            self.lcr.setText(defaults.lcr or "")
        self.engineer = QLineEdit()
        self.engineer.setPlaceholderText("your name, for the record and the certificate")
        self.calibrate = QRadioButton("Calibrate (sweep, fit, write, verify)")
        self.verify = QRadioButton("Verify only (nothing written)")
        self.calibrate.setChecked(True)
        self._modes = QButtonGroup(self)
        self._modes.addButton(self.calibrate)
        self._modes.addButton(self.verify)
        self.connect_button = QPushButton("Connect and identify")
        self.status = QLabel("Not connected")
        self.status.setObjectName("connect_status")
        self.status.setWordWrap(True)
        self.found = QLabel("")
        self.found.setObjectName("found_resources")
        self.found.setWordWrap(True)
        self.found.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.identities = QLabel("")
        self.identities.setObjectName("identities")
        self.identities.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Board port", self.board)
        form.addRow("DMM (VISA)", self.dmm)
        form.addRow("Decade (VISA)", self.load)
        form.addRow("LCR (VISA)", self.lcr)
        form.addRow("Found", self.found)
        #: the demo's simulated instruments (shown only when there are some: never on a clinical console)
        self.simulated_bench = QLabel("")
        self.simulated_bench.setObjectName("simulated_bench")
        form.addRow("Simulated bench", self.simulated_bench)
        form.setRowVisible(self.simulated_bench, False)
        self._form = form
        form.addRow("Engineer", self.engineer)
        modes = QVBoxLayout()
        modes.addWidget(self.calibrate)
        modes.addWidget(self.verify)
        form.addRow("Run", modes)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.connect_button)
        layout.addWidget(self.status)
        layout.addWidget(self.identities)
        layout.addStretch(1)
        #: what the engineer chose by hand (typed or picked): ``offer`` never replaces it
        self._board_chosen = False
        self._typed: set[QLineEdit] = set()
        self.board.activated.connect(lambda _: setattr(self, "_board_chosen", True))
        line = self.board.lineEdit()
        if line is not None:
            line.textEdited.connect(lambda _: setattr(self, "_board_chosen", True))
        for field in (self.dmm, self.load, self.lcr):
            field.textEdited.connect(lambda _, f=field: self._engineer_typed(f))
        self.connect_button.clicked.connect(self._connect)
        self.engineer.textChanged.connect(lambda _: self.completeChanged.emit())
        self.setCommitPage(True)  # once the sweep starts there is no going back
        self.setButtonText(QWizard.WizardButton.CommitButton, "Start")

    def offer(self, ports: list[str], resources: list[str], instruments: dict[str, str] | None = None) -> None:
        """Fill the board list (the connected board first, chosen) and offer the VISA resources found.

        ``instruments``: role ("dmm", "decade", "lcr") -> VISA resource of instruments known to be on
        this bench (the demo's simulated bench); they fill their fields. Nothing the engineer typed or
        picked is replaced: only what the page filled itself (issue 14: the constructor's first port,
        /dev/ttyS0, stayed chosen while the console was connected to the simulator)."""
        instruments = instruments or {}
        typed = self.board.currentText()
        self.board.blockSignals(True)
        self.board.clear()
        self.board.addItems(ports)
        if ports and (not typed or not self._board_chosen):
            self.board.setCurrentIndex(0)
        else:
            self.board.setEditText(typed)
        self.board.blockSignals(False)
        for field, role in ((self.dmm, "dmm"), (self.load, "decade"), (self.lcr, "lcr")):
            if instruments.get(role) and field not in self._typed:
                field.setText(instruments[role])
        offered = sorted(set(resources) | set(instruments.values()))
        for field in (self.dmm, self.load, self.lcr):
            field.setCompleter(QCompleter(offered, field))
        visa = ", ".join(resources) if resources else "none (type the resource, e.g. TCPIP::192.0.2.7::INSTR)"
        lines = [f"Serial ports: {', '.join(ports) or 'none'}", f"VISA resources: {visa}"]
        self.found.setText("\n".join(lines))
        names = {"dmm": "DMM", "decade": "decade resistor", "lcr": "LCR meter"}
        simulated = [name for role, name in names.items() if instruments.get(role)]
        # their resources are in the fields above: one short line, in a row of its own (a third line
        # added to "Found" after the page was laid out was cut off)
        self.simulated_bench.setText(f"demo: {', '.join(simulated)}, filled in above" if simulated else "")
        self._form.setRowVisible(self.simulated_bench, bool(simulated))
        self._lay_out_again()  # a row may have appeared (else the rows below were squeezed)

    def _engineer_typed(self, field: QLineEdit) -> None:
        self._typed.add(field)

    def spec(self) -> BenchSpec:
        return BenchSpec(self.board.currentText().strip(), self.dmm.text().strip(), self.load.text().strip(),
                         self.lcr.text().strip() or None)

    def mode(self) -> Mode:
        return Mode.VERIFY if self.verify.isChecked() else Mode.CALIBRATE

    def _connect(self) -> None:
        spec = self.spec()
        if not (spec.board_url and spec.dmm and spec.load):
            self.status.setText("Give the board port, the DMM and the decade resistor.")
            return
        self.status.setText("Connecting…")
        self.connect_button.setEnabled(False)
        self.w.connect_bench(spec)

    def refresh(self, state: WizardState) -> None:
        busy = self.w.runner is not None and self.w.runner.busy
        self.connect_button.setEnabled(not busy)
        shown = (self.status.text(), self.identities.text())
        if state.connect_error:
            self.status.setText(f"Not connected: {state.connect_error}")
            self.identities.setText("")
        elif state.identified is not None:
            ident = state.identified
            self.status.setText(f"Board {ident.board_serial}, firmware {ident.board_firmware}, "
                                f"{_constants_text(ident.constants)}")
            self.identities.setText("\n".join(f"{role}: {idn}" for role, idn in ident.instruments.items()))
        if (self.status.text(), self.identities.text()) != shown:
            # the identities add lines under the form: without a new layout the wizard kept the page's
            # old height and squeezed the rows above ("Found" and the run options cut in half at
            # 1280x720 with 150 %, new-user pass); laid out anew, the tab scrolls instead
            self._lay_out_again()
        self.completeChanged.emit()

    def _lay_out_again(self) -> None:
        """QWizard sizes its page area when it lays a page out, not when the page's content grows later:
        setting the subtitle again has it lay the page out anew."""
        self.setSubTitle(self.subTitle())

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.w.state.identified is not None and bool(self.engineer.text().strip())


class _RunPage(QWizardPage):
    """A page showing the live plot, the phase and the points of one part of the run."""

    def __init__(self, wizard: "CalibrationWizard", title: str, sweep: str) -> None:
        super().__init__()
        self.w = wizard
        self.sweep = sweep
        self.setTitle(title)
        self.phase = QLabel("")
        self.phase.setObjectName("phase")
        self.phase.setWordWrap(True)
        self.progress = QProgressBar()
        plan = wizard.settings.plan
        self.plot = ErrorPlot(wizard.settings.tolerance, max(plan.currents_ua) / 1000)
        self.table = PointTable()
        self.cancel_button = QPushButton("Cancel run (output off, nothing written)")
        self.cancel_button.clicked.connect(lambda: self.w.cancel_run())
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(self.phase, 1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        # never squashed to a strip on a 720-pixel screen (1920x1080 at 150 %): the tab scrolls instead
        self.plot.setMinimumHeight(220)
        self.table.setMinimumHeight(150)
        layout.addWidget(self.plot, 3)
        layout.addWidget(self.table, 2)

    def refresh(self, state: WizardState) -> None:
        self.phase.setText(state.phase_text)
        done = len(state.points.get(self.sweep, []))
        self.progress.setRange(0, max(state.total, 1))
        self.progress.setValue(done)
        self.plot.show_points(state.points["as-found"], state.points["as-left"])
        self.table.show_points([("as-found", p) for p in state.points["as-found"]]
                               + [("as-left", p) for p in state.points["as-left"]])
        self.cancel_button.setEnabled(state.result is None)
        self.completeChanged.emit()


class SweepPage(_RunPage):
    def __init__(self, wizard: "CalibrationWizard") -> None:
        super().__init__(wizard, "Sweep", "as-found")

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self.setTitle("As-found sweep" if self.w.mode is Mode.CALIBRATE else "Verification sweep")
        self.w.start_run()

    def isComplete(self) -> bool:  # noqa: N802
        s = self.w.state
        return s.result is not None or s.phase is Phase.AWAITING_APPROVAL


class FitPage(QWizardPage):
    def __init__(self, wizard: "CalibrationWizard") -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("Fit and write")
        self.setSubTitle("The constants below are written to the board only when you press Write.")
        self.summary = QLabel("")
        self.summary.setObjectName("fit_summary")
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addStretch(1)
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Write to board")

    def refresh(self, state: WizardState) -> None:
        if state.fit is not None:
            fit: Fit = state.fit.fit
            self.summary.setText(
                f"Found: {_constants_text(state.fit.old)}\nNew:   {_constants_text(state.fit.new)}\n"
                f"Fit over {fit.points} points: residual rms {fit.residual_rms_ua:.2f} µA, "
                f"max {fit.residual_max_ua:.2f} µA")
        if state.result is not None:
            self.summary.setText(f"The run ended: {state.result.reason}")
        self.completeChanged.emit()

    def validatePage(self) -> bool:  # noqa: N802 - Qt override: Next = the engineer approves the write
        if self.w.state.result is None:
            self.w.runner.approve_write()
        return True


class VerificationPage(_RunPage):
    def __init__(self, wizard: "CalibrationWizard") -> None:
        super().__init__(wizard, "Verification with the new constants", "as-left")

    def isComplete(self) -> bool:  # noqa: N802
        return self.w.state.result is not None


class CertificatePage(QWizardPage):
    """The result in the certificate's own words: SIMULATED first when it was, then the as-found and
    as-left verdicts apart (``core.calibration.headlines``), then where the result and the PDF are."""

    def __init__(self, wizard: "CalibrationWizard") -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("Result and certificate")
        self.simulated = QLabel(SIMULATED_WARNING)
        self.simulated.setObjectName("simulated")
        self.simulated.setWordWrap(True)
        self.simulated.setStyleSheet("color:#c62828; font-weight:bold;")
        self.simulated.setVisible(False)
        #: one label per verdict line (as found, as left), each with its reason below it
        self.headlines: list[QLabel] = []
        self.reasons: list[QLabel] = []
        for n in range(2):
            headline, reason = QLabel(""), QLabel("")
            headline.setObjectName(f"verdict_{n}")
            reason.setObjectName(f"verdict_reason_{n}")
            for label in (headline, reason):
                label.setWordWrap(True)
                label.setVisible(False)
            self.headlines.append(headline)
            self.reasons.append(reason)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.save_button = QPushButton("Save certificate (PDF)…")
        self.save_button.clicked.connect(self._ask_path)
        #: where the result and the certificate are, in plain words
        self.saved = QLabel("")
        self.saved.setObjectName("saved")
        self.saved.setWordWrap(True)
        self.saved.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stored_text: str | None = None
        self.certificate_text = "certificate not saved yet"
        layout = QVBoxLayout(self)
        layout.addWidget(self.simulated)
        for headline, reason in zip(self.headlines, self.reasons):
            layout.addWidget(headline)
            layout.addWidget(reason)
        layout.addWidget(self.details)
        layout.addWidget(self.saved)
        layout.addWidget(self.save_button)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802
        self.refresh(self.w.state)

    def verdict_text(self) -> str:
        """The headline lines as shown (for the engineer's eye and the tests)."""
        return "\n".join(label.text() for label in self.headlines if not label.isHidden())

    def refresh(self, state: WizardState) -> None:
        r = state.result
        if r is None:
            return
        self.simulated.setVisible(r.simulated)
        lines = headlines(r)
        for n, (headline, reason) in enumerate(zip(self.headlines, self.reasons)):
            shown = n < len(lines)
            headline.setVisible(shown)
            reason.setVisible(shown and bool(lines[n].why if shown else ""))
            if shown:
                line = lines[n]
                headline.setText(line.text)
                headline.setStyleSheet("font-size:14pt; font-weight:bold;" + VERDICT_STYLE[line.verdict])
                reason.setText(sentence(line.why))
                reason.setStyleSheet(VERDICT_STYLE[line.verdict])
        before = r.max_abs_error_ua(r.as_found)
        after = r.max_abs_error_ua(r.as_left)
        details = [f"Board {r.board_serial}, firmware {r.board_firmware}",
                   f"Constants found: {_constants_text(r.old_constants)}",
                   f"Constants left: {_constants_text(r.new_constants) if r.written else 'unchanged'}"]
        if before is not None:
            details.append(f"Largest error as found: {before:.1f} µA")
        if after is not None:
            details.append(f"Largest error as left: {after:.1f} µA")
        details.append(f"Next due: {r.due_date.isoformat() if r.due_date else '—'}")
        self.details.setText("\n".join(details))
        self._show_where()

    def _show_where(self) -> None:
        """"Stored in the clinic's records on <date>; certificate saved to <file>." (or why not)."""
        records = self.stored_text if self.stored_text else "Not stored in any records"
        self.saved.setText(f"{records.rstrip('.')}; {self.certificate_text}.")

    def _ask_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save certificate", "calibration-certificate.pdf", "PDF (*.pdf)")
        if path:
            self.save(Path(path))

    def save(self, path: Path) -> None:
        """Write the certificate (on the archive's worker); the line above the button says when it is done."""
        if self.w.state.result is None:
            return
        self.save_button.setEnabled(False)
        self.certificate_text = "saving the certificate…"
        self._show_where()
        self.w.archive.write_certificate(self.w.state.result, path, lambda error: self._saved(path, error))

    def _saved(self, path: Path, error: str) -> None:
        self.save_button.setEnabled(True)
        self.certificate_text = (f"certificate NOT saved ({error})" if error
                                 else f"certificate saved to {path}")
        self._show_where()

    def show_stored(self, text: str) -> None:
        """The records' answer for the result shown."""
        self.stored_text = text
        self.refresh(self.w.state)


# --- the wizard --------------------------------------------------------------------------


class CalibrationWizard(QWizard):
    """Connect → sweep → fit and write → verification → certificate (verify mode skips fit and verification)."""

    CONNECT, SWEEP, FIT, VERIFICATION, CERTIFICATE = range(5)

    def __init__(self, settings: RunnerSettings | None = None, *, defaults: BenchSpec | None = None,
                 ports: list[str] | None = None, runner_factory: RunnerFactory = default_runner_factory,
                 store: Callable[[CalibrationResult], str] | None = None,
                 audit_head: Callable[[], str] | None = None,
                 parent: QWidget | None = None) -> None:
        """``store`` keeps the finished result in the records (returns a line to show; run on the
        archive's worker thread); None = not stored. ``audit_head`` gives the records' audit head for the
        certificate's footer (asked on the worker after the result was stored)."""
        super().__init__(parent)
        self.store = store
        self.archive = CalibrationArchive(store, audit_head=audit_head)
        self._archive_pump = BackgroundPump(self.archive.worker, self)
        self.setWindowTitle("Board calibration (engineers)")
        self.settings = settings or RunnerSettings()
        self.state = WizardState()
        self.runner: CalibrationRunner | None = None
        self._runner_factory = runner_factory
        self._events: queue.SimpleQueue[RunEvent] = queue.SimpleQueue()
        self.connect_page = ConnectPage(self, defaults, ports or [])
        self.sweep_page = SweepPage(self)
        self.fit_page = FitPage(self)
        self.verification_page = VerificationPage(self)
        self.certificate_page = CertificatePage(self)
        for pid, page in ((self.CONNECT, self.connect_page), (self.SWEEP, self.sweep_page),
                          (self.FIT, self.fit_page), (self.VERIFICATION, self.verification_page),
                          (self.CERTIFICATE, self.certificate_page)):
            self.setPage(pid, page)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.resize(900, 720)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._timer.start()

    @property
    def mode(self) -> Mode:
        return self.connect_page.mode()

    # --- intents -----------------------------------------------------------------------

    def connect_bench(self, spec: BenchSpec) -> None:
        if self.runner is not None:
            self._dispose_runner()
        self.state = WizardState()
        self.runner = self._runner_factory(spec, self.settings, self._events.put)
        self.runner.identify()

    def start_run(self) -> None:
        assert self.runner is not None
        engineer = self.connect_page.engineer.text()
        self.runner.start(self.mode, engineer, auto_write=False)

    def cancel_run(self) -> None:
        if self.runner is not None:
            self.runner.cancel()

    def _dispose_runner(self) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            runner.cancel("the calibration wizard was closed")
            # close() waits for the run to reach the output-off step: not on the GUI thread.
            threading.Thread(target=runner.close, name="calibration-close", daemon=True).start()

    # --- state in ------------------------------------------------------------------------

    def poll(self) -> None:
        """Drain the runner's events (GUI thread) and refresh the page on screen."""
        changed = False
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            self.state.apply(event)
            changed = True
        if changed:
            page = self.currentPage()
            refresh = getattr(page, "refresh", None)
            if refresh is not None:
                refresh(self.state)

    def nextId(self) -> int:  # noqa: N802 - Qt override
        current = self.currentId()
        if current == self.CONNECT:
            return self.SWEEP
        if current == self.SWEEP:
            if self.mode is Mode.CALIBRATE and self.state.result is None:
                return self.FIT
            return self.CERTIFICATE
        if current == self.FIT:
            return self.VERIFICATION if self.state.result is None else self.CERTIFICATE
        if current == self.VERIFICATION:
            return self.CERTIFICATE
        return -1

    def initializePage(self, pid: int) -> None:  # noqa: N802 - Qt override
        super().initializePage(pid)
        result = self.state.result
        if pid == self.CERTIFICATE and result is not None and self.archive.keep(result, self._stored):
            self.certificate_page.stored_text = "Storing in the records…"
        refresh = getattr(self.page(pid), "refresh", None)
        if refresh is not None:
            refresh(self.state)

    def _stored(self, text: str) -> None:
        self.certificate_page.show_stored(text)

    def done(self, result: int) -> None:
        """Closing the wizard (any way) cancels a run: output off, nothing more written.

        A record or certificate already asked for still completes on the archive's worker."""
        self._timer.stop()
        self.archive.close()
        self._dispose_runner()
        super().done(result)
