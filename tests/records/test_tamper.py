"""The tamper suite: every edit an insider can make outside the console is detected and named.

Each test builds the same signed session, makes one edit straight in the
database (SQL, as an insider with the database password would), and checks
that verification fails, names the record, and says what is wrong in plain
words. Runs on SQLite always and on PostgreSQL with the throwaway server.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ionto_console.records import (
    SampleWriter,
    add_note,
    finish_session,
    open_database,
    record_side_effect,
    sign_session,
    start_session,
    verify_audit,
)
from ionto_console.records.anchor import ANCHORS_FILE, anchor_of
from ionto_console.records.audit import GENESIS_HASH, _hashed_fields, canonical_json, entry_hash
from ionto_console.records.content import digest_of_parts, record_parts
from ionto_console.records.models import AuditEntry

from records_helpers import account, new_patient, session_start


@pytest.fixture
def station(tmp_path: Path) -> Path:
    folder = tmp_path / "station-data"
    folder.mkdir()
    return folder


@pytest.fixture
def tdb(db_url, station):
    database = open_database(db_url, anchor_folder=station)
    try:
        yield database
    finally:
        database.close()


def _record(db) -> int:
    """A complete, signed session with samples, events, a side effect and a note."""
    pid = new_patient(db)
    sid = start_session(db, session_start(pid))
    writer = SampleWriter(db, sid)
    for i in range(2500):  # three chunks of at most 1000 samples
        writer.add(i * 0.001, 2.0, 6.0, 3.0, 2.0, 1)
    writer.add_event("state", "treating", {"target_ma": 2.0})
    writer.add_event("target", "target 2.0 mA", {"target_ma": 2.0})
    writer.close()
    record_side_effect(db, sid, kind="tingling", who="dana")
    finish_session(db, sid, state="complete", reason="", dose_delivered_ma_min=40.0, who="dana")
    add_note(db, sid, "Tolerated well", author="dana")
    sign_session(db, sid, username=account(db, "dana", "Dana Therapist"), meaning="performed and reviewed")
    return sid


def _sql(db, statement: str, **params) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement), params)


def _broken(db, *words: str, record: str | None = None):
    verdict = verify_audit(db)
    assert not verdict.ok, verdict.reason
    if record is not None:
        assert verdict.first_bad_record == record, verdict.problems
    for word in words:
        assert word in verdict.reason, verdict.reason
    return verdict


def test_an_untouched_record_verifies(tdb):
    _record(tdb)
    verdict = verify_audit(tdb)
    assert verdict.ok, verdict.problems
    # One head anchored per audited commit: the writer's one commit holds both events (9 entries, 8 commits;
    # the signer's account is the third record, issue 13: a session is signed by an account).
    assert verdict.records == 3 and verdict.unsealed == 0 and verdict.entries == 9 and verdict.anchored == 8


@pytest.mark.parametrize(("column", "value"), [
    ("dose_delivered_ma_min", 80.0), ("state", "stopped"), ("operator", "mallory"),
])
def test_session_field_edit(tdb, column, value):
    sid = _record(tdb)
    _sql(tdb, f"UPDATE sessions SET {column} = :v WHERE id = :id", v=value, id=sid)
    _broken(tdb, f"session {sid}", f"'{column}' was changed", record=f"session:{sid}")


def test_sample_chunk_edited(tdb):
    sid = _record(tdb)
    with tdb.engine.begin() as conn:
        blob = conn.execute(text("SELECT data FROM sample_chunks WHERE session_id = :s AND seq = 1"),
                            {"s": sid}).scalar_one()
        forged = bytes(blob[:-1]) + bytes([blob[-1] ^ 0xFF])
        conn.execute(text("UPDATE sample_chunks SET data = :d WHERE session_id = :s AND seq = 1"),
                     {"d": forged, "s": sid})
    _broken(tdb, "its samples", record=f"session:{sid}")


def test_sample_chunk_deleted(tdb):
    sid = _record(tdb)
    _sql(tdb, "DELETE FROM sample_chunks WHERE session_id = :s AND seq = 2", s=sid)
    _broken(tdb, "its samples", "3 recorded, 2 now", record=f"session:{sid}")


def test_patient_renamed(tdb):
    sid = _record(tdb)
    _sql(tdb, "UPDATE patients SET name = 'Someone Else'")
    verdict = _broken(tdb, "patient 1", "'name' was changed", record="patient:1")
    assert not any(f"session {sid}" in p for p in verdict.problems)  # the session record holds no patient copy


def test_signature_renamed(tdb):
    sid = _record(tdb)
    _sql(tdb, "UPDATE signatures SET name = 'Dr Mallory'")
    _broken(tdb, f"session {sid}", "its signatures", record=f"session:{sid}")


def test_events_deleted(tdb):
    sid = _record(tdb)
    _sql(tdb, "DELETE FROM events WHERE session_id = :s", s=sid)
    _broken(tdb, f"session {sid}", "its events", "2 recorded, 0 now", record=f"session:{sid}")


def test_side_effect_and_note_edits(tdb):
    sid = _record(tdb)
    _sql(tdb, "UPDATE side_effects SET kind = 'none'")
    _sql(tdb, "UPDATE session_notes SET text = 'all fine'")
    verdict = _broken(tdb, "its notes", "its side effects", record=f"session:{sid}")
    assert len(verdict.problems) == 1


def test_audit_tail_deleted(tdb):
    _record(tdb)
    _sql(tdb, "DELETE FROM audit_log WHERE seq > 5")
    _broken(tdb, "newest audit entries were deleted", "now ends at #5", record="audit trail")


def test_whole_audit_trail_deleted(tdb):
    _record(tdb)
    _sql(tdb, "DELETE FROM audit_log")
    verdict = _broken(tdb, "whole audit trail was deleted", record="audit trail")
    assert any("not in the audit trail" in p for p in verdict.problems)


def test_a_record_added_outside_the_console(tdb):
    _record(tdb)
    _sql(tdb, "INSERT INTO patients (identifier, name, notes, created_at) VALUES ('X-9', 'Ghost', '', "
              "'2026-01-01 00:00:00')")
    _broken(tdb, "is not in the audit trail")


def _recompute_chain(db, sid: int) -> None:
    """The strongest insider edit: change a row, re-seal its record and recompute every hash."""
    with Session(db.engine) as s, s.begin():
        s.execute(text("UPDATE sessions SET dose_delivered_ma_min = 80 WHERE id = :id"), {"id": sid})
        parts = record_parts(s, f"session:{sid}")
        latest = s.scalars(select(AuditEntry).where(AuditEntry.record == f"session:{sid}")
                           .order_by(AuditEntry.seq.desc())).first()
        latest.content, latest.content_sha256 = canonical_json(parts), digest_of_parts(parts)
        prev = GENESIS_HASH
        for entry in s.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
            entry.prev_hash = prev
            entry.hash = entry_hash(prev, _hashed_fields(entry))
            prev = entry.hash


def test_edit_and_recompute_the_chain_is_caught_by_the_anchor(tdb, db_url, tmp_path):
    sid = _record(tdb)
    _recompute_chain(tdb, sid)
    verdict = _broken(tdb, "not the one this station anchored", "chain recomputed")
    # Without the anchor (another folder: no heads) this edit verifies: the anchor is what catches it.
    bare = open_database(db_url, anchor_folder=tmp_path / "elsewhere")
    try:
        assert verify_audit(bare).ok
    finally:
        bare.close()
    assert verdict.first_bad_record.startswith("audit entry")


def test_a_forged_anchor_line_is_named(tdb, station):
    _record(tdb)
    path = station / ANCHORS_FILE
    lines = path.read_text().splitlines()
    item = json.loads(lines[-1])
    item["head"] = "f" * 64
    path.write_text("\n".join([*lines[:-1], json.dumps(item)]) + "\n")
    _broken(tdb, f"line {len(lines)} of {path}", "not signed by this station's key")


def test_key_and_anchor_file_are_private(tdb, station):
    _record(tdb)
    anchor, label = anchor_of(tdb)
    assert label == tdb.url or "***" in label
    for path in (anchor.key_path, anchor.path):
        assert path.stat().st_mode & 0o777 == 0o600


def test_running_session_is_unsealed_until_it_closes(tdb):
    pid = new_patient(tdb)
    sid = start_session(tdb, session_start(pid, started_at=dt.datetime.now(dt.timezone.utc)))
    writer = SampleWriter(tdb, sid)
    writer.add(0.0, 1.0, 5.0, 5.0, 1.0, 1)
    writer.add_event("state", "treating", {})
    writer.close()
    verdict = verify_audit(tdb)
    assert verdict.ok and verdict.unsealed == 1
    # A session closed by SQL while its trail has it running is named.
    _sql(tdb, "UPDATE sessions SET state = 'complete' WHERE id = :id", id=sid)
    _broken(tdb, "closed outside the console", record=f"session:{sid}")


def test_the_report_of_a_changed_session_says_so(tdb):
    from ionto_console.records import report_data

    sid = _record(tdb)
    assert report_data(tdb, sid)["audit"]["ok"]
    _sql(tdb, "UPDATE sessions SET operator = 'mallory' WHERE id = :id", id=sid)
    audit = report_data(tdb, sid)["audit"]
    assert not audit["ok"] and f"session {sid}" in audit["reason"] and audit["head_short"].startswith("#")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_byte_or_value_is_detected_and_undoing_it_verifies_again(sqlite_db, data):
    """Property: whichever sample byte or session value is changed, verification fails on that
    session; put back, the record verifies again (the check is exact, not a heuristic)."""
    if not getattr(sqlite_db, "_tamper_sid", None):
        sqlite_db._tamper_sid = _record(sqlite_db)
    sid = sqlite_db._tamper_sid
    if data.draw(st.booleans(), label="sample byte"):
        seq = data.draw(st.integers(0, 2), label="chunk")
        with sqlite_db.engine.begin() as conn:
            blob = bytes(conn.execute(text("SELECT data FROM sample_chunks WHERE session_id = :s AND seq = :q"),
                                      {"s": sid, "q": seq}).scalar_one())
        at = data.draw(st.integers(0, len(blob) - 1), label="byte")
        mask = data.draw(st.integers(1, 255), label="xor")
        forged = blob[:at] + bytes([blob[at] ^ mask]) + blob[at + 1:]
        statement = "UPDATE sample_chunks SET data = :v WHERE session_id = :s AND seq = :q"
        edit, undo = {"v": forged, "s": sid, "q": seq}, {"v": blob, "s": sid, "q": seq}
    else:
        column = data.draw(st.sampled_from(["dose_delivered_ma_min", "dose_target_ma_min", "cal_gain"]))
        with sqlite_db.engine.begin() as conn:
            old = conn.execute(text(f"SELECT {column} FROM sessions WHERE id = :s"), {"s": sid}).scalar_one()
        new = data.draw(st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: v != old))
        statement = f"UPDATE sessions SET {column} = :v WHERE id = :s"
        edit, undo = {"v": new, "s": sid}, {"v": old, "s": sid}
    _sql(sqlite_db, statement, **edit)
    verdict = verify_audit(sqlite_db)
    assert not verdict.ok and verdict.first_bad_record == f"session:{sid}"
    _sql(sqlite_db, statement, **undo)
    assert verify_audit(sqlite_db).ok


def test_records_from_before_tamper_evidence_are_counted_then_sealed(tdb, monkeypatch):
    """A database upgraded from before migration 0006: its entries carry no seal."""
    from ionto_console.records import audit
    from ionto_console.records.verify import seal_legacy

    monkeypatch.setattr(audit, "_seal", lambda *_: (None, None, None))
    sid = _record(tdb)
    monkeypatch.undo()
    verdict = verify_audit(tdb)
    assert verdict.ok and verdict.unsealed == 3 and "before tamper evidence" in verdict.reason
    assert sorted(seal_legacy(tdb, who="ada")) == ["account:dana", "patient:1", f"session:{sid}"]
    verdict = verify_audit(tdb)
    assert verdict.ok and verdict.unsealed == 0
    assert seal_legacy(tdb, who="ada") == []
    _sql(tdb, "UPDATE sessions SET operator = 'mallory'")
    _broken(tdb, "'operator' was changed", record=f"session:{sid}")


def test_a_forged_line_beyond_the_chain_is_forged_not_a_deleted_tail(tdb, station):
    _record(tdb)
    path = station / ANCHORS_FILE
    item = json.loads(path.read_text().splitlines()[-1])
    item.update(seq=999, head="e" * 64)
    with path.open("a") as handle:
        handle.write(json.dumps(item) + "\n")
    verdict = _broken(tdb, "not signed by this station's key")
    assert not any("deleted" in p for p in verdict.problems), verdict.problems


def test_the_black_box_is_part_of_the_sealed_record(tdb):
    from ionto_console.records.wire_log import WireRecording, store_wire_log

    sid = _record(tdb)
    recorder = WireRecording(dt.datetime.now(dt.timezone.utc), 0.0)
    recorder.add(0, 0.001, b"\x01\x02\x03")
    recorder.add(1, 0.002, b"\x04\x05")
    store_wire_log(tdb, sid, recorder.finish(), who="console")
    assert verify_audit(tdb).ok
    _sql(tdb, "UPDATE session_wire_logs SET truncated = :t", t=True)
    _broken(tdb, "its black box", record=f"session:{sid}")


def test_the_start_up_check_catches_a_deleted_tail_a_deleted_trail_and_a_recomputed_chain(db_url, station):
    """The cheap check the console runs when it opens its records (``anchored_tail_problem``)."""
    from ionto_console.app import audit_tail_problem
    from ionto_console.records.verify import anchored_tail_problem

    def reopened_problem() -> str:  # the console closed, someone edited the database, the console starts
        db = open_database(db_url, anchor_folder=station)
        try:
            return audit_tail_problem(db)
        finally:
            db.close()

    db = open_database(db_url, anchor_folder=station)
    try:
        assert anchored_tail_problem(db) == ""  # nothing anchored yet
        sid = _record(db)
        assert anchored_tail_problem(db) == ""
    finally:
        db.close()
    assert reopened_problem() == ""
    db = open_database(db_url, anchor_folder=station)
    try:
        _recompute_chain(db, sid)
    finally:
        db.close()
    assert "audit entry #9 is not the one this station recorded" in reopened_problem()
    db = open_database(db_url, anchor_folder=station)
    try:
        _sql(db, "DELETE FROM audit_log WHERE seq > 5")
    finally:
        db.close()
    problem = reopened_problem()
    assert "ends at entry #5, but this station recorded entry #9" in problem and "Verify audit trail" in problem
    db = open_database(db_url, anchor_folder=station)
    try:  # the console goes on writing past the deleted tail: the evidence stays at every later start
        for _ in range(5):
            add_note(db, sid, "another note", author="dana")
    finally:
        db.close()
    assert "recorded audit entry #6 twice with different contents" in reopened_problem()
    db = open_database(db_url, anchor_folder=station)
    try:
        _sql(db, "DELETE FROM audit_log")
    finally:
        db.close()
    assert "ends at entry #0" in reopened_problem()
    assert audit_tail_problem(None) == ""


def test_the_start_up_check_is_not_fooled_by_a_forged_line(tdb, station):
    """A line not signed by this station (appended by hand) is the full verification's to name, not a false alarm."""
    from ionto_console.records.verify import anchored_tail_problem

    _record(tdb)
    path = station / ANCHORS_FILE
    item = json.loads(path.read_text().splitlines()[-1])
    item.update(seq=999, head="e" * 64)
    with path.open("a") as handle:
        handle.write(json.dumps(item) + "\n")
    assert anchored_tail_problem(tdb) == ""
    assert not verify_audit(tdb).ok  # ... which names it


def test_a_deleted_tail_the_console_wrote_past_is_still_caught(tdb):
    """Delete the newest entries and the rows they sealed; the console then writes past that point,
    so the newest anchored heads match the chain again: the earlier heads for those numbers stay evidence."""
    sid = _record(tdb)
    _sql(tdb, "DELETE FROM audit_log WHERE seq > 8")  # the last entry: the note ...
    _sql(tdb, "DELETE FROM session_notes")  # ... and the note itself
    for _ in range(3):
        add_note(tdb, sid, "a later note", author="dana")  # entries #9-#11, anchored anew
    _broken(tdb, "recorded audit entry #9 twice with different contents", record="audit trail")
