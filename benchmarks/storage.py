"""Storage benchmark: sample write rate, bytes per session-minute, open + replay of a 30-minute session.

Run: .venv/bin/python benchmarks/storage.py [--url URL] [--minutes 30] [--rate 1000]
(default: a SQLite file in a temporary folder). Prints figures; no pass/fail.

WHAT it measures:
1. Sustained write rate: the controller side pushes samples with
   ``SampleWriter.add`` as fast as it can for a few seconds while the
   writer's commit thread keeps its deadline; samples/s = samples committed /
   time until the last one is committed. Also the gaps between commits, each
   commit timed where it was made (``on_commit``'s monotonic time: the commit
   thread's, or the commit process's), from the writer's start-up commit to
   its last (the backlog's drain after the last ``add`` included): the
   longest and the p99, each with the 250 ms goal; and how long ``start()``
   took.
2. Bytes per stored session-minute at the given rate (file growth / minutes).
3. A full session (default 30 min at 1000 Hz = 1.8 M samples) is stored in
   blocks; then the database is opened anew and ``load_samples`` replays it:
   time to open (with migrations check) and time to replay.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from ionto_console.records import (
    Calibration,
    PatientData,
    SampleSeries,
    SampleWriter,
    SessionStart,
    create_patient,
    finish_session,
    load_samples,
    open_database,
    start_session,
)
from ionto_console.records.journal import SessionJournal
from ionto_console.records.models import SampleChunk
from ionto_console.records.store import session_uid

PROTOCOL = {"id": "bench", "name": "Benchmark protocol", "dose_target_ma_min": 40.0,
            "agent": {"kind": "drug", "solution": "bench"}}


def _session(db, name: str) -> int:
    pid = create_patient(db, PatientData(name, f"Bench {name}"), who="bench")
    return start_session(db, SessionStart(pid, PROTOCOL, "bench", "bench-station", "BENCH-1",
                                          Calibration(1.0, 0.0, dt.datetime.now(dt.timezone.utc))))


def _file_bytes(url: str) -> int:
    path = Path(url.removeprefix("sqlite:///"))
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.exists())


def write_rate(db, seconds: float, offered_hz: float | None, folder: str) -> None:
    """Push single samples with add() (paced at ``offered_hz``, or flat out) and time the commits.

    With the session's local journal, as the console writes it (write-ahead, fsynced every 50 ms)."""
    sid = _session(db, f"rate-{offered_hz or 'max'}")
    journal = SessionJournal.create(Path(folder), session_uid(db, sid), sid, "bench-station")
    # Each commit's own time (``time.monotonic()`` as the committing thread or process took it
    # right after its COMMIT), not when this thread heard of it. The gaps run from the writer's
    # start-up commit (which start() waits for) to its last commit.
    commit_times: list[float] = []
    heard: list[float] = []  # when this process heard of each commit (what the records watchdog sees)

    def on_commit(at: float) -> None:
        commit_times.append(at)
        heard.append(time.monotonic())

    writer = SampleWriter(db, sid, on_commit=on_commit, journal=journal)
    started = time.perf_counter()
    writer.start()
    start_s = time.perf_counter() - started
    t0 = time.perf_counter()
    n = 0
    while (now := time.perf_counter() - t0) < seconds:
        due = int(now * offered_hz) if offered_hz else n + 1000
        while n < due:
            writer.add(n / 1000, 2.0, 12.0, 6.0, 2.0, 3)
            n += 1
        if offered_hz:
            time.sleep(0.002)
    add_s = time.perf_counter() - t0
    report = writer.close(timeout=60)
    total_s = time.perf_counter() - t0
    journal.close()
    gaps = np.diff(commit_times) if len(commit_times) > 1 else np.array([0.0])
    p99 = float(np.percentile(gaps, 99))
    heard_gaps = np.diff(heard) if len(heard) > 1 else np.array([0.0])
    label = f"offered {offered_hz:,.0f}/s" if offered_hz else "flat out"
    print(f"write ({label}): {report.samples_written:,} samples committed in {total_s:.2f} s -> "
          f"{report.samples_written / total_s:,.0f} samples/s sustained; "
          + (f"add() {add_s / max(n, 1) * 1e6:.2f} us each; " if not offered_hz else "")
          + f"{len(commit_times)} commits, longest gap {gaps.max() * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"median {np.median(gaps) * 1000:.0f} ms; start() {start_s * 1000:.0f} ms; "
          f"as heard here: longest {heard_gaps.max() * 1000:.0f} ms, p99 {np.percentile(heard_gaps, 99) * 1000:.0f} ms")
    goal = "" if offered_hz else " (goal > 1000)"  # flat out it must at least keep up with 1000 Hz telemetry
    print(f"RESULT storage write {label} rate: {report.samples_written / total_s:,.0f} samples/s{goal}")
    print(f"RESULT storage write {label} longest commit gap: {gaps.max() * 1000:.0f} ms (goal <= 250)")
    print(f"RESULT storage write {label} commit gap p99: {p99 * 1000:.0f} ms (goal <= 250)")


def bytes_per_minute(db, url: str, rate: int, minutes: float) -> None:
    if not url.startswith("sqlite:///"):
        with db.read() as s:
            before = s.scalar(select(func.coalesce(func.sum(func.length(SampleChunk.data)), 0)))
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        before = _file_bytes(url)
    sid = _session(db, "size")
    _store(db, sid, rate, minutes)
    if not url.startswith("sqlite:///"):
        with db.read() as s:
            after = s.scalar(select(func.coalesce(func.sum(func.length(SampleChunk.data)), 0)))
        label = "sample BLOB bytes"
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        after = _file_bytes(url)
        label = "SQLite file growth"
    print(f"size: {(after - before) / minutes / 1e6:.2f} MB per session-minute at {rate} Hz ({label}; "
          f"raw payload {22 * rate * 60 / 1e6:.2f} MB)")
    print(f"RESULT storage size: {(after - before) / minutes / 1e6:.2f} MB per session-minute")


def _store(db, sid: int, rate: int, minutes: float) -> int:
    """Store a synthetic session through the writer in 200 ms blocks (as a 1000 Hz controller would)."""
    total = int(rate * 60 * minutes)
    block = max(1, rate // 5)
    writer = SampleWriter(db, sid).start()
    rng = np.random.default_rng(1)
    for lo in range(0, total, block):
        n = min(block, total - lo)
        t = (lo + np.arange(n)) / rate
        current = np.float32(3.0) + rng.normal(0, 0.01, n).astype(np.float32)
        writer.add_block(SampleSeries(t, current, np.full(n, 18.0, np.float32), np.full(n, 6.0, np.float32),
                                      np.full(n, 3.0, np.float32), np.full(n, 3, np.uint16)))
    report = writer.close(timeout=300)
    assert report.complete, report
    finish_session(db, sid, state="complete", reason="bench", dose_delivered_ma_min=40, who="bench")
    return total


def replay(url: str, rate: int, minutes: float) -> None:
    db = open_database(url)
    sid = _session(db, "replay")
    t0 = time.perf_counter()
    total = _store(db, sid, rate, minutes)
    store_s = time.perf_counter() - t0
    db.close()
    print(f"store: {minutes:g} min at {rate} Hz = {total:,} samples stored in {store_s:.2f} s "
          f"({total / store_s:,.0f} samples/s, incl. closing digest)")
    t0 = time.perf_counter()
    db = open_database(url)
    open_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    series = load_samples(db, sid)
    replay_s = time.perf_counter() - t1
    assert len(series) == total
    print(f"replay: open {open_s * 1000:.0f} ms, load_samples {replay_s * 1000:.0f} ms for {len(series):,} samples "
          f"(open + replay {(open_s + replay_s):.3f} s)")
    print(f"RESULT storage open + replay {minutes:g} min: {open_s + replay_s:.3f} s")
    db.close()


def throwaway_postgres_url(folder: str) -> tuple[str, object]:
    """--postgres: a fresh local cluster (the record tests' throwaway server)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pg_support import throwaway_postgres

    context = throwaway_postgres(dbname="ionto_bench")
    server = context.__enter__()
    return f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/postgres", context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="SQLAlchemy URL (default: SQLite in a temporary folder)")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--write-seconds", type=float, default=3.0)
    parser.add_argument("--postgres", action="store_true", help="on a throwaway local PostgreSQL server")
    parser.add_argument("--write-only", action="store_true",
                        help="only the write rates and commit gaps (no size, no 30-minute store and replay)")
    parser.add_argument("--flat-out-only", action="store_true",
                        help="only the flat-out write (implies --write-only): repeat it to compare builds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ionto-storage-bench-") as folder:
        context = None
        if args.postgres:
            args.url, context = throwaway_postgres_url(folder)
        url = args.url or f"sqlite:///{os.path.join(folder, 'bench.sqlite3')}"
        print(f"database: {url.split('@')[-1]}  (cpu count {os.cpu_count()}, threads {threading.active_count()})")
        db = open_database(url)
        try:  # as the console's treatment desk does when it opens the records: the writer's process is ready
            from ionto_console.records.commit_process import prepare

            prepare()
        except ImportError:  # a build that commits in the console's own process
            pass
        offers = (None,) if args.flat_out_only else (1000.0, 20_000.0, 50_000.0, None)
        for offered in offers:
            write_rate(db, args.write_seconds, offered, folder)
        if not (args.write_only or args.flat_out_only):
            bytes_per_minute(db, url, args.rate, 2.0)
        db.close()
        if not (args.write_only or args.flat_out_only):
            replay(url, args.rate, args.minutes)
        if context is not None:
            context.__exit__(None, None, None)


if __name__ == "__main__":
    main()
