"""The treatment screen: big readouts, state, plots with event markers, controls, stop buttons.

Shows the controller's snapshot (polled at 30 Hz) and sends intents. All
decisions (may it start, how fast the current rises, when it ends) are made
in the treatment desk, controller and engine; this widget never decides.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLineEdit,
    QPlainTextEdit,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..control.treatment_desk import TreatmentDesk
from ..core.engine import Snapshot
from ..core.interlocks import TripAction
from ..core.session import EMERGENCY, SessionState, SideEffect
from .background_pump import BackgroundPump
from .live_plots import LivePlots
from .session_setup import SessionSetup
from .readouts import Readout, format_number
from .stop_panel import EMERGENCY as EMERGENCY_KEY, StopPanel

SIDE_EFFECT_BUTTONS: list[tuple[str, str]] = [
    (SideEffect.NAUSEA.value, "Nausea"),
    (SideEffect.HEADACHE.value, "Headache"),
    (SideEffect.DIZZINESS.value, "Dizziness"),
    (SideEffect.INCREASED_PAIN.value, "Increased pain"),
    # two lines: the panel (two buttons a row) then fits a 1280-pixel screen beside the readouts
    (SideEffect.BURNING_TINGLING.value, "Burning /\ntingling"),
    (SideEffect.SKIN_REDNESS.value, "Skin redness /\nirritation"),
    (SideEffect.OTHER.value, "Other…"),
]

STATE_TEXT = {
    SessionState.IDLE: ("Ready", "#eceff1", "#37474f"),
    SessionState.PRECHECKS: ("Preparing the board", "#e3f2fd", "#0d47a1"),
    SessionState.RAMPING_UP: ("Ramping up — current rising", "#fff3e0", "#e65100"),
    SessionState.TREATING: ("Treating — current flowing", "#fff3e0", "#e65100"),
    SessionState.PAUSED: ("Paused — current at zero", "#e3f2fd", "#0d47a1"),
    SessionState.REVERSING: ("Reversing polarity — current at zero", "#e3f2fd", "#0d47a1"),
    SessionState.RAMPING_DOWN: ("Ramping down", "#fff8e1", "#8d6e00"),
    SessionState.COMPLETE: ("Complete — dose delivered, output off", "#e8f5e9", "#1b5e20"),
    SessionState.STOPPED: ("Stopped — output off", "#fdecea", "#b71c1c"),
    SessionState.FAULTED: ("Stopped by a safety check — output off", "#fdecea", "#b71c1c"),
    SessionState.INTERRUPTED: ("Interrupted — output off", "#fdecea", "#b71c1c"),
}
#: Above this the screen does not say "current at zero" (the simulator's idle offset is ~0.02 mA).
STILL_FLOWING_MA = 0.05
MARKER_COLOURS = {"action": "#546e7a", "trip": "#c62828", "stop": "#c62828", "state": "#2e7d32"}


class SignDialog(QDialog):
    """Electronic signature of the session record by the signed-in account: its password again (and its
    user name at the first signing since sign-in), what the signature means, an optional note."""

    MEANINGS = ("Performed and reviewed", "Performed", "Reviewed")

    def __init__(self, signer_title: str, ask_user_name: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign the session")
        self.username = QLineEdit()
        self.username.setObjectName("sign_username")
        self.password = QLineEdit()
        self.password.setObjectName("sign_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.meaning = QComboBox()
        self.meaning.addItems(self.MEANINGS)
        self.note = QPlainTextEdit()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Signing as", QLabel(signer_title))
        if ask_user_name:
            form.addRow("Your user name", self.username)
        form.addRow("Your password", self.password)
        form.addRow("Meaning", self.meaning)
        form.addRow("Note", self.note)
        form.addRow(buttons)
        self._ask_user_name = ask_user_name

    def values(self) -> tuple[str, str, str, str | None]:
        """(meaning, note, password, user name or None when only the password is asked)."""
        return (self.meaning.currentText(), self.note.toPlainText(), self.password.text(),
                self.username.text().strip() if self._ask_user_name else None)


class CosignDialog(QDialog):
    """A second person co-signs a contraindication override (clinic setting): user name and password."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Co-sign the override")
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(QLabel("This clinic requires a second person to co-sign a contraindication override."))
        form.addRow("Their user name", self.username)
        form.addRow("Their password", self.password)
        form.addRow(buttons)

    def values(self) -> tuple[str, str]:
        return self.username.text().strip(), self.password.text()


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = max(int(round(seconds)), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"  # minutes:seconds, as on a kitchen timer; the unit says so


def state_line(snap: Snapshot) -> str:
    text = STATE_TEXT[snap.state][0]
    if snap.state in (SessionState.PAUSED, SessionState.REVERSING) and snap.current_ma > STILL_FLOWING_MA:
        # the current ramps down at the protocol's rate (40 s from 4 mA at 0.1 mA/s): never claim zero early
        text = text.replace("current at zero", "current falling to zero")
    if snap.stop_reason is not None:
        text = f"{text}: {snap.stop_reason.label}"
    elif snap.state is SessionState.FAULTED and snap.active_trip is not None:
        text = f"{text}: {snap.active_trip.message}"
    return text


class TreatmentView(QWidget):
    """Readouts, plots and controls for the session the desk is running."""

    other_stop_described = Signal(str)

    def __init__(self, desk: TreatmentDesk, setup: SessionSetup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.setup = setup
        #: Delivers the desk worker's answers (patient look-up, note, signature) on this thread.
        self.pump = BackgroundPump(desk.worker, self)
        setup.set_history_source(desk.look_up_patient)
        self._markers_shown = 0
        self._marker_items: list[pg.InfiniteLine] = []
        self._shown_controller = None
        #: A result the therapist must read (signature saved, or why not); kept until the next start.
        self._notice = ""
        self._signing = False
        #: The station is locked: only STOP and the side-effect buttons act (the readouts keep showing).
        self._locked = False

        self.state_banner = QLabel("Ready")
        self.state_banner.setObjectName("treatment_state")
        self.state_banner.setWordWrap(True)
        self.message = QLabel("")
        self.message.setObjectName("treatment_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color:#b71c1c; font-size:13pt;")

        self.current = Readout("Current", "mA")
        self.target = Readout("Target", "mA")
        self.impedance = Readout("Impedance", "kΩ")
        self.voltage = Readout("Voltage", "V")
        self.dose = Readout("Dose", "mA·min")
        self.elapsed = Readout("Elapsed", "min:s")
        self.remaining = Readout("Remaining", "min:s")
        readouts = QGridLayout()
        for i, r in enumerate((self.current, self.target, self.impedance, self.voltage)):
            readouts.addWidget(r, 0, i)
        # the dose ("12.3 / 40 mA·min") takes two columns so no column has to be that wide
        readouts.addWidget(self.dose, 1, 0, 1, 2)
        readouts.addWidget(self.elapsed, 1, 2)
        readouts.addWidget(self.remaining, 1, 3)
        for column in range(4):
            readouts.setColumnStretch(column, 1)

        self.start_button = QPushButton("Start")
        self.down_button = QPushButton("−  Lower")
        self.up_button = QPushButton("+  Raise")
        self.pause_button = QPushButton("Pause")
        self.end_button = QPushButton("End early")
        self.sign_button = QPushButton("Sign session…")
        self.sign_button.setObjectName("sign_session")
        controls = QHBoxLayout()
        for button in (self.start_button, self.down_button, self.up_button, self.pause_button, self.end_button,
                       self.sign_button):
            button.setMinimumHeight(48)
            button.setStyleSheet("font-size:14pt;")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            controls.addWidget(button)

        self.plots = LivePlots()
        self.stops = StopPanel(SIDE_EFFECT_BUTTONS)

        left = QVBoxLayout()
        left.addWidget(self.state_banner)
        left.addWidget(self.message)
        left.addLayout(readouts)
        left.addLayout(controls)
        left.addWidget(self.plots, 1)
        right = QVBoxLayout()
        right.addWidget(self.setup)
        right.addWidget(self.stops, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addLayout(right, 1)

        self.start_button.clicked.connect(self.start)
        self.down_button.clicked.connect(lambda: self._send("step_down"))
        self.up_button.clicked.connect(lambda: self._send("step_up"))
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.end_button.clicked.connect(lambda: self._send("end_early"))
        self.stops.stop_requested.connect(self.stop)
        self.sign_button.clicked.connect(self.sign)
        self.other_stop_described.connect(lambda text: self.desk.note_later(f"Side effect (other): {text}",
                                                                            self._note_saved))

        self._timer = QTimer(self)
        self._timer.setInterval(33)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    # --- intents ----------------------------------------------------------------

    def start(self) -> None:
        self._notice = ""
        plan = self.setup.plan()
        if self.desk.needs_cosignature(plan):
            self.ask_cosignature(plan)  # starts once the second person's password is checked
            self.refresh()
            return
        problem = self.desk.try_begin(plan)
        if problem:
            self.message.setText(problem)
        self.refresh()

    def ask_cosignature(self, plan) -> None:
        """The clinic requires a second person to co-sign this override: their name and password."""
        dialog = CosignDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.cosign_with(plan, *dialog.values())

    def cosign_with(self, plan, username: str, password: str) -> None:
        """Check the co-signer on the desk's worker; once co-signed, start (a refusal stays on screen)."""
        self._notice = "Checking the co-signature…"
        self.desk.cosign_later(plan, username, password, self._cosigned)

    def _cosigned(self, error: str, plan) -> None:
        if error or plan is None:
            self._notice = error or "The co-signature was not given."
            self.refresh()
            return
        self.setup.cosigned_by = plan.cosigned_by
        self._notice = ""
        self.start()

    def stop(self, key: str) -> None:
        """A stop button: the output is stopped first; only then may we ask anything."""
        if key == EMERGENCY_KEY:
            self.desk.stop(EMERGENCY)
            return
        reason = SideEffect(key)
        if reason is SideEffect.OTHER:
            self.desk.stop(reason, "other (described after the stop)")
            self.refresh()
            text, ok = QInputDialog.getText(self, "Side effect", "Output is stopped. Describe the side effect:")
            if ok and text.strip():
                self.other_stop_described.emit(text.strip())
            return
        self.desk.stop(reason)

    def sign(self) -> None:
        signer = self.desk.signer()
        if signer is None:
            self.message.setText("Sign in to sign: a signature is always a signed-in account's.")
            return
        dialog = SignDialog(signer.title, self.desk.signing_needs_user_name(), self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.sign_with(*dialog.values())

    def sign_with(self, meaning: str, note: str, password: str, username: str | None = None) -> None:
        """Sign as the signed-in account on the desk's worker (the password is checked there, the record
        closes first); the answer, or the plain refusal, shows when it comes."""
        self._signing = True
        self.sign_button.setEnabled(False)
        self._notice = "Checking the password and saving the signature…"
        self.desk.sign_later(meaning, password, note, username, self._signed)

    def _signed(self, error: str, manifestation: str) -> None:
        self._signing = False
        self._notice = error or f"Session signed: {manifestation}."
        self.refresh()

    def _note_saved(self, error: str) -> None:
        if error:
            self._notice = error

    def _send(self, intent: str) -> None:
        controller = self.desk.controller
        if controller is not None:
            getattr(controller, intent)()

    def _pause_or_resume(self) -> None:
        controller = self.desk.controller
        if controller is None:
            return
        paused = controller.snapshot().state is SessionState.PAUSED
        (controller.resume if paused else controller.pause)()

    def set_locked(self, locked: bool) -> None:
        """The idle lock: every control but the stop panel is disabled until someone signs in again."""
        self._locked = locked
        self.refresh()

    # --- display ------------------------------------------------------------------

    def refresh(self) -> None:
        controller = self.desk.controller
        if controller is not self._shown_controller:
            self._reset_plots()
            self._shown_controller = controller
        snap = controller.snapshot() if controller else None
        state = snap.state if snap else SessionState.IDLE
        text, background, colour = STATE_TEXT[state]
        self.state_banner.setText(state_line(snap) if snap else text)
        self.state_banner.setStyleSheet(
            f"font-size:22pt; font-weight:bold; padding:10px; background:{background}; color:{colour};"
        )
        message = controller.message() if controller else ""
        if not message:
            message = self._notice
        if not message and snap and snap.warning is not None and snap.warning.action is TripAction.WARN:
            message = snap.warning.message
        blockers = [] if self.desk.active else self.desk.blockers(self.setup.plan())
        self.message.setText(message or " ".join(blockers))
        self._show_numbers(snap)
        active = state.output_active or state is SessionState.RAMPING_DOWN
        self.start_button.setEnabled(not active and not blockers)
        self.setup.setEnabled(not active)
        self.up_button.setEnabled(state in (SessionState.RAMPING_UP, SessionState.TREATING))
        self.down_button.setEnabled(state in (SessionState.RAMPING_UP, SessionState.TREATING, SessionState.PAUSED))
        self.pause_button.setEnabled(state in (SessionState.RAMPING_UP, SessionState.TREATING, SessionState.PAUSED))
        self.pause_button.setText("Resume" if state is SessionState.PAUSED else "Pause")
        self.end_button.setEnabled(state in (SessionState.RAMPING_UP, SessionState.TREATING, SessionState.PAUSED))
        self.sign_button.setEnabled(self.desk.can_sign() and not self._signing)
        if self._locked:
            for widget in (self.start_button, self.setup, self.up_button, self.down_button, self.pause_button,
                           self.end_button, self.sign_button):
                widget.setEnabled(False)
        if controller is not None:
            self.plots.show_history(controller.history.view())
            self._add_markers(controller)

    def _show_numbers(self, snap: Snapshot | None) -> None:
        self.current.set_value(format_number(snap and snap.current_ma, 2))
        self.target.set_value(format_number(snap and snap.setpoint_ma, 2))
        self.impedance.set_value(format_number(snap.impedance_kohm if snap else None, 1))
        self.voltage.set_value(format_number(snap and snap.voltage_v, 1))
        self.dose.set_value(
            "--" if snap is None else f"{snap.dose_delivered_ma_min:.1f} / {snap.dose_target_ma_min:.0f}"
        )
        self.elapsed.set_value(format_duration(snap.elapsed_s) if snap else "--")
        self.remaining.set_value(format_duration(snap.remaining_s) if snap else "--")

    def _reset_plots(self) -> None:
        for item in self._marker_items:
            self.plots.current_plot.removeItem(item)
        self._marker_items.clear()
        self._markers_shown = 0
        self.plots.clear()

    def _add_markers(self, controller) -> None:
        for marker in controller.markers(self._markers_shown):
            line = pg.InfiniteLine(
                pos=marker.t, angle=90, pen=pg.mkPen(MARKER_COLOURS[marker.kind], width=1),
                # text along the line: steps seconds apart would otherwise print over each other
                label=marker.label, labelOpts={"position": 0.97, "color": MARKER_COLOURS[marker.kind],
                                               "fill": (255, 255, 255, 210), "rotateAxis": (1, 0),
                                               "anchors": [(1, 0), (1, 0)]},
            )
            self.plots.current_plot.addItem(line)
            self._marker_items.append(line)
            self._markers_shown += 1

