"""Stop latency: from a real input event on the console's main window to the wire and to zero output.

    python benchmarks/stop_latency.py [--stops 200] [--reason emergency|dizziness] [--input click|esc]
                                      [--rate 1000] [--history-minutes 30] [--monitor-hours 8]
                                      [--no-gui] [--profile]

Default: the console's real ``MainWindow`` (``_console.ConsoleBench``) for a
therapist, with the Records tab built, treating against the simulator process
at ``--rate`` Hz; every session starts with a 30-minute history on both
treatment plots and the Board monitor holds an all-day history (8 hours). For
each stop: Start is clicked (QTest, a real mouse click), the current reaches
1 mA, the treatment runs for a random 0.3-1 s, then a real input event is
queued to the GUI thread at a random instant, as the window system would
deliver it: a QTest mouse press on the stop button (``--input click``: STOP
for an emergency, the side effect's button otherwise) or an Esc key press on
the window (``--input esc``, emergency only). Figures per stop:

- click to wire: from the input event being queued to STOP/OUTPUT 0 written
  to the port (the time it waited behind the GUI thread's work included);
- click queued: how long the event waited before the GUI thread took it;
- click to zero in telemetry: until the first telemetry sample with the
  output disabled and under 50 µA reached the console;
- the GUI thread's tasks while treating (``GuiTasks``: each stretch of work
  between two waits of the event loop), with the plots, readouts and banner
  refreshing at 30 Hz.

An emergency stop cuts at once; a side-effect stop ramps down over the
engine's quick ramp (250 ms), so its time to zero is that ramp by design.
The GUI thread's tasks are also printed by what ran (wall and CPU time), with
each thread's CPU share; ``--profile`` adds a cProfile of the GUI thread's
tasks and the slowest tasks' top functions (``_console.print_profile``).
``--no-gui``: no GUI at all, ``stop()`` called from the benchmark thread on a
controller against an in-process simulator (the floor the GUI adds to).
Prints figures; it does not pass or fail (run_all judges the goals).
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from typing import Any, Callable

from _common import load_line, quick_protocol, summary, summary_line, wait_until
from ionto_console.control.treatment import TreatmentController
from ionto_console.core.engine import TreatmentEngine
from ionto_console.core.session import EMERGENCY, SessionState, SideEffect
from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.errors import BoardError
from ionto_console.drivers.board.link import BoardLink, TelemetryEvent
from ionto_sim.model import ResistorLoad
from ionto_sim.pty_server import SimulatedBoardServer

#: Goals (ms). The stop is on the wire within a millisecond as a rule, and within one GIL switch
#: interval (5 ms) even when other threads hold the interpreter; an emergency stop shows as zero
#: output in telemetry within 20 ms (a few 1 ms telemetry periods plus the pty and the reader
#: thread), a side-effect stop within its 250 ms ramp plus that margin.
GOAL_WIRE_MEDIAN_MS = 1.0
GOAL_WIRE_P99_MS = 5.0
GOAL_ZERO_P99_MS = {"emergency": 20.0, "dizziness": 300.0}
#: input event to STOP on the wire, and the GUI thread's longest task, p99 (ms)
GOAL_CLICK_TO_WIRE_P99_MS = 10.0
GOAL_GUI_TASK_P99_MS = 8.0

Invoke = Callable[[Callable[[], Any]], tuple[Any, float]]


class ZeroWatcher:
    """Telemetry listener: time of the first zero-output sample after ``arm()``."""

    def __init__(self) -> None:
        self.armed_at: float | None = None
        self.zero_at: float | None = None
        self.current_ma = 0.0
        self.done = threading.Event()

    def arm(self) -> None:
        self.zero_at = None
        self.done.clear()
        self.armed_at = time.perf_counter()

    def __call__(self, event: TelemetryEvent) -> None:
        msg = event.msg
        self.current_ma = msg.current_ua / 1000
        if self.armed_at is not None and not self.done.is_set():
            if not msg.flags & m.Flags.OUTPUT_ENABLED and msg.current_ua < 50:
                self.zero_at = time.perf_counter()
                self.done.set()


class Results:
    def __init__(self) -> None:
        self.to_wire: list[float] = []
        self.to_board: list[float] = []
        self.to_zero: list[float] = []
        self.click_wait: list[float] = []
        self.failures = 0


def measure(args: argparse.Namespace, invoke: Invoke) -> Results:
    """The stops; ``invoke(fn)`` runs ``fn`` where a stop button's handler would run."""
    reason = EMERGENCY if args.reason == "emergency" else SideEffect.DIZZINESS
    server = SimulatedBoardServer(load=ResistorLoad(4700.0), seed=3)
    server.start()
    board_seen: list[float] = []
    original_receive = server.board.receive

    def receive_and_stamp(data: bytes, now_s: float) -> None:  # when the simulator decodes bytes
        original_receive(data, now_s)
        board_seen.append(time.perf_counter())

    server.board.receive = receive_and_stamp
    link = BoardLink(server.port)
    link.open(wait=True)
    watcher = ZeroWatcher()
    link.add_telemetry_listener(watcher)
    protocol = quick_protocol()
    out = Results()
    try:
        for _ in range(args.stops):
            try:  # a watchdog trip under load must not end the benchmark
                link.request(m.ClearFault(), timeout=1.0)
            except BoardError as exc:
                print(f"clear fault failed ({exc}); trying the next stop", file=sys.stderr)
                out.failures += 1
                continue
            controller = TreatmentController(link, TreatmentEngine(protocol), rate_hz=args.rate)
            controller.start_thread()
            controller.start()
            if not wait_until(lambda: watcher.current_ma > 0.9, 5.0):
                print(f"no current before the stop: {controller.snapshot().state.value} "
                      f"{controller.message()}", file=sys.stderr)
                out.failures += 1
                controller.close()
                continue
            watcher.arm()
            board_seen.clear()

            def press_stop(controller: TreatmentController = controller) -> tuple[float, float]:
                t0 = time.perf_counter()
                controller.stop(reason)
                return t0, time.perf_counter()

            (t0, t_wire), waited = invoke(press_stop)
            ok = watcher.done.wait(3.0)
            out.click_wait.append(waited * 1e3)
            out.to_wire.append((t_wire - t0) * 1e3)
            first_after = next((t for t in list(board_seen) if t >= t0), None)
            if first_after is not None:
                out.to_board.append((first_after - t0) * 1e3)
            if ok and watcher.zero_at is not None:
                out.to_zero.append((watcher.zero_at - t0) * 1e3)
            else:
                print(f"no zero-output sample within 3 s: {controller.snapshot()}", file=sys.stderr)
                out.failures += 1
            wait_until(lambda: controller.snapshot().state is SessionState.STOPPED, 2.0)
            controller.close()
    finally:
        link.close()
        server.stop()
    return out


class WindowResults:
    def __init__(self) -> None:
        self.to_wire: list[float] = []
        self.queued: list[float] = []
        self.to_zero: list[float] = []
        self.wire_to_zero: list[float] = []
        self.failures = 0


def measure_window(args: argparse.Namespace) -> tuple[WindowResults, object]:
    """The stops on the real main window (see the module doc)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from _console import ConsoleBench
    from ionto_console.ui.stop_panel import EMERGENCY as EMERGENCY_KEY

    bench = ConsoleBench(rate=args.rate, session_minutes=args.history_minutes, monitor_hours=args.monitor_hours)
    if args.profile:
        from _console import profile_tasks

        profile_tasks(bench.app)
    link = bench.station.link
    wired: list[tuple[float, m.Message]] = []
    write_now = link.write_now

    def stamped_write_now(msg: m.Message) -> int:  # the controller and the desk write stops through this
        seq = write_now(msg)
        wired.append((time.perf_counter(), msg))
        return seq

    link.write_now = stamped_write_now
    watcher = ZeroWatcher()
    link.add_telemetry_listener(watcher)
    key = EMERGENCY_KEY if args.reason == "emergency" else SideEffect.DIZZINESS.value
    panel = bench.window.treatment.stops
    button = panel.emergency if key == EMERGENCY_KEY else panel.buttons[key]
    rng = random.Random(7)
    out = WindowResults()

    def work() -> WindowResults:
        from _console import thread_cpu

        cpu_before, wall_before = thread_cpu(), time.perf_counter()
        try:
            return stops()
        finally:
            bench.thread_cpu = (cpu_before, thread_cpu(), time.perf_counter() - wall_before)

    def stops() -> WindowResults:
        bench.prepare_plan()
        for i in range(args.stops):
            try:
                bench.click_start()
            except TimeoutError as exc:
                print(f"stop {i}: {exc}", file=sys.stderr)
                out.failures += 1
                continue
            if not wait_until(lambda: bench.desk.controller is not None and watcher.current_ma > 0.9, 20.0):
                controller = bench.desk.controller
                print(f"stop {i}: no current before the stop: "
                      f"{controller.snapshot().state.value if controller else 'no controller'}", file=sys.stderr)
                out.failures += 1
                bench.desk.stop(EMERGENCY)
                wait_until(lambda: not bench.desk.active, 5.0)
                continue
            controller = bench.desk.controller
            bench.tasks.recording = True
            time.sleep(rng.uniform(0.3, 1.0))  # treating, the screen refreshing, until the press comes
            watcher.arm()
            wired.clear()
            taken: list[float] = []
            ended_before: list[bool] = []

            def press() -> None:
                taken.append(time.perf_counter())
                ended_before.append(controller.snapshot().state.terminal)
                if args.input == "esc":
                    QTest.keyClick(bench.window, Qt.Key.Key_Escape)
                else:
                    QTest.mousePress(button, Qt.MouseButton.LeftButton)
                    QTest.mouseRelease(button, Qt.MouseButton.LeftButton)

            t0 = time.perf_counter()
            bench.post(press)
            if not wait_until(lambda: taken and any(t >= taken[0] for t, _ in wired), 3.0):
                print(f"stop {i}: nothing written within 3 s of the input event", file=sys.stderr)
                out.failures += 1
            elif ended_before[0]:  # a trip or an interruption ended the session before the press
                snap = controller.snapshot()
                print(f"stop {i}: the session had already ended before the press ({snap.state.value}: "
                      f"{snap.active_trip.message if snap.active_trip else controller.message()})", file=sys.stderr)
                out.failures += 1
            else:
                t_wire = next(t for t, _ in wired if t >= taken[0])
                out.to_wire.append((t_wire - t0) * 1e3)
                out.queued.append((taken[0] - t0) * 1e3)
                if watcher.done.wait(3.0) and watcher.zero_at is not None:
                    out.to_zero.append((watcher.zero_at - t0) * 1e3)
                    out.wire_to_zero.append((watcher.zero_at - t_wire) * 1e3)
                else:
                    print(f"stop {i}: no zero-output sample within 3 s", file=sys.stderr)
                    out.failures += 1
            bench.tasks.recording = False
            wait_until(lambda: controller.snapshot().state.terminal, 3.0)
            recorder = bench.desk.recorder
            if recorder is not None:
                recorder.finished.wait(10.0)  # the record is closed before the next session
        return out

    try:
        return bench.run(work), bench
    finally:
        bench.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=200)
    parser.add_argument("--reason", choices=["emergency", "dizziness"], default="emergency")
    parser.add_argument("--input", choices=["click", "esc"], default="click",
                        help="the input event: a mouse press on the stop button, or Esc (emergency)")
    parser.add_argument("--rate", type=int, default=1000, help="telemetry rate during the treatment (Hz)")
    parser.add_argument("--gui", action=argparse.BooleanOptionalAction, default=True,
                        help="drive the console's main window (default); --no-gui: controller only")
    parser.add_argument("--history-minutes", type=float, default=30.0, help="history on the treatment plots")
    parser.add_argument("--monitor-hours", type=float, default=8.0, help="history on the Board monitor")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the GUI thread's tasks and print where the time went (slows them)")
    args = parser.parse_args(argv)
    if args.input == "esc" and args.reason != "emergency":
        parser.error("Esc is the emergency stop")

    name = args.reason if args.input == "click" else f"{args.reason} esc"
    if not args.gui:
        results = measure(args, lambda fn: (fn(), 0.0))
        print(f"stop latency over {len(results.to_wire)} stops ({args.reason}, telemetry {args.rate} Hz, "
              f"simulator in-process, no GUI; {load_line()})")
        for label, key, values in (("stop() -> on the wire", "wire", results.to_wire),
                                   ("stop() -> board decoded", "board decoded", results.to_board),
                                   ("stop() -> zero in telemetry", "zero in telemetry", results.to_zero)):
            print(summary_line(label, values))
            med, p99, worst = summary(values)
            goal = f" (goal < {GOAL_WIRE_P99_MS if key == 'wire' else GOAL_ZERO_P99_MS[args.reason]:g})" \
                if key != "board decoded" else ""
            print(f"RESULT stop {name} no GUI {key} p99: {p99:.2f} ms{goal}")
        print(f"RESULT stop {name} no GUI failures: {results.failures} stops (goal 0)")
        return 0

    results, bench = measure_window(args)
    tasks = bench.tasks.durations
    print(f"stop latency over {len(results.to_wire)} stops ({args.reason}, input: {args.input}, telemetry "
          f"{args.rate} Hz; {load_line()})")
    print(f"  console MainWindow with the Records tab built, simulator process; treatment plots with a "
          f"{args.history_minutes:g}-minute history, Board monitor with {args.monitor_hours:g} h "
          f"(filled in {bench.monitor_fill_s:.0f} s); interpreter switch interval {bench.switch_interval_ms:g} ms; "
          f"{bench.wall:.0f} s in all")
    print(summary_line("input event -> on the wire", results.to_wire))
    print(summary_line("input event waited in the queue", results.queued))
    print(summary_line("input event -> zero in telemetry", results.to_zero))
    print(summary_line("on the wire -> zero in telemetry", results.wire_to_zero))
    frames = bench.tasks.longest_per_frame()
    print(summary_line("GUI thread task while treating", tasks))
    print(summary_line("longest GUI task per 33 ms frame", frames))
    slow = sorted(bench.tasks.slow.items(), key=lambda item: -sum(item[1]))[:6]
    if slow:
        print("  GUI tasks over 4 ms by receiver and event: " + "; ".join(
            f"{cls} {ev} x{len(ms)} (max {max(ms):.0f} ms)" for (cls, ev), ms in slow))
    from _console import print_breakdown, print_profile, print_thread_cpu

    print_breakdown(bench.tasks)
    print_thread_cpu(*bench.thread_cpu)
    print_profile(bench.tasks)
    med, p99, worst = summary(results.to_wire)
    print(f"RESULT stop {name} click to wire median: {med:.2f} ms")
    print(f"RESULT stop {name} click to wire p99: {p99:.2f} ms (goal < {GOAL_CLICK_TO_WIRE_P99_MS:g})")
    print(f"RESULT stop {name} click to wire max: {worst:.2f} ms")
    print(f"RESULT stop {name} click queued p99: {summary(results.queued)[1]:.2f} ms")
    med, p99, worst = summary(results.to_zero)
    print(f"RESULT stop {name} click to zero in telemetry p99: {p99:.2f} ms "
          f"(goal < {GOAL_ZERO_P99_MS[args.reason]:g})")
    print(f"RESULT stop {name} click to zero in telemetry max: {worst:.2f} ms")
    print(f"RESULT stop {name} wire to zero in telemetry p99: {summary(results.wire_to_zero)[1]:.2f} ms")
    print(f"RESULT stop {name} GUI task p99: {summary(tasks)[1]:.2f} ms")
    med, p99, worst = summary(frames)
    print(f"RESULT stop {name} GUI longest task per frame median: {med:.2f} ms")
    print(f"RESULT stop {name} GUI longest task per frame p99: {p99:.2f} ms (goal < {GOAL_GUI_TASK_P99_MS:g})")
    print(f"RESULT stop {name} GUI longest task max: {worst:.2f} ms")
    cpu_frames = bench.tasks.longest_per_frame(cpu=True)
    print(f"RESULT stop {name} GUI longest task CPU per frame p99: {summary(cpu_frames)[1]:.2f} ms")
    print(f"RESULT stop {name} stops measured: {len(results.to_zero)} stops")
    print(f"RESULT stop {name} failures: {results.failures} stops (goal 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
