"""The audit trail: every change leaves an entry, and tampering with the trail shows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from ionto_console.records import (
    InvalidRecord,
    SampleWriter,
    add_note,
    audit_history,
    finish_session,
    record_side_effect,
    sign_session,
    start_session,
    verify_audit,
)
from ionto_console.records.audit import append_audit, canonical_json
from ionto_console.records.models import AuditEntry, Patient

from records_helpers import account, new_patient, session_start


def _populate(db) -> int:
    pid = new_patient(db)
    sid = start_session(db, session_start(pid))
    writer = SampleWriter(db, sid)
    writer.add(0.0, 1.0, 5.0, 5.0, 1.0, 1)
    writer.add_event("state", "treating", {})
    writer.close()
    record_side_effect(db, sid, kind="nausea", who="dana")
    finish_session(db, sid, state="stopped", reason="Nausea", dose_delivered_ma_min=3, who="dana")
    add_note(db, sid, "Nauseous after 4 min", author="dana")
    sign_session(db, sid, username=account(db, "dana", "Dana"), meaning="performed")
    return sid


def _ids(db) -> list[int]:
    with db.read() as s:
        return list(s.scalars(select(AuditEntry.id).order_by(AuditEntry.seq)))


def test_every_change_is_audited_and_the_chain_verifies(db):
    _populate(db)
    actions = [(h["entity"], h["action"]) for h in audit_history(db)]
    assert actions == [("patient", "create"), ("session", "start"), ("event", "add"), ("side_effect", "add"),
                       ("session", "close"), ("note", "add"), ("user", "create user"), ("session", "sign")]
    verdict = verify_audit(db)
    assert verdict.ok and verdict.entries == 8 and verdict.first_broken_entry_id is None
    assert verdict.head_hash == audit_history(db)[-1]["hash"]


def test_edited_entry_is_named(db):
    _populate(db)
    victim = _ids(db)[3]
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET who = 'mallory' WHERE id = :id"), {"id": victim})
    verdict = verify_audit(db)
    assert not verdict.ok and verdict.first_broken_entry_id == victim and "edited" in verdict.reason


def test_edit_with_recomputed_hash_breaks_the_next_link(db):
    _populate(db)
    ids = _ids(db)
    with db.write() as s:
        entry = s.get(AuditEntry, ids[2])
        entry.why = "rewritten"
        from ionto_console.records.audit import _hashed_fields, entry_hash

        entry.hash = entry_hash(entry.prev_hash, _hashed_fields(entry))
    verdict = verify_audit(db)
    assert not verdict.ok and verdict.first_broken_entry_id == ids[3]
    assert any("link" in problem for problem in verdict.problems)
    # The station's anchored head names the edited entry itself.
    assert verdict.reason.startswith(f"audit entry {ids[2]} ") and "anchored" in verdict.reason


def test_deleted_entry_is_named_by_its_successor(db):
    _populate(db)
    ids = _ids(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[4]})
    verdict = verify_audit(db)
    assert not verdict.ok and verdict.first_broken_entry_id == ids[5] and "deleted" in verdict.reason


def test_deleting_the_first_entry_shows(db):
    _populate(db)
    ids = _ids(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[0]})
    verdict = verify_audit(db)
    assert not verdict.ok and verdict.first_broken_entry_id == ids[1]


def test_a_failed_change_leaves_neither_record_nor_audit_entry(db):
    pid = new_patient(db)
    signer = account(db, "dana", "Dana")
    before = len(audit_history(db))
    with pytest.raises(InvalidRecord):
        sign_session(db, start_session(db, session_start(pid)), username=signer, meaning="")
    assert len(audit_history(db)) == before + 1  # only the session start
    with pytest.raises(RuntimeError):
        with db.write() as s:
            s.add(Patient(identifier="X-1", name="Ghost", notes="", created_at=__import__("datetime").datetime.now(
                __import__("datetime").timezone.utc)))
            s.flush()
            append_audit(s, who="dana", action="create", entity="patient", entity_id="X-1")
            raise RuntimeError("crash inside the transaction")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Patient).where(Patient.identifier == "X-1")) == 0
    assert len(audit_history(db)) == before + 1 and verify_audit(db).ok


def test_canonical_json_is_order_independent_and_refuses_naive_times():
    import datetime as dt

    assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1}) == '{"a":[1,2],"b":1}'
    with pytest.raises(ValueError):
        canonical_json({"at": dt.datetime(2026, 1, 1)})
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
