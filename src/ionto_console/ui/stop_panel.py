"""Side-effect stop buttons and the emergency stop.

One press each, large, always visible while output is possible. A press
emits the reason at once; nothing here asks a question before the output is
stopped ("Other" asks for a word only after the controller has stopped).
Escape and Space are bound to the emergency stop for the whole window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QGridLayout, QGroupBox, QPushButton, QWidget

EMERGENCY = "emergency"

BUTTON_STYLE = (
    "QPushButton { font-size: 15pt; font-weight: bold; min-height: 56px; padding: 6px;"
    " background: #fff3e0; color: #bf360c; border: 2px solid #e65100; border-radius: 6px; }"
    "QPushButton:pressed { background: #ffe0b2; }"
    "QPushButton:disabled { background: #f5f5f5; color: #9e9e9e; border-color: #bdbdbd; }"
)
EMERGENCY_STYLE = (
    "QPushButton { font-size: 22pt; font-weight: bold; min-height: 80px;"
    " background: #c62828; color: white; border: 3px solid #8e0000; border-radius: 8px; }"
    "QPushButton:pressed { background: #8e0000; }"
)


class StopPanel(QGroupBox):
    """Emits ``stop_requested(reason_key)``; the window passes it to the controller."""

    stop_requested = Signal(str)

    def __init__(self, reasons: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__("Stop now", parent)
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout(self)
        for index, (key, label) in enumerate(reasons):
            button = QPushButton(label)
            button.setObjectName(f"stop_{key}")
            button.setStyleSheet(BUTTON_STYLE)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space must never "click" a focused button
            button.pressed.connect(lambda k=key: self.stop_requested.emit(k))  # on press, not release
            grid.addWidget(button, index // 2, index % 2)
            self.buttons[key] = button
        self.emergency = QPushButton("STOP  (Esc / Space)")
        self.emergency.setObjectName("stop_emergency")
        self.emergency.setStyleSheet(EMERGENCY_STYLE)
        self.emergency.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.emergency.pressed.connect(lambda: self.stop_requested.emit(EMERGENCY))
        grid.addWidget(self.emergency, (len(reasons) + 1) // 2, 0, 1, 2)

    def bind_shortcuts(self, window: QWidget) -> list[QShortcut]:
        """Escape and Space stop from anywhere in ``window``."""
        shortcuts = []
        for key in (Qt.Key.Key_Escape, Qt.Key.Key_Space):
            shortcut = QShortcut(QKeySequence(key), window)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda: self.stop_requested.emit(EMERGENCY))
            shortcuts.append(shortcut)
        return shortcuts
