"""``ionto-replay``: play a session's recorded serial stream back through the console's link and
engine, and say where this console decides differently from the one that was recorded.

    ionto-replay FILE.ionto-wire --protocol ID [--speed 10] [--serial SN] [--tolerance 0.25]
    ionto-replay --database URL --session N [--speed 10]

WHY: a field report ("it cut for no reason at 3 s") comes with the session's
black box (``records.wire_log``). Replaying it is how the report is judged and
how a fix is shown: the board's side of the recording (TELEMETRY and FAULT
frames, byte for byte, at their recorded times, scaled by ``--speed``) is
served to a real ``BoardLink`` over a local socket; a real
``TreatmentController`` with a fresh ``TreatmentEngine`` for the session's
protocol is started at the recorded start and judges every sample. The replay
board answers the console's own commands (HELLO with an IDENT, everything else
with ACK) without changing what it plays: the recording is the board.

The decisions compared are the ones that switch current: OUTPUT 1 (enable),
STOP (ramp down), OUTPUT 0 (cut). A recorded decision with no decision of the
same kind by this console within ``--tolerance`` seconds (recorded time), and
one this console made that the recording does not have, are differences. Exit
status 0: the same decisions; 1: differences (printed); 2: bad input.
With ``--speed`` above 1 the link and the controller run on one scaled clock,
so the engine sees the recording's time, not the replay's; the console's own
latencies (an ACK's round trip, a scheduling delay) are then stretched by the
same factor: a 20 ms stall of this process at ``--speed 10`` is a 200 ms silence
to the engine, which trips LOST_TELEMETRY (seen here: "no measurement for 474
ms" at 10x on a shared machine, none at 1x). Accelerated replays are therefore
only a quick look; judge decisions at the default ``--speed 1``.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .core.engine import TreatmentEngine
from .core.protocols import Protocol
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


def replay(records: Sequence[WireRecord], protocol: Protocol, *, speed: float = 1.0,
           ident: m.Ident = REPLAY_IDENT, tolerance_s: float = DEFAULT_TOLERANCE_S) -> ReplayReport:
    """Play ``records`` through a real link and controller; compare the decisions (see the module)."""
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
        server.finished.wait()
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


def _load(args: argparse.Namespace) -> tuple[list[WireRecord], Protocol, m.Ident]:
    from .core.protocols import load_library

    if args.database:
        from .records import load_session, load_wire_log, open_database

        db = open_database(args.database)
        try:
            row = load_wire_log(db, args.session)
            if row is None:
                raise ValueError(f"session {args.session} has no recorded serial stream")
            summary = load_session(db, args.session)
            records = list(decode(row.data))
        finally:
            db.close()
        protocol = Protocol.model_validate(summary.protocol)
        ident = m.Ident(1, 0, 0, 0, summary.board_serial[:16] or "REPLAY", 25_000, 90_000, 1.0, 0.0, 1)
        return records, protocol, ident
    if not args.file or not args.protocol:
        raise ValueError("give a recording FILE and --protocol ID, or --database URL --session N")
    records = list(decode(Path(args.file).read_bytes()))
    matches = [p for p in load_library() if p.id == args.protocol]
    if not matches:
        raise ValueError(f"no protocol {args.protocol!r} in the library")
    ident = m.Ident(1, 0, 0, 0, args.serial[:16], 25_000, 90_000, 1.0, 0.0, 1)
    return records, matches[0], ident


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ionto-replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", help="an exported .ionto-wire recording")
    parser.add_argument("--protocol", help="protocol id (library) the session ran")
    parser.add_argument("--serial", default="REPLAY", help="board serial number to announce")
    parser.add_argument("--database", help="records database URL (with --session)")
    parser.add_argument("--session", type=int, help="session id in --database")
    parser.add_argument("--speed", type=float, default=1.0, help="1 = real time, 10 = ten times faster")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE_S,
                        help="seconds within which two decisions of one kind are the same")
    args = parser.parse_args(argv)
    try:
        records, protocol, ident = _load(args)
        report = replay(records, protocol, speed=args.speed, ident=ident, tolerance_s=args.tolerance)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"ionto-replay: {exc}", file=sys.stderr)
        return 2
    print(f"recorded decisions: {', '.join(map(str, report.recorded)) or 'none'}")
    print(f"this console:       {', '.join(map(str, report.replayed)) or 'none'}")
    if report.same:
        print("same decisions")
        return 0
    for line in report.differences():
        print(line)
    return 1


if __name__ == "__main__":
    sys.exit(main())
