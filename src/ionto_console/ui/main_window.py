"""The console's main window: connection, live readouts and plots.

It only shows state and sends intents. A 30 Hz timer polls the station's
snapshot and history; nothing here runs on any other thread.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Callable
from typing import Protocol as TypingProtocol

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.roles import Role, User, can_calibrate, can_treat
from ..core.idle_lock import IdleLock
from ..control.board_status import BoardView, board_view
from ..control.station import Station
from ..control.treatment_desk import TreatmentDesk
from ..core.protocols import Protocol
from ..core.session import EMERGENCY
from .alarm_banner import AlarmBanner
from .alarm_sound import CommandLinePlayer, Player
from .connection_panel import ConnectionPanel
from .deferred_page import DeferredPage
from .background_pump import BackgroundPump
from .beside_stop import ask_yes_no
from .lock_bar import LockBar
from .live_plots import LivePlots
from .readouts import LiveText, Readout, ReflowGrid, current_text, format_number, set_style, set_text
from .session_setup import SessionSetup
from .treatment_view import TreatmentView

if TYPE_CHECKING:
    from .calibration_tab import CalibrationTab

REFRESH_HZ = 30
#: The window's size at start where the screen has room (logical pixels); smaller screens get it maximised.
PREFERRED_SIZE = (1280, 860)
#: Who the window is for when the caller names nobody (tests that predate accounts): a therapist.
DEFAULT_USER = User(0, "therapist", "Therapist", Role.THERAPIST)
CANNOT_TREAT = "Your role cannot run treatments. Sign in as a therapist or an administrator to treat."


def scrolling(page: QWidget) -> QScrollArea:
    """``page`` inside a frameless scroll area that lets it take the room it has, and scroll when
    it needs more (so its minimum size never becomes the window's)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(page)
    return area


class PortSources(TypingProtocol):
    """What the window needs from the composition root to offer ports."""

    def choices(self) -> list[tuple[str, str]]: ...

    def connect(self, key: str) -> None: ...

    def notice(self) -> str:
        """One plain line about the choices (no board configured, demo mode, a refused choice) or ""."""
        ...


class MainWindow(QMainWindow):
    """The station's window for one signed-in user: which tabs exist follows the user's role.

    Tabs: Treatment (therapists and administrators; others see a one-line page
    instead), Board monitor, Calibration (engineers and administrators). Other
    pages (e.g. the records browser) are added with ``add_page``."""

    #: The user chose "Sign out" (and no treatment is running): the composition root signs in anew.
    sign_out_requested = Signal()

    def __init__(
        self,
        station: Station,
        sources: PortSources,
        desk: TreatmentDesk,
        protocols: list[Protocol],
        *,
        user: User | None = None,
        calibration_interval_days: int = 365,
        calibration_ports: list[str] | None = None,
        today: Callable[[], dt.date] = dt.date.today,
        alarm_player: Player | None = None,
        idle_lock_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        station_name: str = "station-1",
        wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
    ) -> None:
        """``idle_lock_s``: lock to the sign-in bar after this long without a key or click (None: never;
        the clinic's ``idle_lock_minutes``); ``clock`` (idle time) and ``wall_clock`` (sign-in slow-down) are injectable so tests need not wait."""
        super().__init__()
        self.user = user or DEFAULT_USER
        self.setWindowTitle(f"Ionto Console — {self.user.title}")
        self.station = station
        self.desk = desk
        self._sources = sources
        self._interval_days = calibration_interval_days
        self._today = today
        self.setup = SessionSetup(protocols, today=today)
        self.treatment: TreatmentView | None = None
        self._shortcuts = []
        if can_treat(self.user.role):
            self.treatment = TreatmentView(desk, self.setup)
            self._shortcuts = self.treatment.bind_keys(self)
        self.calibration: CalibrationTab | None = None
        if can_calibrate(self.user.role):
            # imported here: pyvisa and the calibration runner add ~0.5 s to a therapist's start-up
            from .calibration_tab import CalibrationTab

            self.calibration = CalibrationTab(calibration_interval_days, self.user.display_name,
                                              calibration_ports or [], desk.db.url if desk.db else None,
                                              lender=desk, simulated=desk.demo,
                                              connected_port=lambda: board_view(self.station.snapshot()).port,
                                              account=self.user.username,
                                              instruments=getattr(sources, "simulated_instruments", dict),
                                              stored=desk.forget_certificate)
        self.alarm_banner = AlarmBanner(desk.alarms, alarm_player or CommandLinePlayer())

        self.connection = ConnectionPanel()
        self.current = Readout("Current", "mA")
        self.target = Readout("Target", "mA")
        self.voltage = Readout("Voltage", "V")
        self.impedance = Readout("Impedance", "kΩ")
        self.output_state = QLabel("Output off")
        self.output_state.setObjectName("output_state")
        self.output_state.setStyleSheet(
            "font-size:18pt; font-weight:bold; padding:8px; background:#eceff1; color:#37474f;"
        )
        self.fault_label = QLabel("")
        self.fault_label.setObjectName("fault_text")
        self.fault_label.setStyleSheet("color:#b71c1c; font-size:12pt;")
        self.fault_label.setWordWrap(True)
        self._monitor_plots = DeferredPage(LivePlots)  # built when the Board monitor tab is first opened
        # The link's counters (telemetry frames, lost, dropped) are an engineer's: on the Board monitor
        # page, and in the status bar only for the engineer role (a therapist's clinical screen showed
        # "telemetry 1869 · lost 0 · dropped frames 0"). Counts change every refresh: LiveText repaints
        # itself without a relayout of the window.
        self.link_stats = self._counters_line()
        self.link_stats.setObjectName("link_stats")
        self.status_link_stats: LiveText | None = None
        if self.user.role is Role.ENGINEER:
            self.status_link_stats = self._counters_line()
            self.statusBar().addPermanentWidget(self.status_link_stats, 1)

        readouts = ReflowGrid([self.current, self.target, self.voltage, self.impedance])
        self.monitor = monitor = QWidget()
        monitor_layout = QVBoxLayout(monitor)
        monitor_layout.addWidget(self.output_state)
        monitor_layout.addWidget(readouts)
        monitor_layout.addWidget(self.fault_label)
        monitor_layout.addWidget(self.link_stats)
        monitor_layout.addWidget(self._monitor_plots, 1)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.setUsesScrollButtons(True)
        # the Treatment page scrolls by itself; the others scroll inside a QScrollArea, so no page
        # sets the window's minimum size
        self.tabs.addTab(self.treatment or self._cannot_treat_page(), "Treatment")
        self.tabs.addTab(monitor, "Board monitor")
        if self.calibration is not None:
            self.tabs.addTab(scrolling(self.calibration), "Calibration")
        # The records browser (ui/records_browser.py) is added by the composition root with add_page.
        self.sign_out_action = QAction("Sign out", self)
        self.sign_out_action.triggered.connect(self.request_sign_out)
        account_menu = self.menuBar().addMenu(self.user.display_name)
        account_menu.addAction(self.sign_out_action)
        self._clock = clock
        self._wall_clock = wall_clock
        self._station_name = station_name
        self.idle = IdleLock(idle_lock_s, last_activity=clock()) if idle_lock_s else None
        self._signing_out = False  # a sign-out closes the window: audited once, as a sign-out
        self._asking = False  # the close question is up (a second close is ignored)
        if self.treatment is None:  # the treatment screen drains the desk's worker; without it, the window does
            self._desk_pump = BackgroundPump(desk.worker, self)
        self.lock_bar = LockBar()
        self.lock_bar.hide()
        self.lock_bar.unlock_requested.connect(self.unlock_as)
        self.lock_bar.sign_out_requested.connect(self._sign_out_from_lock)
        if self.idle is not None:
            app = QApplication.instance()
            if app is not None:
                app.installEventFilter(self)
        central = QWidget()
        self.left_column = QWidget()
        left = QVBoxLayout(self.left_column)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.lock_bar)  # shown while the station is locked; STOP stays beside it
        left.addWidget(self.connection)
        left.addWidget(self.tabs, 1)
        layout = QHBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.left_column, 1)
        if self.treatment is not None:
            # beside every tab and never inside a scroll area: STOP is on screen whatever is shown
            layout.addWidget(self.treatment.stops)
        # the alarm banner floats over the top of the left column: it never pushes STOP down
        self.alarm_banner.setParent(central)
        self.alarm_banner.installEventFilter(self)
        self.left_column.installEventFilter(self)
        self.lock_bar.installEventFilter(self)  # the banner goes below it while the station is locked
        self.setCentralWidget(central)
        if not can_treat(self.user.role):
            # an engineer lands on the work of the role, not on "Your role cannot run treatments"
            self.tabs.setCurrentIndex(2 if self.calibration is not None else 1)

        self.connection.connect_requested.connect(self._connect)
        self.connection.disconnect_requested.connect(self.station.disconnect)
        self.connection.refresh_requested.connect(self.refresh_ports)
        self.refresh_ports()

        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / REFRESH_HZ))
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    #: Events that move or resize the alarm banner's area: it is laid over the left column again.
    PLACEMENT = (QEvent.Type.Resize, QEvent.Type.Move, QEvent.Type.Show, QEvent.Type.LayoutRequest)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """Keeps the alarm banner over the left column, and counts any key or click anywhere in the
        application as activity for the idle lock (when the clinic set one). Never consumes an event."""
        kind = event.type()
        if self.idle is not None and kind in self.ACTIVITY:
            self.idle.touch(self._clock())
        if kind in self.PLACEMENT_AND_HIDE and watched in (self.alarm_banner, self.left_column, self.lock_bar):
            self._place_banner()
        return False

    PLACEMENT_AND_HIDE = (*PLACEMENT, QEvent.Type.Hide)

    def _place_banner(self) -> None:
        """Lay the alarm banner over the top of the left column (tabs and board panel), never over STOP,
        and below the lock bar while the station is locked.

        WHY below the lock bar: laid over it, a HIGH alarm hid the sign-in of a locked station until the
        alarm was acknowledged (new-user pass)."""
        area = self.left_column.geometry()
        if self.lock_bar.isVisible():
            below = self.lock_bar.geometry().bottom() + 1
            area.setTop(area.top() + below)
        banner = self.alarm_banner
        height = banner.heightForWidth(area.width()) if banner.hasHeightForWidth() else -1
        height = max(height, banner.sizeHint().height())
        banner.setGeometry(area.x(), area.y(), area.width(), min(height, max(area.height() // 2, 1)))
        banner.raise_()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        """Closing with current flowing asks first and stops the output when confirmed; closing
        with an unsigned session warns. WHY: the window used to vanish mid-treatment.

        The question leaves the stop panel working (``confirm``); a second close while it is up
        is ignored (the question stays)."""
        if self._asking:
            event.ignore()
            return
        if self.desk.active:
            if not self.confirm("Treatment running",
                                "A treatment is running. Stop the output and close the console?"):
                event.ignore()
                return
            self.desk.stop(EMERGENCY, "console closed during the treatment")
        elif self.treatment is not None and self.treatment.unsigned_session():
            if not self.confirm("Session not signed",
                                "The last session is not signed. Close the console without signing it?"):
                event.ignore()
                return
        if not self._signing_out:
            self.desk.record_presence_later("sign out", self.user, "console closed")
        event.accept()

    def confirm(self, title: str, question: str) -> bool:
        """Ask yes/no (No is the default); tests replace this.

        WHY not QMessageBox.question: its modal box blocked the stop panel. While a treatment runs the
        question is non-modal over the tabs (STOP and the side-effect buttons take clicks, Esc stops),
        and a treatment that stops meanwhile dismisses it as a No: the window stays, with the
        stopped session on screen (a later close asks about signing it)."""
        treating = self.desk.active
        self._asking = True
        try:
            answer = ask_yes_no(self, title, question, over=self.left_column,
                                dismiss_when=(lambda: not self.desk.active) if treating else None)
        finally:
            self._asking = False
        return answer and (not treating or self.desk.active)

    @staticmethod
    def _counters_line() -> LiveText:
        line = LiveText("")
        # a long statistics line must not set the window's minimum width
        line.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        line.setMinimumWidth(1)
        return line

    @staticmethod
    def _cannot_treat_page() -> QWidget:
        page = QWidget()
        label = QLabel(CANNOT_TREAT)
        label.setObjectName("cannot_treat")
        label.setWordWrap(True)
        label.setStyleSheet("font-size:14pt; padding:24px;")
        QVBoxLayout(page).addWidget(label, 0, Qt.AlignmentFlag.AlignTop)
        return page

    @property
    def plots(self) -> LivePlots:
        """The Board monitor's plots (built on first use)."""
        return self._monitor_plots.content

    def add_page(self, widget: QWidget, title: str) -> int:
        """Add a tab (e.g. the records browser) after the built-in ones; returns its index.
        The page scrolls inside the tab rather than widen or lengthen the window."""
        return self.tabs.addTab(scrolling(widget), title)

    def show_fitted(self) -> None:
        """Show at a comfortable size that fits the screen's free area (maximised when the screen
        is smaller than that): the window never opens larger than the screen."""
        available = self.screen().availableGeometry()
        if available.width() < PREFERRED_SIZE[0] or available.height() < PREFERRED_SIZE[1]:
            self.setGeometry(available)
            self.showMaximized()
            return
        self.resize(*PREFERRED_SIZE)
        self.move(available.center() - self.rect().center())
        self.show()

    def request_sign_out(self) -> bool:
        """Sign out unless a treatment is running (then say so and stay); True if signing out."""
        if self.desk.active:
            self.statusBar().showMessage("Stop the treatment before signing out.", 8000)
            return False
        self._signing_out = True
        self.desk.record_presence_later("sign out", self.user, "signed out")
        self.sign_out_requested.emit()
        return True

    # --- idle lock ----------------------------------------------------------------

    ACTIVITY = (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.Wheel, QEvent.Type.TouchBegin)

    @property
    def locked(self) -> bool:
        return self.idle is not None and self.idle.locked

    def lock(self) -> None:
        """Lock to the sign-in bar: the treatment stays on screen with STOP and side effects working."""
        if self.idle is None or self.idle.locked:
            return
        self.idle.locked = True
        self.desk.end_continuous_session()
        self.desk.record_presence_later("station locked", self.user, "no key or click for the idle time")
        if self.treatment is not None:
            self.tabs.setCurrentWidget(self.treatment)
            self.treatment.set_locked(True)
        self.tabs.tabBar().setEnabled(False)
        for index in range(self.tabs.count()):
            if self.tabs.widget(index) is not self.treatment:
                self.tabs.widget(index).setEnabled(False)
        self.connection.setEnabled(False)
        self.menuBar().setEnabled(False)
        # WHY: a save dialog left open on the Records tab was disabled with its page by the lock: it
        # could be neither answered nor cancelled, and (modal then) it blocked STOP and the unlock too
        for dialog in self.findChildren(QDialog):
            if dialog.isVisible():
                dialog.reject()
        self.lock_bar.show_locked(self.user.title, self.desk.active)

    def unlock_as(self, username: str, password: str) -> None:
        """The lock bar's sign-in (checked by the desk off the GUI thread): the same person unlocks; another
        therapist takes over a running treatment (an audited handover); refusals stay on the bar."""
        self.lock_bar.unlock_button.setEnabled(False)
        self.desk.unlock_later(username, password, self.user, self._unlock_answered, now=self._wall_clock())

    def _unlock_answered(self, error: str, user: User | None) -> None:
        self.lock_bar.unlock_button.setEnabled(True)
        if error or user is None:
            self.lock_bar.refuse(error or "Wrong user name or password.")
            return
        if user.username != self.user.username:
            self.user = user
            self.setWindowTitle(f"Ionto Console — {user.title}")
            self.statusBar().showMessage(f"Treatment handed over to {user.title}.", 15000)
        self._unlock()

    def _unlock(self) -> None:
        assert self.idle is not None
        self.idle.locked = False
        self.idle.touch(self._clock())
        self.lock_bar.hide()
        self.tabs.tabBar().setEnabled(True)
        for index in range(self.tabs.count()):
            self.tabs.widget(index).setEnabled(True)
        self.connection.setEnabled(True)
        self.menuBar().setEnabled(True)
        if self.treatment is not None:
            self.treatment.set_locked(False)

    def _sign_out_from_lock(self) -> None:
        if not self.request_sign_out():
            self.lock_bar.refuse("A treatment is running: sign in to take it over, or stop it first.")

    def refresh_ports(self) -> None:
        self.connection.set_choices(self._sources.choices())
        self.connection.set_notice(self._sources.notice())

    def _connect(self, key: str) -> None:
        self._sources.connect(key)
        self.connection.set_notice(self._sources.notice())

    def refresh(self) -> None:
        """Poll the station and redraw; must never raise into the event loop."""
        board = board_view(self.station.snapshot())
        if self.idle is not None and self.idle.due(self._clock(), bool(board.live and board.live.output_on)):
            self.lock()
        self.connection.show_board(board, self._interval_days, self._today(), certificate=self.desk.board_certificate())
        # the board's details fold while a treatment is on screen: its state line and readouts need the height
        self.connection.set_folded(self.treatment is not None and self.treatment.run_on_screen())
        self._show_live(board)
        if self.tabs.currentWidget() is self.monitor:  # draw the monitor only when it is visible
            self.plots.follow(self.station.buffer)
        set_text(self.link_stats, board.link_stats)
        if self.status_link_stats is not None:
            set_text(self.status_link_stats, board.link_stats)

    def _show_live(self, board: BoardView) -> None:
        live = board.live
        self.current.set_value(current_text(live and live.current_ma, bool(live and live.output_on)))
        self.target.set_value(format_number(live and live.target_ma, 2))
        self.voltage.set_value(format_number(live and live.voltage_v, 1))
        self.impedance.set_value(format_number(live.impedance_kohm if live else None, 1))
        on = bool(live and live.output_on)
        set_text(self.output_state, "Output on" if on else "Output off")
        set_style(self.output_state, 
            "font-size:18pt; font-weight:bold; padding:8px; "
            + ("background:#fff3e0; color:#e65100;" if on else "background:#eceff1; color:#37474f;")
        )
        set_text(self.fault_label, (live and live.fault_text) or board.last_fault)
