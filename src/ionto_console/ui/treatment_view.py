"""The treatment screen: big readouts, state, plots with event markers, controls, stop buttons.

Shows the controller's snapshot (polled at 30 Hz) and sends intents. All
decisions (may it start, how fast the current rises, when it ends) are made
in the treatment desk, controller and engine; this widget never decides.
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QFrame,
    QScrollArea,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QInputDialog,
    QLabel,
    QPushButton,
    QApplication,
    QVBoxLayout,
    QWidget,
)

from ..control.session_recorder import OTHER_PENDING
from ..control.treatment_desk import CHECKLIST_NOT_DONE, NO_PLAN, TreatmentDesk
from ..core.continuation import delivered_before
from ..core.engine import Snapshot
from ..core.indications import words_of
from ..core.interlocks import TripAction
from ..core.protocols import electrode_polarity_text
from ..core.session import EMERGENCY, SessionState, SideEffect
from .background_pump import BackgroundPump
from .fields import keep_readable
from .live_plots import LivePlots
from .session_setup import SessionSetup
from .readouts import BIG_PT, Readout, ReflowGrid, current_text, format_number, set_style, set_text
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
#: A run is over: its outcome is what the therapist must see first.
ENDED_STATES = frozenset({SessionState.COMPLETE, SessionState.STOPPED, SessionState.FAULTED,
                          SessionState.INTERRUPTED})
#: Colours of the line above the buttons: a refusal, a confirmation, the next step.
ERROR_COLOUR, OK_COLOUR, NEXT_STEP_COLOUR = "#b71c1c", "#1b5e20", "#0d47a1"
#: After a run: what to do next, in the order a therapist does it.
SIGN_STEP = "Next: sign the session (“Sign session…” below)."
NEXT_RUN_STEP = "For another run, do a new pre-treatment checklist (each run needs its own)."
#: The next step when the rest of an interrupted run is offered (the offer sits in the set-up: beside the
#: run on a wide page, below it on a narrow one, so the line names no side; it said "above" at 1366x768).
CONTINUE_STEP = ("To give the rest of the interrupted run's dose, keep “Continue the interrupted run” ticked "
                 "(in the set-up, with the patient's details) and do a new pre-treatment checklist.")
#: The sign button once the set-up names another patient or protocol than the finished, unsigned run.
SIGN_PREVIOUS = "Sign previous session…"
#: Above this the screen does not say "current at zero" (the simulator's idle offset is ~0.02 mA).
STILL_FLOWING_MA = 0.05
MARKER_COLOURS = {"action": "#546e7a", "trip": "#c62828", "stop": "#c62828", "state": "#2e7d32"}


class SignDialog(QDialog):
    """Electronic signature of the session record by the signed-in account: its password again (and its
    user name at the first signing since sign-in), what the signature means, an optional note."""

    MEANINGS = ("Performed and reviewed", "Performed", "Reviewed")

    def __init__(self, signer_title: str, ask_user_name: bool, parent: QWidget | None = None, *,
                 what: Sequence[tuple[str, str]] = ()) -> None:
        """``what``: the session being signed, as (label, value) rows (patient, protocol, outcome, dose,
        date). WHY: the dialog asked for a password without saying which session it signs (new-user
        pass), and after the next patient is chosen the session signed is not the one on screen."""
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
        # a few lines: the rows saying what is signed must keep their height on a 720-pixel screen at 150 %
        self.note.setMaximumHeight(self.note.fontMetrics().lineSpacing() * 3 + 12)
        keep_readable(self.username, self.password, self.meaning)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        self.what: dict[str, QLabel] = {}
        if what:
            heading = QLabel("You are signing this session:")
            heading.setStyleSheet("font-weight:bold;")
            form.addRow(heading)
        for label, value in what:
            shown = QLabel(value)
            shown.setWordWrap(True)
            shown.setStyleSheet("font-weight:bold;")
            shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.what[label] = shown
            form.addRow(label, shown)
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
        keep_readable(self.username, self.password)
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


#: From this remaining time on, whole minutes (a very low goal current: 0.5 mA for 400 mA·min is 800 min).
LONG_REMAINING_S = 100 * 60


def remaining_text(seconds: float | None) -> tuple[str, str]:
    """The remaining time and its unit: "min:s" up to 99:59, whole minutes ("800", unit "min") beyond.

    WHY: "800:00" (every tap-water run starts at 0.5 mA) was wider than the 99:59 the tile reserves and
    widened the big readouts for the rest of the day: Remaining fell to a row of its own and pushed the
    goal current, the polarity and the plots down the page (new-user pass, 1366x768)."""
    if seconds is not None and seconds >= LONG_REMAINING_S:
        return f"{int(seconds // 60)}", "min"
    return format_duration(seconds), "min:s"


def banner_text(name: str, identifier: str, born: dt.date | None, protocol_name: str, site: str,
                side: str) -> str:
    """The patient banner: who (name, ID, birth date), then with what and where."""
    born_text = f" · born {born.isoformat()}" if born else ""
    where = f" · {site}" if site else ""
    return f"{name or '(no name yet)'} · ID {identifier}{born_text}\n{protocol_name}{where}" + \
        (f" ({side})" if side else "")


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
    """Readouts, plots and controls for the session the desk is running.

    The stop panel (``self.stops``) is made here but laid out by the main window
    beside every tab, so it never scrolls or folds. The line saying what to do
    next and the buttons for it (``self.actions``) are pinned under the scroll
    area. Everything else on this page scrolls; on a narrow window the set-up
    folds away while a treatment runs (the patient banner then says who is
    being treated)."""

    other_stop_described = Signal(str)

    #: Below this page width the set-up goes above the readouts instead of beside them.
    SIDE_BY_SIDE_MIN_WIDTH = 980
    #: Below this scroll-area height the state line is set smaller (it and Current must fit together).
    SHORT_PAGE_PX = 240
    #: The plots are never squeezed below this height.
    PLOTS_MIN_HEIGHT_PX = 180

    def __init__(self, desk: TreatmentDesk, setup: SessionSetup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.setup = setup
        #: Delivers the desk worker's answers (patient look-up, note, signature) on this thread.
        self.pump = BackgroundPump(desk.worker, self)
        setup.set_history_source(desk.look_up_patient)
        setup.set_search_source(desk.search_patients_later)
        self._markers_shown = 0
        self._shown_controller = None
        #: The session state on screen at the last refresh (a run that just ended scrolls its outcome into view).
        self._shown_state = SessionState.IDLE
        #: A result the therapist must read (signature saved, or why not); kept until the next start.
        self._notice = ""
        self._notice_ok = False
        self._signing = False
        #: The closed run whose record the set-up's patient history was looked up again for.
        self._history_closed_for = None
        self._other_text = ""
        #: The station is locked: only STOP and the side-effect buttons act (the readouts keep showing).
        self._locked = False
        #: Keep the banner, state line and big readouts in view (set at Start and at a stop, until the
        #: therapist scrolls or moves the focus into the page).
        self._pinned = False

        self.patient_banner = QLabel("")
        self.patient_banner.setObjectName("patient_banner")
        self.patient_banner.setWordWrap(True)
        self.patient_banner.setStyleSheet(
            "font-size:16pt; font-weight:bold; padding:6px; background:#e8eaf6; color:#1a237e;")
        self.patient_banner.setVisible(False)
        self.state_banner = QLabel("Ready")
        self.state_banner.setObjectName("treatment_state")
        self.state_banner.setWordWrap(True)
        self.message = QLabel("")
        self.message.setObjectName("treatment_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color:#b71c1c; font-size:13pt;")
        self.polarity = QLabel("")
        self.polarity.setObjectName("polarity")
        self.polarity.setWordWrap(True)
        self.polarity.setStyleSheet("font-size:13pt; font-weight:bold; color:#4a148c;")

        # each readout reserves room for its widest usual value (25 mA, 400 mA·min, 99:59), so the grid's
        # columns follow the page's width, not the numbers of a run (new-user pass: after a tap-water trip
        # Current and Dose became two wide tiles and Remaining moved to a row of its own). Only a remaining
        # time of 100 minutes or more (a very low current) is shown in whole minutes (remaining_text).
        self.current = Readout("Current", "mA", point_size=BIG_PT, widest="00.00")
        self.dose = Readout("Dose", "mA·min", point_size=BIG_PT, widest="000.0")
        self.remaining = Readout("Remaining", "min:s", point_size=BIG_PT, widest="00:00")
        self.goal = Readout("Goal current", "mA", widest="00.00")
        self.target = Readout("Ramping to", "mA", widest="00.00")
        self.voltage = Readout("Voltage", "V", widest="000.0")
        self.impedance = Readout("Impedance", "kΩ", widest="000.0")
        self.elapsed = Readout("Elapsed", "min:s", widest="00:00")
        self.big_readouts = ReflowGrid([self.current, self.dose, self.remaining])
        self.small_readouts = ReflowGrid([self.goal, self.target, self.voltage, self.impedance, self.elapsed])

        self.start_button = QPushButton("Start")
        self.down_button = QPushButton("−  Lower")
        self.up_button = QPushButton("+  Raise")
        self.pause_button = QPushButton("Pause")
        self.end_button = QPushButton("End early")
        self.sign_button = QPushButton("Sign session…")
        self.sign_button.setObjectName("sign_session")
        self.start_button.setObjectName("start")
        buttons = (self.start_button, self.down_button, self.up_button, self.pause_button, self.end_button,
                   self.sign_button)
        for button in buttons:
            button.setMinimumHeight(44)
            button.setStyleSheet("font-size:14pt;")
            # Tab reaches them and Space presses the focused one while no treatment runs (then Space is STOP)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        #: While a run is on: raise, lower, pause/resume, end early. Otherwise: Start and Sign.
        self.run_controls = ReflowGrid([self.down_button, self.up_button, self.pause_button, self.end_button])
        self.run_controls.setObjectName("run_controls")
        self.idle_controls = ReflowGrid([self.start_button, self.sign_button])
        self.idle_controls.setObjectName("idle_controls")
        self.run_controls.setVisible(False)

        self.plots = LivePlots(inspect=False)  # a therapist never zooms: the wheel scrolls the page
        self.plots.setMinimumHeight(self.PLOTS_MIN_HEIGHT_PX)
        self.stops = StopPanel(SIDE_EFFECT_BUTTONS)

        live = QWidget()
        live_layout = QVBoxLayout(live)
        live_layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.state_banner, self.big_readouts, self.polarity, self.small_readouts):
            live_layout.addWidget(widget)
        live_layout.addWidget(self.plots, 1)
        self.body = QWidget()
        self.body.setObjectName("treatment_body")
        body_layout = QVBoxLayout(self.body)
        body_layout.addWidget(self.patient_banner)
        self._columns = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self._columns.addWidget(self.setup, 0, Qt.AlignmentFlag.AlignTop)
        self._columns.addWidget(live, 1)
        body_layout.addLayout(self._columns, 1)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("treatment_scroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.body)
        # The next step and the buttons for it never scroll: at 1366x768 they were below the fold while
        # treating (Pause, End early, + and -) and after a stop (Sign), with the outcome scrolled away.
        self.actions = QFrame()
        self.actions.setObjectName("treatment_actions")
        self.actions.setFrameShape(QFrame.Shape.StyledPanel)
        actions_layout = QVBoxLayout(self.actions)
        actions_layout.setContentsMargins(4, 2, 4, 4)
        actions_layout.setSpacing(2)
        for widget in (self.message, self.run_controls, self.idle_controls):
            actions_layout.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.actions)
        bar = self.scroll.verticalScrollBar()
        bar.rangeChanged.connect(lambda _low, _high: self._keep_live_in_view())
        bar.actionTriggered.connect(self._unpin)  # the therapist scrolls: the page is theirs
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._focus_moved)

        self.start_button.clicked.connect(self.start)
        self.down_button.clicked.connect(lambda: self._send("step_down"))
        self.up_button.clicked.connect(lambda: self._send("step_up"))
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.end_button.clicked.connect(lambda: self._send("end_early"))
        self.stops.stop_requested.connect(self.stop)
        self.sign_button.clicked.connect(self.sign)
        self.other_stop_described.connect(self._describe_other)

        self._timer = QTimer(self)
        self._timer.setInterval(33)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def bind_keys(self, window: QWidget) -> list[QShortcut]:
        """Esc (always) and Space (while treating) stop; + and − raise and lower while treating.

        WHY + and − only while treating: a patient ID such as "P-1001" is typed with "-"."""
        shortcuts = self.stops.bind_shortcuts(window, lambda: self.desk.active)
        self._step_keys: list[QShortcut] = []
        for keys, intent in (((Qt.Key.Key_Plus, Qt.Key.Key_Equal), "step_up"),
                             ((Qt.Key.Key_Minus, Qt.Key.Key_Underscore), "step_down")):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), window)
                shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
                shortcut.activated.connect(lambda i=intent: self._send(i))
                self._step_keys.append(shortcut)
        self._update_keys()
        return shortcuts + self._step_keys

    def _update_keys(self) -> None:
        self.stops.update_shortcuts()
        active = self.desk.active
        for shortcut in getattr(self, "_step_keys", []):
            shortcut.setEnabled(active and not self._locked)  # locked: only the stops act

    def _place_setup(self) -> None:
        """Beside the readouts when the page is wide; when narrow, above them before a run, folded while
        treating, and below them while the finished run is on screen.

        WHY below after a run: the set-up came back between the patient banner and the outcome at a
        stop, and pushed "Stopped — output off" and the readouts down the page (new-user pass)."""
        wide = self.scroll.viewport().width() >= self.SIDE_BY_SIDE_MIN_WIDTH
        if wide:
            direction = QBoxLayout.Direction.LeftToRight
        else:  # the layout holds [set-up, live area]: bottom to top puts the live area first
            direction = QBoxLayout.Direction.BottomToTop if self.run_on_screen() else QBoxLayout.Direction.TopToBottom
        if self._columns.direction() != direction:
            self._columns.setDirection(direction)
        # WHY not while the output winds down: bringing the set-up back is the heaviest layout on this page
        # (the form's widgets polished and laid out); during a side-effect stop's 250 ms ramp the GUI thread
        # keeps its frames short, so a second press (STOP during the ramp) is served at once.
        show = wide or not (self.desk.active or self.desk.winding_down)
        if show and self.setup.isHidden() and self.plots.isVisible():
            self._hold_plots_height()
        self.setup.setVisible(show)

    def _hold_plots_height(self) -> None:
        """Keep the plots at their height while the set-up comes back beside them (at a stop, on a narrow page).

        WHY: the page's layout first shares out its old height among the live area and the set-up now
        shown, and only then does the scroll area grow the page; the plots were squeezed from 480 to 180 px
        and back within 40 ms of a side-effect stop, two full repaints of both plots and their axes in the
        GUI thread (13-29 ms each, measured with ``benchmarks/stop_latency.py --reason dizziness
        --profile``) while the output ramped down. Their height as a minimum makes the page grow first; the
        minimum goes back once that layout is done."""
        self.plots.setMinimumHeight(max(self.plots.height(), self.PLOTS_MIN_HEIGHT_PX))
        QTimer.singleShot(0, self, self._release_plots_height)

    def _release_plots_height(self) -> None:
        self.plots.setMinimumHeight(self.PLOTS_MIN_HEIGHT_PX)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._place_setup()

    # --- intents ----------------------------------------------------------------

    def start(self) -> None:
        # the Start button is disabled and hidden now: Qt would hand its focus to the next widget in the
        # scrolling page and the scroll area would follow it to the trace (new-user pass, 1366x768 @ 125 %)
        self._park_focus()
        self._notice, self._notice_ok = "", False
        self._other_text = ""
        plan = self.setup.plan()
        if self.desk.needs_cosignature(plan):
            self.ask_cosignature(plan)  # starts once the second person's password is checked
            self.refresh()
            return
        # the record and the board's fault clearing run on the desk's worker; a failure comes back here
        problem = self.desk.try_begin(plan, on_failed=self._start_failed)
        if problem:
            self.message.setText(problem)
        else:
            self.setup.checklist_used()
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

    def _start_failed(self, problem: str) -> None:
        self._notice, self._notice_ok = problem, False
        self.refresh()

    def stop(self, key: str) -> None:
        """A stop button: the output is stopped first; only then may we ask anything."""
        if key == EMERGENCY_KEY:
            self.desk.stop(EMERGENCY)
            return
        reason = SideEffect(key)
        if reason is SideEffect.OTHER:
            self.desk.stop(reason, OTHER_PENDING)
            self._other_text = ""
            self.refresh()
            text, ok = QInputDialog.getText(self, "Side effect", "Output is stopped. Describe the side effect:")
            self.other_stop_described.emit(text.strip() if ok else "")
            return
        self.desk.stop(reason)

    def sign(self) -> None:
        signer = self.desk.signer()
        if signer is None:
            self.message.setText("Sign in to sign: a signature is always a signed-in account's.")
            return
        dialog = SignDialog(signer.title, self.desk.signing_needs_user_name(), self, what=self.signing_what())
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.sign_with(*dialog.values())

    def signing_what(self) -> list[tuple[str, str]]:
        """The session "Sign session…" signs, for the dialog: the desk's last run (which may no longer be
        the one on screen once the next patient is chosen)."""
        plan, controller, recorder = self.desk.plan, self.desk.controller, self.desk.recorder
        if plan is None or controller is None:
            return []
        snap = controller.snapshot()
        outcome = state_line(snap)
        if self._other_text and OTHER_PENDING in outcome:
            outcome = outcome.replace(OTHER_PENDING, self._other_text)
        site = plan.site + (f" ({plan.side})" if plan.side else "")
        rows = [("Patient", f"{plan.patient_name} (ID {plan.patient_id})")]
        if plan.date_of_birth:
            rows.append(("Born", plan.date_of_birth.isoformat()))
        rows.append(("Protocol", f"{plan.protocol.name} · {site}" if site else plan.protocol.name))
        if plan.diagnosis_code:  # what the record and the bill will say it was for
            rows.append(("Indication", " ".join(filter(None, (plan.diagnosis_code, words_of(plan.diagnosis_code))))))
        rows += [("Outcome", outcome),
                 ("Dose delivered",
                  f"{snap.dose_delivered_ma_min:.1f} of {round(snap.dose_target_ma_min, 1):g} mA·min")]
        if recorder is not None:
            started = recorder.started_at.astimezone()  # the record keeps UTC; the signer reads local time
            rows.append(("Date", started.strftime("%Y-%m-%d %H:%M")))
        return rows

    def sign_with(self, meaning: str, note: str, password: str, username: str | None = None) -> None:
        """Sign as the signed-in account on the desk's worker (the password is checked there, the record
        closes first); the answer, or the plain refusal, shows when it comes."""
        self._signing = True
        self.sign_button.setEnabled(False)
        self._notice, self._notice_ok = "Checking the password and saving the signature…", True
        self.desk.sign_later(meaning, password, note, username, self._signed)

    def _describe_other(self, text: str) -> None:
        """The typed words become the side effect (record and banner), not a separate note."""
        self._other_text = text
        self.desk.describe_other(text)
        self.refresh()

    def unsigned_session(self) -> bool:
        """The last session's record is closed and the signed-in account has not signed it (the desk knows,
        for every screen)."""
        return self.desk.can_sign()

    def _signed(self, error: str, manifestation: str) -> None:
        self._signing = False
        self._notice = error or f"Session signed: {manifestation}."
        self._notice_ok = not error
        self.refresh()

    def _note_saved(self, error: str) -> None:
        if error:
            self._notice, self._notice_ok = error, False

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

    def shown_controller(self):
        """The run the live area describes: the one on (or starting), else the last one while the set-up
        still names its patient and protocol; None once another patient or protocol is chosen.

        WHY: the next patient's screen kept "Stopped: Dizziness", the previous patient's dose, banner
        and polarity, and an enabled "Sign session…" (new-user pass). The finished run is still the
        desk's (it can be signed: "Sign previous session…"); it just no longer fills the live area."""
        controller = self.desk.controller
        if controller is None or self.desk.active:
            return controller
        plan, protocol = self.desk.plan, self.setup.protocol_or_none()
        if plan is None or protocol is None:
            return None
        if (plan.patient_id, plan.protocol.id) != (self.setup.patient_identifier(), protocol.id):
            return None
        return controller

    def run_on_screen(self) -> bool:
        """A run is starting, on, or just ended and still shown (its patient and protocol are chosen)."""
        return self.desk.active or self._shown_controller is not None

    def refresh(self) -> None:
        controller = self.shown_controller()
        if controller is not self._shown_controller:
            if self._shown_controller is not None:
                # the finished run leaves the live area: its "Session signed…" or refusal goes with it
                self._notice, self._notice_ok = "", False
                if controller is None:
                    self._pinned = False  # nothing to keep in view: the page is the next patient's form
            self._reset_plots()
            self._shown_controller = controller
        snap = controller.snapshot() if controller else None
        state = snap.state if snap else SessionState.IDLE
        text, background, colour = STATE_TEXT[state]
        if snap is None and self.desk.starting:
            text = "Starting — preparing the session's record"
        line = state_line(snap) if snap else text
        if self._other_text and OTHER_PENDING in line:
            line = line.replace(OTHER_PENDING, self._other_text)
        set_text(self.state_banner, line)
        # on a very short page (a 1280x720 window at 150 %) a smaller state line keeps Current beside it in view
        short = self.scroll.viewport().height() < self.SHORT_PAGE_PX
        size, padding = ("16pt", "4px") if short else ("20pt", "8px")
        set_style(self.state_banner,
            f"font-size:{size}; font-weight:bold; padding:{padding}; background:{background}; color:{colour};"
        )
        closed = self.desk.recorder if self.desk.can_sign() or self.desk.last_session_signed() else None
        if closed is not None and closed is not self._history_closed_for:
            self._history_closed_for = closed
            self.setup.records_changed()  # the run just closed is in the patient's history now
        if not self.desk.active:
            protocol, patient = self.setup.protocol_or_none(), self.setup.patient_identifier()
            # this console's last run of this patient and protocol knows best; else the records (a restart)
            self.setup.offer_continuation(
                None if protocol is None else self.desk.continuation(patient, protocol.id)
                if self.desk.last_run_was(patient, protocol.id) else self.setup.recorded_continuation())
        blockers = [] if self.desk.active else self._blockers()
        text, colour = self._message_line(controller, snap, state, blockers)
        set_text(self.message, text)
        if self.message.isHidden() == bool(text):  # no empty line above the buttons while nothing is to be said
            self.message.setVisible(bool(text))
        set_style(self.message, f"color:{colour}; font-size:13pt;")
        self._show_patient(controller, snap)
        self._show_numbers(snap)
        active = state.output_active or state is SessionState.RAMPING_DOWN
        # the row swaps, and the set-up comes back, once the output is off (see _place_setup)
        running = self.desk.active or active or self.desk.winding_down
        if self.run_controls.isHidden() == running:  # the row follows the phase: run controls, or Start and Sign
            self._park_focus()  # the focused button hides: its focus must not drag the page to the trace
            self.run_controls.setVisible(running)
            self.idle_controls.setVisible(not running)
            self._pin_live_area()  # Start, or a stop: the banner, state line and readouts in view
        previous = controller is None and self.desk.can_sign()
        set_text(self.sign_button, SIGN_PREVIOUS if previous else "Sign session…")
        self.sign_button.setToolTip(self._previous_session_words() if previous else "")
        self.start_button.setEnabled(not active and not blockers and not self.desk.starting)
        self.setup.setEnabled(not running)
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
        self._update_keys()
        self._place_setup()
        if state is not self._shown_state:
            self._shown_state = state
            if state in ENDED_STATES:
                self._show_outcome()
        if controller is not None:
            self.plots.follow(controller.history)  # read only when a redraw is due, and not while hidden
            self._add_markers(controller)

    def _message_line(self, controller, snap: Snapshot | None, state: SessionState,
                      blockers: list[str]) -> tuple[str, str]:
        """The line above the buttons and its colour: a refusal or failure (red), a result to read
        (green when it went well), a warning, else the next step or why Start is disabled.

        WHY a next step after a run: the line used to say "The pre-treatment checklist is not
        complete." the moment a run ended; the therapist's next step then is to sign the session,
        and the checklist is the step after it, for the next run."""
        message = controller.message() if controller else ""
        if message:
            return message, ERROR_COLOUR
        if self._notice:
            text = self._notice
            if self._notice_ok and state in ENDED_STATES and CHECKLIST_NOT_DONE in blockers:
                text = f"{text} {CONTINUE_STEP if self.setup.continuing() else NEXT_RUN_STEP}"
            return text, OK_COLOUR if self._notice_ok else ERROR_COLOUR
        if snap and snap.warning is not None and snap.warning.action is TripAction.WARN:
            return snap.warning.message, ERROR_COLOUR
        if controller is None and self.unsigned_session():
            # the next patient is chosen and the last session is not signed: say whose, and how to sign it
            unsigned = (f"Not signed yet: {self._previous_session_words()}. "
                        f"“{SIGN_PREVIOUS}” below signs it.")
            return " ".join(blockers + [unsigned]), (ERROR_COLOUR if blockers else NEXT_STEP_COLOUR)
        if state in ENDED_STATES and CHECKLIST_NOT_DONE in blockers:
            others = [text for text in blockers if text != CHECKLIST_NOT_DONE]
            steps = [SIGN_STEP] if self.unsigned_session() else []
            steps.append(CONTINUE_STEP if self.setup.continuing() else NEXT_RUN_STEP)
            return " ".join(others + steps), (ERROR_COLOUR if others else NEXT_STEP_COLOUR)
        if self.setup.continuing() and CHECKLIST_NOT_DONE in blockers:  # the offer may be scrolled out of view
            return " ".join([*blockers, CONTINUE_STEP]), ERROR_COLOUR
        return " ".join(blockers), ERROR_COLOUR

    def _previous_session_words(self) -> str:
        """Whose the desk's last session is, for the line and the sign button's tooltip."""
        plan = self.desk.plan
        return f"the session of {plan.patient_name} (ID {plan.patient_id})" if plan else "the last session"

    def _show_outcome(self) -> None:
        """A run just ended: "Stopped — output off: …" (and the patient above it) into view."""
        self._pin_live_area()

    def _park_focus(self) -> None:
        """Move the keyboard focus off a widget of this page that is about to hide or be disabled, onto
        the pinned actions frame (outside the scroll area; Esc and Space stay window-wide shortcuts).

        WHY: Qt hands a hidden or disabled widget's focus to the next one in the chain, and a scroll area
        scrolls to a widget that gets the focus that way: at Start the page jumped to the trace, after Esc
        at 1280x720 to the set-up form with the stop line half cut (new-user pass)."""
        focus = QApplication.focusWidget()
        if focus is not None and focus is not self.actions and self.isAncestorOf(focus):
            self.actions.setFocus(Qt.FocusReason.OtherFocusReason)

    def _pin_live_area(self) -> None:
        """Keep the banner, the state line and the big readouts in view until the therapist scrolls: now,
        and whenever the page's height changes meanwhile (the set-up folds at Start and comes back at a
        stop on a narrow page, so the first scroll is made against a layout about to change)."""
        self._pinned = True
        self._keep_live_in_view()
        QTimer.singleShot(0, self, self._keep_live_in_view)

    def _unpin(self, *_args) -> None:
        self._pinned = False

    def _focus_moved(self, _old: QWidget | None, new: QWidget | None) -> None:
        """The therapist moved the focus into the page (Tab, a click): the scroll area follows them now."""
        if new is not None and self._pinned and self.body.isAncestorOf(new):
            self._pinned = False

    def _keep_live_in_view(self) -> None:
        if self._pinned:
            self._scroll_to_live()

    def live_area_target(self) -> int:
        """The scroll position that shows the patient banner, the state line and the three big readouts,
        or as much of them from the state line down as the page's height allows."""
        def top(widget: QWidget) -> int:
            return widget.mapTo(self.body, QPoint(0, 0)).y()

        view = self.scroll.viewport().height()
        state_top = top(self.state_banner)
        readouts_bottom = top(self.big_readouts) + self.big_readouts.height()
        if self.patient_banner.isVisible():
            patient_top = top(self.patient_banner)
            if patient_top <= state_top and readouts_bottom - patient_top <= view:
                return patient_top
        return state_top - 4

    def _scroll_to_live(self) -> None:
        bar = self.scroll.verticalScrollBar()
        target = max(bar.minimum(), min(self.live_area_target(), bar.maximum()))
        if bar.value() != target:
            bar.setValue(target)

    def _blockers(self) -> list[str]:
        """Why Start is disabled: what the set-up lacks first (it names the field), then the desk's reasons."""
        own = self.setup.problems()
        return own + [text for text in self.desk.blockers(self.setup.plan()) if not (own and text == NO_PLAN)]

    def _show_patient(self, controller, snap: Snapshot | None) -> None:
        """Who is treated, with what, where: the run's plan while it is on, else the plan now chosen on the
        set-up (new-user pass: after the ID changed the banner and polarity still showed the last patient
        and drug). On a wide page the banner shows from the moment a patient ID is entered."""
        plan = self.desk.plan if controller is not None and self.desk.active else None
        setup = self.setup
        protocol = plan.protocol if plan is not None else setup.protocol_or_none()
        if plan is not None:
            text = banner_text(plan.patient_name, plan.patient_id, plan.date_of_birth, plan.protocol.name,
                               plan.site, plan.side) + (" · continued run" if plan.continues_session_id is not None
                                                        else "")
        elif setup.patient_identifier() and protocol is not None and (
                self.run_on_screen() or self._columns.direction() == QBoxLayout.Direction.LeftToRight):
            # before a run on a narrow page the form right under it says the same: it keeps the height
            text = banner_text(setup.patient_name.text().strip(), setup.patient_identifier(), setup.birth_date(),
                               protocol.name, setup.site_text(), setup.side_text()) + (
                " · continued run" if setup.continuing() else "")
        else:
            text = ""
        set_text(self.patient_banner, text)
        if self.patient_banner.isHidden() == bool(text):
            self.patient_banner.setVisible(bool(text))
        if protocol is None:
            set_text(self.polarity, "")
            return
        anode = snap.anode if snap is not None else protocol.polarity.anode
        set_text(self.polarity, electrode_polarity_text(protocol, anode))

    def _show_numbers(self, snap: Snapshot | None) -> None:
        live = self.desk.station.snapshot().live
        output_on = live is not None and live.output_on
        self.current.set_value(current_text(snap and snap.current_ma, output_on))
        self.goal.set_value(format_number(snap and snap.goal_ma, 2))
        self.target.set_value(format_number(snap and snap.setpoint_ma, 2) if output_on or snap is None else "0.00")
        self.impedance.set_value(format_number(snap.impedance_kohm if snap else None, 1))
        self.voltage.set_value(format_number(snap and snap.voltage_v, 1))
        # a continued run shows the prescription's progress (earlier runs + this one) of its whole target:
        # "0.5" under "Dose (of 40 mA·min)", not this run's own 0.3 of 39.8
        plan = self.desk.plan
        before = delivered_before(plan.protocol.dose_target_ma_min, plan.dose_target_ma_min) if (
            snap is not None and plan is not None and plan.continues_session_id is not None) else 0.0
        self.dose.set_value("--" if snap is None else f"{before + snap.dose_delivered_ma_min:.1f}")
        # the title stays one line ("continued" in it wrapped it and misaligned the readouts at 1366x768):
        # the patient banner says the run is a continued one
        self.dose.set_unit("mA·min" if snap is None else f"of {round(before + snap.dose_target_ma_min, 1):g} mA·min")
        self.elapsed.set_value(format_duration(snap.elapsed_s) if snap else "--")
        remaining, unit = remaining_text(snap.remaining_s) if snap else ("--", "min:s")
        self.remaining.set_unit(unit)
        self.remaining.set_value(remaining)

    def _reset_plots(self) -> None:
        self.plots.markers.clear()
        self._markers_shown = 0
        self.plots.clear()

    def _add_markers(self, controller) -> None:
        # labels laid out together (ui/plot_markers.py): steps seconds apart never print over each other
        for marker in controller.markers(self._markers_shown):
            self.plots.markers.add(marker.t, marker.label, pg.mkPen(MARKER_COLOURS[marker.kind], width=1))
            self._markers_shown += 1

