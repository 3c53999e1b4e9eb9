"""Side-effect stop buttons and the emergency stop.

One press each, large, always visible while output is possible. A press
emits the reason at once; nothing here asks a question before the output is
stopped ("Other" asks for a word only after the controller has stopped).

Keys (``bind_shortcuts``): Escape always stops. Space stops while a treatment
runs; otherwise it is left to the focused button, so the keyboard can drive
the form. WHY not Space always: a therapist tabbing through the set-up must
be able to press the button under focus; while current flows, any Space is a
STOP.

WHY compact minimum sizes: the panel is never scrolled or folded, so its
minimum height decides whether STOP fits a 1280x720 screen at 150 % scaling
(480 logical pixels, less the title bar and the taskbar). The buttons grow
when there is room.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QGridLayout, QGroupBox, QPushButton, QSizePolicy, QWidget

EMERGENCY = "emergency"

BUTTON_STYLE = (
    "QPushButton { font-size: 13pt; font-weight: bold; min-height: 40px; padding: 2px 4px;"
    " background: #fff3e0; color: #bf360c; border: 2px solid #e65100; border-radius: 6px; }"
    "QPushButton:pressed { background: #ffe0b2; }"
    "QPushButton:disabled { background: #f5f5f5; color: #9e9e9e; border-color: #bdbdbd; }"
)
EMERGENCY_STYLE = (
    "QPushButton { font-size: 22pt; font-weight: bold; min-height: 64px;"
    " background: #c62828; color: white; border: 3px solid #8e0000; border-radius: 8px; }"
    "QPushButton:pressed { background: #8e0000; }"
)


class EscapeStopsEverywhere(QObject):
    """Esc in any window of the application (a question, a save dialog) stops while ``running()``.

    WHY: the window's Esc shortcut acts only while the window itself has the keyboard; with the
    close question or a save dialog up during a treatment, Esc only dismissed that dialog (new-user
    pass) although the STOP button says "Esc". The window's own Esc is its shortcut (never seen here)."""

    def __init__(self, stop: Callable[[], None], running: Callable[[], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stop = stop
        self._running = running

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if (event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and event.key() == Qt.Key.Key_Escape and self._running()):
            self._stop()
            return True
        return False


class StopPanel(QGroupBox):
    """Emits ``stop_requested(reason_key)``; the window passes it to the controller."""

    stop_requested = Signal(str)

    def __init__(self, reasons: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__("Stop now", parent)
        self.setObjectName("stop_panel")
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 6, 6, 6)
        grid.setSpacing(6)
        grow = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        for index, (key, label) in enumerate(reasons):
            button = QPushButton(label)
            button.setObjectName(f"stop_{key}")
            button.setStyleSheet(BUTTON_STYLE)
            button.setSizePolicy(grow)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space must never "click" a stop button by focus
            button.pressed.connect(lambda k=key, b=button: self._pressed(k, b))  # on press, not release
            grid.addWidget(button, index // 2, index % 2)
            self.buttons[key] = button
        self.emergency = QPushButton("STOP\n(Esc / Space)")
        self.emergency.setObjectName("stop_emergency")
        self.emergency.setStyleSheet(EMERGENCY_STYLE)
        self.emergency.setSizePolicy(grow)
        self.emergency.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.emergency.pressed.connect(lambda: self.stop_requested.emit(EMERGENCY))
        rows = (len(reasons) + 1) // 2
        grid.addWidget(self.emergency, rows, 0, 1, 2)
        for row in range(rows):
            grid.setRowStretch(row, 1)
        grid.setRowStretch(rows, 2)  # STOP gets twice a side-effect row's share of any extra room
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)

    def _pressed(self, key: str, button: QPushButton) -> None:
        self.stop_requested.emit(key)
        # "Other…" asks for words in a dialog while the mouse is still down: the release goes to the
        # dialog, and the button stayed drawn pressed into later sessions. Nothing here uses a click.
        button.setDown(False)

    def all_buttons(self) -> list[QPushButton]:
        """Every button of the panel, STOP last."""
        return [*self.buttons.values(), self.emergency]

    def bind_shortcuts(self, window: QWidget, running: Callable[[], bool]) -> list[QShortcut]:
        """Escape stops from anywhere in ``window`` (and from any other window while ``running()``);
        Space too while ``running()`` is true (``update_shortcuts`` switches it, so a focused button
        gets Space otherwise)."""
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
        space = QShortcut(QKeySequence(Qt.Key.Key_Space), window)
        for shortcut in (escape, space):
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda: self.stop_requested.emit(EMERGENCY))
        self._space = space
        self._running = running
        app = QApplication.instance()
        if app is not None:
            self._escape_everywhere = EscapeStopsEverywhere(lambda: self.stop_requested.emit(EMERGENCY), running, self)
            app.installEventFilter(self._escape_everywhere)
        self.update_shortcuts()
        return [escape, space]

    def update_shortcuts(self) -> None:
        """Space is STOP only while a treatment runs (called on every screen refresh)."""
        space = getattr(self, "_space", None)
        if space is not None:
            space.setEnabled(bool(self._running()))
