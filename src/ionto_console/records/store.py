"""Every function that creates or changes a record, each writing its audit entry in the same transaction.

WHY one module: the rule "no change without its audit entry" is easy to
check when the only code that writes record rows is here (and the sample
writer, which goes through ``insert_event`` for events and records a digest
of its sample chunks when the session closes).

Inputs are plain data (dataclasses, dicts, JSON-ready protocol dumps) so the
controller can map the treatment engine's objects onto them. Domain rules
(the dose integral and the pulse duty, which IDENT is the simulator's) come
from core, their one home.

Session life: ``start_session`` creates the row with state "running" before
the first sample; ``finish_session`` closes it once with its final state;
``recover_interrupted`` closes the ones a crash left "running" (with the dose
its saved samples show: the console that knew the dose is gone). After that,
nothing overwrites: notes amendments, signatures and field corrections are
new rows (``add_note``, ``sign_session``, ``amend_session``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import and_, func, inspect, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.dose import integrate_dose, waveform_duty
from ..core.samples import STORED_PULSED_FLAG
from ..core.simulator_identity import is_simulator_serial
from .audit import append_audit, canonical_json, finite_or_none, utc_now
from .database import Database
from .errors import InvalidRecord, RecordNotFound, RecordsUnavailable
from .models import (
    Amendment,
    DemoMarker,
    EventRecord,
    Patient,
    ProtocolCopy,
    SampleChunk,
    SessionNote,
    Signature,
    SideEffectRecord,
    TreatmentSession,
)
from .samples import SampleSeries, chunks_digest, decode_chunks_checked

log = logging.getLogger(__name__)

RUNNING = "running"
#: Final states, as the treatment engine names them (core.session.SessionState values).
FINAL_STATES = ("complete", "stopped", "faulted", "interrupted")
INTERRUPTED_REASON = "Console stopped during the session (crash or power loss); data kept up to the last save."
#: A running session whose heartbeat (set at every writer commit, 200 ms) is older than this has no console.
HEARTBEAT_LAPSE_S = 1.5
#: Added to the reason of a recovered session whose stored rows could not all be read.
DAMAGED_NOTE = "Record damaged: {what}."
#: A step between saved samples longer than this is a gap, not charge (as the engine's dose integral:
#: its lost-telemetry limit).
RECOVERED_DOSE_MAX_STEP_S = 0.2
#: Session fields a correction may change (by appending an Amendment row).
AMENDABLE_FIELDS = ("diagnosis_code", "coverage_answers", "reason", "dose_delivered_ma_min")


@dataclass(frozen=True)
class PatientData:
    identifier: str
    name: str
    date_of_birth: dt.date | None = None
    notes: str = ""


@dataclass(frozen=True)
class Calibration:
    """The board's current calibration as IDENT reports it."""

    gain: float
    offset_ua: float
    date: dt.datetime | None


@dataclass(frozen=True)
class SessionStart:
    """What is known when a session starts; ``protocol`` is the protocol's JSON dump as used."""

    patient_id: int
    protocol: Mapping[str, Any]
    operator: str
    station: str
    board_serial: str
    calibration: Calibration
    dose_target_ma_min: float | None = None
    checklist: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    coverage_answers: Mapping[str, Any] = field(default_factory=dict)
    diagnosis_code: str = ""
    #: The treated site ("Achilles tendon") and side ("left", "right", "both" or "").
    site: str = ""
    side: str = ""
    #: The earlier session whose prescription this one continues (after an interruption).
    continues_session_id: int | None = None
    #: Course label (default: the protocol id) and planned number of sessions ("session N of M").
    course: str | None = None
    course_planned_sessions: int | None = None
    started_at: dt.datetime | None = None
    #: The board was the simulator, as the console connected it (demo mode or the simulator process).
    simulated: bool = False
    #: The console's station identity (``station_identity.station_id()``); None for tools and tests.
    station_id: str | None = None


def refuse_simulated_in_clinic(s: Session, simulated: bool, board_serial: str, what: str) -> None:
    """``InvalidRecord`` unless a simulated board's record goes into a demo-marked database.

    WHY here, in the transaction that writes: whatever a caller believed about
    its board, a clinic's records never take a simulated session or calibration.
    A serial number in the simulator's form counts too (``core.simulator_identity``):
    a hand-started simulator on a clinical console's ``--port`` is not flagged
    by the console, only its IDENT gives it away."""
    if not (simulated or is_simulator_serial(board_serial)):
        return
    if s.scalar(select(func.count()).select_from(DemoMarker)):
        return
    board = "the simulated board" if simulated else f"board {board_serial} (the simulator's serial)"
    raise InvalidRecord(f"A {what} on {board} is not kept in a clinic's records: this database is not a demo "
                        "database. Use the demo (--demo) for the simulated bench.")


def row_dict(obj: object) -> dict[str, Any]:
    """A model row's columns as a JSON-ready dict (for audit before/after)."""
    values: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        value = getattr(obj, attr.key)
        if isinstance(value, bytes):
            value = hashlib.sha256(value).hexdigest()
        elif isinstance(value, float):
            value = finite_or_none(value)
        values[attr.key] = value
    return values


def _session_row(s: Session, session_id: int, *, lock: bool = False) -> TreatmentSession:
    row = s.get(TreatmentSession, session_id, with_for_update=lock)
    if row is None:
        raise RecordNotFound(f"No session with id {session_id}.")
    return row


def _need(text: str, what: str) -> str:
    if not text or not text.strip():
        raise InvalidRecord(f"{what} is required.")
    return text.strip()


def _aware(value: dt.datetime | None, what: str) -> dt.datetime:
    if value is None:
        return utc_now()
    if value.tzinfo is None:
        raise InvalidRecord(f"{what} must carry a time zone.")
    return value


# --- patients ----------------------------------------------------------------


def create_patient(db: Database, data: PatientData, *, who: str, why: str = "new patient") -> int:
    identifier, name = _need(data.identifier, "Patient identifier"), _need(data.name, "Patient name")
    try:
        return _insert_patient(db, data, identifier, name, who=who, why=why)
    except IntegrityError as exc:  # another station inserted it between our check and our insert
        raise InvalidRecord(f"A patient with identifier {identifier!r} already exists.") from exc


def _insert_patient(db: Database, data: PatientData, identifier: str, name: str, *, who: str, why: str) -> int:
    with db.write() as s:
        if s.scalar(select(Patient.id).where(Patient.identifier == identifier)) is not None:
            raise InvalidRecord(f"A patient with identifier {identifier!r} already exists.")
        patient = Patient(identifier=identifier, name=name, date_of_birth=data.date_of_birth, notes=data.notes,
                          created_at=utc_now())
        s.add(patient)
        s.flush()
        append_audit(s, who=who, action="create", entity="patient", entity_id=patient.id, after=row_dict(patient),
                     why=why)
        return patient.id


def update_patient(db: Database, patient_id: int, *, who: str, why: str, **changes: Any) -> None:
    """Correct demographics (name, date_of_birth, notes); the audit keeps the values before."""
    allowed = {"name", "date_of_birth", "notes"}
    if not changes or set(changes) - allowed:
        raise InvalidRecord(f"Patient fields that can be corrected: {sorted(allowed)}.")
    _need(why, "A reason for the correction")
    with db.write() as s:
        patient = s.get(Patient, patient_id)
        if patient is None:
            raise RecordNotFound(f"No patient with id {patient_id}.")
        before = row_dict(patient)
        for key, value in changes.items():
            setattr(patient, key, value)
        s.flush()
        append_audit(s, who=who, action="update", entity="patient", entity_id=patient_id, before=before,
                     after=row_dict(patient), why=why)


# --- sessions ------------------------------------------------------------------


def session_uid(db: Database, session_id: int) -> str:
    """The session's uid (names its local journal file)."""
    with db.read() as s:
        return _session_row(s, session_id).uid


def start_session(db: Database, start: SessionStart) -> int:
    """Create the session row (state "running") with its frozen protocol copy; returns its id."""
    operator = _need(start.operator, "Operator")
    protocol = dict(start.protocol)
    frozen = canonical_json(protocol)
    target = start.dose_target_ma_min if start.dose_target_ma_min is not None else protocol.get("dose_target_ma_min")
    if target is None:
        raise InvalidRecord("The dose target is missing (neither given nor in the protocol).")
    with db.write() as s:
        refuse_simulated_in_clinic(s, start.simulated, start.board_serial, "session")
        if s.get(Patient, start.patient_id) is None:
            raise RecordNotFound(f"No patient with id {start.patient_id}.")
        copy = ProtocolCopy(protocol_key=str(protocol.get("id", "")), name=str(protocol.get("name", "")),
                            content=protocol, sha256=hashlib.sha256(frozen.encode()).hexdigest())
        s.add(copy)
        s.flush()
        row = TreatmentSession(
            uid=str(uuid.uuid4()), patient_id=start.patient_id, protocol_copy_id=copy.id,
            course=start.course or copy.protocol_key or copy.name, course_planned_sessions=start.course_planned_sessions,
            operator=operator, station=start.station, board_serial=start.board_serial,
            cal_gain=start.calibration.gain, cal_offset_ua=start.calibration.offset_ua,
            cal_date=start.calibration.date, started_at=_aware(start.started_at, "Start time"), ended_at=None,
            state=RUNNING, reason="", dose_target_ma_min=float(target), dose_delivered_ma_min=0.0,
            checklist=dict(start.checklist), overrides=dict(start.overrides),
            coverage_answers=dict(start.coverage_answers), diagnosis_code=start.diagnosis_code.strip(),
            site=start.site.strip(), side=start.side.strip(), continues_session_id=start.continues_session_id,
            sample_count=0, samples_sha256="", simulated=bool(start.simulated),
            station_id=start.station_id, heartbeat_at=utc_now(), journal_seq=0,
        )
        s.add(row)
        s.flush()
        append_audit(s, who=operator, action="start", entity="session", entity_id=row.id,
                     after={**row_dict(row), "protocol_sha256": copy.sha256}, why="treatment started")
        return row.id


def _close(s: Session, row: TreatmentSession, *, who: str, state: str, reason: str, dose: float | None,
           ended_at: dt.datetime, why: str) -> None:
    before = row_dict(row)
    blobs = s.scalars(select(SampleChunk.data).where(SampleChunk.session_id == row.id).order_by(SampleChunk.seq))
    count = s.scalar(select(func.coalesce(func.sum(SampleChunk.n), 0)).where(SampleChunk.session_id == row.id))
    row.samples_sha256 = chunks_digest(blobs)
    row.sample_count = int(count or 0)
    row.state, row.reason, row.ended_at = state, reason, ended_at
    if dose is not None:
        row.dose_delivered_ma_min = float(dose)
    s.flush()
    append_audit(s, who=who, action="close", entity="session", entity_id=row.id, before=before,
                 after=row_dict(row), why=why)


def finish_session(db: Database, session_id: int, *, state: str, reason: str, dose_delivered_ma_min: float,
                   who: str, ended_at: dt.datetime | None = None) -> None:
    """Close a running session once with its final state (complete, stopped, faulted, interrupted).

    Call after the ``SampleWriter`` is closed, so the recorded sample digest covers every chunk.
    """
    if state not in FINAL_STATES:
        raise InvalidRecord(f"Final state must be one of {', '.join(FINAL_STATES)}, not {state!r}.")
    with db.write() as s:
        row = _session_row(s, session_id, lock=True)
        if row.state != RUNNING:
            raise InvalidRecord(f"Session {session_id} is already closed ({row.state}); add a note or an amendment.")
        _close(s, row, who=_need(who, "Who closed the session"), state=state, reason=reason,
               dose=dose_delivered_ma_min, ended_at=_aware(ended_at, "End time"), why="treatment ended")


def dose_from_samples(series: SampleSeries, duty: float = 1.0,
                      max_step_s: float = RECOVERED_DOSE_MAX_STEP_S) -> float:
    """Charge in mA·min the saved samples show, by the engine's own integral (``core.dose.integrate_dose``).

    So a recovered session reads as the console would have recorded it; a step longer than
    ``max_step_s`` counts for ``max_step_s`` (a gap is not charge). Each sample counts at ``duty``
    only when its stored flags say the board was pulsed (ICD bit5), as the engine counted it.
    """
    pulsed = ((series.flags & STORED_PULSED_FLAG) != 0).tolist()
    return integrate_dose(series.t.tolist(), series.current_ma.tolist(), duty, max_step_s, pulsed=pulsed)


def recover_interrupted(db: Database, *, station: str | None = None, station_id: str | None = None,
                        who: str = "system", lapse_s: float = HEARTBEAT_LAPSE_S) -> list[int]:
    """Close this station's sessions a crash left "running" as "interrupted", keeping all their data.

    ``station_id``: only sessions of this station identity (and, for sessions written before
    identities existed, those with the station name ``station``), and only once their heartbeat
    has lapsed: on a clinic's shared database the other stations' "running" sessions are live
    treatments, not crashes, and a fresh heartbeat means a console is still writing. A session
    whose heartbeat is fresh is watched for up to ``lapse_s``; if it beats, it is left alone.
    Without ``station_id``: by station name (``station``) or all, as before identities.

    The end time is the last saved sample (or event), the best evidence of when the console
    stopped; the delivered dose is what the saved samples show (``dose_from_samples``). A damaged
    chunk or row never raises: the session is closed with what could be read and its reason says
    it is damaged; a session that cannot be closed at all is left and logged.
    """
    ids, beats = _running_sessions(db, station, station_id)
    fresh = {sid: beat for sid, beat in beats.items()
             if beat is not None and (utc_now() - beat).total_seconds() < lapse_s}
    if fresh:
        newest = max(fresh.values())
        wait = lapse_s - (utc_now() - newest).total_seconds()
        if wait > 0:
            time.sleep(min(wait + 0.05, lapse_s + 0.05))
        _, again = _running_sessions(db, station, station_id)
        ids = [sid for sid in ids if sid in again and (sid not in fresh or again[sid] == fresh[sid])]
    closed: list[int] = []
    for session_id in ids:
        try:
            if _recover_one(db, session_id, who):
                closed.append(session_id)
        except RecordsUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - one damaged row must not stop the console starting
            log.error("session %s could not be recovered (damaged record): %s", session_id, exc)
            if _mark_damaged(db, session_id, who, str(exc)):
                closed.append(session_id)
    return closed


def _running_sessions(db: Database, station: str | None,
                      station_id: str | None) -> tuple[list[int], dict[int, dt.datetime | None]]:
    query = select(TreatmentSession.id, TreatmentSession.heartbeat_at).where(TreatmentSession.state == RUNNING)
    if station_id is not None:
        mine = TreatmentSession.station_id == station_id
        if station is not None:
            mine = or_(mine, and_(TreatmentSession.station_id.is_(None), TreatmentSession.station == station))
        query = query.where(mine)
    elif station is not None:
        query = query.where(TreatmentSession.station == station)
    with db.read() as s:
        rows = s.execute(query.order_by(TreatmentSession.id)).all()
    return [row.id for row in rows], {row.id: row.heartbeat_at for row in rows}


def _recover_one(db: Database, session_id: int, who: str) -> bool:
    with db.write() as s:
        row = s.get(TreatmentSession, session_id, with_for_update=True)
        if row is None or row.state != RUNNING:
            return False
        chunks = s.execute(select(SampleChunk.t0, SampleChunk.n, SampleChunk.layout, SampleChunk.data)
                           .where(SampleChunk.session_id == row.id).order_by(SampleChunk.seq)).all()
        last_event = s.scalar(select(func.max(EventRecord.at)).where(EventRecord.session_id == row.id))
        ended = row.started_at
        series, damage = decode_chunks_checked([tuple(chunk) for chunk in chunks])
        if len(series):
            ended = max(ended, row.started_at + dt.timedelta(seconds=float(series.t[-1])))
        if last_event is not None:
            ended = max(ended, last_event)
        try:
            duty = waveform_duty(row.protocol.content.get("waveform"))
        except Exception as exc:  # noqa: BLE001 - a damaged protocol copy: dose at full duty, said so
            damage.append(f"protocol copy unreadable ({exc})")
            duty = 1.0
        dose = dose_from_samples(series, duty)
        reason = INTERRUPTED_REASON
        if damage:
            reason += " " + DAMAGED_NOTE.format(what="; ".join(damage))
        _close(s, row, who=who, state="interrupted", reason=reason, dose=dose, ended_at=ended,
               why="found running at start-up; dose from the saved samples")
    return True


def _mark_damaged(db: Database, session_id: int, who: str, what: str) -> bool:
    """Last resort for a session whose rows cannot be read: closed as interrupted, reason says why."""
    try:
        with db.write() as s:
            row = s.get(TreatmentSession, session_id)
            if row is None or row.state != RUNNING:
                return False
            before = {"id": row.id, "state": row.state}
            row.state = "interrupted"
            row.reason = INTERRUPTED_REASON + " " + DAMAGED_NOTE.format(what=what)
            row.ended_at = row.started_at
            s.flush()
            append_audit(s, who=who, action="close", entity="session", entity_id=row.id, before=before,
                         after={"id": row.id, "state": row.state, "reason": row.reason}, why="damaged record")
        return True
    except Exception as exc:  # noqa: BLE001
        log.error("session %s left running: its record is too damaged to close: %s", session_id, exc)
        return False


def insert_event(s: Session, session_id: int, *, kind: str, message: str, evidence: Mapping[str, Any] | None = None,
                 t: float | None = None, at: dt.datetime | None = None, alarm: bool = False,
                 who: str = "console") -> EventRecord:
    """Add an event in the caller's transaction (used by ``record_event`` and the sample writer)."""
    event = EventRecord(session_id=session_id, at=_aware(at, "Event time"), t=t, kind=_need(kind, "Event kind"),
                        alarm=alarm, message=message, evidence=dict(evidence or {}))
    s.add(event)
    s.flush()
    append_audit(s, who=who, action="add", entity="event", entity_id=event.id,
                 after={**row_dict(event), "evidence": canonical_json(event.evidence)}, why=kind)
    return event


def record_event(db: Database, session_id: int, *, kind: str, message: str,
                 evidence: Mapping[str, Any] | None = None, t: float | None = None,
                 at: dt.datetime | None = None, alarm: bool = False, who: str = "console") -> int:
    with db.write() as s:
        _session_row(s, session_id)
        return insert_event(s, session_id, kind=kind, message=message, evidence=evidence, t=t, at=at, alarm=alarm,
                            who=who).id


def record_side_effect(db: Database, session_id: int, *, kind: str, who: str, note: str = "",
                       at: dt.datetime | None = None) -> int:
    """A side effect the patient reported (the stop button pressed, or noted afterwards)."""
    with db.write() as s:
        _session_row(s, session_id)
        effect = SideEffectRecord(session_id=session_id, at=_aware(at, "Side effect time"),
                                  kind=_need(kind, "Side effect"), note=note)
        s.add(effect)
        s.flush()
        append_audit(s, who=_need(who, "Who recorded it"), action="add", entity="side_effect", entity_id=effect.id,
                     after=row_dict(effect), why="side effect reported")
        return effect.id


def add_note(db: Database, session_id: int, text: str, *, author: str, amends: int | None = None,
             why: str = "", at: dt.datetime | None = None) -> int:
    """Add a therapist's note; an amendment names the note it corrects and why (the old text stays)."""
    with db.write() as s:
        _session_row(s, session_id)
        if amends is not None:
            original = s.get(SessionNote, amends)
            if original is None or original.session_id != session_id:
                raise InvalidRecord(f"Note {amends} is not a note of session {session_id}.")
            _need(why, "A reason for the amendment")
        note = SessionNote(session_id=session_id, at=_aware(at, "Note time"), author=_need(author, "Author"),
                           text=_need(text, "Note text"), amends_id=amends, why=why)
        s.add(note)
        s.flush()
        append_audit(s, who=note.author, action="amend" if amends else "add", entity="note", entity_id=note.id,
                     after=row_dict(note), why=why or "note added")
        return note.id


def sign_session(db: Database, session_id: int, *, username: str, meaning: str,
                 at: dt.datetime | None = None) -> int:
    """Sign as the account ``username`` (its printed full name, the time, the meaning e.g. "performed and
    reviewed"), binding the record's content digest; signatures append, never replace.

    WHY the name comes from the account, never from the caller (21 CFR 11.50, 11.70): a typed name
    proves nothing, and the digest lets ``verify_signatures`` show a later change the signature does
    not cover (a change landing between the digest and the insert shows there the same way).
    The caller (``control``) has proven the account's password first."""
    from .content import session_content_digest
    from .users import UserAccount

    meaning = _need(meaning, "Meaning of the signature")
    with db.read() as s:
        row = _session_row(s, session_id)
        if row.state == RUNNING:
            raise InvalidRecord("A running session cannot be signed; end it first.")
    digest = session_content_digest(db, session_id)
    with db.write() as s:
        account = s.scalars(select(UserAccount).where(UserAccount.username == username)).first()
        if account is None or not account.active:
            raise InvalidRecord(f"Only an active account can sign; {username!r} is not one.")
        signature = Signature(session_id=session_id, name=account.display_name, username=account.username,
                              meaning=meaning, at=_aware(at, "Signature time"), content_sha256=digest)
        s.add(signature)
        s.flush()
        append_audit(s, who=account.username, action="sign", entity="session", entity_id=session_id,
                     after=row_dict(signature), why=signature.meaning)
        return signature.id



def amend_session(db: Database, session_id: int, field_name: str, value: Any, *, who: str, why: str,
                  at: dt.datetime | None = None) -> int:
    """Correct one session field by appending an Amendment; readers see the newest value, the original stays."""
    if field_name not in AMENDABLE_FIELDS:
        raise InvalidRecord(f"Session fields that can be corrected: {', '.join(AMENDABLE_FIELDS)}.")
    with db.write() as s:
        row = _session_row(s, session_id)
        before = effective_value(row, field_name)
        amendment = Amendment(session_id=session_id, field=field_name, value=value, at=_aware(at, "Amendment time"),
                              who=_need(who, "Who corrected it"), why=_need(why, "A reason for the correction"))
        s.add(amendment)
        s.flush()
        append_audit(s, who=who, action="amend", entity="session", entity_id=session_id,
                     before={field_name: before}, after={field_name: value, "amendment_id": amendment.id}, why=why)
        return amendment.id


def effective_value(row: TreatmentSession, field_name: str) -> Any:
    """The newest amended value of a session field, else the value recorded at the time."""
    for amendment in reversed(row.amendments):
        if amendment.field == field_name:
            return amendment.value
    return getattr(row, field_name)
