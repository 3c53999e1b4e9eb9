"""The sample writer committing in a process of its own (records.commit_process): the commits
leave the console's interpreter, and a process that fails, dies or hangs is seen exactly like a
database that does: reported, retried, nothing dropped, what is unsaved said and spilled."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
from sqlalchemy import event, func, select, text

from ionto_console.records import RecordsWriteError, SampleWriter, load_events, load_samples, start_session
from ionto_console.records.models import TreatmentSession

from records_helpers import new_patient, session_start, stored_samples, wait_until

DEADLINE_S = 10.0


def _wait_for(predicate, what: str) -> None:
    wait_until(predicate, what, DEADLINE_S)


_stored = stored_samples


def _session(db) -> int:
    with db.read() as s:
        count = int(s.scalar(select(func.count()).select_from(TreatmentSession)))
    return start_session(db, session_start(new_patient(db, f"P-{count + 1:04d}")))


def _add(writer: SampleWriter, lo: int, hi: int) -> None:
    for i in range(lo, hi):
        writer.add(i / 1000, 2.0, 10.0, 5.0, 2.0, 1)


def test_the_commits_are_made_outside_the_consoles_interpreter(db):
    """No sample insert and no commit runs in this process (its GIL cannot delay them), and yet
    every sample and event is saved, in order, and the commit times reach ``on_commit``."""
    sid = _session(db)
    ours: list[str] = []
    threads: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _seen(conn, cursor, statement, *args):
        if "sample_chunks" in statement.lower() and statement.lstrip().upper().startswith("INSERT"):
            ours.append(statement)
            threads.append(threading.current_thread().name)

    commits: list[float] = []
    writer = SampleWriter(db, sid, on_commit=commits.append).start()
    try:
        _add(writer, 0, 5000)
        writer.add_event("trip", "Compliance", {"v": 90.0}, t=1.0, alarm=True)
        assert writer.flush(DEADLINE_S)
        _add(writer, 5000, 6000)
    finally:
        report = writer.close(DEADLINE_S)
    assert report.complete and report.samples_written == 6000 and report.events_written == 1
    assert ours == [], threads
    np.testing.assert_allclose(load_samples(db, sid).t, np.arange(6000) / 1000, atol=1e-6)
    assert [e.kind for e in load_events(db, sid)] == ["trip"]
    assert commits == sorted(commits) and commits[-1] <= time.monotonic()
    assert writer.last_commit == commits[-1]


def test_a_database_failure_in_the_process_is_reported_once_and_all_is_saved_after(db):
    """A real fault, not a mock: another connection holds the lock the writer needs (SQLite: the
    write lock; PostgreSQL: the sample table's) longer than the writer waits."""
    sid = _session(db)
    reported: list[RecordsWriteError] = []
    writer = SampleWriter(db, sid, on_error=reported.append).start()
    try:
        with db.write() as s:
            if db.dialect == "postgresql":  # the writer's INSERT waits past its statement timeout
                s.execute(text("LOCK TABLE sample_chunks IN EXCLUSIVE MODE"))
            else:  # BEGIN IMMEDIATE holds the write lock: the writer's BEGIN waits past its busy timeout
                s.execute(select(TreatmentSession.id).where(TreatmentSession.id == sid)).one()
            _add(writer, 0, 3000)
            writer.add_event("trip", "Compliance", {"v": 90.0}, t=1.0, alarm=True)
            _wait_for(lambda: reported, "the error callback")
            _wait_for(lambda: writer.report().samples_unsaved == 3000, "the unsaved count")
            time.sleep(0.5)  # several failed retries: still one report
            assert len(reported) == 1 and writer.report().events_unsaved == 1
        _wait_for(lambda: _stored(db, sid) == 3000, "the retry after the lock is gone")
    finally:
        report = writer.close(DEADLINE_S)
    assert report.complete and report.error is None and report.samples_written == 3000
    np.testing.assert_allclose(load_samples(db, sid).t, np.arange(3000) / 1000, atol=1e-6)
    assert [e.kind for e in load_events(db, sid)] == ["trip"]
    assert len(reported) == 1


def test_a_process_that_dies_is_reported_replaced_and_loses_nothing(db):
    sid = _session(db)
    reported: list[RecordsWriteError] = []
    writer = SampleWriter(db, sid, on_error=reported.append).start()
    try:
        _add(writer, 0, 2000)
        assert writer.flush(DEADLINE_S)
        first = writer._child
        first.proc.kill()
        _add(writer, 2000, 4000)
        _wait_for(lambda: reported, "the report of the dead process")
        assert "process stopped" in str(reported[0])
        _wait_for(lambda: writer._child is not first and _stored(db, sid) == 4000, "a new process saving the rest")
        _add(writer, 4000, 5000)
    finally:
        report = writer.close(DEADLINE_S)
    assert report.complete and report.samples_written == 5000
    np.testing.assert_allclose(load_samples(db, sid).t, np.arange(5000) / 1000, atol=1e-6)  # once each, in order


def test_a_hung_process_ages_the_commit_and_close_says_what_is_unsaved(db, tmp_path):
    """A process that stops answering (SIGSTOP: like a driver call that never returns) is seen
    through ``commit_age`` (the records watchdog), and close reports and spills what it kept."""
    sid = _session(db)
    writer = SampleWriter(db, sid).start()
    child = writer._child
    try:
        _add(writer, 0, 1000)
        assert writer.flush(DEADLINE_S)
        os.kill(child.proc.pid, signal.SIGSTOP)
        _add(writer, 1000, 3000)
        _wait_for(lambda: writer.commit_age() > 1.0, "the commit age to grow")
        assert not writer.flush(0.2)
        report = writer.close(timeout=1.0)
    finally:
        try:
            os.kill(child.proc.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert not report.complete and report.samples_unsaved == 2000 and report.samples_written == 1000
    assert child.proc.wait(DEADLINE_S) is not None  # close gave up on it: it was ended
    with np.load(writer.spill(tmp_path / "unsaved")) as saved:
        np.testing.assert_allclose(saved["t"], np.arange(1000, 3000) / 1000, atol=1e-9)
    assert _stored(db, sid) == 1000


def test_only_a_database_another_process_can_open_gets_a_commit_process():
    """One connection's in-memory SQLite cannot be shared with another process."""
    from ionto_console.records.writer import _in_memory

    assert _in_memory("sqlite://") and _in_memory("sqlite:///:memory:")
    assert not _in_memory("sqlite:////tmp/records.sqlite3")
    assert not _in_memory("postgresql+psycopg://ionto@db/ionto")


def test_only_journalled_sample_commits_skip_the_wal_fsync():
    """SQLite synchronous=NORMAL only where a power cut can lose nothing the journal lacks."""
    from ionto_console.records.commit_process import needs_full_sync
    from ionto_console.records.journal import JournalRecord
    from ionto_console.records.samples import SampleSeries

    def samples(n):
        return JournalRecord("samples", n, {}, SampleSeries.empty())

    def event(n):
        return JournalRecord("event", n, {"ekind": "trip"})

    assert not needs_full_sync([samples(5), samples(6)], 4)
    assert not needs_full_sync([], 4)  # a heartbeat alone
    assert needs_full_sync([samples(4), samples(5)], 4)  # record 4 is not in the journal
    assert needs_full_sync([samples(5), event(6)], 0)  # an event's audit head is anchored outside
    assert needs_full_sync([], 0, warm_up=True)


def test_the_writer_process_opens_a_normal_and_a_full_sqlite_connection(sqlite_db, tmp_path):
    from ionto_console.records.database import open_writer_database

    for mode, expected in (("FULL", 2), ("NORMAL", 1)):
        db = open_writer_database(sqlite_db.url, tmp_path, synchronous=mode)
        try:
            with db.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == expected
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        finally:
            db.close()


def test_the_commit_age_follows_the_process_even_while_this_side_lags(db):
    """The records watchdog reads the process's own newest commit time: while the console's link
    thread cannot apply acknowledgements (here: held on purpose; flat out: waiting for its GIL),
    the age still shows the database being written."""
    sid = _session(db)
    writer = SampleWriter(db, sid).start()
    held = threading.Event()
    release = threading.Event()
    acknowledged = writer._acknowledged

    def slow(upto, at):
        held.set()
        release.wait(DEADLINE_S)
        acknowledged(upto, at)

    writer._acknowledged = slow
    try:
        _add(writer, 0, 100)
        _wait_for(held.is_set, "an acknowledgement to be held")
        held_at = time.monotonic()
        # The process keeps committing (heartbeats every 100 ms): the age drops below the time
        # the acknowledgements have been held, which an age from acknowledgements never can.
        _wait_for(lambda: writer.commit_age() < time.monotonic() - held_at - 0.2, "the process's commit time")
        assert writer.last_commit < held_at
    finally:
        release.set()
        report = writer.close(DEADLINE_S)
    assert report.complete and _stored(db, sid) == 100


class _FullDiskJournal:
    """A session journal on a full local disk (the writer goes on without it, and says so)."""

    def append(self, records, *, sync=True):
        raise OSError(28, "No space left on device")


def test_records_the_journal_does_not_hold_are_sent_as_such(db, tmp_path):
    """The process may skip the WAL fsync only for records the journal holds: the writer tells
    it which (no journal, or a journal that failed: not held)."""
    from ionto_console.records.journal import SessionJournal
    from ionto_console.records.store import session_uid

    def sent_flags(journal) -> list[bool]:
        sid = _session(db)
        writer = SampleWriter(db, sid, journal=journal).start()
        flags: list[bool] = []
        send = writer._child.send

        def spy(message):
            if message[0] == "records":
                flags.append(message[2])
            send(message)

        writer._child.send = spy
        try:
            _add(writer, 0, 500)
            assert writer.flush(DEADLINE_S)
        finally:
            assert writer.close(DEADLINE_S).complete
        assert _stored(db, sid) == 500
        return flags

    sid = _session(db)
    good = SessionJournal.create(tmp_path, session_uid(db, sid), sid, "station")
    try:
        assert set(sent_flags(good)) == {True}
    finally:
        good.close()
    assert set(sent_flags(_FullDiskJournal())) == {False}
    assert set(sent_flags(None)) == {False}
