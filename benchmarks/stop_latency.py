"""Stop latency: from ``TreatmentController.stop()`` to the wire and to zero output.

    python benchmarks/stop_latency.py [--stops 200] [--reason emergency|dizziness] [--rate 1000]

For each stop: a treatment starts against the board simulator on a real
pseudo-terminal (simulator in this process), the current rises to 1 mA, then
``stop(reason)`` is called from this (non-controller) thread, as the GUI
would. Three figures per stop:

- to wire: until ``stop()`` returned, by which time STOP/OUTPUT 0 has been
  written to the port;
- to board: until the simulator decoded the command (pty transfer included);
- to zero telemetry: until the first telemetry sample with the output
  disabled and under 50 µA reached the console.

An emergency stop cuts at once; a side-effect stop ramps down over the
engine's quick ramp (250 ms), so its time to zero is that ramp by design.
Prints figures; it does not pass or fail.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time

from ionto_console.control.treatment import TreatmentController
from ionto_console.core.engine import TreatmentEngine
from ionto_console.core.protocols import Protocol, load_library
from ionto_console.core.session import EMERGENCY, SessionState, SideEffect
from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.errors import BoardError
from ionto_console.drivers.board.link import BoardLink, TelemetryEvent
from ionto_console.drivers.sim.model import ResistorLoad
from ionto_console.drivers.sim.pty_server import SimulatedBoardServer


def quick_protocol() -> Protocol:
    base = next(p for p in load_library() if p.id == "dexamethasone-4mgml-40")
    data = base.model_dump(mode="json")
    data.update({"dose_target_ma_min": 20.0, "ramp_start_ma": 1.0, "ramp_rate_ma_s": 5.0, "ramp_down_s": 0.5})
    return Protocol.model_validate(data)


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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.002)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=200)
    parser.add_argument("--reason", choices=["emergency", "dizziness"], default="emergency")
    parser.add_argument("--rate", type=int, default=1000, help="telemetry rate during the treatment (Hz)")
    args = parser.parse_args(argv)
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
    to_wire: list[float] = []
    to_board: list[float] = []
    to_zero: list[float] = []
    failures = 0
    try:
        for _ in range(args.stops):
            try:  # a watchdog trip under load must not end the benchmark
                link.request(m.ClearFault(), timeout=1.0)
            except BoardError as exc:
                print(f"clear fault failed ({exc}); trying the next stop", file=sys.stderr)
                failures += 1
                continue
            controller = TreatmentController(link, TreatmentEngine(protocol), rate_hz=args.rate)
            controller.start_thread()
            controller.start()
            if not wait(lambda: watcher.current_ma > 0.9, 5.0):
                print(f"no current before the stop: {controller.snapshot().state.value} "
                      f"{controller.message()}", file=sys.stderr)
                failures += 1
                controller.close()
                continue
            watcher.arm()
            board_seen.clear()
            t0 = time.perf_counter()
            controller.stop(reason)
            t_wire = time.perf_counter()
            ok = watcher.done.wait(3.0)
            to_wire.append((t_wire - t0) * 1e3)
            first_after = next((t for t in board_seen if t >= t0), None)
            if first_after is not None:
                to_board.append((first_after - t0) * 1e3)
            if ok and watcher.zero_at is not None:
                to_zero.append((watcher.zero_at - t0) * 1e3)
            else:
                print(f"no zero-output sample within 3 s: {controller.snapshot()}", file=sys.stderr)
                failures += 1
            wait(lambda: controller.snapshot().state is SessionState.STOPPED, 2.0)
            controller.close()
    finally:
        link.close()
        server.stop()

    print(f"stop latency over {len(to_wire)} stops ({args.reason}, telemetry {args.rate} Hz, simulator in-process)")
    for name, values in (("stop() -> on the wire", to_wire), ("stop() -> board decoded", to_board),
                         ("stop() -> zero in telemetry", to_zero)):
        if values:
            print(f"  {name:30s} median {statistics.median(values):7.2f} ms   p99 {percentile(values, 0.99):7.2f} ms"
                  f"   max {max(values):7.2f} ms")
            print(f"RESULT stop {args.reason} {name.split('-> ')[1]} median: {statistics.median(values):.2f} ms")
            print(f"RESULT stop {args.reason} {name.split('-> ')[1]} p99: {percentile(values, 0.99):.2f} ms")
    print(f"  stops without a zero-output sample within 3 s: {failures}")
    print(f"RESULT stop {args.reason} failures: {failures} stops (goal 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
