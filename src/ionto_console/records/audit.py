"""Append-only audit trail, each entry chained to the previous one by SHA-256.

WHY a hash chain: an entry's hash covers its own canonical content *and* the
previous entry's hash, so editing any stored entry, deleting one from the
middle, or reordering them breaks the chain at that entry, and
``verify_audit`` names it. Removing the newest entries, or editing rows and
recomputing every hash, leaves a valid-looking chain: the heads each station
signs and keeps outside the database (``records.anchor``) catch that. Each
entry also seals the content digest of the record it changed
(``records.content``), so a row edited outside the console shows too.

``append_audit`` must be called inside the same write transaction as the
change it describes (``Database.write()``): either both are stored or
neither. The chain tail is read and extended under the write lock (SQLite
``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), and ``seq`` is unique, so
two stations can never fork the chain.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import AuditEntry

GENESIS_HASH = "0" * 64
#: Arbitrary constant naming the PostgreSQL advisory lock that serializes audit appends.
_PG_AUDIT_LOCK = 0x10A7_0001


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("audit payload datetimes must be timezone-aware")
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not serializable in the audit trail: {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8, no NaN (WHY: the hash must be reproducible)."""
    return json.dumps(value, default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def entry_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    payload = prev_hash + "\n" + canonical_json(dict(fields))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    """The stored columns an entry's hash covers (everything but id and the hash itself).

    The record digest columns (migration 0006) are covered when the entry has them; entries written
    before 0006 have none and keep verifying with the hash they were written with."""
    fields = {
        "seq": entry.seq, "at": entry.at, "who": entry.who, "action": entry.action, "entity": entry.entity,
        "entity_id": entry.entity_id, "before": entry.before, "after": entry.after, "why": entry.why,
    }
    if entry.record is not None or entry.content_sha256 is not None or entry.content is not None:
        fields.update(record=entry.record, content_sha256=entry.content_sha256, content=entry.content)
    return fields


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _lock_tail(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_AUDIT_LOCK})


def append_audit(
    session: Session,
    *,
    who: str,
    action: str,
    entity: str,
    entity_id: object,
    before: Any = None,
    after: Any = None,
    why: str = "",
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Append one chained entry in the caller's transaction (flushes so ``seq`` conflicts show now)."""
    if not who.strip():
        raise ValueError("every audit entry needs who did it")
    # Sealed before the tail lock: hashing a long session's samples (~0.2 s) must not make the other
    # stations' writers wait on the PostgreSQL advisory lock.
    record, content, digest = _seal(session, entity, entity_id)
    _lock_tail(session)
    tail = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (tail[0] + 1, tail[1]) if tail else (1, GENESIS_HASH)
    when = (at or utc_now()).astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
    entry = AuditEntry(
        seq=seq, at=when, who=who, action=action, entity=entity, entity_id=str(entity_id),
        before=canonical_json(before), after=canonical_json(after), why=why, prev_hash=prev,
        record=record, content=content, content_sha256=digest,
    )
    entry.hash = entry_hash(prev, _hashed_fields(entry))
    session.add(entry)
    session.flush()
    session.info[AUDIT_HEAD_KEY] = (entry.seq, entry.hash)
    return entry


#: ``Session.info`` key where the newest appended (seq, hash) waits for the commit (records/anchor.py).
AUDIT_HEAD_KEY = "ionto_audit_head"


def _seal(session: Session, entity: str, entity_id: object) -> tuple[str, str, str]:
    """(record, parts JSON, digest) of the record this change belongs to, as it is after the change.

    WHY in the audit append: every writer already calls ``append_audit`` in the change's own
    transaction, so every audited change seals its record without each caller knowing how. A
    running session is not sealed at every event (that would hash all its samples each time): its
    digest is empty until it closes, and the close seals everything it holds."""
    from .content import digest_of_parts, is_running_session, record_of, record_parts

    session.flush()
    record = record_of(session, entity, entity_id)
    if record is None:
        return "", "", ""
    if is_running_session(session, record):
        return record, "", ""
    parts = record_parts(session, record)
    if parts is None:
        return record, canonical_json(None), "deleted"
    return record, canonical_json(parts), digest_of_parts(parts)


@dataclass(frozen=True)
class AuditVerdict:
    """Result of verifying the audit trail and every record against it.

    ``reason`` says the first problem in plain words (or the summary when all is well);
    ``first_broken_entry_id`` is the audit_log id where the chain breaks (None when the chain holds);
    ``first_bad_record`` names the first record (or the audit trail) that is wrong; ``problems`` lists
    them all (at most ``records.verify.MAX_PROBLEMS``)."""

    ok: bool
    first_broken_entry_id: int | None
    reason: str
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    first_bad_record: str | None = None
    problems: tuple[str, ...] = ()
    records: int = 0
    unsealed: int = 0
    anchored: int = 0
    anchor_note: str = ""

    @property
    def head_short(self) -> str:
        """The head as printed on reports (``#seq`` and 16 hex digits)."""
        return f"#{self.head_seq} {self.head_hash[:16]}"


def verify_audit(db: Any, records: Any = None) -> AuditVerdict:
    """Walk the chain, check the heads this station anchored, and recompute every record's content.

    See ``records.verify``: the chain catches edited entries, the anchors a deleted tail, a deleted
    trail or a recomputed chain, and the record digests an edited, added or deleted row anywhere in a
    record. ``records``: check only these records' content (e.g. one session for its report); the
    chain and the anchors are always checked whole."""
    from .verify import verify_records

    return verify_records(db, records)


def current_head(db: Any) -> str:
    """The chain's head as printed on reports, ``#seq`` and 16 hex digits (``#0 0000...`` when empty).

    Cheap (one indexed row): for a document that prints the head without verifying the records."""
    with db.read() as session:
        tail = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, head = (tail[0], tail[1]) if tail else (0, GENESIS_HASH)
    return f"#{seq} {head[:16]}"


def audit_history(db: Any, entity: str | None = None, entity_id: object | None = None) -> list[dict[str, Any]]:
    """Entries (optionally of one record) as plain dicts with before/after decoded, oldest first."""
    with db.read() as session:
        query = select(AuditEntry).order_by(AuditEntry.seq)
        if entity is not None:
            query = query.where(AuditEntry.entity == entity)
        if entity_id is not None:
            query = query.where(AuditEntry.entity_id == str(entity_id))
        return [
            {"id": e.id, "seq": e.seq, "at": e.at, "who": e.who, "action": e.action, "entity": e.entity,
             "entity_id": e.entity_id, "before": json.loads(e.before), "after": json.loads(e.after),
             "why": e.why, "hash": e.hash}
            for e in session.scalars(query)
        ]


def finite_or_none(value: float | None) -> float | None:
    """NaN/inf cannot go into canonical JSON; the audit records them as null."""
    return None if value is None or not math.isfinite(value) else value
