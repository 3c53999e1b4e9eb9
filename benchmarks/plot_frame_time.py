"""Plot frame time of the treatment screen's live plots with a long history.

    python benchmarks/plot_frame_time.py [--minutes 30] [--rate 1000] [--frames 300] [--size 1280x560]

The history (``TelemetryBuffer``) is pre-filled with a realistic synthetic
session (ramp in slewed steps, plateaus with noise and mains ripple, operator
steps, a pause with the output off, impedance falling from ~30 to ~3 kOhm),
then a feeder thread keeps appending at ``--rate`` in real time, one sample per
``append`` call as the controller thread does. On the GUI thread each frame is
``LivePlots.show_history(buffer.view())`` followed by ``widget.grab()``, which
really paints the scene into a pixmap (offscreen platform). Prints median, p99
and max frame time; it does not pass or fail. Goal: p99 < 33 ms (30 fps).

``synthetic_session`` is also used by ``memory_session.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from _common import percentile  # noqa: E402
from ionto_console.control.telemetry_buffer import TelemetryBuffer  # noqa: E402

GOAL_P99_MS = 33.0


def synthetic_session(t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Current, voltage, target (mA, V, mA) and output flag at times ``t`` (s) of a
    made-up but realistic treatment; a pure function of time plus noise, so a
    feeder can continue it sample by sample where the pre-fill stopped."""
    t = np.asarray(t, dtype=np.float64)
    # target: 0.5 mA start, +0.1 mA steps every 4 s up to 3 mA, operator steps later,
    # a 30 s pause (output off) at 10 min, a ramp down over the last 10 s of 30 min
    target = np.minimum(0.5 + 0.1 * np.floor(t / 4.0), 3.0)
    target = np.where((t > 400) & (t < 700), target - 0.4, target)  # patient asked for less
    target = np.where((t > 900) & (t < 1300), target + 0.3, target)  # raised again
    paused = (t >= 600) & (t < 630)
    target = np.where(paused, 0.0, target)
    ramp_down = np.clip((1800.0 - t) / 10.0, 0.0, 1.0)
    target = target * ramp_down
    output_on = ~paused & (ramp_down > 0)
    # measured: tracks the target, with noise and a small 50 Hz ripple
    current = target + rng.normal(0.0, 0.01, t.shape) + 0.005 * np.sin(2 * np.pi * 50 * t)
    current = np.where(output_on, current, rng.normal(0.0, 0.003, t.shape))
    # skin impedance falls from ~30 to ~3 kOhm as the skin hydrates
    r_kohm = 3.0 + 27.0 * np.exp(-t / 300.0) + rng.normal(0.0, 0.05, t.shape)
    voltage = np.abs(current) * r_kohm
    return current, voltage, target, output_on


def prefilled_buffer(minutes: float, rate: int, seed: int = 1) -> TelemetryBuffer:
    """A history holding ``minutes`` of the synthetic session at ``rate`` Hz."""
    buffer = TelemetryBuffer()
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * rate)
    block = 60 * rate
    for lo in range(0, total, block):
        t = np.arange(lo, min(lo + block, total)) / rate
        buffer.extend(t, *synthetic_session(t, rng))
    return buffer


class Feeder(threading.Thread):
    """Appends the session's next samples in real time at ``rate`` Hz, one
    ``append`` call per sample (like the controller's reader thread)."""

    def __init__(self, buffer: TelemetryBuffer, start_index: int, rate: int, seed: int = 2) -> None:
        super().__init__(daemon=True, name="feeder")
        self.buffer, self.index, self.rate = buffer, start_index, rate
        self.rng = np.random.default_rng(seed)
        self.stopping = threading.Event()
        self.appended = 0

    def run(self) -> None:
        t0 = time.perf_counter()
        first = self.index
        while not self.stopping.is_set():
            due = first + int((time.perf_counter() - t0) * self.rate)
            if due > self.index:
                t = np.arange(self.index, due) / self.rate
                for row in zip(t.tolist(), *(a.tolist() for a in synthetic_session(t, self.rng))):
                    self.buffer.append(*row)
                self.appended += due - self.index
                self.index = due
            time.sleep(0.001)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="history length before the frames start")
    parser.add_argument("--rate", type=int, default=1000, help="sample rate of history and feeder (Hz)")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="1280x560", help="plot widget size in pixels, WxH")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    from PySide6.QtWidgets import QApplication

    from ionto_console.ui.live_plots import LivePlots

    app = QApplication.instance() or QApplication([])
    t0 = time.perf_counter()
    buffer = prefilled_buffer(args.minutes, args.rate)
    fill_s = time.perf_counter() - t0
    plots = LivePlots()
    plots.resize(width, height)
    plots.show()
    app.processEvents()
    plots.show_history(buffer.view())  # first frame (autorange, caches) not counted
    plots.grab()

    feeder = Feeder(buffer, len(buffer), args.rate)
    feeder.start()
    frames: list[float] = []
    cpu: list[float] = []  # GUI-thread CPU per frame: what the frame costs, whatever the machine's load
    points: list[int] = []
    wall0 = time.perf_counter()
    try:
        for _ in range(args.frames):
            app.processEvents()
            f0, c0 = time.perf_counter(), time.thread_time()
            plots.show_history(buffer.view())
            plots.grab()
            frames.append((time.perf_counter() - f0) * 1e3)
            cpu.append((time.thread_time() - c0) * 1e3)
            points.append(plots.curve_points())
    finally:
        feeder.stopping.set()
        feeder.join()
    wall = time.perf_counter() - wall0

    med, p99, worst = statistics.median(frames), percentile(frames, 0.99), max(frames)
    print(f"history {len(buffer):,} samples per channel ({args.minutes:g} min at {args.rate} Hz, "
          f"pre-filled in {fill_s:.1f} s); feeder appended {feeder.appended:,} during the run "
          f"({feeder.appended / wall:,.0f} /s)")
    print(f"widget {width}x{height}, {len(frames)} frames in {wall:.1f} s; "
          f"measured curve drawn with {statistics.median(points):,.0f} points (median)")
    print(f"frame time (show_history + grab)  median {med:.1f} ms   p99 {p99:.1f} ms   max {worst:.1f} ms")
    print(f"GUI-thread CPU per frame          median {statistics.median(cpu):.1f} ms   "
          f"p99 {percentile(cpu, 0.99):.1f} ms   max {max(cpu):.1f} ms   "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"RESULT plot frame median: {med:.1f} ms")
    print(f"RESULT plot frame p99: {p99:.1f} ms (goal < {GOAL_P99_MS:g})")
    print(f"RESULT plot frame max: {worst:.1f} ms")
    print(f"RESULT plot frame GUI-thread CPU median: {statistics.median(cpu):.1f} ms")
    print(f"RESULT plot frame GUI-thread CPU p99: {percentile(cpu, 0.99):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
