"""The sample writer: saves a running session's samples and events from its own threads.

WHY threads and a queue: the controller thread applies the interlocks to
every sample and must never wait on a disk. ``add`` is a ``SimpleQueue.put``
(never blocks, never drops).

Two stages, so a database that hangs cannot stop the journal:

1. The *intake* thread takes what arrived and, every ``JOURNAL_INTERVAL_S``
   (50 ms), appends it to the session's local journal (``records.journal``:
   write-ahead, fsynced) and hands it on as numbered records.
2. The *commit* thread commits the pending records to the database on a
   deadline (``records.commit_policy``): every ``commit_interval_s`` (100 ms)
   at the latest, earlier when the expected cost of the commit (learned from
   its own recent commits) would otherwise end it past 250 ms after the
   previous one; one transaction takes only as many of the oldest records as
   fit that budget. A backlog (after an outage, or samples offered faster than
   the database takes them) is carried over into the next transactions, right
   after, never grown into one long one, so commits stay on time. Each commit
   also sets the session's heartbeat and ``journal_seq`` (the newest journal
   record now in the database), in the same transaction.

   By default these commits run in a process of their own
   (``records.commit_process``, its own interpreter): in this one, a commit
   waited 5-70 ms for the GIL after every database call while the controller
   and the intake kept it busy, and flat out that stretched single gaps past
   250 ms. The commit thread is then the *link*: a sender thread sends the
   process each journalled record, the link applies the process's
   acknowledgements (each with the commit's own monotonic time) and replaces
   a process that dies. Records stay pending here until acknowledged, so
   everything below holds in both modes. ``commit_process=False`` (and an
   in-memory SQLite database) commits in this process's thread, as before.

``commit_age`` (from ``last_commit``, monotonic, and in process mode the
process's own newest commit time) is read by the controller's records
watchdog from outside: a commit thread or process stuck inside a driver call
(a server whose processes are stopped) cannot hide that nothing is being saved.

Failure (disk full, database gone): the pending records stay in memory and
in the journal; ``on_error`` is called with a ``RecordsWriteError`` whose
message can be shown as is (once per failure episode, from the commit thread;
the callback must only signal); the commit is retried every interval.
``close`` says what is still unsaved; ``spill`` writes it to a file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from .audit import canonical_json, utc_now
from .commit_policy import CostEstimator, PendingRecord, plan_commit
from .database import Database
from .errors import RecordsWriteError, plain_message
from .journal import JOURNAL_INTERVAL_S, JournalRecord, SessionJournal
from .models import SampleChunk, TreatmentSession
from .samples import LAYOUT_V1, SampleSeries, encode_chunk
from .store import insert_event

log = logging.getLogger(__name__)

#: The regular cadence: a commit starts at the latest this long after the previous one. The 250 ms
#: promise itself is kept by ``commit_policy``, which starts earlier (and takes fewer records) when
#: the commits it has measured lately are slow (a busy GIL, a slow fsync).
DEFAULT_COMMIT_INTERVAL_S = 0.1
#: Largest chunk row (1 s at 1000 Hz); a backlog after an outage is split into rows of this size.
MAX_CHUNK_SAMPLES = 1000
#: PostgreSQL: a writer statement that has not answered in this long is cancelled by the server.
PG_STATEMENT_TIMEOUT_MS = 400
#: Most queue items the intake takes before it journals them (bounds one intake step).
_INTAKE_BATCH = 20_000
#: Rows are turned into arrays in pieces of this many: one numpy call on a million rows would hold
#: the GIL for half a second and starve the commit thread (measured: a 700 ms commit gap flat out).
_FOLD_ROWS = 2_000
#: The policy sees at most this many of the oldest pending records (and one transaction takes at most these).
_PLAN_RECORDS = 32
#: Largest sample record in the journal (and so the most one record adds to a transaction).
_RECORD_SAMPLES = 2_500
#: Commit in a process of its own (``records.commit_process``) unless the writer is told otherwise.
#: An in-memory SQLite database (one connection's, not shareable) always commits in-process.
COMMIT_IN_PROCESS = True
#: Longest wait before a commit process that keeps dying is started again.
_RESPAWN_MAX_S = 5.0


@dataclass(frozen=True)
class WriterReport:
    samples_written: int
    events_written: int
    samples_unsaved: int
    events_unsaved: int
    error: RecordsWriteError | None

    @property
    def complete(self) -> bool:
        return self.samples_unsaved == 0 and self.events_unsaved == 0


class _Flush:
    __slots__ = ("done", "upto")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.upto = 0


_STOP = object()


def _warm_up(s: Session, session_id: int, done: int, seq: int) -> None:
    """Run the data path's statements once and undo them (a savepoint): the first real commit
    then finds them compiled. WHY: flat out, compiling them inside the first data commit under a
    busy GIL made it the longest gap (~300 ms)."""
    nested = s.begin_nested()
    try:
        blob = b"\0" * (2 * 22)
        s.execute(insert(SampleChunk), [
            {"session_id": session_id, "seq": seq + i, "t0": 0.0, "n": 2, "layout": LAYOUT_V1, "data": blob}
            for i in range(2)])
        s.execute(update(TreatmentSession).where(TreatmentSession.id == session_id)
                  .values(journal_seq=done, heartbeat_at=utc_now()))
    finally:
        nested.rollback()


def commit_records(s: Session, session_id: int, records: list[JournalRecord], *, who: str,
                   warm_up: bool = False) -> tuple[int, int, int]:
    """Insert the journal records above the session's ``journal_seq`` in the caller's transaction.

    Returns (samples, events, newest record number now in the database). Shared by the
    writer and the journal replay, so both are exactly-once (the session row is locked)."""
    # One round trip: the row lock, the journal position, the newest chunk and (PostgreSQL) this
    # transaction's statement timeout. WHY so frugal: under a busy GIL every round trip costs a
    # thread switch (up to 5 ms each), and that is what stretched commit gaps flat out.
    newest_chunk = (select(func.max(SampleChunk.seq)).where(SampleChunk.session_id == session_id)
                    .scalar_subquery())
    columns = [TreatmentSession.journal_seq, newest_chunk]
    if s.get_bind().dialect.name == "postgresql":
        columns.append(func.set_config("statement_timeout", str(PG_STATEMENT_TIMEOUT_MS), True))
    row = s.execute(select(*columns).where(TreatmentSession.id == session_id)
                    .with_for_update(of=TreatmentSession)).one()
    done, last = row[0], row[1]
    todo = [r for r in records if r.n > done and r.kind in ("samples", "event")]
    if not todo:
        if warm_up:
            _warm_up(s, session_id, done, 0 if last is None else last + 1)
        s.execute(update(TreatmentSession).where(TreatmentSession.id == session_id).values(heartbeat_at=utc_now()))
        return 0, 0, done
    seq = 0 if last is None else last + 1
    parts = [r.series for r in todo if r.series is not None and len(r.series)]
    samples = 0
    if parts:
        series = _concat(parts)
        samples = len(series)
        rows = []
        for start in range(0, samples, MAX_CHUNK_SAMPLES):
            t0, n, blob = encode_chunk(_slice(series, start, start + MAX_CHUNK_SAMPLES))
            rows.append({"session_id": session_id, "seq": seq, "t0": t0, "n": n, "layout": LAYOUT_V1, "data": blob})
            seq += 1
        # One executemany. A multi-row INSERT gives the GIL away once instead of once per row, but
        # costs more Python per commit; flat out the two measured the same (benchmarks/storage.py).
        s.execute(insert(SampleChunk), rows)
    events = 0
    for r in todo:
        if r.kind == "event":
            h = r.header
            at = h["at"]
            insert_event(s, session_id, who=h.get("who") or who, kind=h["ekind"], message=h["message"],
                         evidence=h.get("evidence") or {}, t=h.get("t"), alarm=bool(h.get("alarm")),
                         at=dt.datetime.fromisoformat(at) if isinstance(at, str) else at)
            events += 1
    newest = max(r.n for r in todo)
    s.execute(update(TreatmentSession).where(TreatmentSession.id == session_id)
              .values(journal_seq=newest, heartbeat_at=utc_now()))
    return samples, events, newest


class SampleWriter:
    """Threads that journal and save one session's samples and events, committing every interval."""

    def __init__(
        self,
        db: Database,
        session_id: int,
        *,
        on_error: Callable[[RecordsWriteError], None] | None = None,
        commit_interval_s: float = DEFAULT_COMMIT_INTERVAL_S,
        who: str = "console",
        journal: SessionJournal | None = None,
        on_commit: Callable[[float], None] | None = None,
        commit_process: bool | None = None,
    ) -> None:
        """``commit_process``: commit in a process of its own (None: ``COMMIT_IN_PROCESS``, and
        never for an in-memory SQLite database); False: in this process's commit thread."""
        self._db = db
        wanted = COMMIT_IN_PROCESS if commit_process is None else commit_process
        self._in_process = wanted and not _in_memory(db.url)
        self._child: Any = None  # the CommitProcess now committing (process mode)
        self._sendable = threading.Event()
        self.session_id = session_id
        self._on_error = on_error
        self._on_commit = on_commit
        self._interval = commit_interval_s
        self._costs = CostEstimator()
        self._who = who
        self.journal = journal
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._rows: list[tuple[float, float, float, float, float, int]] = []
        self._series: list[SampleSeries] = []
        self._events: list[dict[str, Any]] = []
        self._markers: list[_Flush] = []
        self._pending: list[JournalRecord] = []  # journaled, not yet committed (guarded by _lock)
        self._unjournalled = 0  # the newest record number the journal did not take (guarded by _lock)
        self._waiting: list[_Flush] = []
        with db.read() as s:  # numbers continue where the record is (a reopened writer, a replayed journal)
            self._n = int(s.scalar(select(TreatmentSession.journal_seq)
                                   .where(TreatmentSession.id == session_id)) or 0)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._intake_done = threading.Event()
        self._abandon = threading.Event()
        self.samples_written = 0
        self.events_written = 0
        self.commits = 0
        self.error: RecordsWriteError | None = None
        self.journal_error: str = ""
        #: ``time.monotonic()`` of the newest successful commit (the session row was just committed).
        self.last_commit = time.monotonic()
        self._intake = threading.Thread(target=self._intake_run, name=f"sample-intake-{session_id}", daemon=True)
        self._committer = threading.Thread(target=self._link_run if self._in_process else self._commit_run,
                                           name=f"sample-writer-{session_id}", daemon=True)
        self._started = False

    # --- controller side (any thread, never blocks) ------------------------------

    def start(self) -> "SampleWriter":
        self._started = True
        if self._in_process:
            # The process opens its connection and makes its warm-up commit; start returns once
            # it has (or has failed: then the link retries, as after any failure).
            try:
                self._child = self._spawn_ready()
            except OSError as exc:
                self._failed(RecordsWriteError(f"The records writer's process could not start: {exc}"))
        else:
            # One heartbeat commit now, in the caller's thread, before any sample: it opens the
            # connection and compiles the writer's statements, which under a busy GIL made the
            # first data commit the slowest (~300-700 ms flat out).
            self._commit_once(warm_up=True)
        self.last_commit = time.monotonic()
        self._intake.start()
        self._committer.start()
        return self

    def add(self, t: float, current_ma: float, voltage_v: float, impedance_kohm: float | None, target_ma: float,
            flags: int = 0) -> None:
        """One sample (session time in s, mA, V, kΩ or None, mA, ICD flags)."""
        self._queue.put((t, current_ma, voltage_v, np.nan if impedance_kohm is None else impedance_kohm,
                         target_ma, flags))

    def add_block(self, series: SampleSeries) -> None:
        """Many samples at once (e.g. what the controller buffered for one telemetry burst)."""
        if len(series):
            self._queue.put(series)

    def add_event(self, kind: str, message: str, evidence: Mapping[str, Any] | None = None, *, t: float | None = None,
                  alarm: bool = False, at: dt.datetime | None = None) -> None:
        """An event or alarm, saved with the next commit (its wall time is taken now)."""
        canonical_json(evidence or {})  # refuse unserializable evidence here, in the caller's thread
        self._queue.put({"ekind": kind, "message": message, "evidence": dict(evidence or {}), "t": t,
                         "alarm": alarm, "at": at or utc_now(), "who": self._who})

    def commit_age(self, now: float | None = None) -> float:
        """Seconds since the newest successful commit (read from any thread): in process mode
        the process's own newest commit time, even before its acknowledgement is read here."""
        last = self.last_commit
        child = self._child
        if child is not None:
            last = max(last, child.commit_time())
        return (time.monotonic() if now is None else now) - last

    def flush(self, timeout: float = 5.0) -> bool:
        """Commit everything queued so far now; True if it is saved (not for the controller thread)."""
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout) and self.error is None

    def close(self, timeout: float = 10.0, *, give_up: bool = True) -> WriterReport:
        """Journal what is queued, stop, and say what (if anything) could not be saved.

        Waits up to ``timeout`` for the database. ``give_up`` False: a commit thread that has not
        saved everything by then keeps trying in the background (``wait_saved``, ``abandon``)."""
        if self._started:
            self._queue.put(_STOP)
            deadline = time.monotonic() + timeout
            self._intake.join(timeout)
            self._wake.set()
            self._sendable.set()
            self._committer.join(max(0.0, deadline - time.monotonic()))
            if give_up and self._committer.is_alive():
                self.abandon()
        else:
            self._take_all()
            self._journal_batch()
            self._intake_done.set()
            while self._pending_any() and self._commit_once():
                pass
        return self.report()

    def wait_saved(self, timeout: float | None = None) -> bool:
        """After ``close``: wait until every record is in the database (False if not by ``timeout``)."""
        if self._started:
            self._committer.join(timeout)
            return not self._committer.is_alive() and not self._pending_any()
        return not self._pending_any()

    def abandon(self) -> None:
        """Stop retrying (shutdown): what is unsaved stays in the journal for the next start."""
        self._abandon.set()
        self._wake.set()
        self._sendable.set()
        child = self._child
        if child is not None:
            child.kill()  # a process stuck in a driver call ends here; its uncommitted records are ours

    def report(self) -> WriterReport:
        with self._lock:
            unsaved = (len(self._rows) + sum(len(s) for s in self._series)
                       + sum(r.samples for r in self._pending))
            events = len(self._events) + sum(1 for r in self._pending if r.kind == "event")
            return WriterReport(self.samples_written, self.events_written, unsaved, events, self.error)

    def unsaved(self) -> tuple[SampleSeries, list[dict[str, Any]]]:
        """Samples and events not yet in the database (after ``close`` on a failure)."""
        with self._lock:
            parts = [r.series for r in self._pending if r.series is not None]
            self._fold_rows()
            parts += self._series
            events = [dict(r.header) for r in self._pending if r.kind == "event"] + list(self._events)
            series = _concat(parts) if parts else SampleSeries.empty()
            return series, events

    def spill(self, path: str | Path) -> Path:
        """Write what could not be saved to ``path`` (.npz with the samples and the events as JSON)."""
        series, events = self.unsaved()
        path = Path(path)
        np.savez(path, session_id=self.session_id, t=series.t, current_ma=series.current_ma,
                 voltage_v=series.voltage_v, impedance_kohm=series.impedance_kohm, target_ma=series.target_ma,
                 flags=series.flags, events=json.dumps(events, default=str))
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    # --- intake thread: queue -> journal -> pending ---------------------------------

    def _intake_run(self) -> None:
        deadline = time.monotonic() + JOURNAL_INTERVAL_S
        stopping = False
        while not stopping:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                item = None
            if item is not None:
                stopping = self._take(item) or self._take_all(_INTAKE_BATCH)
            if stopping or self._markers or time.monotonic() >= deadline:
                self._journal_batch()
                if stopping:  # the rest, in bounded steps (the commit thread keeps its cadence)
                    while not self._queue.empty():
                        self._take_all(_INTAKE_BATCH)
                        self._journal_batch()
                deadline = time.monotonic() + JOURNAL_INTERVAL_S
        self._intake_done.set()
        self._wake.set()
        self._sendable.set()

    def _take(self, item: Any) -> bool:
        if item is _STOP:
            return True
        if type(item) is tuple:
            self._rows.append(item)
            if len(self._rows) >= _FOLD_ROWS:
                with self._lock:
                    self._fold_rows()
        elif isinstance(item, SampleSeries):
            self._fold_rows()
            self._series.append(item)
        elif isinstance(item, _Flush):
            self._markers.append(item)
        else:
            self._events.append(item)
        return False

    def _take_all(self, limit: int | None = None) -> bool:
        """Take what is queued without waiting (at most ``limit`` items; None = all)."""
        taken = 0
        stopping = False
        while limit is None or taken < limit:
            taken += 1
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            stopping |= self._take(item)
        return stopping

    def _fold_rows(self) -> None:
        if self._rows:
            self._series.append(SampleSeries.from_rows(self._rows))
            self._rows = []

    def _number(self) -> int:
        self._n += 1
        return self._n

    def _journal_batch(self) -> None:
        with self._lock:
            self._fold_rows()
        records: list[JournalRecord] = []
        if self._series:
            series = _concat(self._series)
            for lo in range(0, len(series), _RECORD_SAMPLES):
                records.append(JournalRecord("samples", self._number(), {}, _slice(series, lo, lo + _RECORD_SAMPLES)))
        for event in self._events:
            records.append(JournalRecord("event", self._number(), event))
        markers, self._markers = self._markers, []
        journalled = self.journal is not None
        if records and self.journal is not None:
            try:
                self.journal.append(records)
                self.journal_error = ""
            except (OSError, ValueError) as exc:  # full local disk: the database may still take it
                if not self.journal_error:
                    log.error("session %s: the records journal could not be written: %s", self.session_id, exc)
                self.journal_error = str(exc)
                journalled = False
        with self._lock:
            if records and not journalled:
                self._unjournalled = records[-1].n
            self._series, self._events = [], []
            self._pending.extend(records)
            newest = self._pending[-1].n if self._pending else 0
            for marker in markers:
                marker.upto = newest
                self._waiting.append(marker)
        if records or markers:
            self._sendable.set()
        if markers:
            self._wake.set()

    # --- commit thread: pending -> database -------------------------------------------

    def _pending_any(self) -> bool:
        with self._lock:
            return bool(self._pending)

    def _commit_run(self) -> None:
        retry_at = 0.0  # after a failed commit, the next try waits one interval (no hammering)
        due: float | None = None  # when the last timed wait should have ended (to learn wake-up lateness)
        while not self._abandon.is_set():
            finishing = self._intake_done.is_set()
            with self._lock:
                urgent = finishing or bool(self._waiting)
                pending = self._planned(self._pending)
                last = self.last_commit
            now = time.monotonic()
            if due is not None:
                self._costs.observe_wake(now - due)
                due = None
            plan = plan_commit(pending, now - last, self._costs.cost(), interval_s=self._interval, urgent=urgent)
            wait = max(plan.wait_s, retry_at - now)
            if wait > 0:
                # Re-plan at least as often as the intake hands records on: what arrives meanwhile
                # can make the commit dearer, so it may have to start earlier.
                step = min(wait, JOURNAL_INTERVAL_S)
                if not self._wake.wait(step):
                    due = now + step
                self._wake.clear()
                continue
            if not self._commit_once(take=plan.take, planned_at=now):
                retry_at = time.monotonic() + self._interval
            if finishing and not self._pending_any():
                self._release_markers(final=True)
                return
        self._release_markers(final=True)

    @staticmethod
    def _planned(pending: list[JournalRecord]) -> list[PendingRecord]:
        return planned_records(pending)

    def _commit_once(self, warm_up: bool = False, *, take: int | None = None, planned_at: float | None = None) -> bool:
        """One transaction (plus the heartbeat) of the ``take`` oldest pending records (None: as many
        as the policy lets one commit take now); True when it committed."""
        started = time.monotonic() if planned_at is None else planned_at
        with self._lock:
            if take is None:
                take = plan_commit(self._planned(self._pending), started - self.last_commit, self._costs.cost(),
                                   interval_s=self._interval, urgent=True).take
            batch = self._pending[:take]
        samples = sum(r.samples for r in batch)
        events = sum(1 for r in batch if r.kind == "event")
        try:
            with self._db.write() as s:
                commit_records(s, self.session_id, batch, who=self._who, warm_up=warm_up)
        except Exception as exc:  # noqa: BLE001 - any database failure is reported, never raised into the thread
            log.error("session %s: samples not saved: %s", self.session_id, exc)
            self._failed(RecordsWriteError(plain_message(exc)))
            return False
        now = time.monotonic()
        if not warm_up:  # the warm-up compiles statements: not what a commit costs
            self._costs.observe(samples, events, now - started)
        with self._lock:
            del self._pending[:len(batch)]
            self.samples_written += samples
            self.events_written += events
            self.commits += 1
            self.error = None
            self.last_commit = now
        self._release_markers()
        if self._on_commit is not None:
            self._on_commit(now)
        return True

    def _failed(self, error: RecordsWriteError) -> None:
        """A commit failed: ``on_error`` once per failure episode (until a commit succeeds)."""
        first = self.error is None
        self.error = error
        if first and self._on_error is not None:
            try:
                self._on_error(error)
            except Exception:  # noqa: BLE001 - a failing callback must not kill the writer
                log.exception("sample writer error callback failed")

    # --- process mode: pending -> commit process -> acknowledgements -----------------------

    def _spawn_ready(self) -> Any:
        """A new commit process, after its first answer (its warm-up commit, or why it failed)."""
        from .anchor import anchor_of
        from .commit_process import READY_TIMEOUT_S, CommitProcess

        anchor = anchor_of(self._db)
        child = CommitProcess.spawn(self._db.url, self.session_id, who=self._who, interval_s=self._interval,
                                    anchor_folder=None if anchor is None else anchor[0].folder)
        try:
            first = child.recv(READY_TIMEOUT_S)
        except (EOFError, OSError):
            first = None  # it died at once: the link sees the same when it reads
        if first is not None:
            self._handle(first)
        return child

    def _link_run(self) -> None:
        """Process mode's commit thread: feed the process, apply its acknowledgements, and
        replace it (reporting the failure) when it dies."""
        child = self._child
        deaths = 0  # in a row: a process that cannot live is restarted ever less often (at most every 5 s)
        while True:
            if child is None:
                try:
                    child = self._spawn_ready()
                except OSError as exc:
                    self._failed(RecordsWriteError(f"The records writer's process could not start: {exc}"))
                    if self._abandon.wait(self._interval):
                        break
                    continue
                self._child = child
            if self._abandon.is_set():
                child.kill()
            commits_before = self.commits
            sender = threading.Thread(target=self._send_run, args=(child,), name=f"sample-sender-{self.session_id}",
                                      daemon=True)
            sender.start()
            closed = self._receive_run(child)
            child.gone.set()
            if not closed:
                child.kill()
            code = child.stop()
            self._sendable.set()
            sender.join()
            child = None
            if closed or self._abandon.is_set():
                break
            log.error("session %s: the records writer's process stopped (exit code %s)", self.session_id, code)
            self._failed(RecordsWriteError(
                f"The records writer's process stopped (exit code {code}); the unsaved samples are kept "
                "and sent to a new one."))
            deaths = 1 if self.commits > commits_before else deaths + 1
            if self._abandon.wait(min(_RESPAWN_MAX_S, self._interval * 2 ** min(deaths - 1, 8))):
                break
        self._release_markers(final=True)

    def _receive_run(self, child: Any) -> bool:
        """Apply the process's answers until it closes (True) or is gone (False)."""
        while True:
            try:
                message = child.recv()
            except (EOFError, OSError):
                return False
            if self._handle(message):
                return True

    def _handle(self, message: Any) -> bool:
        kind = message[0]
        if kind == "committed":
            self._acknowledged(message[1], message[2])
        elif kind == "error":
            self._failed(RecordsWriteError(message[1]))
        return kind == "closed"  # ("idle",) is the process before its session: nothing to do

    def _acknowledged(self, upto: int | None, at: float) -> None:
        """The process committed every record up to number ``upto`` (None: a heartbeat) at ``at``
        (its ``time.monotonic()``: the same clock as ours)."""
        with self._lock:
            k = 0
            if upto is not None:
                while k < len(self._pending) and self._pending[k].n <= upto:
                    k += 1
            batch = self._pending[:k]
            del self._pending[:k]
            self.samples_written += sum(r.samples for r in batch)
            self.events_written += sum(1 for r in batch if r.kind == "event")
            self.commits += 1
            self.error = None
            self.last_commit = max(self.last_commit, at)
        self._release_markers()
        if self._on_commit is not None:
            self._on_commit(at)

    def _send_run(self, child: Any) -> None:
        """Send the process every journalled record it has not had (all of them to a new one),
        ask for a flush when one waits, and close it once the intake is done and all is sent."""
        from .commit_process import MAX_RECORDS_PER_MESSAGE

        sent = 0  # the newest record number sent
        asked = 0  # the newest flush marker asked for
        try:
            while not (self._abandon.is_set() or child.gone.is_set()):
                finishing = self._intake_done.is_set()  # read first: no record comes after it is set
                with self._lock:
                    i = len(self._pending)
                    while i and self._pending[i - 1].n > sent:
                        i -= 1
                    new = self._pending[i:i + MAX_RECORDS_PER_MESSAGE]
                    rest = len(self._pending) - i - len(new)
                    flush_upto = max((m.upto for m in self._waiting), default=0)
                    journalled = bool(new) and new[0].n > self._unjournalled
                if new:
                    child.send(("records", new, journalled))
                    sent = new[-1].n
                if rest:
                    continue
                if flush_upto > asked:
                    child.send(("flush",))
                    asked = flush_upto
                if finishing:
                    child.send(("close",))
                    return
                self._sendable.wait(JOURNAL_INTERVAL_S)
                self._sendable.clear()
        except OSError:
            return  # the process is gone: the link sees it and starts another

    def _release_markers(self, final: bool = False) -> None:
        with self._lock:
            newest_pending = self._pending[0].n if self._pending else None
            keep = []
            for marker in self._waiting:
                if final or newest_pending is None or marker.upto < newest_pending:
                    marker.done.set()
                else:
                    keep.append(marker)
            self._waiting = keep


def ready_commit_process(db: Database, timeout_s: float | None = None) -> None:
    """Before a session starts: make sure a commit process is ready for its writer (imported),
    waiting for one if need be. WHY before: a session's start time is taken before its record
    exists, and its writer's start should cost only the connection and one commit, not imports."""
    if not COMMIT_IN_PROCESS or _in_memory(db.url):
        return
    from .commit_process import READY_TIMEOUT_S, prepare

    prepare(READY_TIMEOUT_S if timeout_s is None else timeout_s)


def _in_memory(url: str) -> bool:
    return url.startswith("sqlite") and (url.rstrip("/").endswith(":memory:") or url in ("sqlite://", "sqlite:///"))


def planned_records(pending: list[JournalRecord]) -> list[PendingRecord]:
    """The oldest pending records as the policy sees them: a bounded prefix, so planning stays
    cheap with a long backlog (one transaction takes at most these; the rest is carried over)."""
    return [PendingRecord(r.samples, r.kind == "event") for r in pending[:_PLAN_RECORDS]]


def _slice(series: SampleSeries, lo: int, hi: int) -> SampleSeries:
    return SampleSeries(series.t[lo:hi], series.current_ma[lo:hi], series.voltage_v[lo:hi],
                        series.impedance_kohm[lo:hi], series.target_ma[lo:hi], series.flags[lo:hi])


def _concat(parts: list[SampleSeries]) -> SampleSeries:
    if len(parts) == 1:
        return parts[0]
    return SampleSeries(*(np.concatenate([getattr(p, name) for p in parts]) for name in
                          ("t", "current_ma", "voltage_v", "impedance_kohm", "target_ma", "flags")))
