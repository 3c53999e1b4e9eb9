"""Course view per patient: "session N of M", dates, intervals, and schedule warnings.

WHY these rules (what the therapist expects, USERS.md):
- Hyperhidrosis (tap-water trays): an initial series of 5-10 sessions 2-5
  days apart, then maintenance every 2 weeks. An interval outside the phase's
  window is a warning, never a block: the therapist decides.
- Corticosteroids (e.g. dexamethasone): sessions on consecutive days are
  flagged (cumulative steroid exposure of the same site), across courses.
  Which protocols count is ``core.corticosteroids.is_corticosteroid``, the
  same rule as the checklist's.

Intervals are whole calendar days in the clinic's time zone (``tz``),
because that is how a schedule is read ("two days ago").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from sqlalchemy import select

from ..core.corticosteroids import is_corticosteroid
from ..core.day_words import days_after
from .database import Database
from .models import ProtocolCopy, TreatmentSession

HYPERHIDROSIS_CODES_PREFIXES = ("L74.51", "L74.52", "R61")
INITIAL_SESSIONS = (5, 10)
INITIAL_INTERVAL_DAYS = (2, 5)
MAINTENANCE_INTERVAL_DAYS = 14
#: Accepted maintenance intervals around the 2 weeks (a few days either way is routine).
MAINTENANCE_WINDOW_DAYS = (10, 18)


def is_hyperhidrosis(protocol: Mapping[str, Any], diagnosis_code: str = "") -> bool:
    agent = protocol.get("agent") or {}
    return agent.get("kind") == "tap_water" or diagnosis_code.upper().startswith(HYPERHIDROSIS_CODES_PREFIXES)


@dataclass(frozen=True)
class CourseSession:
    """What the rules need of one session (plain data, so the rules test without a database)."""

    session_id: int | None
    started_at: dt.datetime
    course: str
    protocol_name: str
    hyperhidrosis: bool
    corticosteroid: bool
    state: str = ""
    dose_delivered_ma_min: float = 0.0
    planned_sessions: int | None = None


@dataclass(frozen=True)
class CourseEntry:
    session_id: int | None  # None = the planned next session
    number: int
    total: int | None
    started_at: dt.datetime
    interval_days: int | None
    protocol_name: str
    state: str
    dose_delivered_ma_min: float
    phase: str  # "initial", "maintenance" or "" (not a hyperhidrosis course)

    @property
    def label(self) -> str:
        """ "Session 3 of 6" when the course has a planned number of sessions; without one, the first is
        "First session" (a bare "Session 1" read as if a total were missing), the others "Session 3"."""
        if self.total:
            return f"Session {self.number} of {self.total}"
        return "First session" if self.number == 1 else f"Session {self.number}"


@dataclass(frozen=True)
class CourseWarning:
    session_id: int | None
    course: str
    message: str


@dataclass(frozen=True)
class Course:
    """One course: ``name`` is its grouping key (the protocol's id, e.g. ``dexamethasone-4mgml-40``), kept
    for the records; ``title`` is what a therapist reads (the protocol's name, as of the latest session)."""

    name: str
    entries: tuple[CourseEntry, ...]
    title: str = ""


@dataclass(frozen=True)
class PatientCourses:
    patient_id: int
    courses: tuple[Course, ...]
    warnings: tuple[CourseWarning, ...]
    last_corticosteroid_at: dt.datetime | None = None


def _days(a: dt.datetime, b: dt.datetime, tz: dt.tzinfo) -> int:
    return (b.astimezone(tz).date() - a.astimezone(tz).date()).days


def build_course(sessions: Sequence[CourseSession], tz: dt.tzinfo = dt.timezone.utc
                 ) -> tuple[list[CourseEntry], list[CourseWarning]]:
    """Number one course's sessions (oldest first) and check a hyperhidrosis schedule."""
    ordered = sorted(sessions, key=lambda c: c.started_at)
    planned = next((c.planned_sessions for c in reversed(ordered) if c.planned_sessions), None)
    entries: list[CourseEntry] = []
    warnings: list[CourseWarning] = []
    initial_done = 0
    phase = "initial"
    lo_n, hi_n = INITIAL_SESSIONS
    lo_d, hi_d = INITIAL_INTERVAL_DAYS
    for number, item in enumerate(ordered, start=1):
        interval = _days(ordered[number - 2].started_at, item.started_at, tz) if number > 1 else None
        when = "the planned session" if item.session_id is None else f"session {number}"

        def warn(text: str, item: CourseSession = item) -> None:
            warnings.append(CourseWarning(item.session_id, item.course, text))

        if item.hyperhidrosis and interval is not None:
            if phase == "initial":
                if interval < lo_d:
                    warn(f"{when.capitalize()} is {days_after(interval)} the previous one; the first "
                         f"hyperhidrosis series is one session every {lo_d} to {hi_d} days.")
                elif interval > hi_d:
                    if initial_done >= lo_n:
                        phase = "maintenance"
                        if not MAINTENANCE_WINDOW_DAYS[0] <= interval <= MAINTENANCE_WINDOW_DAYS[1]:
                            warn(f"{when.capitalize()} is {interval} days after the previous one; maintenance "
                                 f"is every {MAINTENANCE_INTERVAL_DAYS} days.")
                    else:
                        warn(f"Initial series interrupted: {when} is {interval} days after the previous one "
                             f"(expected {lo_d}-{hi_d}); {initial_done} of at least {lo_n} initial sessions done.")
                elif initial_done >= hi_n:
                    phase = "maintenance"
                    warn(f"More than {hi_n} initial sessions: {when} should be maintenance, every "
                         f"{MAINTENANCE_INTERVAL_DAYS} days ({interval} days after the previous one).")
            elif not MAINTENANCE_WINDOW_DAYS[0] <= interval <= MAINTENANCE_WINDOW_DAYS[1]:
                warn(f"{when.capitalize()} is {interval} days after the previous one; maintenance is every "
                     f"{MAINTENANCE_INTERVAL_DAYS} days.")
        if item.hyperhidrosis and phase == "initial":
            initial_done += 1
        entries.append(CourseEntry(item.session_id, number, planned, item.started_at, interval, item.protocol_name,
                                   item.state, item.dose_delivered_ma_min, phase if item.hyperhidrosis else ""))
    return entries, warnings


def corticosteroid_warnings(sessions: Sequence[CourseSession], tz: dt.tzinfo = dt.timezone.utc) -> list[CourseWarning]:
    """Corticosteroid sessions on the same or consecutive calendar days, across all courses."""
    steroid = sorted((c for c in sessions if c.corticosteroid), key=lambda c: c.started_at)
    warnings = []
    for prev, item in zip(steroid, steroid[1:]):
        gap = _days(prev.started_at, item.started_at, tz)
        if item.session_id is None:
            continue  # the planned session: the checklist's rule (core.corticosteroids) says it, once
        if gap <= 1:
            what = "the planned session" if item.session_id is None else f"the session of {item.started_at.astimezone(tz):%Y-%m-%d}"
            day = "the same day" if gap == 0 else "the day before"
            warnings.append(CourseWarning(item.session_id, item.course,
                                          f"Corticosteroid on consecutive days: {what} follows one on {day} "
                                          f"({prev.started_at.astimezone(tz):%Y-%m-%d %H:%M})."))
    return warnings


def course_sessions(db: Database, patient_id: int, *, include_simulated: bool = False) -> list[CourseSession]:
    """The patient's real sessions, oldest first: a session on the simulated board delivered nothing to
    anyone, so it neither counts in a course nor dates a corticosteroid application.

    ``include_simulated``: only for a session about to run on the simulated board itself (demo mode),
    so the demo shows its own courses and rules; a real session never sees simulated ones."""
    real_only = () if include_simulated else (TreatmentSession.simulated.is_(False),)
    with db.read() as s:
        rows = s.execute(select(TreatmentSession, ProtocolCopy)
                         .join(ProtocolCopy, TreatmentSession.protocol_copy_id == ProtocolCopy.id)
                         .where(TreatmentSession.patient_id == patient_id, *real_only)
                         .order_by(TreatmentSession.started_at)).all()
        return [CourseSession(ts.id, ts.started_at, ts.course, pc.name, is_hyperhidrosis(pc.content, ts.diagnosis_code),
                              is_corticosteroid(pc.content), ts.state, ts.dose_delivered_ma_min,
                              ts.course_planned_sessions) for ts, pc in rows]


def course_view(db: Database, patient_id: int, *, planned_at: dt.datetime | None = None,
                planned_protocol: Mapping[str, Any] | None = None, planned_course: str | None = None,
                tz: dt.tzinfo = dt.timezone.utc, include_simulated: bool = False) -> PatientCourses:
    """All of a patient's courses, numbered, with warnings; with ``planned_at`` + ``planned_protocol``
    the next session is checked too (its warnings have ``session_id`` None), so the console can remind
    the therapist before the start."""
    sessions = course_sessions(db, patient_id, include_simulated=include_simulated)
    if planned_at is not None and planned_protocol is not None:
        course = planned_course or str(planned_protocol.get("id") or planned_protocol.get("name", ""))
        sessions.append(CourseSession(None, planned_at, course, str(planned_protocol.get("name", "")),
                                      is_hyperhidrosis(planned_protocol), is_corticosteroid(planned_protocol),
                                      "planned"))
    by_course: dict[str, list[CourseSession]] = {}
    for item in sessions:
        by_course.setdefault(item.course, []).append(item)
    courses, warnings = [], []
    for name, items in by_course.items():
        entries, course_warnings = build_course(items, tz)
        title = next((e.protocol_name for e in reversed(entries) if e.protocol_name), name)
        courses.append(Course(name, tuple(entries), title))
        warnings.extend(course_warnings)
    warnings.extend(corticosteroid_warnings(sessions, tz))
    last_steroid = max((c.started_at for c in sessions if c.corticosteroid and c.session_id is not None), default=None)
    return PatientCourses(patient_id, tuple(courses), tuple(warnings), last_steroid)


def courses_of_session(db: Database, patient_id: int, simulated: bool, tz: dt.tzinfo = dt.timezone.utc
                       ) -> PatientCourses:
    """The courses a recorded session is numbered in: the one home of "which world counts".

    A real session is numbered among real sessions only: a simulated session never counts into a
    clinical course (``course_sessions``). A session on the simulated board (the demo) is numbered
    in the demo's own course, with the demo's sessions, so the demo shows "Session 3 of 6" as a
    clinic would. WHY one home: the PDF report did this and the Records tab did not, so a demo
    session showed no position on screen while its report did."""
    return course_view(db, patient_id, tz=tz, include_simulated=simulated)
