"""Read side for the session browser: search, one session's summary, events and samples.

WHY plain frozen dataclasses out: the UI (and the exports) get values, never
live ORM objects bound to a database session that may be closed or shared
with the writer thread. Effective values apply the newest amendment; the
originals stay visible in ``amendments``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from .database import Database
from .errors import RecordNotFound
from .models import EventRecord, Patient, ProtocolCopy, SampleChunk, SideEffectRecord, TreatmentSession
from .samples import SampleSeries, decode_chunks
from .store import Calibration, effective_value


@dataclass(frozen=True)
class SessionListItem:
    id: int
    uid: str
    patient_id: int
    patient_identifier: str
    patient_name: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    protocol_name: str
    state: str
    reason: str
    dose_delivered_ma_min: float
    dose_target_ma_min: float
    side_effects: tuple[str, ...]
    #: Each side effect's note, in the same order ("Other…" keeps the therapist's words there).
    side_effect_notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PatientInfo:
    id: int
    identifier: str
    name: str
    date_of_birth: dt.date | None
    notes: str


@dataclass(frozen=True)
class SideEffectInfo:
    at: dt.datetime
    kind: str
    note: str


@dataclass(frozen=True)
class NoteInfo:
    id: int
    at: dt.datetime
    author: str
    text: str
    amends_id: int | None
    why: str


@dataclass(frozen=True)
class SignatureInfo:
    """A signature's manifestation (21 CFR 11.50): printed name, account, date and time with zone, meaning.

    ``covers`` says whether the record's content still has the digest the signature bound
    (None: a signature made before signatures bound the content)."""

    name: str
    at: dt.datetime
    meaning: str
    username: str | None = None
    content_sha256: str = ""
    covers: bool | None = None

    @property
    def manifestation(self) -> str:
        """One line for the screen, the PDF and the FHIR export."""
        local = self.at.astimezone()
        account = f" ({self.username})" if self.username else " (no account: signed before sign-in was required)"
        line = f"{self.name}{account} — {self.meaning} — {local.strftime('%Y-%m-%d %H:%M:%S %Z (UTC%z)')}"
        if self.covers is False:
            line += " — THE RECORD CHANGED AFTER THIS SIGNATURE: it no longer covers the record"
        return line


@dataclass(frozen=True)
class AmendmentInfo:
    field: str
    value: Any
    at: dt.datetime
    who: str
    why: str


@dataclass(frozen=True)
class EventInfo:
    at: dt.datetime
    t: float | None
    kind: str
    alarm: bool
    message: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class SessionSummary:
    id: int
    uid: str
    patient: PatientInfo
    protocol: dict[str, Any]
    protocol_name: str
    protocol_sha256: str
    course: str
    course_planned_sessions: int | None
    operator: str
    station: str
    board_serial: str
    calibration: Calibration
    started_at: dt.datetime
    ended_at: dt.datetime | None
    state: str
    reason: str
    dose_delivered_ma_min: float
    dose_target_ma_min: float
    checklist: dict[str, Any]
    overrides: dict[str, Any]
    coverage_answers: dict[str, Any]
    diagnosis_code: str
    side_effects: tuple[SideEffectInfo, ...]
    notes: tuple[NoteInfo, ...]
    signatures: tuple[SignatureInfo, ...]
    amendments: tuple[AmendmentInfo, ...]
    sample_count: int
    samples_sha256: str
    #: The board was the simulator: never billed, exported or counted in a course; the PDF says so.
    simulated: bool = False
    site: str = ""
    side: str = ""
    continues_session_id: int | None = None
    #: The uid of the run this one continues (its ``continues_session_id``), "" for a first run.
    continues_session_uid: str = ""

    @property
    def site_text(self) -> str:
        """"Achilles tendon (left)", or "" when no site was recorded."""
        return f"{self.site} ({self.side})" if self.site and self.side else self.site

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()

    @property
    def current_notes(self) -> tuple[NoteInfo, ...]:
        """Notes as they read now: an amended note is replaced by its latest amendment (history in ``notes``)."""
        latest: dict[int, NoteInfo] = {}
        root_of: dict[int, int] = {}
        for note in self.notes:
            root = root_of.get(note.amends_id, note.amends_id) if note.amends_id is not None else note.id
            root_of[note.id] = root
            latest[root] = note
        return tuple(latest[root] for root in sorted(latest))


def day_bound(value: dt.date | dt.datetime, *, end: bool = False) -> dt.datetime:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("give timezone-aware datetimes (or dates, taken as UTC days)")
        return value
    day = dt.datetime.combine(value, dt.time(), tzinfo=dt.timezone.utc)
    return day + dt.timedelta(days=1) if end else day


def search_sessions(
    db: Database,
    *,
    patient: str | None = None,
    date_from: dt.date | dt.datetime | None = None,
    date_to: dt.date | dt.datetime | None = None,
    protocol: str | None = None,
    outcome: str | Sequence[str] | None = None,
    side_effect: str | None = None,
    limit: int = 500,
) -> list[SessionListItem]:
    """Sessions matching every given filter, newest first.

    ``patient``: substring of the name or identifier (case-insensitive);
    ``date_from``/``date_to``: inclusive dates (UTC days) or aware datetimes
    (``date_to`` exclusive then); ``protocol``: substring of the protocol
    name or its exact id; ``outcome``: final state(s); ``side_effect``: kind.
    """
    query = (select(TreatmentSession, Patient, ProtocolCopy)
             .join(Patient, TreatmentSession.patient_id == Patient.id)
             .join(ProtocolCopy, TreatmentSession.protocol_copy_id == ProtocolCopy.id))
    if patient:
        needle = patient.strip().lower()
        query = query.where(or_(func.lower(Patient.name).contains(needle, autoescape=True),
                                func.lower(Patient.identifier).contains(needle, autoescape=True)))
    if date_from is not None:
        query = query.where(TreatmentSession.started_at >= day_bound(date_from))
    if date_to is not None:
        query = query.where(TreatmentSession.started_at < day_bound(date_to, end=True))
    if protocol:
        query = query.where(or_(func.lower(ProtocolCopy.name).contains(protocol.lower(), autoescape=True),
                                ProtocolCopy.protocol_key == protocol))
    if outcome:
        states = [outcome] if isinstance(outcome, str) else list(outcome)
        query = query.where(TreatmentSession.state.in_(states))
    if side_effect:
        query = query.where(select(SideEffectRecord.id).where(SideEffectRecord.session_id == TreatmentSession.id,
                                                              SideEffectRecord.kind == side_effect).exists())
    query = query.order_by(TreatmentSession.started_at.desc(), TreatmentSession.id.desc()).limit(limit)
    with db.read() as s:
        rows = s.execute(query).all()
        ids = [row[0].id for row in rows]
        effects: dict[int, list[tuple[str, str]]] = {}
        if ids:
            for sid, kind, note in s.execute(select(SideEffectRecord.session_id, SideEffectRecord.kind,
                                                    SideEffectRecord.note)
                                             .where(SideEffectRecord.session_id.in_(ids)).order_by(SideEffectRecord.at)):
                effects.setdefault(sid, []).append((kind, note or ""))
        return [
            SessionListItem(
                id=ts.id, uid=ts.uid, patient_id=p.id, patient_identifier=p.identifier, patient_name=p.name,
                started_at=ts.started_at, ended_at=ts.ended_at, protocol_name=pc.name, state=ts.state,
                reason=ts.reason, dose_delivered_ma_min=ts.dose_delivered_ma_min,
                dose_target_ma_min=ts.dose_target_ma_min,
                side_effects=tuple(kind for kind, _ in effects.get(ts.id, ())),
                side_effect_notes=tuple(note for _, note in effects.get(ts.id, ())),
            )
            for ts, p, pc in rows
        ]


def load_session(db: Database, session_id: int) -> SessionSummary:
    with db.read() as s:
        row = s.scalar(select(TreatmentSession).where(TreatmentSession.id == session_id).options(
            selectinload(TreatmentSession.patient), selectinload(TreatmentSession.protocol),
            selectinload(TreatmentSession.side_effects), selectinload(TreatmentSession.notes),
            selectinload(TreatmentSession.signatures), selectinload(TreatmentSession.amendments)))
        if row is None:
            raise RecordNotFound(f"No session with id {session_id}.")
        p = row.patient
        return SessionSummary(
            id=row.id, uid=row.uid,
            patient=PatientInfo(p.id, p.identifier, p.name, p.date_of_birth, p.notes),
            protocol=dict(row.protocol.content), protocol_name=row.protocol.name, protocol_sha256=row.protocol.sha256,
            course=row.course, course_planned_sessions=row.course_planned_sessions, operator=row.operator,
            station=row.station, board_serial=row.board_serial,
            calibration=Calibration(row.cal_gain, row.cal_offset_ua, row.cal_date),
            started_at=row.started_at, ended_at=row.ended_at, state=row.state,
            reason=effective_value(row, "reason"),
            dose_delivered_ma_min=float(effective_value(row, "dose_delivered_ma_min")),
            dose_target_ma_min=row.dose_target_ma_min, checklist=dict(row.checklist), overrides=dict(row.overrides),
            coverage_answers=dict(effective_value(row, "coverage_answers")),
            diagnosis_code=str(effective_value(row, "diagnosis_code")),
            side_effects=tuple(SideEffectInfo(e.at, e.kind, e.note) for e in row.side_effects),
            notes=tuple(NoteInfo(n.id, n.at, n.author, n.text, n.amends_id, n.why) for n in row.notes),
            signatures=_signatures(db, row),
            amendments=tuple(AmendmentInfo(a.field, a.value, a.at, a.who, a.why) for a in row.amendments),
            sample_count=row.sample_count, samples_sha256=row.samples_sha256, simulated=row.simulated,
            site=row.site, side=row.side, continues_session_id=row.continues_session_id,
            continues_session_uid=(s.scalar(select(TreatmentSession.uid).where(
                TreatmentSession.id == row.continues_session_id)) or "") if row.continues_session_id else "",
        )


def _signatures(db: Database, row: TreatmentSession) -> tuple[SignatureInfo, ...]:
    """The session's signatures, each checked against the record's content now."""
    if not row.signatures:
        return ()
    from .content import session_content_digest

    current = session_content_digest(db, row.id)
    return tuple(SignatureInfo(g.name, g.at, g.meaning, g.username, g.content_sha256,
                               (g.content_sha256 == current) if g.content_sha256 else None)
                 for g in row.signatures)


def verify_signatures(db: Database, session_id: int) -> list[SignatureInfo]:
    """Every signature of the session with ``covers`` (False: the record changed after it was signed)."""
    return list(load_session(db, session_id).signatures)


def load_events(db: Database, session_id: int, *, alarms_only: bool = False) -> list[EventInfo]:
    query = select(EventRecord).where(EventRecord.session_id == session_id)
    if alarms_only:
        query = query.where(EventRecord.alarm.is_(True))
    with db.read() as s:
        return [EventInfo(e.at, e.t, e.kind, e.alarm, e.message, dict(e.evidence))
                for e in s.scalars(query.order_by(EventRecord.at, EventRecord.id))]


def load_samples(db: Database, session_id: int) -> SampleSeries:
    """All samples of a session as numpy arrays (chunks in order; no ORM objects, one decode pass)."""
    with db.read() as s:
        rows = s.execute(select(SampleChunk.t0, SampleChunk.n, SampleChunk.layout, SampleChunk.data)
                         .where(SampleChunk.session_id == session_id).order_by(SampleChunk.seq)).all()
    return decode_chunks(rows)  # type: ignore[arg-type]


def find_patients(db: Database, text: str, limit: int = 50) -> list[PatientInfo]:
    """Patients whose name or identifier contains ``text`` (case-insensitive)."""
    needle = text.strip().lower()
    with db.read() as s:
        rows = s.scalars(select(Patient).where(or_(func.lower(Patient.name).contains(needle, autoescape=True),
                                                   func.lower(Patient.identifier).contains(needle, autoescape=True)))
                         .order_by(Patient.name).limit(limit))
        return [PatientInfo(p.id, p.identifier, p.name, p.date_of_birth, p.notes) for p in rows]


def patient_by_identifier(db: Database, identifier: str) -> PatientInfo | None:
    """The patient with exactly this identifier (ignoring case), however many similar ones exist.

    WHY not ``find_patients``: its row limit pushed a returning patient among 60 similar
    identifiers out of the answer, and the patient was then shown as new."""
    with db.read() as s:
        p = s.scalars(select(Patient).where(func.upper(Patient.identifier) == identifier.upper())
                      .order_by(Patient.id).limit(1)).first()
        return None if p is None else PatientInfo(p.id, p.identifier, p.name, p.date_of_birth, p.notes)


def find_patients_born(db: Database, born: dt.date, limit: int = 50) -> list[PatientInfo]:
    """Patients born on ``born``, by name."""
    with db.read() as s:
        rows = s.scalars(select(Patient).where(Patient.date_of_birth == born).order_by(Patient.name).limit(limit))
        return [PatientInfo(p.id, p.identifier, p.name, p.date_of_birth, p.notes) for p in rows]
