"""What the therapist should see about a patient before starting: recent sessions and reminders.

Qt-free. Reads the records: the last sessions (date, protocol, dose, side
effects), the date of the last corticosteroid session (the checklist's
consecutive-day rule needs it) and the course warnings for the session about
to start (interval too short or too long for a hyperhidrosis course, "session
N of M").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..core.continuation import ENDED_EARLY, Continuation, continuation_after, recorded_cut
from ..core.protocols import Protocol
from ..core.patients import normalise_patient_id
from ..core.session import SessionState
from ..records import (Database, RecordsError, course_view, find_patients, find_patients_born,
                       patient_by_identifier, search_sessions)
from ..records.course import CourseSession, course_sessions
from ..records.queries import SessionSummary, load_events, load_session
from .records_views import side_effects_line


@dataclass(frozen=True)
class PatientHistory:
    known: bool
    name: str
    recent: tuple[str, ...]
    last_corticosteroid: dt.date | None
    reminders: tuple[str, ...]
    #: The recorded birth date (a typed one that differs is a warning to resolve).
    date_of_birth: dt.date | None = None
    #: The identifier as recorded.
    identifier: str = ""
    #: Why the records could not be asked at all ("" when they were): the patient is then
    #: not known to be new, and the screen must not say so.
    unreadable: str = ""
    #: The rest of the patient's latest run, read back from the records, when it may be continued
    #: (``core.continuation``): the offer survives a restart of the console.
    continuation: Continuation | None = None
    #: The last corticosteroid session before the run ``continuation`` continues: the checklist of the
    #: continuing run does not count the run it completes (nor the runs that already continued it).
    corticosteroid_before_continuation: dt.date | None = None


@dataclass(frozen=True)
class PatientMatch:
    """One line of the patient search's result list."""

    identifier: str
    name: str
    date_of_birth: dt.date | None

    @property
    def label(self) -> str:
        born = f", born {self.date_of_birth.isoformat()}" if self.date_of_birth else ""
        return f"{self.name} ({self.identifier}{born})"


#: More matches than this: the list says so and asks for more of the name.
SEARCH_LIMIT = 50


def search_patients(db: Database, text: str) -> list[PatientMatch]:
    """Patients by part of the name or ID, or by birth date (YYYY-MM-DD); an exact ID comes first.
    At most SEARCH_LIMIT + 1: a last one beyond SEARCH_LIMIT means that more match than are shown."""
    text = text.strip()
    if not text:
        return []
    try:
        born = dt.date.fromisoformat(text)
    except ValueError:
        born = None
    # one more than the list shows: the screen then says that more match (ui/session_setup.py)
    found = find_patients_born(db, born, SEARCH_LIMIT + 1) if born else find_patients(db, text, SEARCH_LIMIT + 1)
    exact = None if born else patient_by_identifier(db, normalise_patient_id(text))
    if exact is not None:
        found = [exact] + [p for p in found if p.id != exact.id]
    return [PatientMatch(p.identifier, p.name, p.date_of_birth) for p in found]


UNKNOWN = PatientHistory(False, "", (), None, ())


def patient_history(db: Database, identifier: str, protocol: Protocol, now: dt.datetime,
                    recent: int = 2, *, simulated: bool = False) -> PatientHistory:
    """History of the patient with exactly this identifier; ``UNKNOWN`` for a new patient.

    ``simulated``: the planned session runs on the simulated board (demo mode); only then do earlier
    simulated sessions count in its courses and corticosteroid rule."""
    identifier = normalise_patient_id(identifier)
    if not identifier:
        return UNKNOWN
    try:
        patient = patient_by_identifier(db, identifier)
        if patient is None:
            return UNKNOWN
        every = [s for s in search_sessions(db, patient=patient.identifier) if s.patient_id == patient.id]
        sessions = every[:recent]
        early = every and every[0].state in {state.value for state in ENDED_EARLY}
        offer = recorded_continuation(db, load_session(db, every[0].id), protocol, now,
                                      simulated=simulated) if early else None
        before = _corticosteroid_before(course_sessions(db, patient.id, include_simulated=simulated),
                                        offer.session_id) if offer else None
        courses = course_view(db, patient.id, planned_at=now, planned_protocol=protocol.model_dump(mode="json"),
                              include_simulated=simulated)
    except RecordsError as exc:
        return PatientHistory(True, "", (), None, (f"Records could not be read: {exc}",))
    lines = tuple(
        f"{s.started_at.astimezone().strftime('%Y-%m-%d')}  {s.protocol_name}  "
        f"{dose_line(s.dose_delivered_ma_min, s.dose_target_ma_min)}  {OUTCOME_WORDS.get(s.state, s.state)}"
        + (f"  side effects: {side_effects_line(s)}" if s.side_effects else "")
        for s in sessions
    )
    reminders = tuple(w.message for w in courses.warnings if w.session_id is None)
    last = courses.last_corticosteroid_at
    return PatientHistory(True, patient.name, lines, last.astimezone().date() if last else None, reminders,
                          patient.date_of_birth, patient.identifier, continuation=offer,
                          corticosteroid_before_continuation=before)


def _corticosteroid_before(sessions: list[CourseSession], first_run: int) -> dt.date | None:
    """The local date of the last corticosteroid session started before the run ``first_run``."""
    start = next((c.started_at for c in sessions if c.session_id == first_run), None)
    dates = [c.started_at for c in sessions if c.corticosteroid and start is not None and c.started_at < start]
    return max(dates).astimezone().date() if dates else None


#: A run's outcome in the therapist's words (the record keeps the state's value).
OUTCOME_WORDS = {
    "complete": "completed",
    "stopped": "stopped",
    "faulted": "ended by a safety check",
    "interrupted": "interrupted",
    "running": "still running",
}


def dose_line(delivered: float, target: float) -> str:
    """"0.5 of 40 mA·min": one decimal as the dose readout shows it (":.0f" rounded 0.5 up to "1/40")."""
    return f"{delivered:.1f} of {target:g} mA·min"


def recorded_continuation(db: Database, latest: SessionSummary, protocol: Protocol, now: dt.datetime, *,
                          simulated: bool = False) -> Continuation | None:
    """The rest of the patient's latest recorded run, if the rule of ``core.continuation`` allows it: the
    same protocol, ended today (the clinic's calendar day), on the same kind of board (a real session
    never continues a simulated one). ``delivered`` counts every run of the prescription, as the desk does."""
    if latest.ended_at is None or latest.simulated != simulated or latest.protocol.get("id") != protocol.id:
        return None
    if latest.ended_at.astimezone().date() != now.astimezone().date():
        return None
    try:
        state = SessionState(latest.state)
    except ValueError:
        return None
    total = protocol.dose_target_ma_min
    already = total - latest.dose_target_ma_min  # delivered by the runs before this one (0 for a first run)
    return continuation_after(state, latest.continues_session_id or latest.id, latest.patient.identifier,
                              protocol.id, already + latest.dose_delivered_ma_min, total, True,
                              trip=recorded_cut(((e.kind, e.evidence) for e in load_events(db, latest.id))))
