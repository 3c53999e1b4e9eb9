"""The sign-in dialog shown before the main window, and the first-run "create the administrator" form.

It shows state and sends intents: checking passwords, roles, the lockout and
the first-admin rule are ``ionto_console.accounts``', run off the GUI thread by
``control.sign_in_service`` (an argon2 check takes a noticeable moment by
design; the dialog says "Checking…" meanwhile). A wrong name and a wrong
password get the same plain line, so the dialog does not reveal which user
names exist. Any records problem becomes one line on the dialog, never an
exception in the Qt event loop. An account whose password an administrator
set chooses its own here ("Change password and sign in") before the window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout,
                               QWidget)

from ..core.roles import User
from ..control.background import Outcome
from ..control.sign_in_service import WRONG, SignInAnswer, SignInService, SignInState
from .background_pump import BackgroundPump
from .fields import keep_readable

__all__ = ["WRONG", "SignInDialog"]


class SignInDialog(QDialog):
    """Sign in (``user`` holds the account after ``accept``), or create the first ADMIN when there are none.

    The records are asked first whether accounts exist (``ready`` once answered); ``busy`` while a check runs.
    A service without a database: nobody can sign in, and the dialog says why."""

    def __init__(self, service: SignInService, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.user: User | None = None
        #: Signed in with an administrator-set password: (the account, that password) until it is changed.
        self._changing: tuple[User, str] | None = None
        self.first_run = False
        self.ready = False
        self._pump = BackgroundPump(service.worker, self)
        self._pump.busy_changed.connect(self._show_busy)
        self.setWindowTitle("Ionto Console — sign in")

        self.heading = QLabel("Checking the records…")
        self.heading.setWordWrap(True)
        self.heading.setStyleSheet("font-size:13pt;")
        self.username = QLineEdit()
        self.username.setObjectName("username")
        self.display_name = QLineEdit()
        self.display_name.setPlaceholderText("as it should appear on records, e.g. Dana Weber")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel("")
        self.error.setObjectName("sign_in_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color:#b71c1c;")
        self.busy_label = QLabel("Checking…")
        self.busy_label.setStyleSheet("color:#555;")
        self.busy_label.setVisible(False)

        keep_readable(self.username, self.display_name, self.password, self.repeat)
        self.form = QFormLayout()
        self.form.addRow("User name", self.username)
        self.form.addRow("Full name", self.display_name)
        self.form.addRow("Password", self.password)
        self.form.addRow("Repeat password", self.repeat)
        self._show_first_run_rows(False)

        buttons = QDialogButtonBox()
        self.ok_button = QPushButton("Sign in")
        self.ok_button.setDefault(True)
        buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.quit_button = buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        self.ok_button.clicked.connect(self.submit)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(self.form)
        layout.addWidget(self.busy_label)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._enable(False)
        self.resize(460, 0)
        service.state(self._got_state)

    # --- state shown ------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._pump.busy

    def _show_first_run_rows(self, shown: bool) -> None:
        self.form.setRowVisible(self.display_name, shown)
        self.form.setRowVisible(self.repeat, shown)

    def _fit(self) -> None:
        """At least 460 px wide and tall enough for every row shown (with the heading wrapped at that width)."""
        width = max(self.width(), 460)
        layout = self.layout()
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else layout.totalSizeHint().height()
        self.resize(width, max(self.height(), height))

    def _enable(self, enabled: bool) -> None:
        for widget in (self.username, self.display_name, self.password, self.repeat, self.ok_button):
            widget.setEnabled(enabled)

    def _show_busy(self, busy: bool) -> None:
        self.busy_label.setVisible(busy and self.ready)
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()
        self._enable(not busy and self.ready)

    def _got_state(self, outcome: Outcome[SignInState]) -> None:
        state = outcome.value if outcome.ok else SignInState(False, False, outcome.error)
        assert state is not None
        self.first_run = state.available and state.first_run
        self.ready = state.available
        if not state.available:
            self.heading.setText("Nobody can sign in while the records database is unavailable.")
            self.error.setText(f"Records unavailable: {state.problem or 'no database'}")
            self._enable(False)
            return
        self._show_first_run_rows(self.first_run)
        if self.first_run:
            self.ok_button.setText("Create administrator")
            self.heading.setText("First start: there are no accounts yet. Create the administrator account; "
                                 "the administrator then adds therapists and engineers (ionto-users).")
        else:
            self.heading.setText("Sign in to the treatment station.")
        self._fit()  # the rows and heading just shown get their height; the dialog was sized without them
        self._enable(not self.busy)
        self.username.setFocus()

    # --- intents ----------------------------------------------------------------------

    def submit(self) -> None:
        """The OK button: sign in, or create the first administrator (checked off the GUI thread)."""
        if not self.ready or self.busy:
            return
        self.error.setText("")
        if self._changing is not None:
            user, old = self._changing
            self.service.change_password(user, old, self.password.text(), self.repeat.text(), self._answered)
        elif self.first_run:
            self.service.create_first_admin(self.username.text(), self.display_name.text(), self.password.text(),
                                            self.repeat.text(), self._answered)
        else:
            self.service.sign_in(self.username.text(), self.password.text(), self._answered)

    def _answered(self, outcome: Outcome[SignInAnswer]) -> None:
        answer = outcome.value if outcome.ok else SignInAnswer(None, outcome.error)
        assert answer is not None
        if answer.user is None:
            self._refuse(answer.refusal or WRONG)
            return
        if answer.user.must_change_password:
            self._ask_new_password(answer.user)
            return
        self.user = answer.user
        self.accept()

    def _ask_new_password(self, user: User) -> None:
        """An administrator set this password: the person chooses their own (twice) before going on."""
        self._changing = (user, self.password.text())
        self.heading.setText(f"{user.display_name}: your password was set by an administrator. Choose your own "
                             "(at least 12 characters; a few words make a good one).")
        self.form.setRowVisible(self.repeat, True)
        self.form.labelForField(self.password).setText("New password")
        self.username.setReadOnly(True)
        self.ok_button.setText("Change password and sign in")
        self._fit()
        self.password.clear()
        self.repeat.clear()
        self.password.setFocus()

    def _refuse(self, message: str) -> None:
        self.error.setText(message)
        self.password.clear()
        self.repeat.clear()
        self.password.setFocus()
