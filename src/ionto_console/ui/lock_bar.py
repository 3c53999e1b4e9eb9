"""The idle lock's bar: "Station locked", sign in to go on, or hand a running treatment over.

Shown above the window's tabs while the station is locked; the treatment
screen stays visible with its STOP and side-effect buttons working (the
window disables everything else). It only collects the name and password and
sends intents; the window asks ``accounts`` and the desk.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from .fields import keep_readable


class LockBar(QFrame):
    """Name and password fields, Unlock and Sign out; ``unlock_requested(name, password)``."""

    unlock_requested = Signal(str, str)
    sign_out_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lock_bar")
        self.setStyleSheet("#lock_bar { background:#263238; } QLabel { color:white; font-size:13pt; }")
        self.heading = QLabel("")
        self.heading.setWordWrap(True)
        self.error = QLabel("")
        self.error.setObjectName("lock_error")
        self.error.setStyleSheet("color:#ffcdd2; font-size:12pt;")
        self.username = QLineEdit()
        self.username.setObjectName("lock_username")
        self.username.setPlaceholderText("user name")
        self.password = QLineEdit()
        self.password.setObjectName("lock_password")
        self.password.setPlaceholderText("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.unlock_button = QPushButton("Unlock")
        self.sign_out_button = QPushButton("Sign out")
        keep_readable(self.username, self.password, self.unlock_button, self.sign_out_button)
        row = QHBoxLayout()
        for widget in (self.username, self.password, self.unlock_button, self.sign_out_button):
            row.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(row)
        layout.addWidget(self.error)
        self.unlock_button.clicked.connect(self._submit)
        self.password.returnPressed.connect(self._submit)
        self.sign_out_button.clicked.connect(self.sign_out_requested)

    def show_locked(self, signed_in: str, treatment_running: bool) -> None:
        extra = (" A treatment is running: STOP and the side-effect buttons still work; another therapist can "
                 "sign in here to take it over." if treatment_running else "")
        self.heading.setText(f"Station locked after no use. {signed_in} was signed in: sign in again to go on.{extra}")
        self.error.setText("")
        self.username.clear()
        self.password.clear()
        self.show()

    def refuse(self, message: str) -> None:
        self.error.setText(message)
        self.password.clear()

    def _submit(self) -> None:
        self.unlock_requested.emit(self.username.text(), self.password.text())
