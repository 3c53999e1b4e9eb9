"""kill -9 mid-treatment, N times: the worst loss of samples (goal <= 250 ms, issue 12).

Run: .venv/bin/python benchmarks/kill_loss.py [--runs 20] [--url URL]

Each run starts a simulated board, a console process (tests/drills/console_child.py:
station -> treatment desk -> controller -> recorder with its local journal -> records)
treating at ~1 mA, SIGKILLs it after a random 0.4-1.2 s of treatment, then starts
again as the console does (``app.open_records``: the journal's tail written into the
record, the session closed as interrupted) and compares the newest sample the killed
console had seen with the newest in the record. Too slow for the test suite (~5 s a
run); the suite's drill (tests/drills/test_console_killed.py) does one run.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "drills"), str(ROOT / "tests")]

from ionto_console.app import open_records  # noqa: E402
from ionto_console.records import load_samples, sqlite_url  # noqa: E402
from ionto_sim.model import ResistorLoad  # noqa: E402
from ionto_sim.pty_server import SimulatedBoardServer  # noqa: E402


def one_run(folder: Path, url: str | None, treat_s: float) -> float:
    from test_console_killed import CHILD_READY_S, ChildConsole

    data = folder / "data"
    os.environ["IONTO_DATA_DIR"] = str(data)
    url = url or sqlite_url(folder / "records.sqlite3")
    board = SimulatedBoardServer(load=ResistorLoad(5000.0), seed=random.randrange(1000)).start()
    try:
        child = ChildConsole(board.port, url, folder / "console.log")
        try:
            child.treat_for(treat_s, CHILD_READY_S)
            child.kill()
        finally:
            child.close()
    finally:
        board.stop()
    db, problem, recovered = open_records(url, "drill-station", demo=True, data_folder=data)
    if db is None or child.session_id not in recovered:
        raise SystemExit(f"recovery failed: {problem or recovered}")
    try:
        series = load_samples(db, child.session_id)
        return child.newest_t - float(series.t[-1])
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--url", help="records database (default: a fresh SQLite file per run)")
    args = parser.parse_args()
    losses = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="ionto-kill-") as folder:
            lost = one_run(Path(folder), args.url, random.uniform(0.4, 1.2))
        losses.append(lost)
        print(f"run {run + 1}: lost {lost * 1000:.0f} ms", flush=True)
    losses.sort()
    print(f"kill -9 x{len(losses)}: median {losses[len(losses) // 2] * 1000:.0f} ms, worst {losses[-1] * 1000:.0f} ms"
          f" (load average {os.getloadavg()[0]:.1f})")
    print(f"RESULT kill -9 worst samples lost: {losses[-1] * 1000:.0f} ms (goal <= 250)")


if __name__ == "__main__":
    main()
