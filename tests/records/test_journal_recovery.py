"""Local journal, journal replay, station identity and start-up integrity (issue 12 items 2, 3, 5)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from ionto_console.app import open_records
from ionto_console.records import SampleWriter, load_samples, load_session, recover_interrupted, start_session
from ionto_console.records.journal import JournalRecord, SessionJournal, journal_files, read_journal
from ionto_console.records.models import SampleChunk, TreatmentSession
from ionto_console.records.recovery import replay_journals
from ionto_console.station_identity import station_id

from records_helpers import new_patient, session_start

ME = "00000000-0000-4000-8000-0000000000aa"
OTHER = "00000000-0000-4000-8000-0000000000bb"


def _session(db, station_id_: str | None = ME) -> tuple[int, str]:
    from dataclasses import replace

    import uuid

    patient = new_patient(db, identifier=f"P-{uuid.uuid4().hex[:8]}")
    sid = start_session(db, replace(session_start(patient), station_id=station_id_))
    with db.read() as s:
        return sid, s.get(TreatmentSession, sid).uid


def test_station_identity_is_created_once_and_kept(tmp_path):
    first = station_id(tmp_path)
    assert first == station_id(tmp_path)
    assert (tmp_path / "station-id").stat().st_mode & 0o777 == 0o600


def test_a_journal_with_a_torn_tail_replays_exactly_once_and_closes_with_its_reason(db, tmp_path):
    sid, uid = _session(db)
    journal = SessionJournal.create(tmp_path, uid, sid, ME)
    writer = SampleWriter(db, sid, journal=journal)
    for i in range(300):
        writer.add(i / 100, 1.0, 5.0, 5.0, 1.0, 1)
    writer.add_event("state", "treating -> interrupted", {})
    writer._take_all()
    writer._journal_batch()  # journaled, never committed: the database went away
    journal.append([JournalRecord("close", 0, {"state": "interrupted", "reason": "records unavailable (test)",
                                                "dose": 0.05, "ended_at": dt.datetime.now(dt.timezone.utc),
                                                "side_effects": [], "who": "t"})])
    with open(journal.path, "ab") as torn:
        torn.write(b"\x10\x00\x00\x00garbage")  # killed mid-write
    assert (journal.path.stat().st_mode & 0o777) == 0o600
    records, was_torn = read_journal(journal.path)
    assert was_torn and [r.kind for r in records] == ["open", "samples", "event", "close"]
    assert replay_journals(db, tmp_path) == [sid]
    summary = load_session(db, sid)
    assert summary.state == "interrupted" and summary.reason == "records unavailable (test)"
    assert len(load_samples(db, sid)) == 300 and summary.sample_count == 300
    assert list(journal_files(tmp_path)) == []  # done with
    assert replay_journals(db, tmp_path) == []


def test_replay_after_a_partial_commit_adds_only_what_is_missing(db, tmp_path):
    sid, uid = _session(db)
    journal = SessionJournal.create(tmp_path, uid, sid, ME)
    writer = SampleWriter(db, sid, journal=journal)
    for i in range(100):
        writer.add(i / 100, 1.0, 5.0, 5.0, 1.0, 1)
    writer.close()  # committed (record 1)
    second = SampleWriter(db, sid, journal=journal)
    for i in range(100, 150):
        second.add(i / 100, 1.0, 5.0, 5.0, 1.0, 1)
    second._take_all()
    second._journal_batch()  # record 2 journaled only
    replay_journals(db, tmp_path)
    assert load_samples(db, sid).t.tolist() == pytest.approx([i / 100 for i in range(150)])


def test_recovery_leaves_other_stations_and_live_heartbeats_alone(db):
    mine, _ = _session(db, ME)
    theirs, _ = _session(db, OTHER)
    live, _ = _session(db, ME)
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    with db.write() as s:
        s.execute(update(TreatmentSession).where(TreatmentSession.id.in_([mine, theirs])).values(heartbeat_at=old))
    writer = SampleWriter(db, live).start()  # beats every 200 ms
    try:
        assert recover_interrupted(db, station="station-1", station_id=ME) == [mine]
    finally:
        writer.close()
    assert load_session(db, theirs).state == "running" and load_session(db, live).state == "running"


def test_a_damaged_sample_chunk_does_not_stop_the_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    db, problem, _ = open_records(url, station_id=ME, data_folder=tmp_path / "data")
    sid, _ = _session(db)
    writer = SampleWriter(db, sid)
    for i in range(50):
        writer.add(i / 100, 1.0, 5.0, 5.0, 1.0, 1)
    writer.close()
    with db.write() as s:
        s.execute(update(SampleChunk).values(data=b"\x00" * 7))
        s.execute(update(TreatmentSession).values(heartbeat_at=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)))
    db.close()
    again, problem, recovered = open_records(url, station_id=ME, data_folder=tmp_path / "data")
    assert problem == "" and recovered == [sid]
    assert "damaged" in load_session(again, sid).reason.lower()
    again.close()


@pytest.mark.parametrize("damage", ["missing", "empty"])
def test_a_records_file_this_station_used_is_not_silently_recreated(tmp_path, damage):
    path = tmp_path / "records.sqlite3"
    db, problem, _ = open_records(f"sqlite:///{path}", station_id=ME, data_folder=tmp_path / "data")
    assert problem == ""
    db.close()
    for extra in tmp_path.glob("records.sqlite3*"):
        extra.unlink()
    if damage == "empty":
        path.write_bytes(b"")
    db, problem, _ = open_records(f"sqlite:///{path}", station_id=ME, data_folder=tmp_path / "data")
    assert db is None and "restore it from a backup" in problem.lower() and str(path) in problem
    assert not path.exists() or path.stat().st_size == 0


def test_a_demo_whose_file_is_gone_starts_a_new_demo_file(tmp_path):
    """A clone removed and cloned again at the same place: its demo records are gone, and the demo starts
    afresh (a clinic's file is refused instead, above). Found on a clean clone where an earlier clone had run."""
    path = tmp_path / ".demo" / "records.sqlite3"
    path.parent.mkdir()
    db, problem, _ = open_records(f"sqlite:///{path}", station_id=ME, data_folder=tmp_path / "data", demo=True)
    assert problem == ""
    db.close()
    for extra in path.parent.glob("records.sqlite3*"):
        extra.unlink()
    db, problem, _ = open_records(f"sqlite:///{path}", station_id=ME, data_folder=tmp_path / "data", demo=True)
    assert problem == "" and db is not None
    db.close()
