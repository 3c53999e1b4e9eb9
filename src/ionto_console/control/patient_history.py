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

from ..core.protocols import Protocol
from ..records import Database, RecordsError, course_view, find_patients, search_sessions


@dataclass(frozen=True)
class PatientHistory:
    known: bool
    name: str
    recent: tuple[str, ...]
    last_corticosteroid: dt.date | None
    reminders: tuple[str, ...]


UNKNOWN = PatientHistory(False, "", (), None, ())


def patient_history(db: Database, identifier: str, protocol: Protocol, now: dt.datetime,
                    recent: int = 2, *, simulated: bool = False) -> PatientHistory:
    """History of the patient with exactly this identifier; ``UNKNOWN`` for a new patient.

    ``simulated``: the planned session runs on the simulated board (demo mode); only then do earlier
    simulated sessions count in its courses and corticosteroid rule."""
    identifier = identifier.strip()
    if not identifier:
        return UNKNOWN
    try:
        patient = next((p for p in find_patients(db, identifier) if p.identifier == identifier), None)
        if patient is None:
            return UNKNOWN
        sessions = [s for s in search_sessions(db, patient=identifier) if s.patient_id == patient.id][:recent]
        courses = course_view(db, patient.id, planned_at=now, planned_protocol=protocol.model_dump(mode="json"),
                              include_simulated=simulated)
    except RecordsError as exc:
        return PatientHistory(True, "", (), None, (f"Records could not be read: {exc}",))
    lines = tuple(
        f"{s.started_at.astimezone().strftime('%Y-%m-%d')}  {s.protocol_name}  "
        f"{s.dose_delivered_ma_min:.0f}/{s.dose_target_ma_min:.0f} mA·min  {s.state}"
        + (f"  side effects: {', '.join(s.side_effects)}" if s.side_effects else "")
        for s in sessions
    )
    reminders = tuple(w.message for w in courses.warnings if w.session_id is None)
    last = courses.last_corticosteroid_at
    return PatientHistory(True, patient.name, lines, last.astimezone().date() if last else None, reminders)
