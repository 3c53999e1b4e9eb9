"""The sign-in check for the sign-in dialog, off the GUI thread.

Qt-free, and a thin wrapper: the rules (password hashing with argon2, the
first-administrator rule, and whatever lockout or password policy
``accounts`` enforces) stay in ``ionto_console.accounts``; this only runs
them on a worker thread and turns their errors into the one line the dialog
shows. WHY a worker: an argon2 verify takes a noticeable fraction of a
second by design, and a records server may be slow to answer; the dialog
shows a busy state meanwhile instead of freezing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..accounts import AccountError, User, authenticate, change_own_password, create_first_admin, has_users
from ..records import Database, RecordsError
from .background import Outcome, Worker

#: The same line for a wrong name and a wrong password: the dialog never reveals which names exist.
WRONG = "Wrong user name or password"


@dataclass(frozen=True)
class SignInState:
    """What the dialog should offer: ``available`` False (with ``problem``) = nobody can sign in."""

    available: bool
    first_run: bool
    problem: str = ""


@dataclass(frozen=True)
class SignInAnswer:
    """The signed-in user, or why not (``refusal``)."""

    user: User | None
    refusal: str = ""


def _refusal(exc: BaseException) -> str:
    if isinstance(exc, AccountError):
        return str(exc)
    if isinstance(exc, RecordsError):
        return f"Records unavailable: {exc}"
    return f"Sign-in failed: unexpected error ({type(exc).__name__}: {exc})"


class SignInService:
    """Sign-in and first-administrator creation on a worker; answers through ``on_done(Outcome)``.

    ``db`` None: the records are unavailable (``problem`` says why) and nobody can sign in."""

    def __init__(self, db: Database | None, problem: str = "", worker: Worker | None = None, *,
                 station: str = "station-1") -> None:
        self._db = db
        self._problem = problem
        self._station = station
        self.worker = worker or Worker("sign-in")

    def state(self, on_done: Callable[[Outcome[SignInState]], None]) -> None:
        """Whether there are accounts yet (first run) -> ``SignInState``."""
        db = self._db
        if db is None:
            on_done(Outcome(SignInState(False, False, self._problem or "no database")))
            return

        def job() -> SignInState:
            try:
                return SignInState(True, not has_users(db))
            except RecordsError as exc:
                return SignInState(False, False, str(exc))

        self.worker.submit(job, on_done)

    def sign_in(self, username: str, password: str, on_done: Callable[[Outcome[SignInAnswer]], None]) -> None:
        """``accounts.authenticate`` -> ``SignInAnswer`` (``WRONG`` when name or password is wrong; a locked or
        slowed-down account gets ``accounts``' own line). Every attempt is counted and audited with the station."""
        self._run(lambda db: authenticate(db, username, password, station=self._station), on_done)

    def change_password(self, user: User, old: str, new: str, repeat: str,
                        on_done: Callable[[Outcome[SignInAnswer]], None]) -> None:
        """First sign-in after an administrator set the password: the person's own (typed twice)."""

        def job(db: Database) -> User:
            if new != repeat:
                raise AccountError("The two passwords differ.")
            return change_own_password(db, user, old, new, station=self._station)

        self._run(job, on_done)

    def create_first_admin(self, username: str, display_name: str, password: str, repeat: str,
                           on_done: Callable[[Outcome[SignInAnswer]], None]) -> None:
        """``accounts.create_first_admin`` (the two typed passwords must match) -> ``SignInAnswer``."""

        def job(db: Database) -> User:
            if password != repeat:
                raise AccountError("The two passwords differ.")
            return create_first_admin(db, username, display_name, password)

        self._run(job, on_done)

    def _run(self, action: Callable[[Database], User | None],
             on_done: Callable[[Outcome[SignInAnswer]], None]) -> None:
        db = self._db
        if db is None:
            on_done(Outcome(SignInAnswer(None, f"Records unavailable: {self._problem or 'no database'}")))
            return

        def job() -> SignInAnswer:
            try:
                user = action(db)
            except Exception as exc:  # every refusal is one line on the dialog
                return SignInAnswer(None, _refusal(exc))
            return SignInAnswer(user, "" if user is not None else WRONG)

        self.worker.submit(job, on_done)

    def close(self) -> None:
        self.worker.shutdown()


__all__ = ["SignInAnswer", "SignInService", "SignInState", "WRONG"]
