"""SessionRecorder: one running treatment as a durable record.

It is the controller's ``SessionSink``. Samples and events go to the records
``SampleWriter`` queue (never blocking the controller thread; committed at
least every 250 ms). When the engine reports a final state, a short-lived
thread waits for the engine's ``DoseFinal`` event (the ramp-down's last
sample is in), then closes the writer and the session row with its final
state, reason, dose and side effects, so the controller thread never waits on
the database. If the writer cannot save (disk full, database gone), the
recorder calls ``on_failure`` so the controller stops the treatment rather
than treat unrecorded.

Times in the record. The session's start is read once from the computer's
clock; every later time the record keeps (event and side-effect times, the
end) is that start plus the elapsed time on the monotonic clock, and sample
times come from the board. WHY: the wall clock can be stepped during a
session (an NTP correction, a therapist fixing the time, a daylight-saving
mistake): taken from the wall clock, a +1 h step would bill an extra hour
and a -1 h step would sort the session's events before its start. Instead
the recorder compares the two clocks about every ``CLOCK_CHECK_S`` and
records a ``clock_changed`` event ("the computer's clock changed by +3600 s
during the session") so a reader knows why the record's times differ from
the clock after the change.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import TYPE_CHECKING, Callable

from ..core.numbers import signed
from ..core import engine as e
from ..core.samples import Sample
from ..core.session import SessionState, SideEffect
from ..core.plan import SessionPlan
from ..core.patients import normalise_patient_id
from ..drivers.board import messages as m
from ..records import (
    Calibration,
    Database,
    PatientData,
    RecordsError,
    SampleWriter,
    SessionStart,
    create_patient,
    patient_by_identifier,
    finish_session,
    record_side_effect,
    start_session,
)
from ..records.audit import utc_now
from .treatment import DOSE_SETTLE_TIMEOUT_S
from ..records.errors import InvalidRecord
from ..records.journal import JournalRecord, SessionJournal
from ..records.store import session_uid
from ..records.writer import ready_commit_process
from pathlib import Path
from ..records.wire_log import store_wire_log

if TYPE_CHECKING:
    from .black_box import WireTap

log = logging.getLogger(__name__)

#: How often (monotonic seconds) the computer's clock is compared with the monotonic clock.
CLOCK_CHECK_S = 0.5
#: A disagreement larger than this is a change of the computer's clock (NTP slews far less in a session).
CLOCK_CHANGE_TOLERANCE_S = 1.0
#: How long the end of a session waits for the database before keeping its end in the journal.
CLOSE_WAIT_S = 1.0
#: How often closing the record is retried while the database does not answer.
CLOSE_RETRY_S = 1.0


def sample_flags(sample: Sample) -> int:
    """The ICD flag bits a core sample still carries, for the stored series."""
    flags = 0
    if sample.output_on:
        flags |= m.Flags.OUTPUT_ENABLED
    if sample.at_compliance:
        flags |= m.Flags.AT_COMPLIANCE
    if sample.stop_ramp:
        flags |= m.Flags.STOP_RAMP
    if sample.fault_code:
        flags |= m.Flags.FAULT_LATCHED
    if sample.anode:
        flags |= m.Flags.POLARITY_ANODE
    if sample.pulsed:  # the dose counted this sample at amplitude x duty: a recomputed dose must too
        flags |= m.Flags.PULSED
    return int(flags)


def patient_id_for(db: Database, plan: SessionPlan, who: str) -> int:
    """The record id of the plan's patient (matched by its normalised identifier), created if new.

    Two stations starting the same new patient at once: one creates it, the other's insert
    meets the unique identifier (or the existence check) and takes the row the first created."""
    identifier = normalise_patient_id(plan.patient_id)
    for attempt in range(2):
        patient = patient_by_identifier(db, identifier)
        if patient is not None:
            return patient.id
        if attempt:
            break
        data = PatientData(identifier=identifier, name=plan.patient_name, date_of_birth=plan.date_of_birth,
                           notes=plan.patient_notes)
        try:
            return create_patient(db, data, who=who)
        except InvalidRecord as exc:  # the store turns a unique-identifier conflict into this
            if "already exists" not in str(exc):
                raise
            log.info("patient %s was created by another station at the same moment", identifier)
    raise InvalidRecord(f"The patient {identifier!r} could not be created or found.")


def _event_record(event: e.EngineEvent) -> tuple[str, str, dict]:
    """(kind, message, evidence) of an engine event, in the words the record keeps."""
    if isinstance(event, e.StateChanged):
        tr = event.transition
        return "state", f"{tr.source.value} -> {tr.target.value}", {"event": tr.event.value}
    if isinstance(event, e.TripRecorded):
        trip = event.trip
        return f"trip:{trip.kind.value}", trip.message, {"action": trip.action.name, **trip.evidence}
    if isinstance(event, e.StopRecorded):
        return "stop", event.reason.label, {"current_ma": event.current_ma, "dose_ma_min": event.dose_ma_min}
    if isinstance(event, e.DoseReached):
        return "dose_reached", "dose reached: ramp-down started", {
            "delivered_ma_min": event.delivered_ma_min, "projected_ma_min": event.projected_ma_min}
    if isinstance(event, e.PolarityReversed):
        return "polarity", "polarity reversed", {"anode": event.anode}
    if isinstance(event, e.TherapistAction):
        return f"action:{event.action}", f"{event.action.replace('_', ' ')} to {event.level_ma:.2f} mA", {
            "level_ma": event.level_ma}
    if isinstance(event, e.ProgramStepStarted):
        return "program_step", f"program step {event.index}", {"current_ma": event.current_ma}
    return "event", repr(event), {}


#: How long the end-of-session write waits for the words of an "Other…" stop (the dialog is open).
OTHER_DESCRIPTION_WAIT_S = 600.0
#: The stop text of an "Other…" stop whose words the screen asks for after the output is off.
OTHER_PENDING = "described after the stop"


class SessionRecorder:
    """Writes one session; created by the treatment desk when a session begins."""

    def __init__(
        self,
        db: Database,
        plan: SessionPlan,
        ident: m.Ident,
        *,
        operator: str,
        station: str,
        on_failure: Callable[[str], None] = lambda reason: None,
        simulated: bool = False,
        wire: "WireTap | None" = None,
        station_id: str | None = None,
        data_folder: Path | None = None,
    ) -> None:
        """``simulated``: the board is the simulator (the record says so; the store refuses it in a
        database not marked demo). ``wire``: the session's serial-stream tap, stored beside the
        record when it closes. ``data_folder``: where the session's local journal is kept
        (None: no journal, tests)."""
        self._db = db
        self._wire = wire
        self._operator = operator
        self._on_failure = on_failure
        self._final_dose: Callable[[], float] = lambda: 0.0
        #: Set by the engine's DoseFinal event, with the dose it carries: the record closes on it.
        self._dose_final = threading.Event()
        self._dose_final_value = 0.0
        self._t0: float | None = None
        self._stops: list[tuple[e.StopRecorded, dt.datetime]] = []
        self._finisher: threading.Thread | None = None
        #: Set once the writer has closed: later samples and events have no session to go to.
        self._closed = threading.Event()
        self._ended_at: dt.datetime | None = None
        self._last_t: float | None = None  # session time of the newest sample
        #: Samples handed to the record (controller thread), for the drills' "nothing lost" check.
        self.samples_seen = 0
        self._clock_lock = threading.Lock()
        self.finished = threading.Event()
        #: The therapist's words for an "Other…" stop, typed after the output was stopped.
        self._other_text = ""
        self._described = threading.Event()
        # The record's writer commits in a process of its own: have one ready before the
        # session's start time is taken (a new one imports its libraries first, ~1 s).
        ready_commit_process(db)
        # The session's clocks: one wall-clock reading, and the monotonic clock from then on.
        self._mono0 = time.monotonic()
        self._wall0 = utc_now()
        self._wall_offset_s = 0.0  # how far the computer's clock has been stepped since the start
        self._next_clock_check = self._mono0 + CLOCK_CHECK_S
        patient = patient_id_for(db, plan, operator)
        cal_date = dt.datetime.fromtimestamp(ident.cal_date, dt.timezone.utc) if ident.cal_date > 0 else None
        self.session_id = start_session(db, SessionStart(
            patient_id=patient,
            protocol=plan.protocol.model_dump(mode="json"),
            operator=operator,
            station=station,
            board_serial=ident.serial_number,
            calibration=Calibration(ident.cal_gain, ident.cal_offset_ua, cal_date),
            checklist=plan.checklist_record,
            site=plan.site,
            side=plan.side,
            diagnosis_code=plan.diagnosis_code,
            dose_target_ma_min=plan.dose_target_ma_min,
            continues_session_id=plan.continues_session_id,
            overrides={"overridden": plan.checklist_record.get("overridden", []),
                       **({"cosigned_by": plan.cosigned_by} if plan.cosigned_by else {})},
            started_at=self._wall0,
            simulated=simulated,
            station_id=station_id,
        ))
        self._abandon = threading.Event()
        self.journal: SessionJournal | None = None
        if data_folder is not None:
            self.journal = SessionJournal.create(data_folder, session_uid(db, self.session_id), self.session_id,
                                                 station_id or "")
        self._writer = SampleWriter(db, self.session_id, on_error=self._writer_failed, who=operator,
                                    journal=self.journal).start()
        #: Set when everything the console saw, the session's end included, is in the journal or the record.
        self.journaled = threading.Event()

    def records_lag_s(self, now: float | None = None) -> float:
        """Seconds since the record writer last committed (the controller's records watchdog)."""
        return self._writer.commit_age(now)

    def dose_from(self, provider: Callable[[], float]) -> None:
        """Where the dose is read if the engine's ``DoseFinal`` never comes (the link went away
        during the ramp-down): the dose as it stands ``DOSE_SETTLE_TIMEOUT_S`` after the end."""
        self._final_dose = provider

    # --- SessionSink (controller thread: queue only) ------------------------------

    def add_sample(self, sample: Sample) -> None:
        if self._closed.is_set():
            return
        if self._t0 is None:
            self._t0 = sample.t
        self._last_t = sample.t - self._t0
        self.samples_seen += 1
        self._writer.add(self._last_t, sample.current_ma, sample.voltage_v, sample.impedance_kohm,
                         sample.target_ma, sample_flags(sample))
        now = time.monotonic()
        if now >= self._next_clock_check:
            self._check_clock(now)

    def add_events(self, events: list[e.EngineEvent]) -> None:
        if self._closed.is_set():
            return
        for event in events:
            if isinstance(event, e.DoseFinal):  # not a row of its own: it closes the record
                self._dose_final_value = event.delivered_ma_min
                self._dose_final.set()
                continue
            kind, message, evidence = _event_record(event)
            t = None if self._t0 is None else event.t - self._t0
            at = self.record_time()
            self._writer.add_event(kind, message, evidence, t=t, alarm=kind.startswith("trip:"), at=at)
            if isinstance(event, e.StopRecorded):
                self._stops.append((event, at))
            if isinstance(event, e.StateChanged) and event.transition.target.terminal:
                if self._ended_at is None:
                    self._ended_at = at
                self._finish_in_background(event.transition.target, event.transition.detail)

    # --- the session's time ------------------------------------------------------------

    @property
    def started_at(self) -> dt.datetime:
        """When the session's record started (UTC): the date a signer sees in the sign dialog."""
        return self._wall0

    def record_time(self, monotonic_s: float | None = None) -> dt.datetime:
        """The record's time for now (or for a ``time.monotonic()`` reading): start + monotonic elapsed."""
        now = time.monotonic() if monotonic_s is None else monotonic_s
        return self._wall0 + dt.timedelta(seconds=now - self._mono0)

    def _check_clock(self, now: float) -> None:
        """Record a step of the computer's clock since the last check (any thread)."""
        with self._clock_lock:
            self._next_clock_check = now + CLOCK_CHECK_S
            wall = utc_now()
            offset = (wall - self._wall0).total_seconds() - (now - self._mono0)
            change = offset - self._wall_offset_s
            if abs(change) <= CLOCK_CHANGE_TOLERANCE_S:
                return
            self._wall_offset_s = offset
        log.warning("session %s: the computer's clock changed by %+.1f s", self.session_id, change)
        self._writer.add_event(
            "clock_changed", f"The computer's clock changed by {signed(change, 0)} s during the session; "
            "the record's times follow the clock as it was at the start",
            {"change_s": round(change, 3), "clock_now": wall.isoformat(),
             "record_time_now": self.record_time(now).isoformat()},
            t=self._last_t, at=self.record_time(now))

    # --- end of session ------------------------------------------------------------

    def _finish_in_background(self, state: SessionState, reason: str) -> None:
        if self._finisher is not None:
            return
        self._finisher = threading.Thread(
            target=self._finish, args=(state, reason), name=f"finish-session-{self.session_id}", daemon=True)
        self._finisher.start()

    def _finish(self, state: SessionState, reason: str) -> None:
        try:
            # first the final dose: the engine announces it (DoseFinal) after the ramp-down's last
            # sample, which the writer must still take before it closes (the record ends where the
            # dose ends). No such event when the link is gone: then the dose as it stands.
            if self._dose_final.wait(DOSE_SETTLE_TIMEOUT_S):
                dose = self._dose_final_value
            else:
                dose = self._final_dose()
            self._check_clock(time.monotonic())  # a step in the last moments is recorded too
            report = self._writer.close(timeout=CLOSE_WAIT_S, give_up=False)
            self._closed.set()
            ended_at = self._ended_at or self.record_time()
            effects = [(stop.reason.cause.value, stop.reason.text, at) for stop, at in self._stops
                       if stop.reason.is_side_effect]
            if not report.complete:
                log.error("session %s: not yet saved: %s; the end is kept in the local journal", self.session_id,
                          report)
                self._journal_end(state, reason, dose, ended_at, effects)
                while not self._writer.wait_saved(1.0):
                    if self._abandon.is_set():
                        self._writer.abandon()
                        return
            self.journaled.set()
            self._store_wire_log()
            described = self._described_effects(effects)  # waits for an "Other…" stop's words
            self._close_record(state, self._described_reason(reason), dose, ended_at, described)
        finally:
            self.journaled.set()
            self.finished.set()

    def _store_wire_log(self) -> None:
        """The black box goes in before the session is closed (and can be signed).

        A log that cannot be stored is logged, not a reason to fail the record: the
        samples and events are the clinical record, the wire log is its evidence."""
        if self._wire is None:
            return
        try:
            store_wire_log(self._db, self.session_id, self._wire.finish(), who=self._operator)
        except RecordsError as exc:
            log.error("session %s: its serial stream could not be kept: %s", self.session_id, exc)

    def _journal_end(self, state: SessionState, reason: str, dose: float, ended_at: dt.datetime,
                     effects: list[tuple[str, str, dt.datetime]]) -> None:
        if self.journal is None:
            return
        try:
            self.journal.append([JournalRecord("close", 0, {
                "state": state.value, "reason": reason, "dose": dose, "ended_at": ended_at, "who": self._operator,
                "side_effects": [{"kind": k, "note": n, "at": at} for k, n, at in effects]})])
        except OSError as exc:
            log.error("session %s: the end could not be journaled either: %s", self.session_id, exc)
        self.journaled.set()

    def _close_record(self, state: SessionState, reason: str, dose: float, ended_at: dt.datetime,
                      effects: list[tuple[str, str, dt.datetime]]) -> None:
        """Side effects and the closing row; retried while the database is away (the journal holds it)."""
        recorded = 0
        while True:
            try:
                for kind, note, at in effects[recorded:]:
                    record_side_effect(self._db, self.session_id, kind=kind, who=self._operator, note=note, at=at)
                    recorded += 1
                finish_session(self._db, self.session_id, state=state.value, reason=reason,
                               dose_delivered_ma_min=dose, who=self._operator, ended_at=ended_at)
                break
            except InvalidRecord as exc:  # closed meanwhile (a replay of the journal): nothing to add
                log.warning("session %s: %s", self.session_id, exc)
                break
            except RecordsError as exc:
                log.error("session %s could not be closed: %s", self.session_id, exc)
                self._journal_end(state, reason, dose, ended_at, effects[recorded:])
                self._on_failure(f"the session record could not be closed: {exc}")
                if self._abandon.wait(CLOSE_RETRY_S):
                    return
        if self.journal is not None:
            self.journal.remove()

    def _described_effects(self, effects: list[tuple[str, str, dt.datetime]]) -> list[tuple[str, str, dt.datetime]]:
        """The side effects with an "Other…" stop's words in place of the placeholder.

        WHY wait: the words come from a dialog opened after the stop (the output is already off);
        the side effect is recorded with them, not as a separate note."""
        described = []
        for kind, note, at in effects:
            if kind == SideEffect.OTHER.value and note == OTHER_PENDING:
                self._described.wait(OTHER_DESCRIPTION_WAIT_S)
                note = self._other_text or note
            described.append((kind, note, at))
        return described

    def _described_reason(self, reason: str) -> str:
        """The session's stop reason with an "Other…" stop's words in place of the placeholder.

        WHY: the side effect got the words but the session's outcome kept "other side effect: described
        after the stop": the Records list, the PDF's headline and the next visit's history said so."""
        if OTHER_PENDING in reason and self._other_text:
            return reason.replace(OTHER_PENDING, self._other_text)
        return reason

    def _writer_failed(self, error: RecordsError) -> None:
        self._on_failure(f"session records could not be saved ({error})")

    def describe_other(self, text: str) -> None:
        """The description of an "Other…" stop ("" when the therapist gave none): recorded as the
        side effect's words when the session closes. Thread-safe; no I/O here."""
        self._other_text = text.strip()
        self._described.set()

    def close(self, timeout: float = 10.0) -> None:
        """Wait for the end-of-session write (used at shutdown and by tests)."""
        self._described.set()  # nobody is going to describe it now
        if self._finisher is not None:
            self._finisher.join(timeout)

    def abandon(self) -> None:
        """Shutdown: stop retrying a database that does not answer; the journal keeps the rest."""
        self._abandon.set()
        self._writer.abandon()
