"""Run every benchmark in benchmarks/ and print one table of their headline figures.

    python benchmarks/run_all.py [--quick] [--repeat N] [--only NAME ...] [--timeout-scale X] [--verbose]
                                 [--strict]

Each script runs as its own subprocess (one after the other, so they do not
compete for the CPU), with the default arguments in ``RUNS`` (the issue's
figures: telemetry over 10 minutes at 100 and at 1000 Hz, 200 stops of each
kind with the GUI busy, ...; about 35 minutes in all) or, with ``--quick``,
short ones (a few minutes), and a time limit. A script reports its figures as
lines of the form

    RESULT <figure name>: <value> [<unit>] [(goal ...)]

and this runner collects them into one table: benchmark, figure, value, goal
and a verdict (pass / FAIL; blank for a figure without a goal). A goal reads
``< N``, ``<= N``, ``> N``, ``>= N`` or ``N`` (equal). Any other output is
shown with --verbose. A script found in benchmarks/ without an entry below runs
with no arguments; ``soak.py`` (an hour) is not run from here.
The exit status is 1 if a script failed or timed out (with --strict: also if
a goal was missed).

``--repeat N`` runs each benchmark N times (one after the other): the table
then shows each figure's median over the runs and its range, and the verdict
counts the runs that met the goal ("pass 3/3"; any miss is a FAIL), since a
goal must hold in every run. The machine's load average is printed before and
after each run: on a shared machine, compare a figure that depends on the
machine with the same benchmark on main (``PYTHONPATH=<main>/src``), not with
its goal alone.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: script -> (full arguments, quick arguments, time limit in s for the full run; --quick: half);
#: a script can appear in several runs (name suffix after ":")
RUNS: dict[str, tuple[list[str], list[str], float]] = {
    "telemetry_rate.py:100Hz": (["--seconds", "600", "--rate", "100"], ["--seconds", "5", "--rate", "100"], 800),
    "telemetry_rate.py:1000Hz": (["--seconds", "600", "--rate", "1000"], ["--seconds", "10", "--rate", "1000"], 800),
    "stop_latency.py:emergency": (["--stops", "200", "--reason", "emergency", "--rate", "1000"],
                                  ["--stops", "10", "--reason", "emergency", "--rate", "1000"], 1500),
    "stop_latency.py:esc": (["--stops", "200", "--reason", "emergency", "--input", "esc", "--rate", "1000"],
                            ["--stops", "10", "--reason", "emergency", "--input", "esc", "--rate", "1000"], 1500),
    "stop_latency.py:dizziness": (["--stops", "200", "--reason", "dizziness", "--rate", "1000"],
                                  ["--stops", "5", "--reason", "dizziness", "--rate", "1000"], 1500),
    "all_day.py": (["--hours", "8", "--speed", "200"], ["--hours", "2", "--speed", "200"], 900),
    "interlock_reaction.py": (["--repeats", "20"], ["--repeats", "3"], 600),
    "plot_frame_time.py": (["--frames", "300"], ["--frames", "100"], 300),
    "storage.py": (["--minutes", "30", "--write-seconds", "3"], ["--minutes", "5", "--write-seconds", "1"], 600),
    "storage.py:postgres": (["--postgres", "--minutes", "30", "--write-seconds", "3"],
                            ["--postgres", "--minutes", "5", "--write-seconds", "1"], 900),
    "kill_loss.py": (["--runs", "20"], ["--runs", "5"], 600),
    "console_start.py": (["--runs", "10"], ["--runs", "3"], 300),
    "record_integrity.py": (["--minutes", "30"], ["--minutes", "5"], 600),
    "memory_session.py": (["--minutes", "30"], ["--minutes", "10"], 300),
    "records_tab_stall.py": (["--sessions", "12", "--minutes", "20"], ["--sessions", "4", "--minutes", "5"], 300),
    "replay_speed.py": (["--runs", "10"], ["--runs", "3"], 120),
}
#: scripts in this folder that run_all leaves out (they have their own documented command)
NOT_RUN = {"soak.py": "one hour at 1000 Hz: run it on its own (see README.md)"}
DEFAULT_TIMEOUT_S = 300.0

RESULT_LINE = re.compile(r"^RESULT (?P<name>.+?): (?P<value>\S+)(?: (?P<unit>[^(]*?))?\s*(?:\((?P<goal>.*)\))?\s*$")
GOAL = re.compile(r"^goal\s*(?P<op><=|>=|==|=|<|>)?\s*(?P<limit>[-+]?[0-9][0-9,]*(?:\.[0-9]+)?)\b")
_COMPARE = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__, "=": float.__eq__,
            "==": float.__eq__}


def verdict(value: str, goal: str) -> str:
    """"pass" or "FAIL" when ``goal`` is a comparison with a number, "" when there is no goal, "?" otherwise."""
    if not goal.strip():
        return ""
    match = GOAL.match(goal.strip())
    if match is None:
        return "?"
    try:
        number = float(value.replace(",", ""))
    except ValueError:
        return "FAIL"  # no figure where a goal was set (e.g. nothing measured)
    if number != number:  # NaN: nothing measured
        return "FAIL"
    limit = float(match["limit"].replace(",", ""))
    return "pass" if _COMPARE[match["op"] or "="](number, limit) else "FAIL"


@dataclass
class Outcome:
    run: str
    status: str  # "ok", "failed (rc N)", "timeout after N s", "no RESULT lines"
    seconds: float
    results: list[tuple[str, str, str, str]] = field(default_factory=list)  # name, value, unit, goal
    output: str = ""
    #: with --repeat: figure -> (runs that met the goal, runs)
    passes: dict[str, tuple[int, int]] = field(default_factory=dict)
    load: str = ""


def parse_results(text: str) -> list[tuple[str, str, str, str]]:
    """The RESULT lines of a script's output as (name, value, unit, goal)."""
    found = []
    for line in text.splitlines():
        match = RESULT_LINE.match(line.strip())
        if match:
            found.append((match["name"], match["value"], (match["unit"] or "").strip(), match["goal"] or ""))
    return found


def discover() -> list[str]:
    """Runs to do: the table's entries, plus any other benchmark script in this folder."""
    known = {run.split(":")[0] for run in RUNS}
    scripts = sorted(p.name for p in HERE.glob("*.py") if p.name != Path(__file__).name)
    runs = [run for run in RUNS if (HERE / run.split(":")[0]).exists()]
    runs += [s for s in scripts if s not in known and s not in NOT_RUN and not s.startswith("_")]
    return runs


def run_one(run: str, quick: bool, timeout_scale: float) -> Outcome:
    script = run.split(":")[0]
    full, short, limit = RUNS.get(run, ([], [], DEFAULT_TIMEOUT_S))
    limit *= timeout_scale * (0.5 if quick else 1.0)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")
    command = [sys.executable, str(HERE / script), *(short if quick else full)]
    t0 = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, env=env, cwd=HERE.parent)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return Outcome(run, f"timeout after {limit:.0f} s", time.perf_counter() - t0, parse_results(out), out)
    seconds = time.perf_counter() - t0
    output = done.stdout + (f"\n[stderr]\n{done.stderr}" if done.stderr.strip() else "")
    results = parse_results(done.stdout)
    if done.returncode != 0:
        status = f"failed (rc {done.returncode})"
    else:
        status = "ok" if results else "no RESULT lines"
    return Outcome(run, status, seconds, results, output)


def run_verdict(outcome: Outcome, name: str, value: str, goal: str) -> str:
    """The verdict of one figure: of its value, or with --repeat of every run ("pass 3/3")."""
    if name not in outcome.passes:
        return verdict(value, goal)
    if not goal.strip():
        return ""
    passed, runs = outcome.passes[name]
    return f"{'pass' if passed == runs else 'FAIL'} {passed}/{runs}"


def merge(runs: list[Outcome]) -> Outcome:
    """One outcome from several runs of a benchmark: per figure the median value, the range and
    how many runs met the goal (in ``unit``: "<unit>  [min..max]", in goal's verdict: see ``table``)."""
    first = runs[0]
    merged = Outcome(first.run, ", ".join(sorted({o.status for o in runs})), sum(o.seconds for o in runs))
    names = [name for name, *_ in first.results]
    for name in names:
        rows = [r for o in runs for r in o.results if r[0] == name]
        numbers = []
        for _, value, _, _ in rows:
            try:
                numbers.append(float(value.replace(",", "")))
            except ValueError:
                pass
        unit, goal = rows[0][2], rows[0][3]
        passed = sum(1 for _, value, _, g in rows if verdict(value, g) == "pass")
        value = f"{statistics.median(numbers):.2f}" if numbers else rows[0][1]
        spread = f" [{min(numbers):g}..{max(numbers):g}]" if len(numbers) > 1 else ""
        merged.results.append((name, value, f"{unit}{spread}", goal))
        merged.passes[name] = (passed, len(rows))
    merged.output = "\n".join(o.output for o in runs)
    return merged


def table(outcomes: list[Outcome]) -> str:
    rows = [("benchmark", "figure", "value", "unit", "goal", "verdict")]
    for outcome in outcomes:
        label = f"{outcome.run} [{outcome.status}, {outcome.seconds:.0f} s, load {outcome.load}]"
        if not outcome.results:
            rows.append((label, "-", "-", "", "", "FAIL" if outcome.status != "ok" else ""))
        for i, (name, value, unit, goal) in enumerate(outcome.results):
            rows.append((label if i == 0 else "", name, value, unit, goal, run_verdict(outcome, name, value, goal)))
    widths = [max(len(row[c]) for row in rows) for c in range(6)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.rjust(w) if c == 2 else cell.ljust(w) for c, (cell, w) in
                               enumerate(zip(row, widths))).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (about two minutes in all)")
    parser.add_argument("--repeat", type=int, default=1, help="run each benchmark N times; medians and runs met")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="run only benchmarks whose name contains one of these (e.g. plot stop)")
    parser.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every time limit")
    parser.add_argument("--verbose", action="store_true", help="also print each script's full output")
    parser.add_argument("--strict", action="store_true", help="exit 1 also when a figure misses its goal")
    args = parser.parse_args(argv)

    runs = discover()
    if args.only:
        runs = [run for run in runs if any(part in run for part in args.only)]
    outcomes = []
    for run in runs:
        repeats = []
        for i in range(max(1, args.repeat)):
            before = os.getloadavg()[0]
            print(f"running {run} ({i + 1}/{args.repeat}, load average {before:.1f}) ...", file=sys.stderr, flush=True)
            outcome = run_one(run, args.quick, args.timeout_scale)
            outcome.load = f"{before:.1f}->{os.getloadavg()[0]:.1f}"
            print(f"  {outcome.status} in {outcome.seconds:.0f} s (load average {outcome.load})", file=sys.stderr,
                  flush=True)
            if args.verbose or outcome.status != "ok":
                print(f"--- output of {run} ---\n{outcome.output.rstrip()}\n", flush=True)
            repeats.append(outcome)
        merged = merge(repeats) if len(repeats) > 1 else repeats[0]
        merged.load = ", ".join(o.load for o in repeats)
        outcomes.append(merged)
    load = os.getloadavg()[0]
    print(f"\nbenchmarks ({'quick' if args.quick else 'default'} settings; {os.cpu_count()} CPUs, "
          f"load average {load:.1f})")
    print(table(outcomes))
    verdicts = [run_verdict(o, name, value, goal).split(" ")[0] for o in outcomes
                for name, value, _, goal in o.results]
    missed = [f"{o.run}: {name} = {value} {unit} ({goal})" for o in outcomes
              for name, value, unit, goal in o.results if run_verdict(o, name, value, goal).startswith("FAIL")]
    print(f"\ngoals: {verdicts.count('pass')} pass, {verdicts.count('FAIL')} FAIL, "
          f"{sum(1 for v in verdicts if v == '')} figures without a goal")
    for line in missed:
        print(f"  missed: {line}")
    for script, why in NOT_RUN.items():
        print(f"not run here: {script} ({why})")
    scripts_ok = all(o.status in ("ok", "no RESULT lines") for o in outcomes)
    return 0 if scripts_ok and not (args.strict and missed) else 1


if __name__ == "__main__":
    sys.exit(main())
