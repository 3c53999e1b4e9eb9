"""``ionto-replay``: play a session's recorded serial stream back through the console's decoder,
sequence rule and engine, and say where this console decides differently from the one recorded.

    ionto-replay FILE.ionto-wire --protocol ID [--speed max|N] [--serial SN] [--tolerance 0.25]
    ionto-replay --database URL --session N [--speed max|N] [--realtime]

WHY: a field report ("it cut for no reason at 3 s") comes with the session's
black box (``records.wire_log``). Replaying it is how the report is judged and
how a fix is shown, so the answer must not depend on the host that replays it.

Virtual time (the default): the recording's board-to-host frames are decoded
with the console's ``FrameDecoder``, judged by the link's own sequence rule
(``drivers.board.sequence.judge``), turned into samples by the controller's
``SampleConverter`` and fed to a fresh ``TreatmentEngine`` for the session's
protocol, with the controller's tick (``TICK_S``) in between; the clock is each
frame's recorded arrival time. The engine takes time as an argument, so a host
stall delays the answer and never changes it: ``--speed max`` (as fast as
possible), ``--speed 1`` and ``--speed 10`` decide the same.

``--realtime``: the board's side of the recording (TELEMETRY and FAULT frames,
byte for byte, at their recorded times, scaled by ``--speed``) is served to a
real ``BoardLink`` over a local socket and a real ``TreatmentController``; the
replay board answers the console's commands (HELLO with an IDENT, the rest
with ACK) without changing what it plays. That proves the transport path; it
runs on the wall clock, so a stall of this process is a silence to the engine
(at ``--speed 10`` a 20 ms stall is 200 ms: LOST_TELEMETRY, seen as "no
measurement for 474 ms" on a shared machine).

Therapist actions (raise, lower, pause, resume, end early, side-effect and
emergency stops) come from the session's recorded events (``--database``), or,
from a file alone with ``--wire-stops``, the quick-ramp STOPs its host-to-board
commands show (``actions_from_wire``: a STOP_RAMP trip sends the same STOP, so
only on request); both modes make them at their recorded times.

The decisions compared are the ones that switch current: OUTPUT 1 (enable),
STOP (ramp down), OUTPUT 0 (cut). A recorded decision with no decision of the
same kind by this console within ``--tolerance`` seconds (recorded time), and
one this console made that the recording does not have, are differences. Exit
status 0: the same decisions; 1: differences (printed); 2: bad input.
"""

from __future__ import annotations

import argparse
import math
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .core.engine import TreatmentEngine
from .core.protocols import Protocol
from .core.session import SideEffect, StopCause, StopReason
from .drivers.board import messages as m
from .drivers.board.framing import FrameDecoder, encode_frame
from .drivers.board.link import WIRE_TO_BOARD, BoardLink, LinkState
from .records.wire_log import FROM_BOARD, TO_BOARD, WireRecord, decode

#: A decision this close (seconds, recorded time) to one of the same kind is the same decision.
DEFAULT_TOLERANCE_S = 0.25
#: Decisions up to this long after the recording's last board frame still answer the recording
#: (a cut the last sample calls for comes within milliseconds); later ones answer its end (the
#: console trips LOST_TELEMETRY 200 ms after the last sample) and are not compared.
TAIL_S = 0.1
REPLAY_IDENT = m.Ident(1, 0, 0, 0, "REPLAY", 25_000, 90_000, 1.0, 0.0, 1)


@dataclass(frozen=True)
class Decision:
    t: float  # seconds since the recording started
    kind: str  # "enable", "stop", "cut"

    def __str__(self) -> str:
        return f"{self.kind} at {self.t:.3f} s"


@dataclass
class ReplayReport:
    recorded: list[Decision]
    replayed: list[Decision]
    tolerance_s: float
    missing: list[Decision] = field(default_factory=list)  # recorded, not made by this console
    extra: list[Decision] = field(default_factory=list)  # made by this console, not recorded

    @property
    def same(self) -> bool:
        return not self.missing and not self.extra

    def differences(self) -> list[str]:
        return ([f"recorded {d}: this console did not ({d.kind})" for d in self.missing]
                + [f"this console: {d}; the recording has no {d.kind} there" for d in self.extra])


def decisions(frames: Iterable[tuple[float, m.Message]]) -> list[Decision]:
    """The current-switching commands among host-to-board messages."""
    out = []
    for t, msg in frames:
        if isinstance(msg, m.Output):
            out.append(Decision(t, "enable" if msg.enable else "cut"))
        elif isinstance(msg, m.Stop):
            out.append(Decision(t, "cut" if msg.ramp_ms == 0 else "stop"))
    return out


def frames_of(records: Iterable[WireRecord], direction: int) -> list[tuple[float, m.Message, bytes]]:
    """(time, message, exact frame bytes) of every valid frame in one direction."""
    decoder = FrameDecoder()
    out = []
    for record in records:
        if record.direction != direction:
            continue
        for frame in decoder.feed(record.data):
            try:
                msg = m.parse(frame)
            except (KeyError, m.PayloadError):
                continue
            out.append((record.t, msg, frame_bytes(frame.type, frame.seq, frame.payload)))
    return out


def frame_bytes(msg_type: int, seq: int, payload: bytes) -> bytes:
    return encode_frame(msg_type, seq, payload)


def compare(recorded: list[Decision], replayed: list[Decision], tolerance_s: float) -> ReplayReport:
    report = ReplayReport(recorded, replayed, tolerance_s)
    unused = list(replayed)
    for decision in recorded:
        match = next((d for d in unused if d.kind == decision.kind and abs(d.t - decision.t) <= tolerance_s), None)
        if match is None:
            report.missing.append(decision)
        else:
            unused.remove(match)
    report.extra = unused
    return report


class ReplayBoard:
    """Serves the recording's board frames on 127.0.0.1 and answers the console's commands."""

    def __init__(self, board_frames: list[tuple[float, bytes]], ident: m.Ident, speed: float) -> None:
        self._frames = board_frames
        self._ident = ident
        self._speed = speed
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self.url = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"
        self._client: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self.handshaken = threading.Event()
        self.started = threading.Event()
        self.finished = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="replay-board", daemon=True)
        self._thread.start()

    def play(self, origin: Callable[[], float]) -> None:
        """Start streaming; ``origin()`` gives the replay's recorded time now."""
        threading.Thread(target=self._stream, args=(origin,), name="replay-stream", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        for sock in (self._client, self._listener):
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass
        self._thread.join(2.0)

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            if self._client is not None:
                try:
                    self._client.sendall(data)
                except OSError:
                    self._stop.set()

    def _serve(self) -> None:
        try:
            self._client, _ = self._listener.accept()
        except OSError:
            return
        self._client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        decoder = FrameDecoder()
        while not self._stop.is_set():
            try:
                data = self._client.recv(4096)
            except OSError:
                return
            if not data:
                return
            for frame in decoder.feed(data):
                reply = self._ident if frame.type == m.MsgType.HELLO else m.Ack(frame.type)
                self._send(reply.frame(frame.seq))
                if frame.type == m.MsgType.HELLO:
                    self.handshaken.set()

    def _stream(self, now: Callable[[], float]) -> None:
        self.started.set()
        for t, data in self._frames:
            while not self._stop.is_set() and now() < t:
                time.sleep(min(max(t - now(), 0.0) / self._speed, 0.01))
            if self._stop.is_set():
                break
            self._send(data)
        self.finished.set()


# --- therapist actions ---------------------------------------------------------------------

#: The intents a recorded session's events can ask of the engine again.
ACTION_NAMES = ("step_up", "step_down", "pause", "resume", "end_early", "stop")
#: The stop causes by the label the record keeps (a label with words is "<label>: <words>").
_STOP_BY_LABEL = {StopReason(r, "-").label[:-len(": -")]: r for r in (*SideEffect, *StopCause)}


@dataclass(frozen=True)
class Action:
    """One therapist action, at seconds since the session's first recorded sample (the record's t)."""

    t: float
    name: str  # one of ACTION_NAMES
    reason: SideEffect | StopCause | None = None  # for "stop"
    text: str = ""


def actions_from_events(events: Iterable[tuple[float | None, str, str, dict]]) -> list[Action]:
    """The therapist's actions among a session's recorded events ``(t, kind, message, evidence)``.

    WHY from the events: the engine records each action it took (``action:step_up`` ...,
    ``stop`` with the stop's label); an early end is the ramp-down that no ``dose_reached``
    event explains. Without them a replay of a session with actions differs for no reason."""
    rows = [(t, kind, message, evidence) for t, kind, message, evidence in events if t is not None]
    dose_reached = [t for t, kind, _, _ in rows if kind == "dose_reached"]
    out = []
    for t, kind, message, evidence in rows:
        if kind.startswith("action:") and kind[len("action:"):] in ACTION_NAMES:
            out.append(Action(t, kind[len("action:"):]))
        elif kind == "stop":
            label, _, words = message.partition(": ")
            reason = _STOP_BY_LABEL.get(label, SideEffect.OTHER)  # unknown words: an "Other…" stop
            words = words if label in _STOP_BY_LABEL else message
            if reason is StopCause.ENDED_EARLY:
                out.append(Action(t, "end_early"))
            else:
                out.append(Action(t, "stop", reason, words or ("" if reason is not SideEffect.OTHER else "-")))
        elif (kind == "state" and evidence.get("event") == "begin_ramp_down"
              and not any(abs(d - t) < 0.05 for d in dose_reached)):
            out.append(Action(t, "end_early"))
    return sorted(out, key=lambda a: a.t)


def actions_from_wire(records: Sequence[WireRecord], quick_ramp_ms: int = 250) -> list[Action]:
    """The stops a wire log alone may show (no records database): a STOP with the quick ramp, taken
    for a side effect (which one the wire does not say: "other"). WHY only on request
    (``--wire-stops``): the engine's own STOP_RAMP trips send the very same STOP, so replaying
    one as a therapist's stop would hide a trip this console no longer makes (or a new one).
    Raises and pauses are not recognisable on the wire (the engine's own ramp sends the same
    SET_TARGETs), so they are not replayed from here.
    Times are since the first board sample after the console began (as the record counts them)."""
    host = frames_of(records, TO_BOARD)
    board = [(t, data) for t, msg, data in frames_of(records, FROM_BOARD) if isinstance(msg, m.Telemetry)]
    start_t = min((t for t, msg, _ in host if not isinstance(msg, m.Heartbeat)), default=0.0)
    t0 = _record_t0(board, start_t)
    return [Action(t - t0, "stop", SideEffect.OTHER, "side effect (from the wire log)")
            for t, msg, _ in host if isinstance(msg, m.Stop) and msg.ramp_ms == quick_ramp_ms]


def _record_t0(board: Sequence[tuple[float, object]], start_t: float) -> float:
    """Recording time of the first board frame at or after the console began: the record's time 0."""
    return next((t for t, _ in board if t >= start_t), start_t)


# --- virtual time --------------------------------------------------------------------------


class _VirtualConsole:
    """The treatment controller's decisions, made on the recording's clock.

    Mirrors ``TreatmentController``: samples through ``SampleConverter``, a tick every
    ``TICK_S``, engine commands through ``to_messages``; once a stop is on the wire only
    current-ending commands go out; a link fault or a board restart interrupts. Every
    non-ending command counts as ACKed (the replay board ACKs everything in real time too)."""

    def __init__(self, protocol: Protocol) -> None:
        from .control.samples import SampleConverter

        self.engine = TreatmentEngine(protocol)
        self.converter = SampleConverter()
        self.decisions: list[Decision] = []
        self.stopping = False
        self.first_sample_t: float | None = None  # the record's time 0 (first sample after start)

    def execute(self, commands: list, now: float, satisfied: m.Message | None = None) -> None:
        from .control.treatment import TREATMENT_RATE_HZ, to_messages

        for command in commands:
            for msg in to_messages(command, TREATMENT_RATE_HZ):
                ends = isinstance(msg, m.Stop) or (isinstance(msg, m.Output) and msg.enable == 0)
                if ends and satisfied is not None and msg == satisfied:
                    satisfied = None
                    continue
                if not ends and self.stopping:
                    continue
                self.decisions.extend(decisions([(now, msg)]))

    def intent(self, action: Action, now: float) -> None:
        from .core.session import IllegalTransition

        satisfied = None
        try:
            if action.name == "stop":
                reason = action.reason or SideEffect.OTHER
                satisfied = m.Output(0) if reason is StopCause.EMERGENCY else m.Stop(self.engine.quick_ramp_ms)
                self.stopping = True
                self.decisions.extend(decisions([(now, satisfied)]))  # written at once, as stop() does
                commands = self.engine.stop(reason, action.text, now)
            else:
                commands = getattr(self.engine, action.name)(now)
        except (IllegalTransition, ValueError, RuntimeError):
            return  # refused, as the console would refuse it now: no command
        self.execute(commands, now, satisfied)

    def interrupt(self, detail: str, now: float) -> None:
        from .core.session import SessionState

        if not (self.engine.state is SessionState.IDLE or self.engine.state.terminal):
            self.execute(self.engine.interrupt(detail, now), now)


def replay_virtual(records: Sequence[WireRecord], protocol: Protocol, *, speed: float = math.inf,
                   tolerance_s: float = DEFAULT_TOLERANCE_S, actions: Sequence[Action] = (),
                   on_frame: Callable[[float], None] | None = None) -> ReplayReport:
    """Replay in virtual time: the recording's board-frame timestamps are the clock.

    WHY: the engine takes time as an argument, so nothing here reads the host clock for a
    decision. Frames are decoded with the console's ``FrameDecoder`` and judged by the link's
    own sequence rule (``sequence.judge``); the controller's tick runs every ``TICK_S`` of
    recorded time between them. A host stall delays the answer, never changes it: ``speed``
    (recorded seconds per wall second; ``inf`` = as fast as possible) only paces the loop.
    ``on_frame``: called with each board frame's time before it is judged (a test's stall)."""
    from .control.treatment import TICK_S
    from .drivers.board.link import TelemetryEvent
    from .drivers.board.sequence import Kind, judge

    if not speed > 0:
        raise ValueError("speed must be positive")
    host = [(t, msg) for t, msg, _ in frames_of(records, TO_BOARD)]
    recorded = decisions(host)
    board = [(t, msg) for t, msg, _ in frames_of(records, FROM_BOARD) if isinstance(msg, m.Telemetry)]
    if not board:
        raise ValueError("the recording has no telemetry from the board")
    start_t = min((t for t, msg in host if not isinstance(msg, m.Heartbeat)), default=board[0][0])
    last_board_t = board[-1][0]
    # The recording's last record (either direction) is the last instant whose decisions it knows:
    # a cut the console scheduled (the end of a stop's ramp) after the tap closed is in no recording.
    # In virtual time a decision on the last sample has that sample's own time, so needs no tail.
    end_t = max(record.t for record in records)
    console = _VirtualConsole(protocol)
    pending = sorted(actions, key=lambda a: a.t)
    started = False
    next_tick = start_t
    last: tuple[int, int] | None = None
    last_at: float | None = None
    linked = True
    wall0 = time.monotonic()
    t_first = board[0][0]

    def pace(t: float) -> None:
        if math.isfinite(speed):
            ahead = (t - t_first) / speed - (time.monotonic() - wall0)
            if ahead > 0:
                time.sleep(ahead)

    def due(until: float, inclusive: bool) -> None:
        """Everything the console's clock does up to ``until``: start, actions, ticks, in time order."""
        nonlocal started, next_tick
        while True:
            candidates = []
            if not started and start_t <= until:
                candidates.append((start_t, 0))
            if started and pending and console.first_sample_t is not None:
                at = console.first_sample_t + pending[0].t
                if at < until or (inclusive and at <= until):
                    candidates.append((at, 1))
            if started and (next_tick < until or (inclusive and next_tick <= until)):
                candidates.append((next_tick, 2))
            if not candidates:
                return
            at, what = min(candidates)
            if what == 0:
                started = True
                console.execute(console.engine.start(start_t), start_t)
                next_tick = start_t + TICK_S
            elif what == 1:
                console.intent(pending.pop(0), at)
            else:
                console.execute(console.engine.on_tick(at), at)
                next_tick = at + TICK_S

    for t, msg in board:
        if on_frame is not None:
            on_frame(t)
        pace(t)
        due(t, inclusive=False)
        if not linked:
            continue
        gap = None if last_at is None else t - last_at
        verdict = judge(last, msg.counter, msg.board_time_us, False, gap)
        if verdict.kind is Kind.FAULT:
            linked = False  # the link faults and disconnects: the controller interrupts
            console.interrupt(verdict.problem, t)
            continue
        if verdict.kind is Kind.DUPLICATE:
            continue
        last, last_at = (msg.counter, msg.board_time_us), t
        rebooted = verdict.kind is Kind.RESTART
        sample = console.converter.convert(TelemetryEvent(msg, t, verdict.lost, rebooted))
        if rebooted:
            console.interrupt("board rebooted", t)
        if console.stopping:
            console.engine.stop_written()
        console.execute(console.engine.on_sample(sample), sample.t)
        if started and console.first_sample_t is None:
            console.first_sample_t = sample.t  # the recorder's time 0: its first sample of the session
    # The console's clock runs on past the recording's end by the tolerance: a cut the recording
    # shows at its very end may fall due on this console's next tick, a few ms later.
    due(end_t + tolerance_s, inclusive=True)
    return compare_until(recorded, console.decisions, end_t, tolerance_s)


def compare_until(recorded: list[Decision], replayed: list[Decision], end_t: float,
                  tolerance_s: float) -> ReplayReport:
    """``compare`` for a recording that ends at ``end_t``: a replayed decision after the end may
    still match a recorded one (within the tolerance), but is never an extra one, since the
    recording cannot show what came after it."""
    report = compare([d for d in recorded if d.t <= end_t],
                     [d for d in replayed if d.t <= end_t + tolerance_s], tolerance_s)
    after_the_end = [d for d in report.extra if d.t > end_t]
    report.extra = [d for d in report.extra if d.t <= end_t]
    report.replayed = [d for d in report.replayed if d not in after_the_end]
    return report


def replay(records: Sequence[WireRecord], protocol: Protocol, *, speed: float = math.inf,
           ident: m.Ident = REPLAY_IDENT, tolerance_s: float = DEFAULT_TOLERANCE_S,
           actions: Sequence[Action] = (), realtime: bool = False,
           on_frame: Callable[[float], None] | None = None) -> ReplayReport:
    """``realtime``: through a real ``BoardLink`` at ``speed`` (see ``replay_through_link``);
    otherwise in virtual time, paced to ``speed`` (``inf``: as fast as possible; ``on_frame``
    see ``replay_virtual``)."""
    if realtime:
        return replay_through_link(records, protocol, speed=1.0 if math.isinf(speed) else speed, ident=ident,
                                   tolerance_s=tolerance_s, actions=actions)
    return replay_virtual(records, protocol, speed=speed, tolerance_s=tolerance_s, actions=actions,
                          on_frame=on_frame)


def _apply_to_controller(controller, action: Action) -> None:
    """One recorded action through the real controller's intents (any thread, as the GUI does)."""
    if action.name == "stop":
        controller.stop(action.reason or SideEffect.OTHER, action.text)
    else:
        getattr(controller, action.name)()

def replay_through_link(records: Sequence[WireRecord], protocol: Protocol, *, speed: float = 1.0,
                        ident: m.Ident = REPLAY_IDENT, tolerance_s: float = DEFAULT_TOLERANCE_S,
                        actions: Sequence[Action] = ()) -> ReplayReport:
    """Play ``records`` through a real link and controller in (scaled) wall-clock time; compare
    the decisions (see the module). The therapist's ``actions`` are made through the controller's
    own intents when their time comes. Proves the transport path; judge decisions in virtual time."""
    from .control.treatment import TreatmentController  # the control layer only when replaying

    if not speed > 0:
        raise ValueError("speed must be positive")
    recorded_host = [(t, msg) for t, msg, _ in frames_of(records, TO_BOARD)]
    recorded = decisions(recorded_host)
    last_board_t = 0.0
    board = [(t, data) for t, msg, data in frames_of(records, FROM_BOARD)
             if isinstance(msg, (m.Telemetry, m.Fault))]
    if not board:
        raise ValueError("the recording has no telemetry from the board")
    start_t = min((t for t, msg in recorded_host if not isinstance(msg, m.Heartbeat)), default=board[0][0])
    real0 = time.monotonic()

    def clock() -> float:  # recorded time, scaled
        return (time.monotonic() - real0) * speed

    server = ReplayBoard(board, ident, speed)
    link = BoardLink(server.url, reply_timeout_s=1.0, clock=clock)
    replayed: list[Decision] = []
    lock = threading.Lock()
    origin: list[float] = []

    def on_wire(direction: int, t: float, data: bytes) -> None:
        if direction != WIRE_TO_BOARD or not origin:
            return
        for frame in FrameDecoder().feed(data):
            try:
                msg = m.parse(frame)
            except (KeyError, m.PayloadError):
                continue
            with lock:
                replayed.extend(decisions([(t - origin[0], msg)]))

    controller = None
    try:
        link.open()
        if link.state is not LinkState.CONNECTED:
            raise RuntimeError(f"the replay link did not connect: {link.reason}")
        link.add_wire_listener(on_wire)
        controller = TreatmentController(link, TreatmentEngine(protocol), clock=clock)
        controller.start_thread()
        origin.append(clock())
        server.play(lambda: clock() - origin[0])
        while clock() - origin[0] < start_t:
            time.sleep(0.001)
        controller.start()
        pending = sorted(actions, key=lambda a: a.t)
        t0 = _record_t0(board, start_t)
        while not server.finished.is_set():
            while pending and clock() - origin[0] >= t0 + pending[0].t:
                _apply_to_controller(controller, pending.pop(0))
            time.sleep(0.002)
        end = clock() + TAIL_S
        while clock() < end:
            time.sleep(0.005)
    finally:
        if controller is not None:
            controller.close()
        link.close()
        server.close()
    with lock:
        mine = list(replayed)
    # the console's own end-of-replay cut (controller.close) is not a decision about the recording
    last_board_t = board[-1][0]
    mine = [d for d in mine if d.t <= last_board_t + TAIL_S]
    recorded = [d for d in recorded if d.t <= last_board_t + TAIL_S]
    return compare(recorded, mine, tolerance_s)


def _load(args: argparse.Namespace) -> tuple[list[WireRecord], Protocol, m.Ident, list[Action]]:
    from .core.protocols import load_library

    if args.database:
        from .records import load_events, load_session, load_wire_log, open_database

        db = open_database(args.database)
        try:
            row = load_wire_log(db, args.session)
            if row is None:
                raise ValueError(f"session {args.session} has no recorded serial stream")
            summary = load_session(db, args.session)
            records = list(decode(row.data))
            actions = actions_from_events((ev.t, ev.kind, ev.message, ev.evidence)
                                          for ev in load_events(db, args.session))
        finally:
            db.close()
        protocol = Protocol.model_validate(summary.protocol)
        ident = m.Ident(1, 0, 0, 0, summary.board_serial[:16] or "REPLAY", 25_000, 90_000, 1.0, 0.0, 1)
        return records, protocol, ident, actions
    if not args.file or not args.protocol:
        raise ValueError("give a recording FILE and --protocol ID, or --database URL --session N")
    records = list(decode(Path(args.file).read_bytes()))
    matches = [p for p in load_library() if p.id == args.protocol]
    if not matches:
        raise ValueError(f"no protocol {args.protocol!r} in the library")
    ident = m.Ident(1, 0, 0, 0, args.serial[:16], 25_000, 90_000, 1.0, 0.0, 1)
    return records, matches[0], ident, actions_from_wire(records) if args.wire_stops else []


def _speed(text: str) -> float:
    if text.strip().lower() == "max":
        return math.inf
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed takes a number or 'max', not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("--speed must be above 0")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ionto-replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", help="an exported .ionto-wire recording")
    parser.add_argument("--protocol", help="protocol id (library) the session ran")
    parser.add_argument("--serial", default="REPLAY", help="board serial number to announce")
    parser.add_argument("--database", help="records database URL (with --session)")
    parser.add_argument("--session", type=int, help="session id in --database")
    parser.add_argument("--speed", type=_speed, default=math.inf,
                        help="recorded seconds per second in virtual time: 'max' (default, as fast as "
                             "possible), 1 = real time, 10 = ten times faster; the decisions do not depend on it")
    parser.add_argument("--realtime", action="store_true",
                        help="play through a real board link over a local socket in wall-clock time "
                             "(scaled by --speed, default 1): proves the transport path, load-sensitive")
    parser.add_argument("--wire-stops", action="store_true",
                        help="without --database: replay each quick-ramp STOP of the recording as a "
                             "therapist's side-effect stop (a STOP_RAMP trip sends the same STOP)")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE_S,
                        help="seconds within which two decisions of one kind are the same")
    args = parser.parse_args(argv)
    try:
        records, protocol, ident, actions = _load(args)
        speed = 1.0 if args.realtime and math.isinf(args.speed) else args.speed
        report = replay(records, protocol, speed=speed, ident=ident, tolerance_s=args.tolerance,
                        actions=actions, realtime=args.realtime)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"ionto-replay: {exc}", file=sys.stderr)
        return 2
    print(f"recorded decisions: {', '.join(map(str, report.recorded)) or 'none'}")
    print(f"this console:       {', '.join(map(str, report.replayed)) or 'none'}")
    if actions:
        print(f"therapist actions:  {', '.join(f'{a.name} at {a.t:.3f} s' for a in actions)}")
    if report.same:
        print("same decisions")
        return 0
    for line in report.differences():
        print(line)
    return 1


if __name__ == "__main__":
    sys.exit(main())
