"""The sample writer: periodic commits, failures reported through the callback, nothing dropped."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from ionto_console.records import RecordsWriteError, SampleWriter, load_events, load_samples, start_session

from records_helpers import new_patient, session_start, stored_samples, wait_until

DEADLINE_S = 5.0


def _wait_for(predicate, what: str) -> None:
    wait_until(predicate, what, DEADLINE_S)


_stored = stored_samples


def _session(db) -> int:
    return start_session(db, session_start(new_patient(db)))


def test_samples_are_committed_without_any_flush(db):
    sid = _session(db)
    writer = SampleWriter(db, sid).start()
    try:
        for i in range(100):
            writer.add(i / 1000, 1.0, 5.0, 5.0, 1.0, 1)
        _wait_for(lambda: _stored(db, sid) == 100 and writer.commits >= 1, "the periodic commit")
    finally:
        writer.close()


def test_add_never_waits_for_the_database(sqlite_db):
    """The controller's add() returns while another connection holds the write lock."""
    db = sqlite_db
    sid = _session(db)
    writer = SampleWriter(db, sid).start()
    raw = db.engine.raw_connection()
    try:
        raw.cursor().execute("BEGIN IMMEDIATE")
        for i in range(2000):
            writer.add(i / 1000, 1.0, 5.0, 5.0, 1.0, 1)  # would hang here if add touched the database
        assert _stored(db, sid) == 0
    finally:
        raw.cursor().execute("ROLLBACK")
        raw.close()
    assert writer.close().complete and _stored(db, sid) == 2000


class _Fault:
    """Injects a database failure into chunk inserts while ``on`` is set (into this process's
    engine: the writers below commit in-process; tests/records/test_commit_process.py has the
    same guarantees with real faults for a writer committing in its own process)."""

    def __init__(self, db, error: Exception) -> None:
        self.on = threading.Event()
        self.error = error
        event.listen(db.engine, "before_cursor_execute", self._hook)

    def _hook(self, conn, cursor, statement, *args):
        if self.on.is_set() and statement.lstrip().upper().startswith("INSERT INTO SAMPLE_CHUNKS"):
            raise self.error


def test_failure_is_reported_once_and_every_sample_is_written_after_recovery(db):
    sid = _session(db)
    fault = _Fault(db, OperationalError("INSERT INTO sample_chunks", {}, OSError("No space left on device")))
    reported: list[RecordsWriteError] = []
    writer = SampleWriter(db, sid, on_error=reported.append, commit_process=False).start()
    try:
        fault.on.set()
        for i in range(3000):
            writer.add(i / 1000, 2.0, 10.0, 5.0, 2.0, 1)
        writer.add_event("trip", "Compliance", {"v": 90.0}, t=1.0, alarm=True)
        _wait_for(lambda: reported, "the error callback")
        _wait_for(lambda: writer.report().samples_unsaved == 3000, "the unsaved count")
        assert len(reported) == 1 and "disk" in str(reported[0]).lower() and "full" in str(reported[0]).lower()
        assert _stored(db, sid) == 0 and load_events(db, sid) == []
        fault.on.clear()
        _wait_for(lambda: _stored(db, sid) == 3000, "the retry after recovery")
    finally:
        report = writer.close()
    assert report.complete and report.error is None and report.samples_written == 3000
    series = load_samples(db, sid)
    np.testing.assert_allclose(series.t, np.arange(3000) / 1000, atol=1e-6)
    assert [e.kind for e in load_events(db, sid)] == ["trip"]


def test_real_sqlite_full_database_is_reported_and_spilled(sqlite_db, tmp_path):
    """SQLite's own SQLITE_FULL (max_page_count reached), not a mock: the writer says so and keeps the data."""
    db = sqlite_db
    sid = _session(db)

    @event.listens_for(db.engine, "before_cursor_execute")
    def _cap(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO SAMPLE_CHUNKS"):
            (pages,) = cursor.execute("PRAGMA page_count").fetchone()
            cursor.execute(f"PRAGMA max_page_count={pages}")

    reported: list[RecordsWriteError] = []
    writer = SampleWriter(db, sid, on_error=reported.append, commit_process=False).start()
    for i in range(4000):
        writer.add(i / 1000, 3.0, 15.0, 5.0, 3.0, 1)
    _wait_for(lambda: reported, "the error callback")
    report = writer.close(timeout=DEADLINE_S)
    assert "full" in str(reported[0]).lower()
    assert report.samples_unsaved == 4000 and not report.complete and report.error is not None
    path = writer.spill(tmp_path / "unsaved")
    with np.load(path) as saved:
        np.testing.assert_allclose(saved["t"], np.arange(4000) / 1000, atol=1e-9)
        assert int(saved["session_id"]) == sid


def test_a_failing_callback_does_not_stop_the_writer(sqlite_db):
    db = sqlite_db
    sid = _session(db)
    fault = _Fault(db, OperationalError("INSERT", {}, OSError("database or disk is full")))
    calls = []

    def bad_callback(error):
        calls.append(error)
        raise RuntimeError("UI is gone")

    writer = SampleWriter(db, sid, on_error=bad_callback, commit_process=False).start()
    fault.on.set()
    writer.add(0.0, 1.0, 1.0, 1.0, 1.0, 0)
    _wait_for(lambda: calls, "the callback")
    fault.on.clear()
    assert writer.flush()
    assert writer.close().complete and _stored(db, sid) == 1


def test_chunks_continue_after_a_reopened_writer(sqlite_db):
    db = sqlite_db
    sid = _session(db)
    first = SampleWriter(db, sid)
    first.add(0.0, 1.0, 1.0, 1.0, 1.0, 0)
    first.close()
    second = SampleWriter(db, sid).start()
    second.add(1.0, 2.0, 2.0, 2.0, 2.0, 0)
    assert second.close().complete
    assert load_samples(db, sid).current_ma.tolist() == [1.0, 2.0]


def test_unserializable_evidence_is_refused_in_the_callers_thread(sqlite_db):
    writer = SampleWriter(sqlite_db, _session(sqlite_db))
    with pytest.raises(TypeError):
        writer.add_event("x", "y", {"obj": object()})
    assert writer.close().complete
