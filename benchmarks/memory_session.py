"""Memory of a 30-minute 1000 Hz session: resident set size after each simulated minute.

    python benchmarks/memory_session.py [--minutes 30] [--rate 1000] [--refresh-s 2]

The process holds what the console holds during a treatment: the session's
``TelemetryBuffer`` (fed one ``append`` per sample, as the controller thread
does) and the treatment screen's ``LivePlots``, redrawn (``show_history`` +
``grab``) every ``--refresh-s`` of simulated time. Data is fed faster than
real time (about a minute of wall time for the default 30 minutes). Prints RSS
(VmRSS from /proc/self/status) after every simulated minute; goal: under
300 MB and flat after the first minutes. It does not pass or fail.
"""

from __future__ import annotations

import argparse
import inspect
import os
import resource
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from ionto_console.control.telemetry_buffer import TelemetryBuffer  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import rss_mb  # noqa: E402
from plot_frame_time import synthetic_session  # noqa: E402

GOAL_MB = 300.0
#: RSS growth allowed over the last minutes of the session (fragmentation, caches): "flat".
GOAL_FLAT_MB = 10.0
#: TelemetryBuffer's first capacity; it doubles when full.
INITIAL_CAPACITY = inspect.signature(TelemetryBuffer).parameters["initial_capacity"].default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--refresh-s", type=float, default=2.0, help="simulated seconds between plot redraws")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from ionto_console.ui.live_plots import LivePlots

    app = QApplication.instance() or QApplication([])
    plots = LivePlots()
    plots.resize(1280, 560)
    plots.show()
    app.processEvents()
    plots.grab()
    baseline = rss_mb()
    print(f"baseline (Python, Qt, pyqtgraph, empty plots): {baseline:.0f} MB")
    buffer = TelemetryBuffer()
    rng = np.random.default_rng(1)
    per_refresh = max(1, int(args.refresh_s * args.rate))
    curve: list[float] = []
    wall0 = time.perf_counter()
    index = 0
    for minute in range(1, args.minutes + 1):
        end = minute * 60 * args.rate
        while index < end:
            stop = min(index + per_refresh, end)
            t = np.arange(index, stop) / args.rate
            for row in zip(t.tolist(), *(a.tolist() for a in synthetic_session(t, rng))):
                buffer.append(*row)
            index = stop
            plots.show_history(buffer.view())
            plots.grab()
            app.processEvents()
        curve.append(rss_mb())
        print(f"minute {minute:3d}: {len(buffer):>10,} samples   RSS {curve[-1]:6.0f} MB   "
              f"(+{curve[-1] - baseline:.0f} MB over baseline)", flush=True)
    wall = time.perf_counter() - wall0

    high_water = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    last = curve[-min(10, len(curve)) :]
    view = buffer.view()
    data_mb = sum(getattr(view, name).nbytes for name in ("t", "current_ma", "voltage_v", "target_ma",
                                                          "impedance_kohm")) / 1e6
    print(f"{args.minutes} simulated minutes in {wall:.0f} s; the history holds {len(buffer):,} samples = "
          f"{data_mb:.0f} MB of data (the buffer doubles its capacity when full, so RSS rises in steps)")
    print(f"RESULT memory RSS at end: {curve[-1]:.0f} MB (goal < {GOAL_MB:g})")
    print(f"RESULT memory peak RSS (high-water): {high_water:.0f} MB (goal < {GOAL_MB:g})")
    # "Flat after the first minutes": judged over the last minutes only when no capacity
    # doubling of the history falls in them (at 1000 Hz: 1.1, 2.2, 4.4, 8.7, 17.5, 35 min).
    first_minute = args.minutes - len(last) + 1
    doublings = [INITIAL_CAPACITY * 2**k / (args.rate * 60) for k in range(32)]
    step_inside = any(first_minute < d <= args.minutes for d in doublings)
    goal = "" if step_inside else f" (goal < {GOAL_FLAT_MB:g})"
    if step_inside:
        print(f"(a history capacity doubling falls in minutes {first_minute}..{args.minutes}: "
              f"the growth figure there is not a flatness test; run --minutes 30)")
    print(f"RESULT memory growth over the last {len(last)} min: {last[-1] - last[0]:.0f} MB{goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
