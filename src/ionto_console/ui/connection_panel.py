"""Board connection panel: choose a port, see the board's identity and state.

It knows port choices only as opaque (key, label) pairs from the composition
root, so it does not know whether a choice is USB, a pty or the simulator.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QWidget,
)

from ..control.board_status import BoardStatus, BoardView
from ..core.calibration_due import Certificate, calibration_status
from .readouts import set_style, set_text

STATE_STYLE = {
    BoardStatus.CONNECTED: "background:#e6f4ea; color:#1b5e20;",
    BoardStatus.CONNECTING: "background:#fff8e1; color:#8d6e00;",
    BoardStatus.DISCONNECTED: "background:#fdecea; color:#b71c1c;",
}


class ConnectionPanel(QGroupBox):
    """Intents out (connect/disconnect/refresh), state in (``show``)."""

    connect_requested = Signal(str)
    disconnect_requested = Signal()
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Board", parent)
        self.port_combo = QComboBox()
        self.port_combo.setObjectName("port")
        # a long port name must not widen the window; the open list shows it whole
        self.port_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.port_combo.setMinimumContentsLength(10)
        # tool buttons: as wide as their words (push buttons have a wide minimum in most styles)
        self.refresh_button = QToolButton(text="Rescan")
        self.connect_button = QToolButton(text="Connect")
        self.disconnect_button = QToolButton(text="Disconnect")
        for button in (self.refresh_button, self.connect_button, self.disconnect_button):
            button.setMinimumHeight(28)
        self.state_label = QLabel("Not connected")
        self.state_label.setObjectName("connection_state")
        self.state_label.setWordWrap(True)
        self.state_label.setStyleSheet("padding:6px; font-size:13pt; font-weight:bold;")
        self.ident_label = QLabel("")
        self.ident_label.setObjectName("board_ident")
        self.calibration_label = QLabel("")
        self.calibration_label.setObjectName("calibration_state")
        #: One plain line from the composition root: no board configured, demo mode, simulator refused.
        self.notice_label = QLabel("")
        self.notice_label.setObjectName("board_notice")
        self.notice_label.setWordWrap(True)
        self.notice_label.setVisible(False)
        for label in (self.ident_label, self.calibration_label):
            label.setWordWrap(True)
        # two rows, not five: the panel sits above every tab, and its height is taken from the
        # page on a 720-pixel screen
        row = QHBoxLayout()
        port_label = QLabel("Port")
        row.addWidget(port_label)
        row.addWidget(self.port_combo, 1)
        row.addWidget(self.refresh_button)
        row.addWidget(self.connect_button)
        row.addWidget(self.disconnect_button)
        #: What folds away while a treatment is on screen (the state line stays).
        self._details = (port_label, self.port_combo, self.refresh_button, self.connect_button,
                         self.disconnect_button, self.ident_label, self.calibration_label)
        self._folded = False
        grid = QGridLayout(self)  # the panel's layout (``set_folded`` moves the state line in it)
        grid.setContentsMargins(6, 2, 6, 2)
        grid.setVerticalSpacing(2)
        grid.addLayout(row, 0, 0)
        grid.addWidget(self.state_label, 0, 1)
        grid.addWidget(self.notice_label, 1, 0, 1, 2)
        grid.addWidget(self.ident_label, 2, 0)
        grid.addWidget(self.calibration_label, 2, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        self.connect_button.clicked.connect(self._emit_connect)
        self.disconnect_button.clicked.connect(self.disconnect_requested)
        self.refresh_button.clicked.connect(self.refresh_requested)

    def set_choices(self, choices: list[tuple[str, str]]) -> None:
        current = self.port_combo.currentData()
        self.port_combo.clear()
        for key, label in choices:
            self.port_combo.addItem(label, key)
        index = self.port_combo.findData(current)
        self.port_combo.setCurrentIndex(max(index, 0))

    def set_notice(self, text: str) -> None:
        """Show one line above the state ("" hides it)."""
        self.notice_label.setText(text)
        self.notice_label.setVisible(bool(text) and not self._folded)

    def set_folded(self, folded: bool) -> None:
        """Only the board's state line (folded) or the whole panel.

        WHY: while a treatment is on screen the port, identity and calibration lines are not the
        therapist's business, and at 1280x720 at 150 % they took the height the state line and the
        big readouts need (about 100 pixels were left for them in the new-user pass)."""
        if folded == self._folded:
            return
        self._folded = folded
        for widget in self._details:
            widget.setVisible(not folded)
        grid = self.layout()
        grid.removeWidget(self.state_label)  # folded: the state line alone, across the panel
        if folded:
            grid.addWidget(self.state_label, 0, 0, 1, 2)
        else:
            grid.addWidget(self.state_label, 0, 1)
        self.notice_label.setVisible(bool(self.notice_label.text()) and not folded)

    def folded(self) -> bool:
        return self._folded

    def _emit_connect(self) -> None:
        key = self.port_combo.currentData()
        if key is not None:
            self.connect_requested.emit(key)

    def show_board(self, board: BoardView, calibration_interval_days: int, today: dt.date,
                   certificate_due: dt.date | None = None, *, certificate: Certificate | None = None) -> None:
        """Called 30 times a second: touches a label only when its text or style changes.
        ``certificate``: the board's newest passing certificate as the desk knows it (from the records):
        the line says when it was issued, beside the board's own date when they differ;
        ``certificate_due``: its due date alone (older callers)."""
        ident = board.identity
        ok = True
        if ident is None:
            set_text(self.ident_label, "")
            set_text(self.calibration_label, "")
        else:
            set_text(self.ident_label, ident.summary)
            text, ok = calibration_text(ident.cal_date_unix, calibration_interval_days, today, certificate_due,
                                        certificate=certificate)
            set_text(self.calibration_label, text)
            set_style(self.calibration_label, "" if ok else "color:#b71c1c; font-weight:bold;")
        # connected but not fit to treat (calibration lapsed) is not shown in reassuring green
        style = STATE_STYLE[board.status] if ok else STATE_STYLE[BoardStatus.CONNECTING]
        set_style(self.state_label, "padding:4px; font-size:13pt; font-weight:bold; " + style)
        set_text(self.state_label, board.status_text)


def calibration_text(cal_date_unix: int, interval_days: int, today: dt.date,
                     certificate_due: dt.date | None = None, *,
                     certificate: Certificate | None = None) -> tuple[str, bool]:
    """One plain line about calibration, and whether it is still valid (``core.calibration``'s rule; the
    board's certificate in the records, as the desk knows it, wins)."""
    status = calibration_status(cal_date_unix, interval_days, today, certificate_due, certificate=certificate)
    return status.text, status.valid
