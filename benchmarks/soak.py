"""Soak: an hour of recorded treatments at 1000 Hz with random therapist actions and injected faults.

    python benchmarks/soak.py [--minutes 60] [--rate 1000] [--seed N] [--load resistor:5000|skin]
                              [--report-minutes 5] [--keep-db PATH]

Not part of run_all (it takes an hour). What runs, all in this process: the
board simulator on a real pseudo-terminal -> ``Station`` (BoardLink) ->
``TreatmentDesk`` -> ``TreatmentController`` -> ``SessionRecorder`` -> a SQLite
records database in a temporary folder. The desk builds each session's
controller with telemetry at ``--rate`` (the product's default treatment rate
is lower; the soak runs the fastest rate the ICD allows).

Session after session until the time is up: a patient (one of five), a short
protocol (random dose, so some sessions complete on their own), ``begin``;
then every 1-8 s a random therapist action -- raise, lower, pause/resume,
end early, a side-effect stop, the emergency stop -- or a fault injected in
the simulator -- electrode lift-off, short, regulator overcurrent, the
board's stop button, a board reboot, line noise (garbage), a silent link
(stall 0.5-2 s). When the session has ended: the board's output must be off,
the record closed in a terminal state; the fault is undone (electrode back,
short cleared, button released, stall over) and the next session begins (the
desk acknowledges the board's latched fault, as a therapist's new start does).

Reported (every ``--report-minutes`` and at the end):
- samples: received by the console vs sent (the board's own counter, first
  to last frame of each boot), lost, and lost outside an injected stall or
  reboot (goal 0); the link's counter-gap count; frames dropped (line noise);
- exceptions: unhandled ones in any thread (``threading.excepthook``,
  ``sys.excepthook``, ``sys.unraisablehook``) and ERROR log records (a
  controller that caught an internal error logs one): goal 0;
- memory: RSS at start, every report and at the end; growth after the first
  report; threads alive; the station's live history (the monitor page's
  buffer) size;
- sessions run, how they ended, trips by kind, trips with no injected fault,
  sessions whose output stayed on after the end (goal 0);
- records: every session row in a terminal state with an end time and as many
  stored samples as it says, and the audit chain verified (goal OK).
Prints RESULT lines like the other benchmarks; it does not pass or fail.
"""

from __future__ import annotations

import argparse
import collections
import gc
import logging
import random
import shutil
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from _common import PATIENT_AND_BOARD_FAULTS, inject_fault, load_line, quick_protocol, rss_mb, undo_faults, wait_until
from sqlalchemy import select

from ionto_console.app import freeze_start_up_objects
from ionto_console.control import treatment_desk
from ionto_console.control.station import Station
from ionto_console.control.treatment import TreatmentController
from ionto_console.control.treatment_desk import SessionPlan, TreatmentDesk
from ionto_console.core.session import EMERGENCY, TERMINAL_STATES, SessionState, SideEffect
from ionto_console.drivers.board.errors import BoardError
from ionto_console.drivers.board.link import LinkState, TelemetryEvent
from ionto_sim.model import load_from_spec
from ionto_sim.pty_server import SimulatedBoardServer
from ionto_console.records import load_samples, load_session, open_database, sqlite_url, verify_audit
from ionto_console.records.demo import mark_as_demo
from ionto_console.records.models import TreatmentSession

GOAL_RSS_MB = 300.0
TERMINAL_VALUES = {state.value for state in TERMINAL_STATES}
FAULTS = (*PATIENT_AND_BOARD_FAULTS, "reboot", "garbage", "stall")
SIDE_EFFECTS = [s for s in SideEffect if s is not SideEffect.OTHER]
#: what a random step does, with weights (a fault or a stop ends most sessions within a few steps)
ACTIONS = {"step_up": 28, "step_down": 16, "pause_resume": 10, "nothing": 14, "end_early": 4,
           "side_effect": 6, "emergency": 4, "fault": 18}
DEADLINE_S = 15.0


# --- evidence collectors ---------------------------------------------------------------------


class SampleCounter:
    """Telemetry listener on the station's link (reader thread): received vs the board's counter."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received = 0
        self.sent_closed = 0  # counter spans of previous boots
        self.first: int | None = None
        self.last: int | None = None
        self.gaps = 0  # lost_before summed (the link's own view)
        self.lost_by_cause: collections.Counter[str] = collections.Counter()
        self.cause = "none"  # what the driver has just injected (stall/reboot/garbage), or "none"
        self.cause_until = 0.0

    def expect(self, cause: str, seconds: float) -> None:
        with self.lock:
            self.cause, self.cause_until = cause, time.monotonic() + seconds

    def __call__(self, event: TelemetryEvent) -> None:
        counter = event.msg.counter
        with self.lock:
            if self.first is None:
                self.first = counter
            elif event.board_rebooted:
                self.sent_closed += self.span()
                self.first = counter
            self.last = counter
            self.received += 1
            if event.lost_before:
                self.gaps += event.lost_before
                cause = self.cause if time.monotonic() < self.cause_until else "none"
                self.lost_by_cause[cause] += event.lost_before

    def span(self) -> int:
        if self.first is None or self.last is None:
            return 0
        return ((self.last - self.first) & 0xFFFF_FFFF) + 1

    def figures(self) -> tuple[int, int, int, int]:
        """(sent, received, lost, lost with no injected cause)."""
        with self.lock:
            sent = self.sent_closed + self.span()
            return sent, self.received, sent - self.received, self.lost_by_cause["none"]


class ExceptionTrap(logging.Handler):
    """Unhandled exceptions in any thread, unraisable ones, and ERROR log records."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.unhandled: list[str] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        self._threading_hook, self._sys_hook, self._unraisable_hook = (
            threading.excepthook, sys.excepthook, sys.unraisablehook)
        threading.excepthook = self._on_thread
        sys.excepthook = self._on_main
        sys.unraisablehook = self._on_unraisable
        logging.getLogger().addHandler(self)

    def _keep(self, where: str, exc: BaseException | None, tb) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, tb)) if exc is not None else "(no exception)"
        with self._lock:
            self.unhandled.append(f"{where}: {text}")
        print(f"UNHANDLED EXCEPTION in {where}:\n{text}", file=sys.stderr, flush=True)

    def _on_thread(self, args) -> None:
        self._keep(f"thread {args.thread.name if args.thread else '?'}", args.exc_value, args.exc_traceback)

    def _on_main(self, exc_type, exc, tb) -> None:
        self._keep("main thread", exc, tb)

    def _on_unraisable(self, args) -> None:
        self._keep(f"unraisable ({args.err_msg or ''} {args.object!r})", args.exc_value, args.exc_traceback)

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
        with self._lock:
            self.errors.append(text)

    def note_driver_exception(self, where: str) -> None:
        """An exception escaped a product call the soak made (the GUI would have had it)."""
        self._keep(where, *sys.exc_info()[1:])


class HostStalls:
    """Evidence for a trip nobody injected: garbage-collection pauses, late wake-ups of the
    simulator's thread, and long gaps between telemetry arrivals (monotonic time, ms)."""

    GAP_MS = 150.0
    GC_MS = 50.0

    def __init__(self) -> None:
        self.events: collections.deque[tuple[float, str, float]] = collections.deque(maxlen=5000)
        self.gc_pauses: list[float] = []
        self.sim_starved: list[float] = []
        self.arrival_gaps: list[float] = []
        self._gc_start = 0.0
        self._last_arrival: float | None = None

    def install(self, server: SimulatedBoardServer) -> None:
        gc.callbacks.append(self._on_gc)
        board = server.board
        original = board.excuse_starvation

        def excuse_and_note(seconds: float) -> None:  # the simulator thread woke up late
            self.sim_starved.append(seconds * 1e3)
            self.events.append((time.monotonic(), "simulator thread woke late", seconds * 1e3))
            original(seconds)

        board.excuse_starvation = excuse_and_note  # type: ignore[method-assign]

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
            return
        ms = (time.perf_counter() - self._gc_start) * 1e3
        self.gc_pauses.append(ms)
        if ms >= self.GC_MS:
            self.events.append((time.monotonic(), f"gc generation {info.get('generation')}", ms))

    def on_telemetry(self, event: TelemetryEvent) -> None:  # reader thread
        if self._last_arrival is not None:
            gap = (event.host_time - self._last_arrival) * 1e3
            if gap >= self.GAP_MS:
                self.arrival_gaps.append(gap)
                self.events.append((event.host_time, "telemetry arrival gap", gap))
        self._last_arrival = event.host_time

    def near(self, t: float, before_s: float = 3.0) -> str:
        found = [f"{kind} {ms:.0f} ms at {t_e - t:+.2f} s" for t_e, kind, ms in list(self.events)
                 if t - before_s <= t_e <= t + 0.5]
        return "; ".join(found) if found else "no GC pause, late simulator wake-up or arrival gap seen"


# --- the soak ---------------------------------------------------------------------------------


@dataclass
class Tally:
    sessions: int = 0
    ended: collections.Counter = field(default_factory=collections.Counter)  # final state
    trips: collections.Counter = field(default_factory=collections.Counter)  # kind
    faults: collections.Counter = field(default_factory=collections.Counter)
    actions: collections.Counter = field(default_factory=collections.Counter)
    start_refusals: collections.Counter = field(default_factory=collections.Counter)
    uninjected_trips: list[str] = field(default_factory=list)
    output_left_on: list[str] = field(default_factory=list)
    record_problems: list[str] = field(default_factory=list)
    session_ids: list[int] = field(default_factory=list)


class Soak:
    def __init__(self, args: argparse.Namespace, db_url: str, trap: ExceptionTrap) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.trap = trap
        self.tally = Tally()
        self.server = SimulatedBoardServer(load=load_from_spec(args.load), seed=args.seed).start()
        self.db = open_database(db_url)
        mark_as_demo(self.db)  # sessions on the simulated board are kept only in a demo database
        self.station = Station()
        self.station.connect(self.server.port, simulated=True)
        if not wait_until(self._connected, DEADLINE_S, 0.01):
            raise RuntimeError(f"the simulated board did not connect: {self.station.snapshot().reason}")
        self.counter = SampleCounter()
        self.stalls = HostStalls()
        self.stalls.install(self.server)
        assert self.station.link is not None
        self.station.link.add_telemetry_listener(self.counter)
        self.station.link.add_telemetry_listener(self.stalls.on_telemetry)
        self.desk = TreatmentDesk(self.station, db=self.db, operator=lambda: "Soak Therapist",
                                  station_name="soak-station", demo=True)

    def _connected(self) -> bool:
        link = self.station.link
        return (link is not None and link.state is LinkState.CONNECTED and link.ident is not None
                and self.station.snapshot().live is not None)

    def board_output(self) -> tuple[bool, float]:
        with self.server.lock:
            return bool(self.server.board.flags() & 1), self.server.model.snapshot().true_current_a

    def close(self) -> None:
        self.desk.shutdown()
        self.station.disconnect()
        self.server.stop()

    # --- one session ---------------------------------------------------------------------

    def plan(self) -> SessionPlan:
        dose = round(self.rng.uniform(0.3, 2.5), 2)
        protocol = quick_protocol(id="soak-dexamethasone", name="Soak: dexamethasone, short dose",
                                  dose_target_ma_min=dose)
        n = self.rng.randint(1, 5)
        return SessionPlan(protocol=protocol, patient_id=f"SOAK-{n:04d}", patient_name=f"Soak Patient {n}",
                           site="left forearm", electrode="standard 12 cm²", checklist_passed=True,
                           checklist_record={"answers": {"patient_informed": True}, "overridden": []})

    def begin(self) -> TreatmentController | None:
        deadline = time.monotonic() + DEADLINE_S
        reason = ""
        while time.monotonic() < deadline:
            plan = self.plan()
            blockers = self.desk.blockers(plan)
            if not blockers:
                try:
                    return self.desk.begin(plan)
                except (ValueError, BoardError) as exc:  # what the treatment view shows the therapist
                    reason = str(exc)
            else:
                reason = " ".join(blockers)
            time.sleep(0.1)
        self.tally.start_refusals[reason[:100]] += 1
        return None

    def run_session(self, end_at: float) -> None:
        controller = self.begin()
        if controller is None:
            self.recover(None)
            return
        self.tally.sessions += 1
        recorder = self.desk.recorder
        session_id = recorder.session_id if recorder is not None else None
        injected: str | None = None
        self.steps: list[str] = []
        started = time.monotonic()
        paused_since: float | None = None
        next_action = time.monotonic() + self.rng.uniform(1.0, 8.0)
        give_up_at = end_at + 60
        while True:
            state = controller.snapshot().state
            if state.terminal:
                self.ended_at = time.monotonic()
                break
            now = time.monotonic()
            if now > give_up_at:
                self.tally.record_problems.append(f"session {session_id}: still {state.value} a minute after "
                                                  f"the time was up and an emergency stop")
                self.ended_at = now
                break
            if now > end_at:  # the time is up: the therapist ends the session (stops it if that is refused)
                if not self.steps or not self.steps[-1].endswith("(time up)"):
                    self.steps.append(f"{now - started:.1f}s end_early (time up)")
                    controller.end_early()
                elif now > end_at + 5:
                    self.steps.append(f"{now - started:.1f}s emergency (time up)")
                    self.desk.stop(EMERGENCY)
                    end_at = now + 3600
            elif now >= next_action:
                next_action = now + self.rng.uniform(1.0, 8.0)
                action = self.rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
                if paused_since is not None and action in ("step_up", "pause_resume", "nothing"):
                    action = "resume"
                self.tally.actions[action] += 1
                if action == "fault":
                    fault = self.rng.choice(FAULTS)
                    if fault != "garbage":  # line noise is not expected to end a session
                        injected = injected or fault
                    self.steps.append(f"{now - started:.1f}s fault {fault}")
                    self.inject(fault)
                else:
                    self.steps.append(f"{now - started:.1f}s {action}")
                    paused_since = self.act(controller, action, paused_since)
            time.sleep(0.05)
        self.after_session(controller, session_id, injected, time.monotonic() - started)

    def act(self, controller: TreatmentController, action: str, paused_since: float | None) -> float | None:
        if action == "step_up":
            controller.step_up()
        elif action == "step_down":
            controller.step_down()
        elif action == "pause_resume":
            controller.pause()
            return time.monotonic()
        elif action == "resume":
            controller.resume()
            return None
        elif action == "end_early":
            controller.end_early()
        elif action == "side_effect":
            self.desk.stop(self.rng.choice(SIDE_EFFECTS))
        elif action == "emergency":
            self.desk.stop(EMERGENCY)
        return paused_since

    def inject(self, fault: str) -> None:
        self.tally.faults[fault] += 1
        server = self.server
        if fault in PATIENT_AND_BOARD_FAULTS:
            inject_fault(server, fault)
        elif fault == "reboot":
            self.counter.expect("reboot", 3.0)
            server.reboot()
        elif fault == "garbage":
            self.counter.expect("garbage", 2.0)
            for _ in range(self.rng.randint(1, 10)):
                server.send_garbage(self.rng.randint(100, 4000))
        elif fault == "stall":
            seconds = round(self.rng.uniform(0.5, 2.0), 2)
            self.counter.expect("stall", seconds + 3.0)  # silence, then a possible reconnect
            server.stall_link(seconds)
            self.stall_until = time.monotonic() + seconds

    def after_session(self, controller: TreatmentController, session_id: int | None, injected: str | None,
                      seconds: float) -> None:
        snap = controller.snapshot()
        self.tally.ended[snap.state.value] += 1
        trip = snap.active_trip
        why = f"{trip.kind.value}: {trip.message}" if trip is not None else (
            snap.stop_reason.label if snap.stop_reason is not None else controller.message())
        if trip is not None:
            self.tally.trips[trip.kind.value] += 1
        if not wait_until(lambda: self.board_output() == (False, 0.0), DEADLINE_S, 0.01):
            self.tally.output_left_on.append(f"session {session_id} ({snap.state.value}): board output still on "
                                             f"{DEADLINE_S:g} s after the end")
        recorder = self.desk.recorder
        if recorder is not None and session_id is not None:
            self.tally.session_ids.append(session_id)
            if not recorder.finished.wait(DEADLINE_S):
                self.tally.record_problems.append(f"session {session_id}: record not closed in {DEADLINE_S:g} s")
            elif not why:
                why = f"record: {load_session(self.db, session_id).reason}"
        steps = ", ".join(self.steps) or "no action"
        line = f"session {session_id}: {seconds:.1f} s, {steps} -> {snap.state.value} ({why})"
        if self.args.verbose:
            print(f"  {line}", flush=True)
        if injected is None and (trip is not None or snap.state is SessionState.INTERRUPTED):
            self.tally.uninjected_trips.append(f"{line}; host at the time: {self.stalls.near(self.ended_at)}")
        self.recover(injected)

    def recover(self, injected: str | None) -> None:
        """Undo every cause the simulator may still hold; wait for the board back with telemetry."""
        undo_faults(self.server)
        if injected == "stall":
            wait_until(lambda: time.monotonic() > getattr(self, "stall_until", 0.0), 5.0, 0.05)
        if not wait_until(self._connected, DEADLINE_S, 0.05):
            self.tally.start_refusals[f"board not back: {self.station.snapshot().reason}"[:100]] += 1
        wait_until(lambda: self.board_output() == (False, 0.0), DEADLINE_S, 0.01)

    # --- the end ----------------------------------------------------------------------------

    def check_records(self) -> tuple[int, list[str], object]:
        problems = list(self.tally.record_problems)
        with self.db.read() as s:
            rows = s.execute(select(TreatmentSession.id, TreatmentSession.state, TreatmentSession.ended_at,
                                    TreatmentSession.sample_count)).all()
        for sid, state, ended_at, count in rows:
            if state not in TERMINAL_VALUES:
                problems.append(f"session {sid}: state {state!r} is not terminal")
            if ended_at is None:
                problems.append(f"session {sid}: no end time")
            stored = len(load_samples(self.db, sid))
            if stored != count:
                problems.append(f"session {sid}: says {count} samples, {stored} stored")
        return len(rows), problems, verify_audit(self.db)


def connected_and_idle(soak: Soak) -> bool:
    return soak._connected() and not soak.desk.active


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=1000, help="telemetry rate during treatments (Hz)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock, printed)")
    parser.add_argument("--load", default="resistor:5000",
                        help="simulated load: resistor:OHMS (default 5 kΩ: only injected faults should trip) or skin")
    parser.add_argument("--report-minutes", type=float, default=5.0)
    parser.add_argument("--keep-db", metavar="PATH", help="keep the records database at PATH (SQLite)")
    parser.add_argument("--verbose", action="store_true", help="print one line per session")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = int(time.time()) % 100_000

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    # quiet the expected warnings of injected faults; errors still reach the trap and stderr
    for name in ("ionto_console.control", "ionto_console.drivers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    trap = ExceptionTrap()
    trap.install()

    class SoakController(TreatmentController):
        """The desk's controller with telemetry at --rate (the desk itself uses the product default)."""

        def __init__(self, *a, **kw) -> None:
            kw.setdefault("rate_hz", args.rate)
            super().__init__(*a, **kw)

    treatment_desk.TreatmentController = SoakController  # type: ignore[misc]

    folder = tempfile.mkdtemp(prefix="ionto-soak-")
    db_path = Path(args.keep_db) if args.keep_db else Path(folder) / "records.sqlite3"
    print(f"soak: {args.minutes:g} min at {args.rate} Hz, load {args.load}, seed {args.seed}, records {db_path}{'' if args.keep_db else ' (deleted at the end)'}; "
          f"{load_line()}", flush=True)
    soak = Soak(args, sqlite_url(db_path), trap)
    freeze_start_up_objects()  # as the console does once started (app.py), so GC pauses match the product
    rss: list[tuple[float, float]] = [(0.0, rss_mb())]
    threads0 = threading.active_count()
    t0 = time.monotonic()
    end_at = t0 + args.minutes * 60

    def report(final: bool = False) -> None:
        minutes = (time.monotonic() - t0) / 60
        if not final:
            rss.append((minutes, rss_mb()))
        sent, received, lost, lost_none = soak.counter.figures()
        stats = soak.station.snapshot()
        print(f"[{minutes:6.1f} min] sessions {soak.tally.sessions}, RSS {rss[-1][1]:.0f} MB, threads "
              f"{threading.active_count()}, received {received:,} / sent {sent:,} (lost {lost}, "
              f"outside injected causes {lost_none}), link lost {stats.samples_lost}, frames dropped "
              f"{stats.frames_dropped}, unhandled {len(trap.unhandled)}, errors logged {len(trap.errors)}", flush=True)

    finished = threading.Event()

    def reporter() -> None:  # on the clock, whatever the sessions are doing
        while not finished.wait(args.report_minutes * 60):
            report()

    reporter_thread = threading.Thread(target=reporter, name="soak-reporter", daemon=True)
    reporter_thread.start()
    try:
        while time.monotonic() < end_at:
            try:
                soak.run_session(end_at)
            except Exception:  # an exception out of a product call: record it and carry on
                trap.note_driver_exception("soak driver (a product call raised)")
                soak.desk.stop(EMERGENCY)
                soak.recover(None)
    finally:
        finished.set()
        reporter_thread.join(5.0)
        wait_until(lambda: connected_and_idle(soak), DEADLINE_S, 0.05)
        time.sleep(0.5)  # let the last frames in flight arrive before the counts are taken
        elapsed = (time.monotonic() - t0) / 60
        sent, received, lost, lost_none = soak.counter.figures()
        stats = soak.station.snapshot()
        history = len(soak.station.buffer)
        if elapsed - rss[-1][0] > 0.1:  # not just after the last periodic report
            rss.append((elapsed, rss_mb()))
        threads1 = threading.active_count()
        report(final=True)
        soak.close()
    rows, record_problems, verdict = soak.check_records()
    soak.db.close()
    if not args.keep_db:
        shutil.rmtree(folder, ignore_errors=True)

    tally = soak.tally
    growth_from = rss[1] if len(rss) > 2 else rss[0]
    growth = round(rss[-1][1] - growth_from[1])
    print(f"\nsoak over: {elapsed:.1f} min, seed {args.seed}; {load_line()}")
    print(f"sessions          {tally.sessions} run, {rows} recorded; ended {dict(tally.ended)}")
    print(f"therapist actions {dict(tally.actions)}")
    print(f"faults injected   {dict(tally.faults)}")
    print(f"trips by kind     {dict(tally.trips)}")
    for line in tally.uninjected_trips:
        print(f"  trip or interruption with no injected fault: {line}")
    for reason, n in tally.start_refusals.items():
        print(f"  start refused/blocked {n}x: {reason}")
    for line in tally.output_left_on:
        print(f"  OUTPUT LEFT ON: {line}")
    print(f"samples           sent {sent:,} (board counter), received {received:,}, lost {lost:,}; "
          f"lost by cause {dict(soak.counter.lost_by_cause)}; link counter gaps {stats.samples_lost:,}; "
          f"frames dropped {stats.frames_dropped:,}")
    print("memory            RSS " + ", ".join(f"{m:.1f} min {v:.0f} MB" for m, v in rss)
          + f"; growth after the first report {growth:+d} MB")
    print(f"                  station live history (monitor page buffer): {history:,} samples = "
          f"{history * 24 / 1e6:.0f} MB of data, never trimmed while connected")
    print(f"threads           {threads0} at start, {threads1} at the end")
    stalls = soak.stalls
    print(f"host stalls       GC pauses: {len(stalls.gc_pauses)}, max {max(stalls.gc_pauses, default=0):.0f} ms, "
          f"{sum(p >= stalls.GC_MS for p in stalls.gc_pauses)} >= {stalls.GC_MS:g} ms; simulator thread woke late "
          f"{len(stalls.sim_starved)}x (max {max(stalls.sim_starved, default=0):.0f} ms); telemetry arrival gaps "
          f">= {stalls.GAP_MS:g} ms: {len(stalls.arrival_gaps)} (max {max(stalls.arrival_gaps, default=0):.0f} ms)")
    print(f"exceptions        unhandled {len(trap.unhandled)}, ERROR log records {len(trap.errors)}")
    for text in trap.unhandled[:10]:
        print(f"  unhandled: {text.strip()[-1500:]}")
    for text, n in collections.Counter(trap.errors).most_common(10):
        print(f"  logged error {n}x: {text[:300]}")
    print(f"records           {rows} sessions; problems {len(record_problems)}; audit chain "
          f"{'OK' if verdict.ok else 'BROKEN: ' + verdict.reason} ({verdict.entries} entries)")
    for text in record_problems[:20]:
        print(f"  record problem: {text}")
    print(f"RESULT soak minutes: {elapsed:.1f} min")
    print(f"RESULT soak sessions: {tally.sessions} sessions")
    print(f"RESULT soak samples sent: {sent} samples")
    print(f"RESULT soak samples received: {received} samples")
    print(f"RESULT soak samples lost: {lost} samples")
    print(f"RESULT soak samples lost outside injected stall/reboot/noise: {lost_none} samples (goal 0)")
    print(f"RESULT soak unhandled exceptions: {len(trap.unhandled)} exceptions (goal 0)")
    print(f"RESULT soak error log records: {len(trap.errors)} records (goal 0)")
    print(f"RESULT soak trips with no injected fault: {len(tally.uninjected_trips)} sessions (goal 0)")
    print(f"RESULT soak output left on after a session: {len(tally.output_left_on)} sessions (goal 0)")
    print(f"RESULT soak RSS at start: {rss[0][1]:.0f} MB")
    print(f"RESULT soak RSS at end: {rss[-1][1]:.0f} MB (goal < {GOAL_RSS_MB:g})")
    print(f"RESULT soak RSS growth after the first report: {growth} MB")
    print(f"RESULT soak records not terminal or incomplete: {len(record_problems)} sessions (goal 0)")
    print(f"RESULT soak audit chain broken: {0 if verdict.ok else 1} (goal 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
