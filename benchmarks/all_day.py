"""An all-day station: 8 hours at 1 kHz on the Board monitor, faster than real time.

    python benchmarks/all_day.py [--hours 8] [--rate 1000] [--speed 200] [--end-seconds 30] [--size 1280x800]

The console's ``MainWindow`` shows its Board monitor tab (the station's plots,
refreshed by the window's own 30 Hz timer) while a feeder thread appends the
day's telemetry to the station's history (``Station.buffer``, the bounded
history the board link's reader fills) ``--speed`` times faster than real
time, one second of samples per ``extend``. Nothing is connected: the history
is what this measures (the per-sample path at 1 kHz is in ``stop_latency.py``).
At the end the plot shows the whole day (decimated: the envelope keeps it) and
the newest half hour stays at full resolution (raw samples).

Then the day goes on in real time for ``--end-seconds``: one ``append`` per
sample at ``--rate`` Hz, as the reader thread does, with the whole day on the
plot. The frame budget is judged there; during the fast feed the feeder holds
the interpreter 200 times more than a real board's reader would, so the GUI
figures of that phase are printed without a goal.

Figures: the process's resident memory (RSS) every simulated 15 minutes, its
peak and its growth over the second half of the day (the day's envelope grows
by design, 0.5 byte a sample; nothing else may); the GUI thread's longest task
per 33 ms frame (every event timed, see ``_console.timed_application``) and
the Board monitor's redraws. Prints figures; run_all judges the goals.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from _common import load_line, rss_mb, summary, summary_line  # noqa: E402
from _console import timed_application  # noqa: E402
from plot_frame_time import synthetic_session  # noqa: E402

GOAL_RSS_MB = 400.0
#: growth allowed over the second half of the day: the envelope's 0.5 byte a sample (7 MB for 4 h
#: at 1 kHz) plus the allocator's slack; a leak of a few bytes a sample would be tens of MB
GOAL_SECOND_HALF_GROWTH_MB = 25.0
GOAL_GUI_TASK_P99_MS = 8.0


class _Sources:
    """No ports to offer: nothing is connected in this benchmark."""

    def choices(self) -> list[tuple[str, str]]:
        return []

    def connect(self, key: str) -> None:
        pass

    def notice(self) -> str:  # the window's PortSources asks for a line about the choices (none here)
        return ""


class DayFeeder(threading.Thread):
    """Appends ``hours`` of synthetic telemetry at ``rate`` Hz, ``speed`` times faster than real time."""

    def __init__(self, buffer, hours: float, rate: int, speed: float) -> None:
        super().__init__(name="day-feeder", daemon=True)
        self.buffer, self.rate, self.speed = buffer, rate, speed
        self.total = int(hours * 3600 * rate)
        self.fed = 0
        self.rss: list[tuple[float, float]] = []  # (simulated hours, MB)
        self.stopping = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        rng = np.random.default_rng(11)
        block = self.rate  # one second of samples per extend
        start = time.perf_counter()
        next_rss = 0
        while self.fed < self.total and not self.stopping.is_set():
            n = min(block, self.total - self.fed)
            t = (self.fed + np.arange(n)) / self.rate
            current, voltage, target, on = synthetic_session(t % 1800.0, rng)
            self.buffer.extend(t, current, voltage, target, on)
            self.fed += n
            if self.fed >= next_rss:
                self.rss.append((self.fed / self.rate / 3600, rss_mb()))
                next_rss += 15 * 60 * self.rate
            ahead = self.fed / self.rate / self.speed - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)
        self.rss.append((self.fed / self.rate / 3600, rss_mb()))
        self.done.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--speed", type=float, default=200.0, help="times faster than real time")
    parser.add_argument("--end-seconds", type=float, default=30.0,
                        help="real-time seconds at the end of the day, where the frame budget is judged")
    parser.add_argument("--size", default="1280x800", help="window size in pixels, WxH")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    app = timed_application()
    from PySide6.QtCore import QTimer

    from ionto_console.control.station import Station
    from ionto_console.control.treatment_desk import TreatmentDesk
    from ionto_console.ui.alarm_sound import RecordingPlayer
    from ionto_console.ui.main_window import MainWindow
    from _common import quick_protocol

    from ionto_console import app as console_app

    getattr(console_app, "share_the_interpreter", lambda: None)()  # as the console's main() (older builds: no-op)
    station = Station()
    desk = TreatmentDesk(station)
    window = MainWindow(station, _Sources(), desk, [quick_protocol()], alarm_player=RecordingPlayer())
    window.resize(width, height)
    window.show()
    window.tabs.setCurrentWidget(window.monitor)  # the Board monitor, drawn by the window's own timer
    app.processEvents()
    plots = window.plots
    redraws = {"n": 0}
    real_set = plots.measured_curve.setData

    def counted(*a, **k):
        redraws["n"] += 1
        return real_set(*a, **k)

    plots.measured_curve.setData = counted
    rss_start = rss_mb()
    feeder = DayFeeder(station.buffer, args.hours, args.rate, args.speed)
    app.recording = True
    wall0 = time.perf_counter()
    feeder.start()
    poll = QTimer()
    poll.timeout.connect(lambda: feeder.done.is_set() and app.quit())
    poll.start(200)
    app.exec()
    poll.stop()
    app.processEvents()
    wall = time.perf_counter() - wall0
    app.recording = False
    fast_frames = app.longest_per_frame()
    fast_tasks = list(app.durations)
    # the end of the day in real time: one append per sample, as the board link's reader does
    from plot_frame_time import Feeder

    app.durations.clear()
    app.ends.clear()
    app.cpu.clear()
    app.recording = True
    live = Feeder(station.buffer, feeder.fed, args.rate)
    live.start()
    QTimer.singleShot(int(args.end_seconds * 1000), app.quit)
    app.exec()
    live.stopping.set()
    live.join()
    app.recording = False
    view = station.buffer.view()
    x, _ = plots.measured_curve.getData()
    frames = app.longest_per_frame()
    desk.shutdown()
    rss_end = rss_mb()

    hours_fed = feeder.fed / args.rate / 3600
    rss = feeder.rss
    peak = max(mb for _, mb in rss)
    half = [mb for h, mb in rss if h >= hours_fed / 2]
    growth = (half[-1] - half[0]) if len(half) >= 2 else float("nan")
    print(f"all-day Board monitor: {hours_fed:.2f} h at {args.rate} Hz ({feeder.fed:,} samples) fed in {wall:.0f} s "
          f"({hours_fed * 3600 / wall:.0f}x real time); window {width}x{height}; {load_line()}")
    print(f"  history: {len(view):,} raw samples kept (the newest {len(view) / args.rate / 60:.0f} min), "
          f"{view.envelope.samples_fed:,} in the envelope; the plot spans {x.min() / 3600:.2f} h to "
          f"{x.max() / 3600:.2f} h with {len(x):,} points; {redraws['n']} redraws")
    print("  RSS (MB) by simulated hour: " + ", ".join(f"{h:.2f} h {mb:.0f}" for h, mb in rss[::4] + rss[-1:]))
    print(f"  RSS at start {rss_start:.0f} MB, peak {peak:.0f} MB, growth over the second half {growth:.1f} MB")
    print(f"  fast feed ({hours_fed * 3600 / wall:.0f}x real time): GUI figures without a goal (the feeder "
          "holds the interpreter far more than a real board's reader)")
    print(summary_line("GUI thread task", fast_tasks))
    print(summary_line("longest GUI task per 33 ms frame", fast_frames))
    print(f"  then {args.end_seconds:g} s in real time at {args.rate} Hz ({live.appended:,} appends), "
          f"whole day on the plot; RSS at the end {rss_end:.0f} MB")
    print(summary_line("GUI thread task", app.durations))
    print(summary_line("longest GUI task per 33 ms frame", frames))
    print(f"RESULT all-day hours fed: {hours_fed:.2f} h")
    print(f"RESULT all-day speed: {hours_fed * 3600 / wall:.0f} x real time")
    print(f"RESULT all-day whole day on the plot: {x.min() / 3600:.2f} h (goal <= 0.01)")
    print(f"RESULT all-day RSS peak: {peak:.0f} MB (goal < {GOAL_RSS_MB:g})")
    print(f"RESULT all-day RSS growth second half: {growth:.1f} MB (goal < {GOAL_SECOND_HALF_GROWTH_MB:g})")
    med, p99, worst = summary(frames)
    print(f"RESULT all-day real-time end GUI longest task per frame median: {med:.2f} ms")
    print(f"RESULT all-day real-time end GUI longest task per frame p99: {p99:.2f} ms "
          f"(goal < {GOAL_GUI_TASK_P99_MS:g})")
    print(f"RESULT all-day real-time end GUI longest task max: {worst:.2f} ms")
    print(f"RESULT all-day fast feed GUI longest task per frame p99: {summary(fast_frames)[1]:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
