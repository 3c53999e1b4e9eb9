"""The treatment desk: one session at a time on the station's board, and whether one may start.

Qt-free. The treatment screen asks ``blockers()`` to know why Start is
disabled (in plain words; it never waits on the database: the records check
runs in the background, ``records_health``) and sends intents; patient
look-ups, notes and signatures run on the desk's worker thread and answer
through callbacks the screen drains on its own thread. The desk creates a fresh
``TreatmentEngine`` and ``TreatmentController`` per session so nothing leaks
from one patient to the next.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from dataclasses import replace
from typing import Callable

from ..core.alarms import AlarmManager, AlarmPriority
from ..core.calibration_due import Certificate, calibration_status
from ..core.engine import TreatmentEngine
from ..core.plan import SessionPlan
from ..core.protocols import Protocol
from ..core.samples import BoardFault
from ..core.session import SessionState, SideEffect, StopCause
from ..core.simulator_identity import is_simulator_serial
from ..drivers.board import messages as m
from ..drivers.board.errors import BoardError
from ..drivers.board.link import LinkState
from .board_port import BoardPort
from .station import Station
from ..accounts import (AccountError, User, can_treat, confirm_signer, record_handover, record_override_cosignature,
                        record_presence, sign_in)
from ..records import Database, RecordsError, add_note, calibrations_of, load_session, sign_session
from ..records.commit_process import prepare_in_background as prepare_commit_process
from .background import Outcome, Worker
from .patient_history import UNKNOWN, PatientHistory, PatientMatch, patient_history, search_patients
from .records_health import RECORDS_CHECK_S, RecordsHealth
from .black_box import WireTap
from ..core.continuation import Continuation, continuation_after
from .session_recorder import SessionRecorder
from .treatment import TREATMENT_RATE_HZ, TreatmentController

log = logging.getLogger(__name__)

#: Why Start is refused without a plan (the set-up screen says which field is missing first).
NO_PLAN = "Choose a patient and a protocol."

# SessionPlan's home is core.plan, RECORDS_CHECK_S's records_health: both re-exported here.
__all__ = ["NO_PLAN", "RECORDS_CHECK_S", "SessionPlan", "TreatmentDesk"]


def newest_certificate(db: Database | None, board_serial: str) -> Certificate | None:
    """The newest passing calibration certificate of this board in the records (None: none)."""
    if db is None:
        return None
    for record in calibrations_of(db, board_serial):
        if record.verdict == "pass" and record.due_date is not None:
            issued = record.performed_at.astimezone(dt.timezone.utc).date()
            return Certificate(issued, record.due_date)
    return None


def certificate_due(db: Database | None, board_serial: str) -> dt.date | None:
    """The due date on the newest passing calibration certificate of this board in the records (None: none)."""
    certificate = newest_certificate(db, board_serial)
    return None if certificate is None else certificate.due
#: The blocker shown while a start is being prepared on the desk's worker.
STARTING = "A treatment is starting."
#: Start's blocker while the plan has no passed checklist (the screen words the step after a run itself).
CHECKLIST_NOT_DONE = "The pre-treatment checklist is not complete."

#: Makes a session's record (the real one writes the records database; tests may pass a stand-in).
RecorderFactory = Callable[..., SessionRecorder]


@dataclass
class _Start:
    """One start under way on the desk's worker (the desk's "starting" state).

    ``cancel``: set (under the desk's start lock) by a Stop pressed before the
    controller exists: (reason, text), or ("interrupt", detail) when the console
    closes. The worker reads it under the same lock when it publishes the
    controller, so a Stop either finds the controller (and stops it) or is seen
    by the worker (which then never starts it): never both, never neither."""

    plan: SessionPlan
    cancel: tuple | None = None


#: Board watchdog during treatments: ten heartbeats (50 ms) of margin, so a busy
#: host does not cause nuisance trips, yet a dead console ends the output in half a second.
TREATMENT_WATCHDOG_MS = 500
#: At shutdown, how long to wait for the last record to close before leaving it to the journal.
SHUTDOWN_RECORD_WAIT_S = 3.0


class TreatmentDesk:
    """Owns the current treatment controller, if any."""

    def __init__(
        self,
        station: Station,
        *,
        calibration_interval_days: int = 365,
        db: Database | None = None,
        db_problem: str = "",
        operator: Callable[[], str] = lambda: "therapist",
        station_name: str = "station-1",
        today: Callable[[], dt.date] = dt.date.today,
        clock: Callable[[], float] = time.monotonic,
        demo: bool = False,
        station_id: str | None = None,
        data_folder: Path | None = None,
        prepare_board: Callable[[SessionPlan], None] | None = None,
        signer: Callable[[], User | None] = lambda: None,
        override_cosignature: bool = False,
        recorder_factory: RecorderFactory = SessionRecorder,
        treatment_rate_hz: int = TREATMENT_RATE_HZ,
    ) -> None:
        """``db`` None with ``db_problem`` set: the records database could not be opened, and
        treatments are refused (never run unrecorded). Both None/empty: no records (tests).
        ``demo``: the console runs in demo mode; every session is recorded as simulated, and
        only then may the board be the simulator. ``station_id``: this console's identity, stamped
        on its sessions; ``data_folder``: where the sessions' local journal is kept (None: none)."""
        self._station_id = station_id
        self._data_folder = data_folder
        self.station = station
        self.demo = demo
        #: Called with the plan just before a session starts (the demo sets its simulator's load).
        self._prepare_board = prepare_board
        self.db = db
        self.records_health = RecordsHealth(db, db_problem, clock=clock)
        #: The screens' slow jobs (patient look-up, notes, signatures); its results are drained by the screen.
        self.worker = Worker("desk")
        self._operator = operator
        self._station_name = station_name
        self._interval_days = calibration_interval_days
        self._today = today
        self._clock = clock
        self._signer = signer
        #: Clinic setting: a contraindication override needs a second account's co-signature.
        self._override_cosignature = override_cosignature
        self._certificate_key: tuple[str, int] | None = None
        self._certificate: Certificate | None = None
        #: The board's certificate is being looked up: no start until it is known (it may be due earlier).
        self._certificate_pending = False
        #: 21 CFR 11.200(a)(1)(i): the first signing of a continuous session asks for the user name too.
        self._signed_in_this_session = False
        #: The last run's recorder and the accounts that signed it here. WHY the desk keeps them, not a
        #: screen: every way of signing goes through ``sign``, and a window built later (sign-out, sign-in)
        #: on this desk must not offer "Sign session…" again to someone who already signed; a reviewer who
        #: signs in afterwards may still add their signature.
        self._signed: tuple[SessionRecorder | None, frozenset[str]] = (None, frozenset())
        self.recorder: SessionRecorder | None = None
        self.plan: SessionPlan | None = None
        self.controller: TreatmentController | None = None
        #: Who may drive the board's output: held by a start from its blockers until it is in its
        #: "starting" state (which owns the output from then on), and by ``lend`` around its
        #: check, so a calibration (lent on its own thread) and a treatment can never both pass.
        self._owner_lock = threading.Lock()
        self._recorder_factory = recorder_factory
        #: telemetry rate asked of the board during a session (benchmarks run the board at 1 kHz)
        self._rate_hz = treatment_rate_hz
        #: Orders a Stop against the worker publishing a new controller (see ``_Start``).
        self._start_lock = threading.Lock()
        self._starting: _Start | None = None
        self._shut = False
        #: One alarm model for the station: alarms outlive the session that raised them.
        self.alarms = AlarmManager()
        station.output_expected = self._output_expected
        station.on_unexpected_output = self._unexpected_output
        if db is not None:
            # The first session's sample writer then finds its commit process ready (a new one
            # takes ~1-2 s to import its libraries on a busy station: that would delay Start).
            prepare_commit_process()

    def blockers(self, plan: SessionPlan | None = None) -> list[str]:
        """Why a treatment cannot start now, each in one plain sentence ([] = it can)."""
        plan = plan or self.plan
        problems: list[str] = []
        link = self.station.link
        if link is None or link.state is not LinkState.CONNECTED or link.ident is None:
            problems.append("The treatment board is not connected.")
        else:
            simulator = self._simulator_refused(link.ident.serial_number)
            if simulator:
                problems.append(simulator)
            calibration = calibration_status(link.ident.cal_date, self._interval_days, self._today(),
                                             self.board_certificate_due())
            if self._certificate_pending:
                problems.append("Looking up the board's calibration certificate in the records.")
            if calibration.lapsed:
                problems.append(calibration.blocker)
            if self._latched_fault() == BoardFault.SELF_TEST:
                problems.append("The board failed its power-on self-test and must be serviced.")
            if self.station.lent:
                problems.append("The board is being calibrated; a treatment can start once that run has ended.")
            if self.winding_down:
                problems.append("The output is still ramping down; a new run can start once it is off.")
        records = self._records_problem()
        if records:
            problems.append(f"Session records are unavailable: {records}")
        if plan is None:
            problems.append(NO_PLAN)
        elif not plan.checklist_passed:
            problems.append(CHECKLIST_NOT_DONE)
        elif self.needs_cosignature(plan):
            problems.append("This clinic requires a second person's co-signature for a contraindication override.")
        if self.starting:
            problems.append(STARTING)
        elif self._output_expected():  # IDLE included: a begun session's start intent may still be queued
            problems.append("A treatment is already running.")
        return problems

    @property
    def simulated(self) -> bool:
        """Sessions started now are recorded as simulated (demo mode, or the simulator process's board)."""
        return self.demo or self.station.board_simulated

    def _simulator_refused(self, serial_number: str) -> str:
        """Why this board is refused here ("" if it is not): the simulator on a clinical station, or a
        real board in demo mode.

        WHY beside the ``simulated`` flag: a hand-started simulator given as ``--port`` is not flagged
        by how it was connected; its IDENT gives it away (defence in depth, ``core.simulator_identity``).
        And the other way round: demo mode records every session as simulated into the demo's records,
        so a real patient on a real board must never be treated there."""
        if self.demo:
            if is_simulator_serial(serial_number):
                return ""
            return (f"This board is not the simulator (serial {serial_number}): demo mode treats only on the "
                    "simulated board. Start the console without --demo to treat patients.")
        if self.station.board_simulated or is_simulator_serial(serial_number):
            return (f"This board is the simulator (serial {serial_number}): a clinical station does not treat on "
                    "it. Start the console with --demo for the simulated bench.")
        return ""

    def calibration_due_date(self) -> dt.date | None:
        """When the connected board's calibration lapses (its certificate in the records wins)."""
        link = self.station.link
        ident = link.ident if link is not None else None
        if ident is None:
            return None
        return calibration_status(ident.cal_date, self._interval_days, self._today(), self.board_certificate_due()).due

    def board_certificate_due(self) -> dt.date | None:
        """The connected board's certificate due date from the records (None: none, or not known yet)."""
        certificate = self.board_certificate()
        return None if certificate is None else certificate.due

    def forget_certificate(self) -> None:
        """A calibration result was just stored: look the board's certificate up again (from any thread:
        the look-up itself is asked on the next ``board_certificate``, on the caller's thread). The
        certificate known so far is shown meanwhile; a start waits for the new answer (``blockers``)."""
        key = self._certificate_key
        if key is not None:
            self._certificate_key = (key[0], -1)  # no IDENT has that date: the next ask looks again

    def board_certificate(self) -> Certificate | None:
        """The connected board's newest passing certificate from the records (None: none, or not known
        yet); looked up on the worker when a new board appears, or after ``forget_certificate`` (no
        GUI-thread I/O), cached per board."""
        link = self.station.link
        ident = link.ident if link is not None else None
        if ident is None:
            return None
        key = (ident.serial_number, ident.cal_date)
        if self._certificate_key != key:  # a new board: look its certificate up on the worker (no GUI-thread I/O)
            same_board = self._certificate_key is not None and self._certificate_key[0] == key[0]
            self._certificate_key, self._certificate = key, self._certificate if same_board else None
            if self.db is not None:
                self._certificate_pending = True
                db, serial = self.db, ident.serial_number
                self.worker.submit(lambda: newest_certificate(db, serial),
                                   lambda outcome, k=key: self._certificate_found(k, outcome))
        return self._certificate

    def _settle_certificate(self) -> None:
        """At the start itself (which writes the record anyway): a look-up still under way is done now,
        so a start never waits on the worker's answer being drained, nor goes ahead without it."""
        self.board_certificate_due()
        if self._certificate_pending and self.db is not None and self._certificate_key is not None:
            try:
                self._certificate = newest_certificate(self.db, self._certificate_key[0])
            except RecordsError:
                return  # stays pending: blockers() refuses, and the records problem says why
            self._certificate_pending = False

    def _certificate_found(self, key: tuple[str, int], outcome: Outcome) -> None:
        if key != self._certificate_key:
            return  # another board was connected meanwhile
        self._certificate = outcome.value if outcome.ok else None
        self._certificate_pending = False

    def _records_problem(self) -> str:
        """Why records cannot be written now ("" if they can), as last checked in the background."""
        return self.records_health.problem()

    @property
    def starting(self) -> bool:
        """A start is being prepared on the worker (record, fault clearing): no controller yet."""
        return self._starting is not None

    @property
    def winding_down(self) -> bool:
        """The session has ended (a side-effect stop) but the board's output is still ramping to zero."""
        live = self.station.snapshot().live
        return live is not None and live.output_on and not self.active

    @property
    def active(self) -> bool:
        """A session is starting or running (its output may be, or may soon be, on)."""
        if self._starting is not None:
            return True
        c = self.controller
        return c is not None and not (c.snapshot().state.terminal or c.snapshot().state is SessionState.IDLE)

    def begin(self, plan: SessionPlan) -> TreatmentController:
        """Start a session on the calling thread (tools, drills; screens use ``try_begin``):
        refuses (ValueError with the reasons) unless every blocker is clear."""
        with self._owner_lock:
            # the calling thread may wait for the records (never the GUI's): a certificate
            # look-up still under way is done now, so the start neither waits nor goes without it
            self._settle_certificate()
            problems = self.blockers(plan)
            if problems:
                raise ValueError(" ".join(problems))
            attempt = _Start(plan)
            with self._start_lock:
                self._starting = attempt
        controller = self._start(attempt)
        assert controller is not None
        return controller

    def try_begin(self, plan: SessionPlan | None,
                  on_failed: Callable[[str], None] = lambda problem: None) -> str:
        """Start a session from a screen without waiting: "" when the start was accepted, else
        why not in plain words.

        WHY asynchronous: starting writes the session's record (database) and may clear
        a latched fault on the board (a request with a reply): I/O that must not run on
        the GUI thread, where it would delay a Stop click. The desk is "starting"
        (``starting``, ``active``, a blocker) until the worker has published the
        controller; a Stop pressed meanwhile cuts the output at once and the session
        is recorded as stopped, never started (see ``_Start``). A start that fails on
        the worker calls ``on_failed(problem)`` when the screen drains the worker."""
        if plan is None:
            return NO_PLAN
        with self._owner_lock:  # blockers and the starting state at once: a calibration sees one or the other
            problems = self.blockers(plan)
            if problems:
                return " ".join(problems)
            attempt = _Start(plan)
            with self._start_lock:
                if self._starting is not None or self._shut:
                    return STARTING if not self._shut else "The console is shutting down."
                self._starting = attempt

        def done(outcome: Outcome) -> None:
            if not outcome.ok:
                with self._start_lock:  # a job refused by a closed worker never ran to clear it
                    if self._starting is attempt:
                        self._starting = None
                on_failed(outcome.error)

        self.worker.submit(lambda: self._start(attempt), done,
                           describe=lambda exc: str(exc) if isinstance(exc, (ValueError, BoardError))
                           else f"The treatment could not start: {exc}")
        return ""

    def _start(self, attempt: _Start) -> TreatmentController | None:
        """The start's slow part (worker thread, or the caller's for ``begin``): the record,
        fault clearing, then the controller, published under the start lock."""
        try:
            return self._start_unguarded(attempt)
        finally:
            with self._start_lock:
                if self._starting is attempt:
                    self._starting = None

    def _start_unguarded(self, attempt: _Start) -> TreatmentController | None:
        plan = attempt.plan
        self.close_session()
        if self._prepare_board is not None:
            self._prepare_board(plan)
        link = self.station.link
        if link is None or link.state is not LinkState.CONNECTED or link.ident is None:
            raise ValueError("The treatment board is not connected.")
        if attempt.cancel is None and self._latched_fault() != BoardFault.NONE:
            # Starting a new run acknowledges the last fault (the therapist has seen the
            # alarm and fixed the cause); the new run starts again from the low start value.
            link.request(m.ClearFault())
        recorder = None
        if self.db is not None:
            tap = WireTap(link)  # the black box: from before the first command of the session
            try:  # the record exists before any current is asked for: never treat unrecorded
                recorder = self._recorder_factory(self.db, plan, link.ident, operator=self._operator(),
                                                  station=self._station_name, on_failure=self._records_failed,
                                                  simulated=self.simulated, wire=tap,
                                                  station_id=self._station_id, data_folder=self._data_folder)
            except RecordsError as exc:
                tap.finish()
                raise ValueError(f"Session records are unavailable: {exc}") from exc
        engine = TreatmentEngine(plan.engine_protocol(), watchdog_ms=TREATMENT_WATCHDOG_MS)
        controller = TreatmentController(link, engine, sink=recorder, alarms=self.alarms, rate_hz=self._rate_hz)
        if recorder is not None:
            # the record closes on the engine's DoseFinal event; this is read only if none comes
            recorder.dose_from(lambda: controller.snapshot().dose_delivered_ma_min)
        with self._start_lock:
            # From here a Stop finds this controller; before here it set attempt.cancel.
            cancel = attempt.cancel
            shut = self._shut
            self.plan = plan
            self.recorder, self.controller = recorder, controller
            self._starting = None
            controller.start_thread()
            if cancel is None:
                controller.start()
            else:
                # Stopped while starting: the output was cut by stop(); the engine goes
                # through its prechecks (no output enabled there) to a recorded stop.
                controller.prepare()
                if cancel[0] == "interrupt":
                    controller.interrupt(cancel[1])
                else:
                    controller.stop(*cancel)
        if shut:
            self.close_session()
        return controller

    def lend(self, port: str) -> BoardPort | None:
        """The station's port for a calibration of the board at ``port`` (None: not connected there).

        Refused (ValueError, in plain words) while a treatment runs on it: a
        calibration drives the output and must never share it with a patient.
        Refused too while the last session's output still ramps down: that ramp
        is the session's, and its dose counts until the output is off.
        While lent, ``blockers()`` refuses a start.

        The last session, ended, lets go of the board when it is lent
        (``_release_ended_session``): it kept listening to the board's telemetry
        after it ended, and its engine cuts any output it sees on ("never leave
        current flowing"), so it switched the calibration's sweep off within
        0.1 s of every OUTPUT 1 and the run failed with "did not show the output
        settled" (issue 14: a calibration after a side-effect stop). A real
        board is cut the same way: the fix is here, not in the simulator."""
        with self._owner_lock:
            link = self.station.lend(port)
            if link is None:
                return None
            # WHY not ``active``: a session just begun is IDLE until its controller thread takes
            # the start intent, and enables the output right after; it owns the board already.
            if self._output_expected():
                self.station.give_back()
                raise ValueError("a treatment is running on this board: end it before calibrating")
            if self.winding_down:
                self.station.give_back()
                raise ValueError("the last treatment's output is still ramping down: connect again once "
                                 "the board shows its output off")
            self._release_ended_session()
            return link

    def _release_ended_session(self) -> None:
        """The ended session's controller stops listening to the board and commanding it.

        WHY kept and not closed with its record: the screen still shows its state, plots and
        markers, it may still be signed, and a continuation reads its dose; only its hold on
        the board ends. From here an output nobody asked for is the station's guard's to cut
        (it looks away while a calibration drives the lent port), as with no session at all."""
        controller = self.controller
        if controller is not None:
            controller.close()

    def lent_output(self, driving: bool) -> None:
        """The calibration that borrowed the port drives the output now (or no longer)."""
        self.station.lent_output(driving)

    def give_back(self) -> None:
        """The calibration run is done with the port."""
        self.station.give_back()

    def patient_history(self, identifier: str, protocol: Protocol) -> PatientHistory:
        """Recent sessions and reminders for the patient about to be treated (none without records).

        Queries the records on the calling thread: screens use ``look_up_patient``."""
        if self.db is None:
            return UNKNOWN
        return patient_history(self.db, identifier, protocol, dt.datetime.now(dt.timezone.utc),
                               simulated=self.simulated)

    def look_up_patient(self, identifier: str, protocol: Protocol,
                        on_done: Callable[[PatientHistory], None]) -> None:
        """``patient_history`` on the desk's worker; ``on_done(history)`` runs when the screen drains it.

        Without records there is nothing to read: ``on_done(UNKNOWN)`` at once; when the records
        could not be opened, an answer that says so (never "new patient")."""
        if self.db is None or not identifier.strip():
            problem = self.records_health.problem() if self.db is None and identifier.strip() else ""
            on_done(replace(UNKNOWN, unreadable=problem) if problem else UNKNOWN)
            return

        def done(outcome: Outcome[PatientHistory]) -> None:
            on_done(outcome.value if outcome.ok and outcome.value is not None
                    else PatientHistory(True, "", (), None, (f"Records could not be read: {outcome.error}",)))

        self.worker.submit(lambda: self.patient_history(identifier, protocol), done)

    def search_patients_later(self, text: str, on_done: Callable[[list[PatientMatch], str], None]) -> None:
        """The patient search (name, ID or birth date) on the desk's worker;
        ``on_done(matches, error)`` when the screen drains it. Without records: nothing."""
        if self.db is None or not text.strip():
            on_done([], "" if self.db is not None or not text.strip() else "No records on this station.")
            return
        db = self.db
        self.worker.submit(lambda: search_patients(db, text),
                           lambda outcome: on_done(list(outcome.value or []), outcome.error),
                           describe=lambda exc: f"The patients could not be searched: {exc}")

    def can_sign(self) -> bool:
        """The last session's record is closed and the signed-in account has not signed it yet."""
        recorder = self.recorder
        return (recorder is not None and recorder.finished.is_set() and not self.active
                and not self.last_session_signed())

    def last_session_signed(self) -> bool:
        """The signed-in account signed the last session's record (here, through ``sign``)."""
        recorder, who = self._signed
        user = self._signer()
        return recorder is not None and recorder is self.recorder and user is not None and user.username in who

    def add_note(self, text: str) -> None:
        """A therapist's note on the current (or just ended) session's record."""
        if self.recorder is not None and self.db is not None and text.strip():
            add_note(self.db, self.recorder.session_id, text.strip(), author=self._operator())

    def needs_cosignature(self, plan: SessionPlan | None) -> bool:
        """The plan overrides a contraindication, the clinic requires a co-signature, and none was given."""
        return bool(self._override_cosignature and plan is not None and plan.checklist_record.get("overridden")
                    and not plan.cosigned_by)

    def cosign_override(self, plan: SessionPlan, username: str, password: str, *,
                        now: dt.datetime | None = None) -> SessionPlan:
        """A second signed-in account (who can treat, not the therapist) co-signs the plan's override:
        its password checked (counted, audited), the co-signature audited; returns the co-signed plan."""
        if self.db is None:
            raise RecordsError("The records are unavailable: nobody can co-sign.")
        cosigner = sign_in(self.db, username, password, station=self._station_name, now=now)
        therapist = self._signer()
        if therapist is not None and cosigner.username == therapist.username:
            raise AccountError("The co-signature must be a second person's account, not yours.")
        if not can_treat(cosigner.role):
            raise AccountError(f"{cosigner.display_name} cannot run treatments, so cannot co-sign an override.")
        record_override_cosignature(self.db, cosigner=cosigner.username,
                                    therapist=therapist.username if therapist else self._operator(),
                                    patient=plan.patient_id, overridden=plan.checklist_record.get("overridden", []),
                                    station=self._station_name)
        return replace(plan, cosigned_by=cosigner.username)

    def cosign_later(self, plan: SessionPlan, username: str, password: str,
                     on_done: Callable[[str, SessionPlan | None], None]) -> None:
        """``cosign_override`` on the desk's worker (an argon2 check takes a moment by design);
        ``on_done(error, co-signed plan)``."""
        self.worker.submit(lambda: self.cosign_override(plan, username, password),
                           lambda outcome: on_done(outcome.error, outcome.value),
                           describe=lambda exc: str(exc) if isinstance(exc, (AccountError, RecordsError))
                           else f"The co-signature could not be checked: {exc}")

    def signing_needs_user_name(self) -> bool:
        """True until the signed-in person has signed once in this continuous session (then: password only)."""
        return not self._signed_in_this_session

    def end_continuous_session(self) -> None:
        """The station locked or the person left: the next signing asks for the user name again."""
        self._signed_in_this_session = False

    def record_presence_later(self, action: str, user: User, why: str = "") -> None:
        """Audit a sign-out or an idle lock on the desk's worker (``accounts.record_presence``).

        WHY on the worker: the GUI thread never waits on the database. A failure is logged, never
        shown as a refusal: the person has left either way, and the next sign-in is audited."""
        if self.db is None:
            return
        db, station = self.db, self._station_name

        def logged(outcome: Outcome[None]) -> None:
            if outcome.error:
                log.warning("could not audit %s of %s: %s", action, user.username, outcome.error)

        self.worker.submit(lambda: record_presence(db, who=user.username, action=action, station=station, why=why),
                           logged)

    def hand_over(self, to: User, *, station: str | None = None) -> None:
        """Another signed-in therapist takes over the running treatment: audited, and from now on notes,
        signatures and the record's operator name are theirs. Raises ``AccountError`` or ``RecordsError``."""
        before = self._signer()
        if not can_treat(to.role):
            raise AccountError(f"{to.display_name} cannot run treatments: no handover.")
        session_id = self.recorder.session_id if self.recorder is not None else None
        if self.db is not None:
            record_handover(self.db, session_id, from_user=before.username if before else self._operator(),
                            to_user=to.username, station=station or self._station_name)
        self._signer = lambda: to
        self._operator = lambda: to.display_name
        self._signed_in_this_session = False

    def unlock_later(self, username: str, password: str, current: User,
                     on_done: Callable[[str, User | None], None], *, now: dt.datetime | None = None) -> None:
        """The idle lock's sign-in, on the desk's worker: the same person unlocks; another therapist takes a
        running treatment over (``hand_over``, audited); anyone else is refused in plain words.
        ``on_done(error, user)``; every attempt is counted and audited like a sign-in."""

        def job() -> User:
            if self.db is None:
                raise RecordsError("The records database is unavailable: nobody can sign in.")
            user = sign_in(self.db, username, password, station=self._station_name, now=now)
            if user.username != current.username:
                if not (self.active and can_treat(user.role)):
                    raise AccountError(f"{user.display_name} is not the person signed in here: use Sign out, "
                                       "then sign in.")
                self.hand_over(user)
            return user

        self.worker.submit(job, lambda outcome: on_done(outcome.error, outcome.value),
                           describe=lambda exc: str(exc) if isinstance(exc, (AccountError, RecordsError))
                           else f"Sign-in failed: {exc}")

    def signer(self) -> User | None:
        """The signed-in account that signs here (None: nobody, signing refused)."""
        return self._signer()

    def sign(self, meaning: str, password: str, note: str = "", *, username: str | None = None,
             now: dt.datetime | None = None) -> str:
        """Sign the ended session as the signed-in account, proven again by its password (and user name at the
        first signing of the continuous session); returns the manifestation line.

        Raises ``AccountError`` (wrong password, another person's name, a locked account: each audited)
        or ``RecordsError``, both in plain words. Nothing is written unless the password is right."""
        if self.recorder is None or self.db is None:
            raise RecordsError("There is no recorded session to sign.")
        user = self._signer()
        if user is None:
            raise AccountError("Sign in to sign: a signature is always a signed-in account's.")
        if self.signing_needs_user_name() and not (username or "").strip():
            raise AccountError("The first signature after signing in needs your user name and your password.")
        confirm_signer(self.db, user, password, username=username if self.signing_needs_user_name() else None,
                       station=self._station_name, now=now)
        self._signed_in_this_session = True
        recorder = self.recorder
        recorder.close()
        self.add_note(note)
        sign_session(self.db, recorder.session_id, username=user.username, meaning=meaning, at=now)
        # "Sign session…" is not offered to this account again for this run, on any screen
        before = self._signed[1] if self._signed[0] is recorder else frozenset()
        self._signed = (recorder, before | {user.username})
        (latest, *_) = reversed(load_session(self.db, self.recorder.session_id).signatures)
        return latest.manifestation

    def sign_later(self, meaning: str, password: str, note: str, username: str | None,
                   on_done: Callable[[str, str], None]) -> None:
        """``sign`` on the desk's worker (the password check, the record closing, then the write);
        ``on_done(error, manifestation)``: error "" on success, else the plain reason."""
        self.worker.submit(lambda: self.sign(meaning, password, note, username=username),
                           lambda outcome: on_done(outcome.error, outcome.value or ""),
                           describe=lambda exc: str(exc) if isinstance(exc, (AccountError, RecordsError))
                           else f"The signature could not be saved: {exc}")

    def note_later(self, text: str, on_done: Callable[[str], None] = lambda error: None) -> None:
        """``add_note`` on the desk's worker; ``on_done(error)`` ("" on success)."""
        self.worker.submit(lambda: self.add_note(text), lambda outcome: on_done(outcome.error),
                           describe=lambda exc: f"The note could not be saved: {exc}")

    def _records_failed(self, reason: str) -> None:
        """Never treat unrecorded: stop the output and say why."""
        self.records_health.report(reason)
        controller = self.controller
        if controller is not None:
            controller.interrupt(reason)

    def _output_expected(self) -> bool:
        """A session owns the output: from its start (the "starting" state, then its controller,
        created before it enables the output, publishes its state only after the commands went
        out) until it ended."""
        if self._starting is not None:
            return True
        c = self.controller
        return c is not None and not c.snapshot().state.terminal

    def _unexpected_output(self, text: str) -> None:
        """The station cut an output no session asked for: a HIGH alarm (latched until acknowledged)."""
        now = self._clock()
        self.alarms.raise_alarm("unexpected_output", AlarmPriority.HIGH, f"{text} at {time.strftime('%H:%M:%S')}", now)
        self.alarms.clear("unexpected_output", now)

    def stop(self, reason: SideEffect | StopCause, text: str = "") -> None:
        """Stop now. Without a session it still commands the output off (never refused).

        While a start is under way (``starting``) the output is cut here and the start
        is cancelled: the worker then records a stopped session and never starts it."""
        with self._start_lock:
            attempt = self._starting
            controller = self.controller
            if attempt is not None and attempt.cancel is None:
                attempt.cancel = (reason, text)
        if attempt is None and controller is not None:
            controller.stop(reason, text)
            return
        self._cut_without_session()

    def _cut_without_session(self) -> None:
        link = self.station.link
        if link is not None:
            try:
                link.write_now(m.Output(0))
            except BoardError:
                pass  # nothing connected: nothing can be flowing through this console

    def last_run_was(self, patient_id: str, protocol_id: str) -> bool:
        """Did this console's last run treat this patient with this protocol? Then ``continuation`` is
        the authority on its ending (the records looked up before it are older)."""
        plan = self.plan
        return plan is not None and (plan.patient_id, plan.protocol.id) == (patient_id, protocol_id)

    def continuation(self, patient_id: str, protocol_id: str) -> Continuation | None:
        """The rest of the last run's prescription, when it ended early for this patient and protocol."""
        plan, controller, recorder = self.plan, self.controller, self.recorder
        if plan is None or controller is None or self.active:
            return None
        if (plan.patient_id, plan.protocol.id) != (patient_id, protocol_id):
            return None
        snap = controller.snapshot()
        target = plan.dose_target_ma_min if plan.dose_target_ma_min is not None else plan.protocol.dose_target_ma_min
        # a continued run continues the first run's prescription: the link names the first run
        first = plan.continues_session_id or (recorder.session_id if recorder is not None else None)
        already = plan.protocol.dose_target_ma_min - target  # delivered by the runs before this one
        return continuation_after(snap.state, first, patient_id, protocol_id,
                                  already + snap.dose_delivered_ma_min, plan.protocol.dose_target_ma_min,
                                  snap.dose_final, trip=snap.active_trip.kind.value if snap.active_trip else None)

    def describe_other(self, text: str) -> None:
        """The words for the "Other…" stop just made: the side effect is recorded with them."""
        recorder = self.recorder
        if recorder is not None:
            recorder.describe_other(text)

    def _latched_fault(self) -> int:
        live = self.station.snapshot().live
        return live.latched_fault if live is not None else BoardFault.NONE

    def close_session(self) -> None:
        controller, self.controller = self.controller, None
        if controller is not None:
            controller.close()
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.close()

    def shutdown(self) -> None:
        with self._start_lock:
            self._shut = True
            attempt = self._starting
            if attempt is not None and attempt.cancel is None:
                attempt.cancel = ("interrupt", "console closed while the session was starting")
        if attempt is not None:
            self._cut_without_session()
        controller, self.controller = self.controller, None
        if controller is not None:
            controller.close()
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.close(SHUTDOWN_RECORD_WAIT_S)
            if not recorder.finished.is_set():
                recorder.abandon()  # the database does not answer: the journal keeps the rest for next start
        self.worker.shutdown()
        self.records_health.shutdown()

