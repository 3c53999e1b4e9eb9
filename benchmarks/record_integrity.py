"""Record integrity benchmark: what sealing and verifying whole records costs.

Run: .venv/bin/python benchmarks/record_integrity.py [--url URL] [--minutes 30] [--rate 1000] [--anchors 200]
(default: a SQLite file and a station data folder in a temporary folder). Prints figures; no pass/fail.

WHAT it measures:
1. A session of ``--minutes`` at ``--rate`` Hz is stored through the sample writer; then
   ``finish_session`` (which seals the record: every sample chunk hashed into its content digest),
   ``add_note`` and ``sign_session`` (each re-seals the record) are timed.
2. ``verify_audit`` over the whole database (chain walk, anchored heads, every record recomputed).
3. ``Anchor.append``: one signed head appended and fsynced (the cost each audited commit pays).
4. ``session_content_digest`` (what a signature binds to).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401 - puts this folder on sys.path
import numpy as np
from storage import _session

from ionto_console.records import (
    SampleSeries,
    SampleWriter,
    add_note,
    finish_session,
    open_database,
    sign_session,
    verify_audit,
)
from ionto_console.records.anchor import anchor_of
from ionto_console.records.content import session_content_digest


def _fill(db, sid: int, rate: int, minutes: float) -> int:
    """Samples through the writer in 200 ms blocks, as a controller at ``rate`` Hz would send them."""
    total = int(rate * 60 * minutes)
    block = max(1, rate // 5)
    writer = SampleWriter(db, sid).start()
    for lo in range(0, total, block):
        k = min(block, total - lo)
        t = (lo + np.arange(k)) / rate
        writer.add_block(SampleSeries(t, np.full(k, 3.0, np.float32), np.full(k, 18.0, np.float32),
                                      np.full(k, 6.0, np.float32), np.full(k, 3.0, np.float32),
                                      np.full(k, 3, np.uint16)))
    report = writer.close(timeout=300)
    assert report.complete, report
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--anchors", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ionto-integrity-bench-"))
    url = args.url or f"sqlite:///{folder / 'records.sqlite3'}"
    db = open_database(url, anchor_folder=folder / "station")
    try:
        sid = _session(db, f"integrity-{time.time_ns()}")
        n = _fill(db, sid, args.rate, args.minutes)
        t0 = time.perf_counter()
        finish_session(db, sid, state="complete", reason="bench", dose_delivered_ma_min=40, who="bench")
        timings = {"finish": time.perf_counter() - t0}
        t0 = time.perf_counter()
        add_note(db, sid, "benchmark note", author="bench")
        note_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        sign_session(db, sid, name="Bench", meaning="performed")
        sign_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        session_content_digest(db, sid)
        digest_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        verdict = verify_audit(db)
        verify_s = time.perf_counter() - t0
        anchor, label = anchor_of(db)
        t0 = time.perf_counter()
        for i in range(args.anchors):
            anchor.append(label + "-bench", "0" * 64, i + 1, "f" * 64)
        append_ms = (time.perf_counter() - t0) / args.anchors * 1000
        print(f"session: {n:,} samples ({args.minutes:g} min at {args.rate} Hz) on {db.dialect}")
        print(f"RESULT integrity finish_session (seals the record): {timings['finish'] * 1000:.0f} ms")
        print(f"RESULT integrity add_note (re-seals): {note_s * 1000:.0f} ms")
        print(f"RESULT integrity sign_session (re-seals): {sign_s * 1000:.0f} ms")
        print(f"RESULT integrity session_content_digest: {digest_s * 1000:.0f} ms")
        print(f"verify: {verdict.reason}")
        print(f"RESULT integrity verify_audit whole database: {verify_s * 1000:.0f} ms")
        print(f"RESULT integrity anchor append (sign + fsync): {append_ms:.2f} ms")
        assert verdict.ok, verdict.problems
    finally:
        db.close()


if __name__ == "__main__":
    main()
