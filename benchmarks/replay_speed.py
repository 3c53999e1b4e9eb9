"""How fast ``ionto-replay`` judges a recording in virtual time (``--speed max``).

    python benchmarks/replay_speed.py [--runs 10] [--recording tests/qa/field-report-0001.ionto-wire]
                                      [--protocol dexamethasone-4mgml-40]

Replays the recording ``--runs`` times as fast as possible (decode, sequence rule, engine; no
link) and prints seconds of session judged per second of wall time (median, min), and whether
every run made the same decisions (virtual time: it must). No goal; a figure for the QA guide.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from ionto_console.core.protocols import load_library
from ionto_console.records.wire_log import decode
from ionto_console.replay import replay

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--recording", default=str(ROOT / "tests/qa/field-report-0001.ionto-wire"))
    parser.add_argument("--protocol", default="dexamethasone-4mgml-40")
    args = parser.parse_args(argv)
    records = list(decode(Path(args.recording).read_bytes()))
    protocol = next(p for p in load_library() if p.id == args.protocol)
    session_s = records[-1].t - records[0].t
    rates, outcomes = [], set()
    for _ in range(args.runs):
        t0 = time.perf_counter()
        report = replay(records, protocol)
        rates.append(session_s / (time.perf_counter() - t0))
        outcomes.add(tuple(report.replayed))
    print(f"{session_s:.1f} s of session, {len(records)} wire records, {args.runs} runs")
    print(f"RESULT replay speed at max (median): {statistics.median(rates):.0f} session-s/s")
    print(f"RESULT replay speed at max (slowest run): {min(rates):.0f} session-s/s")
    print(f"RESULT different decisions between runs: {len(outcomes) - 1} (goal 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
