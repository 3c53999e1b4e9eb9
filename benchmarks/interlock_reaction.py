"""Interlock reaction: a fault injected in the simulator during a 1000 Hz treatment, to output zero.

    python benchmarks/interlock_reaction.py [--repeats 20] [--faults lift short overcurrent hw_stop stall]
                                            [--rate 1000] [--stall-s 1.0]

For each fault, ``--repeats`` times: a treatment runs against the board
simulator on a real pseudo-terminal (simulator in this process, 5 kΩ load,
telemetry at ``--rate``, board watchdog 500 ms as the treatment desk sets it),
the current reaches 1 mA, then the fault is injected into the simulator:

- ``lift``: an electrode lifts off the skin (``lift_electrode``);
- ``short``: the electrodes touch (``short_electrodes``);
- ``overcurrent``: the regulator fails high (``inject_overcurrent``);
- ``hw_stop``: the board's own stop button (``press_hw_stop``);
- ``stall``: the link goes silent for ``--stall-s`` (``stall_link``): the
  console trips on lost telemetry and the board's watchdog ends the output.

Measured from the injection (the instant before the call):

- to trip: the controller recorded the interlock trip (or reached a terminal
  state), i.e. its cut or stop is already written;
- board output off: the simulated board itself opened its output (its own
  protection, the console's command, or its watchdog);
- zero in telemetry: the first TELEMETRY sample the console received with the
  output flag off and under 50 µA; it also tells whether the board's
  FAULT_LATCHED flag was set in that sample, and which fault it latched.

For the stall the link is silent by design, so "zero in telemetry" cannot be
shorter than the stall; its board and trip figures are the ones that matter.
After each repetition the fault is undone (electrode restored, short cleared,
button released, stall over), the board's fault cleared, and a new treatment
begins. Prints median/p99/max per fault; it does not pass or fail.
"""

from __future__ import annotations

import argparse
import collections
import sys
import threading
import time
from dataclasses import dataclass, field

from _common import inject_fault, load_line, quick_protocol, summary, summary_line, undo_faults, wait_until
from ionto_console.control.treatment import TreatmentController
from ionto_console.control.treatment_desk import TREATMENT_WATCHDOG_MS
from ionto_console.core import engine as e
from ionto_console.core.interlocks import TripAction
from ionto_console.core.samples import BoardFault
from ionto_console.core.session import SessionState
from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.errors import BoardError
from ionto_console.drivers.board.link import BoardLink, LinkState, TelemetryEvent
from ionto_sim.model import ResistorLoad
from ionto_sim.pty_server import SimulatedBoardServer

FAULTS = ("lift", "short", "overcurrent", "hw_stop", "stall")
#: Goals (ms, p99). At the patient end the console must cut well before the board's own
#: 200 ms open-circuit window; a silent link trips after the 200 ms telemetry timeout
#: (plus a 20 ms tick), and the board's 500 ms watchdog ends the output meanwhile.
GOAL_TRIP_MS = {"lift": 50.0, "short": 50.0, "overcurrent": 50.0, "hw_stop": 50.0, "stall": 300.0}
GOAL_OFF_MS = {"lift": 50.0, "short": 50.0, "overcurrent": 50.0, "hw_stop": 50.0, "stall": 600.0}
ZERO_UA = 50


@dataclass
class Reaction:
    """Time stamps (perf_counter) after one injection, filled from three threads."""

    armed: float = 0.0
    trip_at: float | None = None
    trip_kind: str = ""
    terminal: str = ""
    board_off_at: float | None = None
    zero_at: float | None = None
    zero_latched: bool = False
    zero_fault: int = 0
    done: threading.Event = field(default_factory=threading.Event)


class Probe:
    """Controller sink + telemetry listener + board instrument, all stamping one ``Reaction``."""

    def __init__(self) -> None:
        self.reaction: Reaction | None = None
        self.current_ua = 0
        self.latched = 0

    def arm(self) -> Reaction:
        self.reaction = Reaction(armed=time.perf_counter())
        return self.reaction

    # SessionSink (controller thread)
    def add_sample(self, sample) -> None:
        pass

    def add_events(self, events: list[e.EngineEvent]) -> None:
        r = self.reaction
        if r is None or r.trip_at is not None:
            return
        for event in events:
            if isinstance(event, e.TripRecorded) and event.trip.action is not TripAction.WARN:
                r.trip_at, r.trip_kind = time.perf_counter(), event.trip.kind.value
                return
            if isinstance(event, e.StateChanged) and event.transition.target.terminal:
                r.trip_at, r.terminal = time.perf_counter(), event.transition.target.value
                return

    # telemetry listener (link reader thread)
    def __call__(self, event: TelemetryEvent) -> None:
        msg = event.msg
        self.current_ua, self.latched = msg.current_ua, msg.latched_fault
        r = self.reaction
        if r is not None and r.zero_at is None and not msg.flags & m.Flags.OUTPUT_ENABLED and msg.current_ua < ZERO_UA:
            r.zero_at = time.perf_counter()
            r.zero_latched = bool(msg.flags & m.Flags.FAULT_LATCHED)
            r.zero_fault = msg.latched_fault
            r.done.set()

    # the simulated board (its I/O thread): wraps SimulatedBoard._cut_output
    def board_cut(self) -> None:
        r = self.reaction
        if r is not None and r.board_off_at is None:
            r.board_off_at = time.perf_counter()


def inject(server: SimulatedBoardServer, fault: str, stall_s: float) -> None:
    if fault == "stall":
        server.stall_link(stall_s)
    else:
        inject_fault(server, fault)


@dataclass
class FaultFigures:
    trip: list[float] = field(default_factory=list)
    board_off: list[float] = field(default_factory=list)
    zero: list[float] = field(default_factory=list)
    kinds: collections.Counter = field(default_factory=collections.Counter)
    latched: collections.Counter = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)


def ready_for_next(link: BoardLink, probe: Probe, timeout: float = 10.0) -> bool:
    """Board connected, fault cleared, output off, telemetry flowing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if link.state is LinkState.CONNECTED:
            try:
                link.request(m.ClearFault(), timeout=1.0)
            except BoardError:
                time.sleep(0.1)
                continue
            if wait_until(lambda: probe.latched == BoardFault.NONE and probe.current_ua < ZERO_UA, 1.0):
                return True
        time.sleep(0.05)
    return False


def one_repetition(link: BoardLink, server: SimulatedBoardServer, probe: Probe, fault: str, args,
                   figures: FaultFigures) -> None:
    protocol = quick_protocol()
    controller = TreatmentController(link, e.TreatmentEngine(protocol, watchdog_ms=TREATMENT_WATCHDOG_MS),
                                     sink=probe, rate_hz=args.rate)
    controller.start_thread()
    try:
        controller.start()
        if not wait_until(lambda: probe.current_ua > 900 and controller.snapshot().state in (
                SessionState.RAMPING_UP, SessionState.TREATING), 5.0):
            figures.failures.append(f"no treatment current before the fault: {controller.snapshot().state.value} "
                                    f"{controller.message()}")
            return
        time.sleep(0.1)  # a little steady treatment before the fault
        if controller.snapshot().state.terminal:
            figures.failures.append(f"the session ended before the fault: {controller.message()}")
            return
        reaction = probe.arm()
        inject(server, fault, args.stall_s)
        reaction.done.wait(args.stall_s + 5.0 if fault == "stall" else 5.0)
        wait_until(lambda: reaction.trip_at is not None and reaction.board_off_at is not None, 2.0)
        if reaction.trip_at is None:
            figures.failures.append(f"no trip: {controller.snapshot()}")
        else:
            figures.trip.append((reaction.trip_at - reaction.armed) * 1e3)
            figures.kinds[reaction.trip_kind or f"state {reaction.terminal}"] += 1
        if reaction.board_off_at is None:
            figures.failures.append("the board's output never went off")
        else:
            figures.board_off.append((reaction.board_off_at - reaction.armed) * 1e3)
        if reaction.zero_at is None:
            figures.failures.append("no zero-output sample in telemetry")
        else:
            figures.zero.append((reaction.zero_at - reaction.armed) * 1e3)
            figures.latched[f"{BoardFault.describe(reaction.zero_fault)}" if reaction.zero_latched
                            else "no fault latched"] += 1
        wait_until(lambda: controller.snapshot().state.terminal, 3.0)
    finally:
        probe.reaction = None
        controller.close()
        undo_faults(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="injections per fault")
    parser.add_argument("--faults", nargs="+", choices=FAULTS, default=list(FAULTS))
    parser.add_argument("--rate", type=int, default=1000, help="telemetry rate during the treatment (Hz)")
    parser.add_argument("--stall-s", type=float, default=1.0, help="how long the link stays silent")
    args = parser.parse_args(argv)

    server = SimulatedBoardServer(load=ResistorLoad(5000.0), seed=11).start()
    probe = Probe()
    board = server.board
    original_cut = board._cut_output  # noqa: SLF001 - instrumenting the simulated board for the benchmark only

    def cut_and_stamp() -> None:
        probe.board_cut()
        original_cut()

    board._cut_output = cut_and_stamp  # type: ignore[method-assign]
    link = BoardLink(server.port)
    link.add_telemetry_listener(probe)
    results: dict[str, FaultFigures] = {fault: FaultFigures() for fault in args.faults}
    t0 = time.monotonic()
    try:
        link.open(wait=True)
        for fault in args.faults:
            for _ in range(args.repeats):
                if not ready_for_next(link, probe):
                    results[fault].failures.append(f"board not ready: {link.state.value} {link.reason}")
                    continue
                one_repetition(link, server, probe, fault, args, results[fault])
    finally:
        link.close()
        server.stop()
    wall = time.monotonic() - t0

    print(f"interlock reaction: {args.repeats} injections per fault, telemetry {args.rate} Hz, 5 kΩ load, "
          f"simulator in-process; {wall:.0f} s; {load_line()}")
    failures = 0
    for fault, fig in results.items():
        print(f"{fault}:  trips {dict(fig.kinds)};  zero sample: {dict(fig.latched)}")
        print(summary_line("injection -> controller trip", fig.trip))
        print(summary_line("injection -> board output off", fig.board_off))
        note = f" (link silent {args.stall_s:g} s by design)" if fault == "stall" else ""
        print(summary_line("injection -> zero in telemetry", fig.zero) + note)
        for problem in fig.failures:
            print(f"  failure: {problem}")
        failures += len(fig.failures)
        print(f"RESULT interlock {fault} to trip p99: {summary(fig.trip)[1]:.1f} ms (goal < {GOAL_TRIP_MS[fault]:g})")
        print(f"RESULT interlock {fault} board output off p99: {summary(fig.board_off)[1]:.1f} ms "
              f"(goal < {GOAL_OFF_MS[fault]:g})")
        print(f"RESULT interlock {fault} zero in telemetry p99: {summary(fig.zero)[1]:.1f} ms")
    print(f"RESULT interlock failures: {failures} injections (goal 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
