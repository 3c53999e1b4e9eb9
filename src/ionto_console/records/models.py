"""The record schema as typed SQLAlchemy 2 models.

WHY these shapes:
- A session keeps a frozen JSON copy of the protocol as used, so editing the
  protocol library later never rewrites what was delivered.
- Samples are stored in chunks (one row per writer commit, ~200 ms), each a
  single BLOB of little-endian column arrays (see ``samples.py``): one row per
  sample would be ~1.8 M rows per 30-minute 1000 Hz session, too slow to write
  and to replay.
- Notes, signatures and amendments are separate append-only rows: a
  correction never overwrites what was written before.
- The audit log stores its before/after payloads as canonical JSON *text*, so
  the hash recomputed at verification sees exactly the bytes that were hashed,
  whatever the backend does with JSON values.
- Times are stored as UTC and always come back timezone-aware (``UTCDateTime``),
  identical on SQLite (no time zones) and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Explicit constraint names so Alembic migrations (and SQLite batch mode) can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored naive UTC (portable to SQLite)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("record times must be timezone-aware (use datetime.now(timezone.utc))")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    sessions: Mapped[list["TreatmentSession"]] = relationship(back_populates="patient")


class ProtocolCopy(Base):
    """The protocol exactly as used by one session (frozen JSON, with its digest)."""

    __tablename__ = "protocol_copies"

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_key: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))


class TreatmentSession(Base):
    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    protocol_copy_id: Mapped[int] = mapped_column(ForeignKey("protocol_copies.id"))
    course: Mapped[str] = mapped_column(String(100))
    course_planned_sessions: Mapped[int | None] = mapped_column(Integer)
    operator: Mapped[str] = mapped_column(String(100))
    station: Mapped[str] = mapped_column(String(100))
    board_serial: Mapped[str] = mapped_column(String(32))
    cal_gain: Mapped[float] = mapped_column(Float)
    cal_offset_ua: Mapped[float] = mapped_column(Float)
    cal_date: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    dose_target_ma_min: Mapped[float] = mapped_column(Float)
    dose_delivered_ma_min: Mapped[float] = mapped_column(Float, default=0.0)
    checklist: Mapped[dict[str, Any]] = mapped_column(JSON)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON)
    coverage_answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    diagnosis_code: Mapped[str] = mapped_column(String(16), default="")
    #: Where the active electrode was placed ("Achilles tendon") and on which side ("left").
    site: Mapped[str] = mapped_column(String(200), default="", server_default="")
    side: Mapped[str] = mapped_column(String(20), default="", server_default="")
    continues_session_id: Mapped[int | None] = mapped_column(Integer, default=None)
    sample_count: Mapped[int] = mapped_column(Integer, default=0)
    samples_sha256: Mapped[str] = mapped_column(String(64), default="")
    #: The board was the simulator (demo mode or the simulator process; see ``records.demo``).
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The console's station identity (not its name); liveness and journal position (migration 0005).
    station_id: Mapped[str | None] = mapped_column(String(36), index=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    journal_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    patient: Mapped[Patient] = relationship(back_populates="sessions")
    protocol: Mapped[ProtocolCopy] = relationship()
    side_effects: Mapped[list["SideEffectRecord"]] = relationship(order_by="SideEffectRecord.at")
    notes: Mapped[list["SessionNote"]] = relationship(order_by="SessionNote.id")
    signatures: Mapped[list["Signature"]] = relationship(order_by="Signature.id")
    amendments: Mapped[list["Amendment"]] = relationship(order_by="Amendment.id")


class SideEffectRecord(Base):
    __tablename__ = "side_effects"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    note: Mapped[str] = mapped_column(Text, default="")


class EventRecord(Base):
    """An event or alarm of a session (state change, target step, interlock trip, board fault)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    t: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(60))
    alarm: Mapped[bool] = mapped_column(default=False)
    message: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)


class SampleChunk(Base):
    __tablename__ = "sample_chunks"
    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_sample_chunks_session_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    t0: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    layout: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class SessionNote(Base):
    """A therapist's note; an amendment is a new row pointing at the note it corrects."""

    __tablename__ = "session_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    amends_id: Mapped[int | None] = mapped_column(ForeignKey("session_notes.id"))
    why: Mapped[str] = mapped_column(Text, default="")


class Signature(Base):
    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    #: The signer's printed full name (the account's display name at signing).
    name: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    meaning: Mapped[str] = mapped_column(String(200))
    #: The signed-in account that signed (None only on signatures made before accounts signed).
    username: Mapped[str | None] = mapped_column(String(64))
    #: ``records.content.session_content_digest`` at signing: the record this signature covers.
    content_sha256: Mapped[str] = mapped_column(String(64), default="")


class ClinicSetting(Base):
    """One clinic setting (idle time, lockout, co-signature, calibration interval), changed by an administrator."""

    __tablename__ = "clinic_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    changed_by: Mapped[str] = mapped_column(String(64))


class Amendment(Base):
    """A correction of one session field; the latest amendment is the effective value."""

    __tablename__ = "amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    field: Mapped[str] = mapped_column(String(60))
    value: Mapped[Any] = mapped_column(JSON)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    who: Mapped[str] = mapped_column(String(100))
    why: Mapped[str] = mapped_column(Text)


class WireLog(Base):
    """The black box: one session's raw serial stream, both directions with time stamps.

    ``data`` is the zlib-compressed ``records.wire_log`` format; ``sha256`` its digest
    (the audit entry that adds the row names it)."""

    __tablename__ = "session_wire_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), unique=True)
    format: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    records: Mapped[int] = mapped_column(Integer)
    raw_bytes: Mapped[int] = mapped_column(Integer)
    truncated: Mapped[bool] = mapped_column(Boolean)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEntry(Base):
    """One link of the append-only, hash-chained audit trail.

    ``seq`` is unique and ``prev_hash`` names the previous entry's hash, so two
    writers racing to append cannot fork the chain: the second insert fails
    on the unique ``seq`` and its transaction is retried.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[str] = mapped_column(String(40))
    who: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(40))
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    why: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: The record this change belongs to ("session:12", "patient:3", "account:dana"; migration 0006) and
    #: that record's content digest after the change, with its parts' digests as canonical JSON
    #: (records/content.py). Empty digest: a running session, sealed when it closes.
    record: Mapped[str | None] = mapped_column(String(120), index=True)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[str | None] = mapped_column(Text)


class DemoMarker(Base):
    """Present (one row) only in a demo database: see ``records.demo``."""

    __tablename__ = "demo_marker"

    id: Mapped[int] = mapped_column(primary_key=True)
    marked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text)


Index("ix_events_session_t", EventRecord.session_id, EventRecord.t)
