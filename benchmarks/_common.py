"""Helpers shared by the benchmark scripts (not a benchmark: run_all skips names starting with "_").

- statistics the scripts print the same way (median / p99 / max);
- polling with a deadline; the process's resident memory;
- the short protocol the treatment benchmarks run;
- ``BusyGui``: a GUI thread kept busy redrawing the treatment screen's live
  plots with a growing 30-minute history, plus a way to run a call on that GUI
  thread the way a button click would (queued behind whatever it is drawing).
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from typing import Any, Callable

from ionto_console.core.protocols import Protocol, load_library

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> tuple[float, float, float]:
    """(median, p99, max) of ``values`` (all NaN when empty)."""
    if not values:
        nan = float("nan")
        return nan, nan, nan
    return statistics.median(values), percentile(values, 0.99), max(values)


def summary_line(label: str, values: list[float], unit: str = "ms", width: int = 34) -> str:
    med, p99, worst = summary(values)
    return (f"  {label:{width}s} median {med:8.2f} {unit}   p99 {p99:8.2f} {unit}   max {worst:8.2f} {unit}"
            f"   (n={len(values)})")


def wait_until(predicate: Callable[[], Any], timeout: float, poll: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return bool(predicate())


def rss_mb() -> float:
    """Resident set size of this process now (not the peak), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def quick_protocol(**changes: Any) -> Protocol:
    """Dexamethasone from the library, starting at 1 mA at once, with a dose of ``dose_target_ma_min``
    (default 20 mA·min: the session is still running when a benchmark stops it)."""
    base = next(p for p in load_library() if p.id == "dexamethasone-4mgml-40")
    data = base.model_dump(mode="json")
    data.update({"dose_target_ma_min": 20.0, "ramp_start_ma": 1.0, "ramp_rate_ma_s": 5.0, "ramp_down_s": 0.5})
    data.update(changes)
    return Protocol.model_validate(data)


#: Faults at the patient end and in the board: simulator method that injects it, and the one that
#: undoes it (None: the simulated regulator recovers by itself once the output is off).
PATIENT_AND_BOARD_FAULTS: dict[str, tuple[str, str | None]] = {
    "lift": ("lift_electrode", "restore_electrode"),
    "short": ("short_electrodes", "clear_short"),
    "overcurrent": ("inject_overcurrent", None),
    "hw_stop": ("press_hw_stop", "release_hw_stop"),
}


def inject_fault(server: Any, fault: str) -> None:
    """Inject one of ``PATIENT_AND_BOARD_FAULTS`` into a ``SimulatedBoardServer``."""
    getattr(server, PATIENT_AND_BOARD_FAULTS[fault][0])()


def undo_faults(server: Any) -> None:
    """Undo every fault of ``PATIENT_AND_BOARD_FAULTS`` the simulator may still hold."""
    for _, undo in PATIENT_AND_BOARD_FAULTS.values():
        if undo is not None:
            getattr(server, undo)()


def load_line() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


class BusyGui:
    """The treatment screen's plots redrawing a growing history on this (the main) thread.

    A 30-minute history at ``rate`` Hz is pre-filled, a feeder thread keeps
    appending at ``rate`` Hz (one ``append`` per sample, like the controller),
    and a QTimer every ``redraw_ms`` calls ``LivePlots.show_history`` and
    ``grab()`` (a real paint on the offscreen platform), as the treatment view's
    33 ms refresh does. ``run(work)`` runs ``work`` on a worker thread while the
    Qt event loop runs here; ``call(fn)`` runs ``fn`` on the GUI thread between
    two frames, like a button's clicked handler, and returns (its result, how
    long the call waited in the event queue in s)."""

    def __init__(self, history_minutes: float = 30.0, rate: int = 1000, redraw_ms: int = 33,
                 size: tuple[int, int] = (1280, 560)) -> None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtCore import QObject, QTimer, Signal, Slot
        from PySide6.QtWidgets import QApplication

        from ionto_console.ui.live_plots import LivePlots
        from plot_frame_time import Feeder, prefilled_buffer

        class _Invoker(QObject):
            requested = Signal(object)

            def __init__(self) -> None:
                super().__init__()
                self.requested.connect(self._run)

            @Slot(object)
            def _run(self, job: Callable[[], None]) -> None:
                job()

        self.app = QApplication.instance() or QApplication([])
        t0 = time.perf_counter()
        self.buffer = prefilled_buffer(history_minutes, rate)
        self.fill_s = time.perf_counter() - t0
        self.history_minutes, self.rate, self.redraw_ms = history_minutes, rate, redraw_ms
        self.plots = LivePlots()
        self.plots.resize(*size)
        self.plots.show()
        self.app.processEvents()
        self.plots.show_history(self.buffer.view())
        self.plots.grab()
        self._feeder = Feeder(self.buffer, len(self.buffer), rate)
        self._invoker = _Invoker()
        self._timer = QTimer()
        self._timer.setInterval(redraw_ms)
        self._timer.timeout.connect(self._frame)
        self.frames: list[float] = []  # ms per redraw
        self._gui_thread = threading.current_thread()

    def _frame(self) -> None:
        f0 = time.perf_counter()
        self.plots.show_history(self.buffer.view())
        self.plots.grab()
        self.frames.append((time.perf_counter() - f0) * 1e3)

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> tuple[Any, float]:
        """Run ``fn`` on the GUI thread (queued, like a click) and wait for it."""
        if threading.current_thread() is self._gui_thread:
            return fn(), 0.0
        done = threading.Event()
        box: dict[str, Any] = {}
        requested = time.perf_counter()

        def job() -> None:
            box["waited"] = time.perf_counter() - requested
            try:
                box["result"] = fn()
            except BaseException as exc:  # handed back to the caller's thread
                box["error"] = exc
            done.set()

        self._invoker.requested.emit(job)
        if not done.wait(timeout):
            raise TimeoutError("the GUI thread did not run the call in time")
        if "error" in box:
            raise box["error"]
        return box.get("result"), box["waited"]

    def run(self, work: Callable[[], Any]) -> Any:
        """Run ``work()`` on a worker thread while this thread redraws; its result (or exception)."""
        box: dict[str, Any] = {}

        def worker() -> None:
            try:
                box["result"] = work()
            except BaseException as exc:
                box["error"] = exc
            finally:
                self._invoker.requested.emit(self.app.quit)

        self._feeder.start()
        self._timer.start()
        thread = threading.Thread(target=worker, name="benchmark-worker", daemon=True)
        self.wall0 = time.perf_counter()
        thread.start()
        self.app.exec()
        self.wall = time.perf_counter() - self.wall0
        self._timer.stop()
        self._feeder.stopping.set()
        self._feeder.join()
        thread.join(5.0)
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def describe(self) -> str:
        med, p99, worst = summary(self.frames)
        return (f"GUI busy: LivePlots redrawn every {self.redraw_ms} ms (show_history + grab) with a "
                f"{self.history_minutes:g}-minute {self.rate} Hz history growing at {self.rate}/s "
                f"({len(self.buffer):,} samples at the end); {len(self.frames)} frames in {self.wall:.0f} s, "
                f"frame median {med:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms")
