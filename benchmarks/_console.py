"""The console's real main window, treating against the simulator, for the benchmarks (not a benchmark).

``ConsoleBench`` builds what ``app.py`` builds for a therapist: the station
connected to the simulated board (its own process, as in the console), the
treatment desk with a records database (SQLite in a temporary folder: every
session is recorded, samples and all), ``MainWindow`` with the Records tab
built, at a real window size. It then makes the window as loaded as the issue
asks: a 30-minute history on both treatment plots (every session starts with
30 minutes of synthetic history before its first real sample) and an all-day
history on the Board monitor (``monitor_hours`` of synthetic samples before
the board's first). Both histories then grow at the board's telemetry rate.

``timed_application`` measures the GUI thread's tasks: each event delivered at
the top level (the refresh timers, paints, queued calls, input) is one task;
an input event that arrives meanwhile waits for it.

``run(work)`` runs ``work`` on a benchmark thread while the Qt event loop runs
on the main thread; ``gui(fn)`` runs ``fn`` on the GUI thread (queued, like an
input event) and returns its result and how long it waited in the queue.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from _common import quick_protocol, wait_until  # noqa: E402
from plot_frame_time import synthetic_session  # noqa: E402


#: a GUI task longer than this is counted by its receiver and event type
SLOW_MS = 4.0


def task_label(receiver: Any, event: Any) -> str:
    """What a GUI task was, for the breakdown: the receiver's class, and for a QTimer the class of
    the object that owns it (the screen whose refresh it runs), e.g. ``TreatmentView.QTimer``."""
    try:
        name = type(receiver).__name__
        if name == "QTimer":
            owner = receiver.parent()
            return f"{type(owner).__name__}.QTimer" if owner is not None else "QTimer"
        return name
    except RuntimeError:  # the receiver was deleted by its own event
        return "(deleted)"


def print_breakdown(app: Any, top: int = 12) -> None:
    """The recorded GUI tasks by label (count, total, p99, max), the largest total first."""
    from _common import summary

    rows = sorted(app.by_label.items(), key=lambda item: -sum(item[1]))[:top]
    wall = (app.ends[-1] - app.ends[0]) * 1e3 if len(app.ends) > 1 else 0.0
    print(f"  GUI tasks by what ran ({len(app.durations)} tasks, {sum(app.durations):.0f} ms busy "
          f"of {wall:.0f} ms recorded):")
    for label, ms in rows:
        med, p99, worst = summary(ms)
        cpu = app.cpu_by_label.get(label, [])
        print(f"    {label:<28} x{len(ms):<5} total {sum(ms):7.1f} ms  median {med:5.2f}  p99 {p99:6.2f}  "
              f"max {worst:6.2f} ms; CPU total {sum(cpu):7.1f} p99 {summary(cpu)[1]:6.2f} ms")


def _top_functions(profiler: Any, n: int = 7) -> list[tuple[float, str]]:
    """The ``n`` functions of one task's profile with the most cumulative time (ms, name), without
    the benchmark's own wrappers: what that one task was busy with."""
    import pstats

    stats = pstats.Stats(profiler).stats
    rows = []
    for (path, line, name), (_cc, _nc, _tt, ct, _callers) in stats.items():
        if "notify" in name or "_console.py" in path or "stop_latency" in path:
            continue
        short = f"{Path(path).stem}.{name}" if path != "~" else name
        rows.append((ct * 1e3, short))
    return sorted(rows, reverse=True)[:n]


def print_profile(app: Any, top: int = 30) -> None:
    """The GUI thread's cProfile over the recorded tasks: the functions with the most cumulative time."""
    import io
    import pstats

    if app.profiler is None:
        return
    for which, title in (("all", "every recorded task"), ("slow", f"only the tasks over {SLOW_MS:g} ms")):
        stats = app.profiler[which]
        if not stats.stats:
            continue
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats("cumulative").print_stats(top)
        print(f"  GUI thread profile, {title} (cumulative; the notify wrapper counts every nested event):")
        print("\n".join("    " + line for line in out.getvalue().splitlines() if line.strip()))
    print("  The GUI tasks that used the most CPU (wall ms, CPU ms, what ran: cumulative ms of the top functions):")
    for ms, cpu, label, functions in sorted(app.profiler["tasks"], key=lambda row: -row[1])[:15]:
        print(f"    {ms:6.1f} {cpu:6.1f} {label}: " + ", ".join(f"{name} {ct:.1f}" for ct, name in functions))


def profile_tasks(app: Any) -> None:
    """Profile the GUI thread's recorded tasks with cProfile (``print_profile`` prints it).
    It slows them down (roughly x2): use for where the time goes, not for the figures."""
    import pstats

    class _Stats(pstats.Stats):
        def __init__(self) -> None:  # empty until the first add (pstats.Stats() wants a source)
            self.all_callees = None
            self.files = []
            self.fcn_list = None
            self.total_tt = 0
            self.total_calls = 0
            self.prim_calls = 0
            self.max_name_len = 0
            self.top_level = set()
            self.stats = {}
            self.sort_arg_dict = {}
            self.stream = None

    app.profiler = {"all": _Stats(), "slow": _Stats(), "tasks": []}


def thread_cpu() -> dict[str, float]:
    """CPU seconds used so far by each live Python thread of this process (Linux /proc), by name."""
    import threading

    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            with open(f"/proc/self/task/{thread.native_id}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, TypeError):
            continue
        out[thread.name] = out.get(thread.name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


def print_thread_cpu(before: dict[str, float], after: dict[str, float], wall_s: float) -> None:
    """Each thread's share of one core between two ``thread_cpu`` readings: who else wants the
    interpreter lock while the GUI thread works (a thread that started meanwhile counts from 0)."""
    rows = sorted(((after[n] - before.get(n, 0.0), n) for n in after), reverse=True)
    print("  CPU by thread over the run: " + "; ".join(
        f"{name} {cpu / max(wall_s, 1e-9) * 100:.0f}%" for cpu, name in rows if cpu > 0))


def timed_application() -> Any:
    """A QApplication that times every event it delivers at the top level (not nested ones).

    WHY here: each top-level event (a timer's timeout: the 30 Hz refresh; a queued call;
    a paint request; an input event) is one task of the GUI thread, run to its end
    before the next; an input event that arrives meanwhile waits for it. The
    dispatcher's awake/aboutToBlock signals do not bracket the work on every
    platform, so the delivery itself is timed (a few microseconds added per event)."""
    from PySide6.QtWidgets import QApplication

    class TimedApplication(QApplication):
        def __init__(self, argv: list[str]) -> None:
            super().__init__(argv)
            self.durations: list[float] = []
            self.ends: list[float] = []  # perf_counter at the end of each task in durations
            self.cpu: list[float] = []  # the GUI thread's CPU time (ms) in each task in durations
            self.recording = False
            #: (receiver class, event type) -> durations (ms) of tasks over SLOW_MS, to find the cause
            self.slow: dict[tuple[str, str], list[float]] = {}
            #: task label (receiver, and a timer's owner) -> durations (ms) of every recorded task
            self.by_label: dict[str, list[float]] = {}
            #: the same tasks' CPU time on the GUI thread (ms): wall minus CPU is time the thread
            #: waited (for the interpreter lock held by the board's threads, or for a core)
            self.cpu_by_label: dict[str, list[float]] = {}
            #: a cProfile.Profile that runs during each recorded top-level task (``profile_tasks``)
            self.profiler: Any = None
            self._depth = 0

        def notify(self, receiver: Any, event: Any) -> bool:
            if self._depth:
                return super().notify(receiver, event)
            self._depth = 1
            profiler = None
            if self.recording and self.profiler is not None:
                import cProfile

                profiler = cProfile.Profile()  # one per task: the slow tasks' profiles are kept apart
                profiler.enable()
            t0 = time.perf_counter()
            c0 = time.thread_time()
            try:
                return super().notify(receiver, event)
            finally:
                t1 = time.perf_counter()
                cpu = (time.thread_time() - c0) * 1e3
                if profiler is not None:
                    profiler.disable()
                self._depth = 0
                if self.recording:
                    ms = (t1 - t0) * 1e3
                    self.durations.append(ms)
                    self.cpu.append(cpu)
                    self.ends.append(t1)
                    label = task_label(receiver, event)
                    self.by_label.setdefault(label, []).append(ms)
                    self.cpu_by_label.setdefault(label, []).append(cpu)
                    if ms > SLOW_MS:
                        key = (label, str(event.type()).split(".")[-1])
                        self.slow.setdefault(key, []).append(ms)
                    if profiler is not None:
                        self.profiler["all"].add(profiler)
                        if ms > SLOW_MS:
                            self.profiler["slow"].add(profiler)
                            self.profiler["tasks"].append((ms, cpu, label, _top_functions(profiler)))

    def longest_per_frame(self, frame_ms: float = 33.0, cpu: bool = False) -> list[float]:
        """The longest task ending in each ``frame_ms`` window of the recorded time (0 when
        none): what a click arriving in that frame could have had to wait behind. ``cpu``: the
        most GUI-thread CPU one task of the frame used instead (what the load on the machine
        changes least: judge a change by it)."""
        if not self.ends:
            return []
        start = self.ends[0]
        longest: dict[int, float] = {}
        for end, ms in zip(self.ends, self.cpu if cpu else self.durations):
            frame = int((end - start) * 1e3 // frame_ms)
            longest[frame] = max(longest.get(frame, 0.0), ms)
        return [longest.get(i, 0.0) for i in range(max(longest) + 1) if i in longest]

    TimedApplication.longest_per_frame = longest_per_frame
    existing = QApplication.instance()
    if existing is not None:
        raise RuntimeError("timed_application() must create the process's QApplication")
    return TimedApplication([])


def history_block(minutes: float, rate: int, seed: int = 1, end_t: float = 0.0) -> dict[str, np.ndarray]:
    """``minutes`` of the synthetic session at ``rate`` Hz ending just before ``end_t`` (s)."""
    n = int(minutes * 60 * rate)
    rng = np.random.default_rng(seed)
    local_t = np.arange(n) / rate
    current, voltage, target, on = synthetic_session(local_t % 1800.0, rng)
    return {"t": local_t - n / rate + end_t, "current_ma": current, "voltage_v": voltage, "target_ma": target,
            "output_on": on}


def fill(buffer, block: dict[str, np.ndarray], chunk: int = 600_000) -> None:
    """Extend ``buffer`` with ``block`` in chunks (the envelope is built as it would be live)."""
    for lo in range(0, len(block["t"]), chunk):
        part = {k: v[lo : lo + chunk] for k, v in block.items()}
        buffer.extend(part["t"], part["current_ma"], part["voltage_v"], part["target_ma"], part["output_on"])


class ConsoleBench:
    """MainWindow for a therapist, treating against the simulator, with long histories."""

    def __init__(self, rate: int = 1000, session_minutes: float = 30.0, monitor_hours: float = 8.0,
                 size: tuple[int, int] = (1280, 800)) -> None:
        from PySide6.QtCore import QObject, Signal, Slot
        from PySide6.QtWidgets import QApplication

        from ionto_console import app as console_app
        from ionto_console.app import SIMULATOR_KEY, BoardSources
        from ionto_console.control import treatment_desk
        from ionto_console.control.station import STATION_HISTORY_SAMPLES, Station
        from ionto_console.control.telemetry_buffer import TelemetryBuffer
        from ionto_console.control.treatment import TreatmentController
        from ionto_console.control.treatment_desk import TreatmentDesk
        from ionto_console.records import open_database, sqlite_url
        from ionto_console.settings import Settings
        from ionto_console.ui.alarm_sound import RecordingPlayer
        from ionto_console.ui.main_window import MainWindow

        class _Invoker(QObject):
            requested = Signal(object)

            def __init__(self) -> None:
                super().__init__()
                self.requested.connect(self._run)

            @Slot(object)
            def _run(self, job: Callable[[], None]) -> None:
                job()

        self.app = QApplication.instance() or timed_application()
        # the interpreter as the console's main() sets it up (an older build may not have this)
        getattr(console_app, "share_the_interpreter", lambda: None)()
        if os.environ.get("BENCH_SWITCH_INTERVAL_MS"):  # to measure the switch interval's own effect
            sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL_MS"]) / 1e3)
        self.switch_interval_ms = sys.getswitchinterval() * 1e3
        self.rate = rate
        self.session_minutes, self.monitor_hours = session_minutes, monitor_hours
        self._tmp = tempfile.TemporaryDirectory(prefix="ionto-bench-")
        self.db = open_database(sqlite_url(Path(self._tmp.name) / "records.sqlite3"))
        # the simulated board treats only in demo mode, into a database marked as the demo's
        from ionto_console.records.demo import mark_as_demo

        mark_as_demo(self.db)
        session_block = history_block(session_minutes, rate) if session_minutes > 0 else None

        class PrefilledController(TreatmentController):
            """A session whose plots already hold ``session_minutes`` of history (before t = 0)."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs["rate_hz"] = rate  # the board's telemetry rate for the session
                super().__init__(*args, **kwargs)
                if session_block is not None:
                    fill(self.history, session_block)  # before the controller thread starts: one writer

        treatment_desk.TreatmentController = PrefilledController  # what the desk builds per session
        self.station = Station()
        self.sources = BoardSources(self.station, Settings(demo=True))
        self.desk = TreatmentDesk(self.station, db=self.db, operator=lambda: "Bench Therapist", demo=True)
        self.protocol = quick_protocol(dose_target_ma_min=40.0)  # 40 min at 1 mA: still running when each stop comes
        self.window = MainWindow(self.station, self.sources, self.desk, [self.protocol],
                                 alarm_player=RecordingPlayer())
        self.window.add_page(console_app.records_browser(self.db), "Records")  # built, as after a first visit
        # the benchmark's sessions are never signed: closing (also by app.quit) must not wait on a question
        self.window.confirm = lambda title, question: True
        self.window.resize(*size)
        self.window.show()
        self.window.activateWindow()
        self._invoker = _Invoker()
        self._gui_thread = threading.current_thread()
        self.tasks = self.app  # .durations, .recording (see timed_application)
        self.sources.connect(SIMULATOR_KEY)
        self._pump_until(lambda: self.station.snapshot().live is not None, 30.0)
        monitor = TelemetryBuffer(max_samples=STATION_HISTORY_SAMPLES)
        t0 = time.perf_counter()
        hours = int(np.ceil(monitor_hours))
        for h in range(hours):  # an hour at a time: the day's arrays are never all in memory at once
            minutes = min(60.0, (monitor_hours - h) * 60)
            fill(monitor, history_block(minutes, rate, seed=100 + h, end_t=-(hours - 1 - h) * 3600.0))
        self.monitor_fill_s = time.perf_counter() - t0
        self.station.buffer = monitor  # the reader appends here from now on (the board's t >= 0 follows)
        # as the console does once its window is up: start-up objects (and the day's history) out of
        # the collector's reach, so a full collection does not scan them on the GUI thread
        console_app.freeze_start_up_objects()

    def _pump_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the console did not reach the expected state")
            self.app.processEvents()
            time.sleep(0.01)

    # --- running ----------------------------------------------------------------------

    def gui(self, fn: Callable[[], Any], timeout: float = 20.0) -> tuple[Any, float]:
        """Run ``fn`` on the GUI thread, queued like an input event; (its result, s it waited)."""
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

    def post(self, fn: Callable[[], Any]) -> None:
        """Queue ``fn`` on the GUI thread without waiting for it."""
        self._invoker.requested.emit(fn)

    def run(self, work: Callable[[], Any]) -> Any:
        """Run ``work()`` on a benchmark thread while this (the GUI) thread runs the event loop."""
        box: dict[str, Any] = {}

        def worker() -> None:
            try:
                box["result"] = work()
            except BaseException as exc:
                box["error"] = exc
            finally:
                self._invoker.requested.emit(self.app.quit)

        thread = threading.Thread(target=worker, name="benchmark-worker", daemon=True)
        self.wall0 = time.perf_counter()
        thread.start()
        self.app.exec()
        self.wall = time.perf_counter() - self.wall0
        thread.join(5.0)
        if "error" in box:
            raise box["error"]
        return box.get("result")

    # --- a session, driven as a therapist would ---------------------------------------------

    def prepare_plan(self) -> None:
        """Patient, protocol and a passed checklist on the session setup (GUI thread)."""
        from ionto_console.core.prechecks import Check

        # a new patient for every run: the same patient twice a day is (rightly) refused a second
        # corticosteroid run by the checklist's consecutive-day rule
        self._runs = getattr(self, "_runs", 0) + 1
        patient = f"P-BENCH-{self._runs:04d}"

        def fill_setup() -> None:
            setup = self.window.setup
            setup.patient_id.setText(patient)
            setup.patient_name.setText("Bench Patient")
            setup.protocol.setCurrentIndex(0)
            if hasattr(setup, "side"):  # the session setup asks for the side treated (since the screen merge)
                setup.side.setCurrentText("left")
            setup.look_up_patient()

        self.gui(fill_setup)
        if not wait_until(lambda: self.gui(self.window.setup.history_current)[0], 20.0, poll=0.05):
            raise TimeoutError("the patient look-up did not answer")

        def checklist() -> None:
            dialog = self.window.setup.make_checklist()
            for question in dialog.questions:
                dialog.answer(question.check.value, yes=question.check is Check.PATIENT_INFORMED)
            self.window.setup.accept_checklist(dialog.result_value())
            dialog.deleteLater()

        self.gui(checklist)

    def click_start(self) -> None:
        """Press Start as a therapist would (a real mouse click on the button)."""
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        button = self.window.treatment.start_button
        self.prepare_plan()  # every run needs its own checklist
        if not wait_until(lambda: self.gui(button.isEnabled)[0], 20.0, poll=0.05):
            raise TimeoutError(f"Start stayed disabled: {self.gui(self.window.treatment.message.text)[0]}")
        self.gui(lambda: QTest.mouseClick(button, Qt.MouseButton.LeftButton))

    def close(self) -> None:
        self.desk.shutdown()
        self.sources.shutdown()
        self.window.close()
        self.db.close()
        self._tmp.cleanup()
