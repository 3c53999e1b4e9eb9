"""The sample writer: saves a running session's samples and events from its own thread.

WHY a thread and a queue: the controller thread applies the interlocks to
every sample and must never wait on a disk. ``add`` is a ``SimpleQueue.put``
(never blocks, never drops). The writer thread gathers what arrived and
commits one chunk at least every ``commit_interval_s`` (200 ms by default,
within the 250 ms the design allows a crash to lose).

Failure (disk full, database gone): the writer keeps every unsaved sample
and event in memory, calls ``on_error`` with a ``RecordsWriteError`` whose
message can be shown as is (once per failure episode, from the writer
thread; the callback must only signal, e.g. ask the controller to stop), and
retries at every interval. ``close`` says what is still unsaved, and
``spill`` writes it to a file so nothing is silently lost.
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
from sqlalchemy import func, select

from .audit import canonical_json, utc_now
from .database import Database
from .errors import RecordsWriteError, plain_message
from .models import SampleChunk
from .samples import LAYOUT_V1, SampleSeries, encode_chunk
from .store import insert_event

log = logging.getLogger(__name__)

DEFAULT_COMMIT_INTERVAL_S = 0.2
#: Largest chunk row (1 s at 1000 Hz); a backlog after an outage is split into rows of this size.
MAX_CHUNK_SAMPLES = 1000
_DRAIN_BATCH = 5000


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
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


class SampleWriter:
    """Thread that saves one session's samples in chunks and its events, committing every interval."""

    def __init__(
        self,
        db: Database,
        session_id: int,
        *,
        on_error: Callable[[RecordsWriteError], None] | None = None,
        commit_interval_s: float = DEFAULT_COMMIT_INTERVAL_S,
        who: str = "console",
    ) -> None:
        self._db = db
        self.session_id = session_id
        self._on_error = on_error
        self._interval = commit_interval_s
        self._who = who
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._rows: list[tuple[float, float, float, float, float, int]] = []
        self._series: list[SampleSeries] = []
        self._events: list[dict[str, Any]] = []
        with db.read() as s:
            last = s.scalar(select(func.max(SampleChunk.seq)).where(SampleChunk.session_id == session_id))
        self._next_seq = 0 if last is None else last + 1
        self.samples_written = 0
        self.events_written = 0
        self.commits = 0
        self.error: RecordsWriteError | None = None
        self._lock = threading.Lock()  # guards the pending buffers against spill() from another thread
        self._thread = threading.Thread(target=self._run, name=f"sample-writer-{session_id}", daemon=True)
        self._started = False

    # --- controller side (any thread, never blocks) ------------------------------

    def start(self) -> "SampleWriter":
        self._started = True
        self._thread.start()
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
        self._queue.put({"kind": kind, "message": message, "evidence": dict(evidence or {}), "t": t,
                         "alarm": alarm, "at": at or utc_now()})

    def flush(self, timeout: float = 5.0) -> bool:
        """Commit everything queued so far now; True if it is saved (not for the controller thread)."""
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout) and self.error is None

    def close(self, timeout: float = 10.0) -> WriterReport:
        """Save what is queued, stop the thread, and say what (if anything) could not be saved."""
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout)
        else:
            self._drain()
            self._commit()
        return self.report()

    def report(self) -> WriterReport:
        with self._lock:
            unsaved = len(self._rows) + sum(len(s) for s in self._series)
            return WriterReport(self.samples_written, self.events_written, unsaved, len(self._events), self.error)

    def unsaved(self) -> tuple[SampleSeries, list[dict[str, Any]]]:
        """Samples and events not yet in the database (after ``close`` on a failure)."""
        with self._lock:
            self._fold_rows()
            series = _concat(self._series) if self._series else SampleSeries.empty()
            return series, list(self._events)

    def spill(self, path: str | Path) -> Path:
        """Write what could not be saved to ``path`` (.npz with the samples and the events as JSON)."""
        series, events = self.unsaved()
        path = Path(path)
        np.savez(path, session_id=self.session_id, t=series.t, current_ma=series.current_ma,
                 voltage_v=series.voltage_v, impedance_kohm=series.impedance_kohm, target_ma=series.target_ma,
                 flags=series.flags, events=json.dumps(events, default=str))
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    # --- writer thread --------------------------------------------------------------

    def _run(self) -> None:
        deadline = time.monotonic() + self._interval
        stopping = False
        while True:
            timeout = max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            markers: list[_Flush] = []
            if item is not None:
                stopping |= self._take(item, markers)
                stopping |= self._drain(_DRAIN_BATCH, markers=markers)
            if stopping or markers or time.monotonic() >= deadline:
                self._commit()
                deadline = time.monotonic() + self._interval
                for marker in markers:
                    marker.done.set()
            if stopping:
                markers = []
                self._drain(markers=markers)
                self._commit()
                for marker in markers:
                    marker.done.set()
                return

    def _take(self, item: Any, markers: list[_Flush]) -> bool:
        if item is _STOP:
            return True
        with self._lock:
            if type(item) is tuple:
                self._rows.append(item)
            elif isinstance(item, SampleSeries):
                self._fold_rows()
                self._series.append(item)
            elif isinstance(item, _Flush):
                markers.append(item)
            else:
                self._events.append(item)
        return False

    def _drain(self, limit: int | None = None, markers: list[_Flush] | None = None) -> bool:
        """Take what is queued without waiting (at most ``limit`` items; None = all)."""
        stopping = False
        sink: list[_Flush] = [] if markers is None else markers
        taken = 0
        while limit is None or taken < limit:
            taken += 1
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            stopping |= self._take(item, sink)
        return stopping

    def _fold_rows(self) -> None:
        if self._rows:
            self._series.append(SampleSeries.from_rows(self._rows))
            self._rows = []

    def _commit(self) -> None:
        with self._lock:
            self._fold_rows()
            series = _concat(self._series) if self._series else None
            self._series = [series] if series is not None else []  # a retried backlog is joined once
            events = list(self._events)
        if series is None and not events:
            return
        try:
            written = self._write(series, events)
        except Exception as exc:  # noqa: BLE001 - any database failure is reported, never raised into the thread
            first = self.error is None
            self.error = RecordsWriteError(plain_message(exc))
            log.error("session %s: samples not saved: %s", self.session_id, exc)
            if first and self._on_error is not None:
                try:
                    self._on_error(self.error)
                except Exception:  # noqa: BLE001 - a failing callback must not kill the writer
                    log.exception("sample writer error callback failed")
            return
        with self._lock:
            n = len(series) if series is not None else 0
            # Remove exactly what was written; anything that arrived meanwhile stays pending.
            # Only this thread fills the buffers (from the queue), so nothing arrived during the write.
            self._series, self._events = [], []
            self.samples_written += n
            self.events_written += len(events)
            self._next_seq += written
            self.commits += 1
            self.error = None

    def _write(self, series: SampleSeries | None, events: list[dict[str, Any]]) -> int:
        chunks = 0
        with self._db.write() as s:
            if series is not None:
                for start in range(0, len(series), MAX_CHUNK_SAMPLES):
                    part = _slice(series, start, start + MAX_CHUNK_SAMPLES)
                    t0, n, blob = encode_chunk(part)
                    s.add(SampleChunk(session_id=self.session_id, seq=self._next_seq + chunks, t0=t0, n=n,
                                      layout=LAYOUT_V1, data=blob))
                    chunks += 1
            for event in events:
                insert_event(s, self.session_id, who=self._who, **event)
        return chunks


def _slice(series: SampleSeries, lo: int, hi: int) -> SampleSeries:
    return SampleSeries(series.t[lo:hi], series.current_ma[lo:hi], series.voltage_v[lo:hi],
                        series.impedance_kohm[lo:hi], series.target_ma[lo:hi], series.flags[lo:hi])


def _concat(parts: list[SampleSeries]) -> SampleSeries:
    if len(parts) == 1:
        return parts[0]
    return SampleSeries(*(np.concatenate([getattr(p, name) for p in parts]) for name in
                          ("t", "current_ma", "voltage_v", "impedance_kohm", "target_ma", "flags")))
