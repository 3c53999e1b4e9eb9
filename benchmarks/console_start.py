"""Console start time: ``python -m ionto_console`` from launch to "console ready", N times.

    python benchmarks/console_start.py [--runs 5] [--quit-after 0.5]

Each run starts the console as a subprocess, the way a station would, with
the simulated board (the console starts the simulator process itself), the
offscreen Qt platform and a records database in a temporary folder:

    IONTO_DEMO=1 IONTO_DATABASE_URL=sqlite:///<tmp>/records.sqlite3 IONTO_AUTOLOGIN=therapist|engineer (--role)
    python -m ionto_console --quit-after 0.5

(demo mode: the demo accounts with autologin, so no sign-in dialog waits for a person; the
autologin still verifies the demo password's argon2 hash, as a sign-in would).
It reads the console's log as it is written and takes, per run:

- launch to ready: from the subprocess launch to the log line
  "console ready in X s", which the console writes just after the first
  complete paint of its window (signed in, the board link connecting, what a
  therapist waits for; interpreter start included);
- ready as logged: the X of that line (from the first line of
  ``ionto_console.__main__`` on: imports included, interpreter start not);
- whole run: launch to exit (includes the 0.5 s ``--quit-after`` and shutdown).

A first run on the new, empty database (migrations, demo accounts created) is
reported on its own and not counted. Goal: launch to ready under 2 s.
Prints figures; it does not pass or fail.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import load_line, summary, summary_line

GOAL_S = 2.0
READY = re.compile(r"console ready in (?P<s>[0-9.]+) s")
RUN_TIMEOUT_S = 60.0


def one_start(env: dict[str, str], quit_after: float) -> tuple[float | None, float | None, float, str]:
    """(launch->ready s, logged ready s, launch->exit s, output) of one console run."""
    command = [sys.executable, "-m", "ionto_console", "--quit-after", str(quit_after)]
    lines: list[str] = []
    seen: dict[str, float] = {}
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=Path(__file__).resolve().parent.parent)

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            match = READY.search(line)
            if match and "wall" not in seen:
                seen["wall"] = time.perf_counter() - t0
                seen["logged"] = float(match["s"])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.wait(RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()  # only the console this run started
        proc.wait()
        lines.append(f"[killed after {RUN_TIMEOUT_S:g} s]")
    total = time.perf_counter() - t0
    reader.join(5.0)
    output = "\n".join(lines)
    if proc.returncode != 0:
        output += f"\n[exit status {proc.returncode}]"
    return seen.get("wall"), seen.get("logged"), total, output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="counted starts (after one first start)")
    parser.add_argument("--quit-after", type=float, default=0.5)
    parser.add_argument("--role", choices=("therapist", "engineer"), default="therapist",
                        help="demo account signed in (the engineer's window loads the calibration tab)")
    parser.add_argument("--verbose", action="store_true", help="print each run's log")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="ionto-start-bench-") as folder:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1",
                   IONTO_DATABASE_URL=f"sqlite:///{Path(folder) / 'records.sqlite3'}",
                   IONTO_DEMO="1", IONTO_AUTOLOGIN=args.role,
                   IONTO_PROTOCOLS_DIR=str(Path(folder) / "protocols"),
                   XDG_DATA_HOME=str(Path(folder) / "data"), XDG_CONFIG_HOME=str(Path(folder) / "config"))
        first = one_start(env, args.quit_after)
        walls: list[float] = []
        logged: list[float] = []
        totals: list[float] = []
        problems: list[str] = []
        for run in range(args.runs):
            wall, ready, total, output = one_start(env, args.quit_after)
            if args.verbose:
                print(f"--- run {run + 1} ---\n{output}")
            if wall is None or ready is None or "exit status" in output or "killed" in output:
                problems.append(f"run {run + 1}: no clean start/exit:\n{output[-2000:]}")
            if wall is not None and ready is not None:
                walls.append(wall)
                logged.append(ready)
            totals.append(total)

    print(f"console start: {args.runs} runs of `python -m ionto_console --quit-after {args.quit_after:g}` "
          f"(offscreen, simulated board, SQLite in a temporary folder, demo {args.role} signed in); {load_line()}")
    if first[0] is not None:
        print(f"  first start on a new database (migrations, demo accounts; not counted): "
              f"launch to ready {first[0]:.2f} s, logged {first[1]:.2f} s, whole run {first[2]:.2f} s")
    else:
        problems.append(f"first run: no 'console ready' line:\n{first[3][-2000:]}")
    print(summary_line("launch -> console ready", walls, "s"))
    print(summary_line("ready as logged (from __main__)", logged, "s"))
    print(summary_line("whole run (incl. quit-after)", totals, "s"))
    if walls:
        print(f"  interpreter start before __main__: about {summary(walls)[0] - summary(logged)[0]:.2f} s "
              f"(launch to ready minus ready as logged, medians)")
    for problem in problems:
        print(f"  problem: {problem}")
    med, _, worst = summary(walls)
    who = "" if args.role == "therapist" else f" ({args.role})"
    print(f"RESULT console start{who} launch to ready median: {med:.2f} s (goal < {GOAL_S:g})")
    print(f"RESULT console start{who} launch to ready max: {worst:.2f} s (goal < {GOAL_S:g})")
    print(f"RESULT console start{who} ready as logged median: {summary(logged)[0]:.2f} s")
    print(f"RESULT console start{who} failed runs: {len(problems)} runs (goal 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
