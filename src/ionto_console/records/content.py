"""The canonical content of each record, and its SHA-256: what tamper evidence compares.

WHY a digest per *record* (not per row): an auditor asks "is session 12 as it
was recorded?", and a session is many rows (the session row, its protocol
copy, every sample chunk, events, side effects, notes, amendments,
signatures). Every audited change stores the digest of the record it changed
(``audit.append_audit``); verification recomputes each record's content and
compares it with the newest digest the chain holds, so an edit made outside
the console (SQL, a hex editor) shows as a mismatch, and the *parts* stored
beside the digest say in plain words which part changed.

Records: ``session:<id>``, ``patient:<id>``, ``calibration:<id>``,
``account:<username>``.

Two digests of a session, for two uses:
- ``session_content_digest`` (the contract signatures bind to): session
  fields, protocol copy, samples, events, side effects, notes, amendments
  and the patient's demographics; NOT its signatures (a signature cannot
  sign itself).
- the session *record* digest (``record_parts``) the audit stores: the same
  without the patient (the patient is its own record, so correcting a name
  does not re-seal every session) and with the signatures and the black box
  (``records.wire_log``).

Columns are taken generically (every mapped column) so a column another
change adds is covered without touching this module; the one exception is a
running session's heartbeat, which the console refreshes without an audit
entry (``VOLATILE_SESSION_COLUMNS``).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Iterable

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from .audit import canonical_json
from .models import (
    Amendment,
    EventRecord,
    Patient,
    ProtocolCopy,
    SampleChunk,
    SessionNote,
    Signature,
    SideEffectRecord,
    TreatmentSession,
    WireLog,
)

#: Session columns refreshed while a session runs without an audit entry (liveness, not content).
VOLATILE_SESSION_COLUMNS = frozenset({"heartbeat_at", "heartbeat", "last_heartbeat", "heartbeat_utc"})

#: The parts of a session record besides its fields, in the words verification uses.
PART_WORDS = {
    "protocol": "its protocol copy",
    "samples": "its samples (a sample chunk was edited, added or deleted)",
    "events": "its events (an event was edited, added or deleted)",
    "side_effects": "its side effects",
    "notes": "its notes",
    "amendments": "its amendments",
    "signatures": "its signatures (a signature was edited, added or deleted)",
    "wire_log": "its black box (the serial stream kept with it)",
    "patient": "its patient's demographics",
}


def _sha(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    """A column value as canonical JSON can hold it (bytes by digest, non-finite floats as text)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"sha256": hashlib.sha256(bytes(value)).hexdigest()}
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def columns_of(obj: object, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Every mapped column of a row (a generic walk: new columns are covered without edits here)."""
    skipped = set(skip)
    return {attr.key: _plain(getattr(obj, attr.key)) for attr in inspect(obj).mapper.column_attrs
            if attr.key not in skipped and "heartbeat" not in attr.key}


def _rows(s: Session, model: Any, session_id: int) -> list[dict[str, Any]]:
    return [columns_of(r) for r in s.scalars(select(model).where(model.session_id == session_id).order_by(model.id))]


def _samples(s: Session, session_id: int) -> dict[str, Any]:
    """Every chunk (seq, t0, n, layout, SHA-256 of its bytes) in order, hashed as one part."""
    digest = hashlib.sha256()
    count = 0
    stream = s.execute(select(SampleChunk.id, SampleChunk.seq, SampleChunk.t0, SampleChunk.n, SampleChunk.layout,
                              SampleChunk.data).where(SampleChunk.session_id == session_id)
                       .order_by(SampleChunk.seq, SampleChunk.id))
    for cid, seq, t0, n, layout, data in stream:
        digest.update(canonical_json([cid, seq, _plain(t0), n, layout,
                                      hashlib.sha256(bytes(data or b"")).hexdigest()]).encode())
        digest.update(b"\n")
        count += 1
    return {"n": count, "sha256": digest.hexdigest()}


def _counted(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"n": len(rows), "sha256": _sha(rows)}


def session_parts(s: Session, session_id: int, *, patient: bool, signatures: bool) -> dict[str, Any] | None:
    """The digests of each part of a session (None if the session row is gone)."""
    row = s.get(TreatmentSession, session_id)
    if row is None:
        return None
    fields = columns_of(row, VOLATILE_SESSION_COLUMNS)
    parts: dict[str, Any] = {f"field:{k}": _sha(v) for k, v in fields.items()}
    copy = s.get(ProtocolCopy, row.protocol_copy_id)
    parts["protocol"] = _sha(columns_of(copy) if copy is not None else None)
    parts["samples"] = _samples(s, session_id)
    parts["events"] = _counted(_rows(s, EventRecord, session_id))
    parts["side_effects"] = _counted(_rows(s, SideEffectRecord, session_id))
    parts["notes"] = _counted(_rows(s, SessionNote, session_id))
    parts["amendments"] = _counted(_rows(s, Amendment, session_id))
    if patient:
        who = s.get(Patient, row.patient_id)
        parts["patient"] = _sha(columns_of(who) if who is not None else None)
    if signatures:
        parts["signatures"] = _counted(_rows(s, Signature, session_id))
        # The black box (records.wire_log) is part of the record the audit seals; it is not in the
        # digest signatures bind to (it is kept after the session, possibly after a signature).
        parts["wire_log"] = _counted(_rows(s, WireLog, session_id))
    return parts


def digest_of_parts(parts: dict[str, Any]) -> str:
    return _sha(parts)


def session_content_digest_in(s: Session, session_id: int) -> str:
    """``session_content_digest`` inside the caller's transaction (e.g. while signing)."""
    parts = session_parts(s, session_id, patient=True, signatures=False)
    if parts is None:
        from .errors import RecordNotFound

        raise RecordNotFound(f"No session with id {session_id}.")
    return digest_of_parts(parts)


def session_content_digest(db: Any, session_id: int) -> str:
    """Hex SHA-256 over the canonical content of one session's record (without its signatures).

    Covers the session's fields, its frozen protocol copy, every sample chunk,
    events, side effects, notes, amendments and the patient's demographics.
    The same content always gives the same digest, on SQLite and PostgreSQL.
    Raises ``RecordNotFound`` for an unknown session.
    """
    with db.read() as s:
        return session_content_digest_in(s, session_id)


# --- every kind of record, for the audit trail -------------------------------------------------


def _single(s: Session, model: Any, key: Any, column: str = "id") -> dict[str, Any] | None:
    row = s.scalars(select(model).where(getattr(model, column) == key)).first()
    return None if row is None else {f"field:{k}": _sha(v) for k, v in columns_of(row).items()}


def record_parts(s: Session, record: str) -> dict[str, Any] | None:
    """Part digests of one record ("session:12", "patient:3", ...); None when it no longer exists."""
    kind, _, key = record.partition(":")
    if kind == "session":
        return session_parts(s, int(key), patient=False, signatures=True)
    if kind == "patient":
        return _single(s, Patient, int(key))
    if kind == "calibration":
        from .calibrations import CalibrationRecord

        return _single(s, CalibrationRecord, int(key))
    if kind == "account":
        from .users import UserAccount

        return _single(s, UserAccount, key, "username")
    raise ValueError(f"unknown record kind {kind!r}")


def all_records(s: Session) -> list[str]:
    """Every record now in the database, in a stable order (for verification)."""
    from .calibrations import CalibrationRecord
    from .users import UserAccount

    found = [f"patient:{i}" for i in s.scalars(select(Patient.id).order_by(Patient.id))]
    found += [f"session:{i}" for i in s.scalars(select(TreatmentSession.id).order_by(TreatmentSession.id))]
    found += [f"calibration:{i}" for i in s.scalars(select(CalibrationRecord.id).order_by(CalibrationRecord.id))]
    found += [f"account:{u}" for u in s.scalars(select(UserAccount.username).order_by(UserAccount.username))]
    return found


def record_of(s: Session, entity: str, entity_id: object) -> str | None:
    """Which record an audited change belongs to (an event, note or side effect is part of its session)."""
    key = str(entity_id)
    if entity in ("session", "patient", "calibration"):
        return f"{entity}:{key}" if key.isdigit() else None
    if entity == "user":
        return f"account:{key}"
    model = {"event": EventRecord, "side_effect": SideEffectRecord, "note": SessionNote,
             "signature": Signature, "amendment": Amendment, "wire_log": WireLog}.get(entity)
    if model is None or not key.isdigit():
        return None
    session_id = s.scalar(select(model.session_id).where(model.id == int(key)))
    return None if session_id is None else f"session:{session_id}"


def is_running_session(s: Session, record: str) -> bool:
    kind, _, key = record.partition(":")
    if kind != "session":
        return False
    return s.scalar(select(TreatmentSession.state).where(TreatmentSession.id == int(key))) == "running"
