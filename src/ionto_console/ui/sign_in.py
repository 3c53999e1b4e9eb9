"""The sign-in dialog shown before the main window, and the first-run "create the administrator" form.

It shows state and sends intents: checking passwords, roles and the
first-admin rule are ``ionto_console.accounts``'. A wrong name and a wrong
password get the same plain line, so the dialog does not reveal which user
names exist. Any records problem becomes one line on the dialog, never an
exception in the Qt event loop.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout,
                               QWidget)

from ..accounts import AccountError, User, authenticate, create_first_admin, has_users
from ..records import Database, RecordsError

WRONG = "Wrong user name or password"


class SignInDialog(QDialog):
    """Sign in (``user`` holds the account after ``accept``), or create the first ADMIN when there are none.

    ``db`` None (records unavailable): nobody can sign in; ``problem`` says why."""

    def __init__(self, db: Database | None, *, problem: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.user: User | None = None
        self.setWindowTitle("Ionto Console — sign in")
        self.first_run = False
        if db is not None:
            try:
                self.first_run = not has_users(db)
            except RecordsError as exc:
                problem = str(exc)
                self.db = None

        self.heading = QLabel()
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

        form = QFormLayout()
        form.addRow("User name", self.username)
        if self.first_run:
            form.addRow("Full name", self.display_name)
        form.addRow("Password", self.password)
        if self.first_run:
            form.addRow("Repeat password", self.repeat)

        buttons = QDialogButtonBox()
        self.ok_button = QPushButton("Create administrator" if self.first_run else "Sign in")
        self.ok_button.setDefault(True)
        buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.quit_button = buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        self.ok_button.clicked.connect(self.submit)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

        if self.db is None:
            self.heading.setText("Nobody can sign in while the records database is unavailable.")
            self.error.setText(f"Records unavailable: {problem or 'no database'}")
            for widget in (self.username, self.password, self.ok_button):
                widget.setEnabled(False)
        elif self.first_run:
            self.heading.setText("First start: there are no accounts yet. Create the administrator account; "
                                 "the administrator then adds therapists and engineers (ionto-users).")
        else:
            self.heading.setText("Sign in to the treatment station.")
        self.resize(460, 0)

    def submit(self) -> None:
        """The OK button: sign in, or create the first administrator. Refusals stay on the dialog."""
        if self.db is None:
            return
        try:
            user = self._create_admin() if self.first_run else self._sign_in()
        except AccountError as exc:
            self._refuse(str(exc))
            return
        except RecordsError as exc:
            self._refuse(f"Records unavailable: {exc}")
            return
        if user is None:
            self._refuse(WRONG)
            return
        self.user = user
        self.accept()

    def _sign_in(self) -> User | None:
        assert self.db is not None
        return authenticate(self.db, self.username.text(), self.password.text())

    def _create_admin(self) -> User:
        assert self.db is not None
        if self.password.text() != self.repeat.text():
            raise AccountError("The two passwords differ.")
        return create_first_admin(self.db, self.username.text(), self.display_name.text(), self.password.text())

    def _refuse(self, message: str) -> None:
        self.error.setText(message)
        self.password.clear()
        self.repeat.clear()
        self.password.setFocus()
